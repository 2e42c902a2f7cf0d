"""Measured values in the prose: a cell records a value under a name, the
prose refers to the name, and the build puts the value in.

    d2l.glue('val_acc', last['val_acc'], '.3f')    # in a code cell
    ... reaches {glue}`val_acc` on the validation set ...   # in the prose

`d2l.glue` (d2l_local/shared.py) shows a display output of the book's own
type (GLUE_MIME) holding the name, the text and the value; it travels in
the executed notebook like any output. Each framework's run records its
own values (a shared cell's too: each framework runs it). Then:

- execute: each framework's executed notebook gets its own values written
  into its prose (`substitute_notebook`), so the download reads as prose;
- merge: every framework's values are collected per chapter into the
  merged notebook's metadata (`d2l_book.glue`: name -> framework -> text),
  and a reference to a name that some framework that ran does not record
  stops the build at the chapter's file and line (`check_references`);
- render: the role becomes the text where every framework recorded the
  same, else one span per framework that follows the tabs (`role_html`).

The split notebooks and the chapter opened through Jupytext keep the role
as written: JupyterLab shows `{glue}` and the name in code font, and the
name is the one the cell above passes to d2l.glue.
"""
import dataclasses
import re

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.render_common import esc
from bookbuild.source import ChapterError
from d2l_local import GLUE_MIME

ROLE = 'glue'
# A fence whose body is code, not prose; {note} and other directives hold
# prose, whose references count.
CODE_FENCE = re.compile(r'^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>\S*)')
PROSE_DIRECTIVE = re.compile(r'\{(?!math\}|code|code-block\}|code-cell\})'
                             r'[\w-]+\}')
# At each point of the prose, a code span (skipped: its text is literal) or
# a MyST role; whichever starts first wins, as in the Markdown parser.
# A code span ends at the paragraph's end (a blank line) at the latest.
INLINE = re.compile(
    r'(?P<code>`+)(?:[^`\n]|\n(?![ \t]*\n)|(?!(?P=code))`)+?(?P=code)(?!`)'
    r'|\{(?P<role>[\w:+-]+)\}(?P<ticks>`+)(?P<content>[^`\n]+?)(?P=ticks)'
    r'(?!`)')
# What Markdown would read as markup inside a substituted text.
MARKDOWN_SPECIAL = re.compile(r'([\\`*_{}\[\]<>$|~])')


class GlueError(ChapterError):
    """A reference or a recorded value that the build cannot use, with
    the chapter's file and line."""


@dataclasses.dataclass
class Reference:
    role: str        # 'glue' (or a misspelt 'glue:...')
    name: str
    line: int        # 0-based line within the markdown it was found in
    start: int       # offsets of the whole role in that markdown
    end: int


@dataclasses.dataclass
class Record:
    text: str
    value: object
    line: int        # the chapter line of the cell that recorded it


# ---------------------------------------------------------------- prose

def _prose_only(source):
    """`source` with fence lines and the bodies of code fences blanked
    out (same length, newlines kept): what is left is prose, at the same
    offsets."""
    kept, opened = [], None   # opened: (fence, body is code)
    for line in source.splitlines(keepends=True):
        match = CODE_FENCE.match(line)
        if opened is None and match:
            opened = (match['fence'],
                      not PROSE_DIRECTIVE.match(match['info']))
            hide = True
        elif opened is not None and line.strip() == opened[0]:
            opened, hide = None, True
        else:
            hide = opened is not None and opened[1]
        kept.append(re.sub(r'[^\n]', ' ', line) if hide else line)
    return ''.join(kept)


def find_references(source):
    """The glue roles of a markdown source, in order: {glue}`name`, and
    roles that look like MyST-NB's glue variants ({glue:text}`...`), which
    this book does not take. Code, in spans or fences, is skipped."""
    found = []
    for match in INLINE.finditer(_prose_only(source)):
        role = match['role']
        if role is None or not (role == ROLE or role.startswith(ROLE + ':')):
            continue
        found.append(Reference(role, match['content'].strip(),
                               source.count('\n', 0, match.start()),
                               match.start(), match.end()))
    return found


def escape_markdown(text):
    return MARKDOWN_SPECIAL.sub(r'\\\1', text)


def substitute(source, texts):
    """`source` with each {glue}`name` whose name is in `texts` (name ->
    text) replaced by the text; the others stay as written."""
    parts, last = [], 0
    for ref in find_references(source):
        if ref.role == ROLE and ref.name in texts:
            parts += [source[last:ref.start], escape_markdown(texts[ref.name])]
            last = ref.end
    return ''.join(parts) + source[last:]


# ---------------------------------------------------------------- outputs

def output_record(output):
    """The record a d2l.glue output carries ({'name', 'text', 'value'}),
    or None for any other output."""
    if output.get('output_type') != 'display_data':
        return None
    return output.get('data', {}).get(GLUE_MIME)


def is_glue_output(output):
    return output_record(output) is not None


def framework_values(nb, source=None, strict=True):
    """name -> Record of what one framework's executed notebook recorded.
    `strict`: a name recorded twice, or a malformed record, raises
    GlueError naming `source` (the chapter) and the cell's line."""
    source = source or nb.metadata.get('d2l_book', {}).get('source', '')
    framework = nb.metadata.get('d2l_book', {}).get('framework', '')
    found = {}
    for cell in nb.cells:
        if cell.cell_type != 'code':
            continue
        info = cell.metadata.get('d2l_book', {})
        line = info.get('code_line') or info.get('line') or 0
        for output in cell.get('outputs', []):
            record = output_record(output)
            if record is None:
                continue
            if not (isinstance(record, dict) and
                    isinstance(record.get('name'), str) and
                    isinstance(record.get('text'), str)):
                if strict:
                    raise GlueError(source, line, f'a d2l.glue output of the '
                                    f'{FRAMEWORK_LABELS.get(framework, framework)}'
                                    f' run is malformed ({record!r})')
                continue
            name = record['name']
            if strict and name in found:
                raise GlueError(
                    source, line, f'{name!r} is recorded a second time in '
                    f'the {FRAMEWORK_LABELS.get(framework, framework)} run '
                    f'(first by the cell at line {found[name].line}): give '
                    'each value its own name')
            found[name] = Record(record['text'], record.get('value'), line)
    return found


def substitute_notebook(nb):
    """Write the values a framework's executed notebook recorded into its
    own prose, in place; references it cannot resolve stay as written
    (merge names them). Returns `nb`."""
    texts = {name: record.text for name, record in
             framework_values(nb, strict=False).items()}
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            cell.source = substitute(cell.source, texts)
    return nb


# ---------------------------------------------------------------- a chapter

def chapter_values(executed, source):
    """name -> {framework: text} over the executed notebooks of a chapter
    (`executed`: framework -> notebook), in the book's framework order."""
    values = {}
    for framework in FRAMEWORKS:
        if framework not in executed:
            continue
        for name, record in framework_values(executed[framework],
                                             source).items():
            values.setdefault(name, {})[framework] = record.text
    return values


def labels(frameworks):
    return ', '.join(FRAMEWORK_LABELS[fw] for fw in frameworks)


def reference_problem(ref, values, frameworks):
    """Why a reference cannot be shown, as a sentence; None if it can."""
    if ref.role != ROLE:
        return (f'{{{ref.role}}}`{ref.name}`: this book takes '
                f'{{{ROLE}}}`name` only (a format goes into the cell\'s '
                'd2l.glue(name, value, fmt))')
    if ref.name not in values:
        recorded = (f' (recorded here: {", ".join(sorted(values))})'
                    if values else '')
        return (f'{{{ROLE}}}`{ref.name}`: no code cell records '
                f'{ref.name!r}; add d2l.glue({ref.name!r}, value) to the '
                f'cell that computes it{recorded}')
    missing = [fw for fw in frameworks if fw not in values[ref.name]]
    if missing:
        return (f'{{{ROLE}}}`{ref.name}` has no {labels(missing)} value: '
                f'only the {labels(values[ref.name])} cells record it; '
                'record it in every tab')
    return None


def check_references(chapter, values, frameworks):
    """Every reference in the chapter's prose (a bookbuild.source.Chapter)
    has a value for each framework that ran, else GlueError at its line."""
    for cell in chapter.cells:
        if cell.kind != 'markdown':
            continue
        for ref in find_references(cell.source):
            problem = reference_problem(ref, values, frameworks)
            if problem:
                raise GlueError(chapter.path, cell.line + ref.line, problem)


# ---------------------------------------------------------------- the page

def role_html(role, name, values, frameworks):
    """The HTML of {glue}`name`: the text where every framework in
    `frameworks` (those that ran, in the book's order) recorded the same;
    else a span per framework, which book.js shows one at a time, by the
    selected tab. Without JavaScript each shows, labelled."""
    ref = Reference(role, name.strip(), 0, 0, 0)
    problem = reference_problem(ref, values, frameworks)
    if problem:
        raise ValueError(problem)
    texts = {fw: values[ref.name][fw] for fw in frameworks}
    if len(set(texts.values())) == 1:
        return esc(next(iter(texts.values())))
    title = '; '.join(f'{FRAMEWORK_LABELS[fw]}: {text}'
                      for fw, text in texts.items())
    spans = ''.join(
        f'<span class="glue-value" data-framework="{fw}">{esc(text)}'
        f'<span class="glue-label"> ({FRAMEWORK_LABELS[fw]})</span></span>'
        for fw, text in texts.items())
    return (f'<span class="glue" data-glue="{esc(ref.name)}" '
            f'title="{esc(title)}">{spans}</span>')
