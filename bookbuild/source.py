"""Reading a chapter: Jupytext MyST Markdown into cells that know their line.

Jupytext can read these files too (and a test checks that it finds the same
cells), but it forgets where a cell came from. The build needs the line of
every cell to point an author at the fault, so it reads the format itself.
This module uses the standard library only: the framework environments import
it too (the architecture tests run a chapter's cells in-process).
"""
import dataclasses
import json
import pathlib
import re

from bookbuild import FRAMEWORKS
from bookbuild.errors import LocatedError
from d2l_local import cell_framework, tagged_frameworks

# Tags a code cell may carry besides its framework. Anything else is a typo
# (most likely of a framework name) and stops the build.
OTHER_TAGS = {
    'train': 'trains a model: the architecture tests skip it',
    'hide-output': 'the page folds the output away',
    'answer': 'part of a worked answer to an exercise',
}
# Tags a markdown cell may carry (Jupytext writes them `+++ {"tags": [...]}`).
MARKDOWN_TAGS = {
    'answer': 'opens the worked answer to the exercise above it',
}
ANSWER = 'answer'

CODE_CELL_OPEN = re.compile(r'^```\{code-cell\}\s*(?P<lang>\S*)\s*$')
FENCE = re.compile(r'^(?P<fence>`{3,}|~{3,})')
OPTION_LINE = re.compile(r'^:(?P<key>[\w-]+):\s*(?P<value>.*)$')
# Jupytext's markdown cell break, optionally with the next cell's metadata.
CELL_BREAK = re.compile(r'^\+\+\+\s*(?P<metadata>\{.*\})?\s*$')
# An exercise: a numbered item of a top-level list ("3. ...").
EXERCISE_ITEM = re.compile(r'^(?P<number>\d+)[.)]\s')
HEADING = re.compile(r'^#{1,6}\s')


class ChapterError(LocatedError, ValueError):
    """Bad input in a chapter, with the file and line at fault."""


@dataclasses.dataclass
class Cell:
    kind: str                 # 'markdown' or 'code'
    source: str
    line: int                 # 1-based line of the cell's first line in the file
    tags: list = dataclasses.field(default_factory=list)
    options: dict = dataclasses.field(default_factory=dict)
    code_line: int = 0        # line of the first line of code (code cells)
    tags_line: int = 0        # line of the cell's tags option, if any
    metadata: dict = dataclasses.field(default_factory=dict)  # markdown
    # The exercise whose worked answer this cell belongs to, if any.
    answer: int | None = None

    @property
    def framework(self):
        """The framework a code cell belongs to, or None for a shared cell."""
        return cell_framework(self.tags)

    @property
    def first_line(self):
        for text in self.source.splitlines():
            if text.strip():
                return text.strip()
        return ''


def prose_lines(markdown):
    """The lines of a markdown cell outside its fenced blocks."""
    fence = None
    for text in markdown.splitlines():
        m = FENCE.match(text)
        if m and fence is None:
            fence = m['fence']
        elif fence is not None and text.strip() == fence:
            fence = None
        elif fence is None:
            yield text


@dataclasses.dataclass
class Chapter:
    path: pathlib.Path
    name: str
    metadata_text: str
    cells: list

    @property
    def title(self):
        return self.heading_title() or self.name

    def heading_title(self):
        """The text of the first `# ` heading outside fenced blocks, or
        None."""
        for cell in self.cells:
            if cell.kind == 'markdown':
                for text in prose_lines(cell.source):
                    if text.startswith('# ') and text[2:].strip():
                        return text[2:].strip()
        return None

    def code_cells(self, framework=None):
        """Code cells in order; with a framework, those that run there."""
        return [c for c in self.cells if c.kind == 'code' and (
            framework is None or c.framework in (None, framework))]

    def answers(self):
        """exercise number -> the cells of its worked answer, in order."""
        found = {}
        for cell in self.cells:
            if cell.answer is not None:
                found.setdefault(cell.answer, []).append(cell)
        return found

    def tab_groups(self):
        """Runs of consecutive framework cells (empty markdown between them
        does not break a run), as lists of cells."""
        groups, current = [], []
        for cell in self.cells:
            if cell.kind == 'code' and cell.framework:
                current.append(cell)
            elif cell.kind == 'markdown' and not cell.source.strip():
                continue
            elif current:
                groups.append(current)
                current = []
        if current:
            groups.append(current)
        return groups


def _parse_option_value(raw):
    raw = raw.strip()
    if raw.startswith('[') and raw.endswith(']'):
        return [v.strip().strip('\'"') for v in raw[1:-1].split(',')
                if v.strip()]
    return raw.strip('\'"')


def _read_options(lines, start, path):
    """Options after a code-cell fence: `:key: value` lines or a `---` YAML
    block of `key: value` lines. Returns (options, index after them); the
    1-based line of each option is kept under `_lines` for messages."""
    options, lines_of, i = {}, {}, start
    if i < len(lines) and lines[i].strip() == '---':
        i += 1
        while i < len(lines) and lines[i].strip() != '---':
            text = lines[i]
            if text.strip():
                if ':' not in text:
                    raise ChapterError(path, i + 1,
                                       f'cell option {text.strip()!r} is not '
                                       '"key: value"')
                key, value = text.split(':', 1)
                options[key.strip()] = _parse_option_value(value)
                lines_of[key.strip()] = i + 1
            i += 1
        if i == len(lines):
            raise ChapterError(path, start + 1, 'cell options opened with '
                               '"---" are never closed')
        i += 1
    else:
        while i < len(lines) and OPTION_LINE.match(lines[i]):
            m = OPTION_LINE.match(lines[i])
            options[m['key']] = _parse_option_value(m['value'])
            lines_of[m['key']] = i + 1
            i += 1
    return options, lines_of, i


def _validate_tags(cell, path):
    line = cell.tags_line or cell.line
    tags = cell.options.get('tags', [])
    if isinstance(tags, str):
        raise ChapterError(path, line, f'tags must be a list such as '
                           f'[pytorch], not {tags!r}')
    frameworks = tagged_frameworks(tags)
    unknown = [t for t in tags if t not in FRAMEWORKS and t not in OTHER_TAGS]
    if unknown:
        raise ChapterError(
            path, line,
            f'unknown tag {unknown[0]!r} on the code cell starting '
            f'{cell.first_line!r}; frameworks are {", ".join(FRAMEWORKS)}; '
            f'other tags are {", ".join(OTHER_TAGS)}')
    if len(frameworks) > 1:
        raise ChapterError(path, line, 'a code cell belongs to one '
                           f'framework, this one is tagged {frameworks}')
    cell.tags = list(tags)


def _markdown_metadata(raw, path, line):
    """The JSON of a `+++ {...}` line: the next markdown cell's metadata."""
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ChapterError(path, line, f'the cell metadata {raw!r} is not '
                           f'JSON ({e.msg})') from e
    if not isinstance(metadata, dict):
        raise ChapterError(path, line, f'the cell metadata {raw!r} is not a '
                           'JSON object such as {"tags": ["answer"]}')
    tags = metadata.get('tags', [])
    if not isinstance(tags, list) or not all(isinstance(t, str)
                                             for t in tags):
        raise ChapterError(path, line, f'tags must be a list of names such '
                           f'as ["answer"], not {tags!r}')
    unknown = [t for t in tags if t not in MARKDOWN_TAGS]
    if unknown:
        raise ChapterError(
            path, line, f'unknown tag {unknown[0]!r} on a markdown cell; '
            f'markdown cells may carry {", ".join(MARKDOWN_TAGS)}')
    return metadata


class _Answers:
    """Where the worked answers are while a chapter is read.

    An answer opens at `+++ {"tags": ["answer"]}` right after its exercise
    (a numbered item of a top-level list), holds prose and cells tagged
    `answer`, and closes at the next plain `+++`. It must end with prose:
    Jupytext drops a plain `+++` that follows a code cell, so an answer
    ending in code would swallow the next exercise once saved from Jupyter.
    """

    def __init__(self, path):
        self.path = path
        self.number = None        # the exercise of the open answer
        self.line = 0             # where it opened

    def where(self):
        return (f'the answer to exercise {self.number} (opened at line '
                f'{self.line})')

    def open(self, cells, line):
        if self.number is not None:
            raise ChapterError(self.path, line, f'{self.where()} is still '
                               'open: close it with a plain +++ line first')
        self.number, self.line = _exercise_before(cells, self.path, line), line

    def close(self, cells, line):
        if self.number is None:
            return
        last = cells[-1] if cells else None
        if last is None or last.answer != self.number:
            raise ChapterError(self.path, self.line, f'{self.where()} has no '
                               'prose: write the answer after the marker')
        if last.kind == 'code':
            raise ChapterError(
                self.path, line, f'{self.where()} ends with a code cell: end '
                'it with a sentence of prose before this +++ (Jupytext drops '
                'a +++ that follows code, and the answer would run on)')
        self.number = None

    def check_line(self, text, line):
        if self.number is not None and HEADING.match(text):
            raise ChapterError(self.path, line, f'{self.where()} runs into '
                               'this heading: close it with a plain +++ line')

    def check_end(self):
        if self.number is not None:
            raise ChapterError(self.path, self.line, f'{self.where()} is '
                               'never closed with a plain +++ line')

    def claim(self, cell):
        """Mark a cell as part of the open answer, or refuse it."""
        tagged = ANSWER in cell.tags
        if cell.kind == 'code' and tagged and self.number is None:
            raise ChapterError(
                self.path, cell.tags_line or cell.line, 'this code cell is '
                'tagged answer but is not inside an answer; open one with '
                '+++ {"tags": ["answer"]} after the exercise')
        if cell.kind == 'code' and not tagged and self.number is not None:
            raise ChapterError(
                self.path, cell.line, f'this code cell is inside '
                f'{self.where()} but is not tagged answer (tags: '
                f'[answer] or [answer, <framework>])')
        cell.answer = self.number


def _exercise_before(cells, path, line):
    """The number of the exercise an answer opened at `line` answers: the
    last top-level numbered item of the prose right above it."""
    previous = cells[-1] if cells else None
    if previous is not None and previous.kind == 'markdown' and \
            previous.answer is None:
        numbers = [m['number'] for m in map(EXERCISE_ITEM.match,
                                            previous.source.splitlines()) if m]
        if numbers:
            return int(numbers[-1])
    raise ChapterError(path, line, 'an answer must follow its exercise, a '
                       'numbered list item such as "2. ..." right above '
                       'the +++ {"tags": ["answer"]} line')


def parse_chapter_text(text, path):
    """Parse the text of a chapter; `path` is only used in messages."""
    path = pathlib.Path(path)
    lines = text.splitlines()
    metadata_text, i = '', 0
    if lines and lines[0].strip() == '---':
        end = next((j for j in range(1, len(lines))
                    if lines[j].strip() == '---'), None)
        if end is None:
            raise ChapterError(path, 1, 'the front matter opened with "---" '
                               'is never closed')
        metadata_text = '\n'.join(lines[1:end])
        i = end + 1

    cells, markdown, markdown_start, fence = [], [], i + 1, None
    answers = _Answers(path)
    pending = None  # (metadata, line) of a `+++ {...}` for the next cell

    def flush_markdown():
        nonlocal pending
        body = '\n'.join(markdown).strip('\n')
        if body.strip():
            offset = next(k for k, t in enumerate(markdown) if t.strip())
            metadata = pending[0] if pending else {}
            cell = Cell('markdown', body, markdown_start + offset,
                        tags=list(metadata.get('tags', [])),
                        metadata=metadata)
            answers.claim(cell)
            cells.append(cell)
            pending = None
        markdown.clear()

    def check_nothing_pending(line):
        if pending:
            raise ChapterError(path, pending[1], 'this cell metadata is not '
                               'followed by prose (the next cell starts at '
                               f'line {line}); write the answer\'s first '
                               'sentence under it')

    while i < len(lines):
        text_line = lines[i]
        if fence is None and CODE_CELL_OPEN.match(text_line):
            flush_markdown()
            check_nothing_pending(i + 1)
            start = i + 1
            options, option_lines, j = _read_options(lines, i + 1, path)
            header = j - (i + 1)
            body = []
            while j < len(lines) and lines[j].rstrip() != '```':
                if CODE_CELL_OPEN.match(lines[j]):
                    raise ChapterError(
                        path, start, 'this code cell is not closed with ``` '
                        f'before the next code cell at line {j + 1}')
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise ChapterError(path, start, 'this code cell is never '
                                   'closed with ```')
            # Jupytext writes a blank line between options and code.
            while body and not body[0].strip() and header:
                body.pop(0)
                header += 1
            cell = Cell('code', '\n'.join(body).rstrip('\n'), start,
                        options=options, code_line=start + header + 1,
                        tags_line=option_lines.get('tags', 0))
            _validate_tags(cell, path)
            answers.claim(cell)
            cells.append(cell)
            i = j + 1
            markdown_start = i + 1
            continue
        if fence is None and text_line.startswith('```{') and \
                'code-cell' in text_line:
            raise ChapterError(path, i + 1, f'malformed code cell opening '
                               f'{text_line.strip()!r}: expected '
                               '"```{code-cell} ipython3"')
        m = FENCE.match(text_line)
        if m:
            if fence is None:
                fence = m['fence']
            elif text_line.strip() == fence:
                fence = None
        if fence is None and text_line.startswith('+++'):
            flush_markdown()
            check_nothing_pending(i + 1)
            match = CELL_BREAK.match(text_line)
            if not match:
                raise ChapterError(path, i + 1, f'malformed cell break '
                                   f'{text_line.strip()!r}: expected "+++" '
                                   'or "+++ {...}" with JSON metadata')
            if match['metadata']:
                metadata = _markdown_metadata(match['metadata'], path, i + 1)
                if ANSWER in metadata.get('tags', []):
                    answers.open(cells, i + 1)
                pending = (metadata, i + 1)
            else:
                answers.close(cells, i + 1)
            markdown_start = i + 2
            i += 1
            continue
        if fence is None:
            answers.check_line(text_line, i + 1)
        markdown.append(text_line)
        i += 1
    if fence is not None:
        raise ChapterError(path, len(lines), f'a fenced block ({fence}) in '
                           'the prose is never closed')
    flush_markdown()
    check_nothing_pending(len(lines))
    answers.check_end()
    return Chapter(path, path.stem, metadata_text, cells)


def check_tab_groups(chapter):
    """Every tab group must carry every framework, or a tab would be empty."""
    for group in chapter.tab_groups():
        present = {c.framework for c in group}
        missing = [fw for fw in FRAMEWORKS if fw not in present]
        if missing:
            raise ChapterError(
                chapter.path, group[0].line,
                f'the tab group starting here (code {group[0].first_line!r}) '
                f'has no cell for {", ".join(missing)}; every group needs '
                f'one cell per framework ({", ".join(FRAMEWORKS)})')


def check_title(chapter):
    """A chapter names itself in a `# Title` heading: the page, the table
    of contents and the notebooks show it."""
    if chapter.heading_title() is None:
        line = chapter.metadata_text.count('\n') + 4 \
            if chapter.metadata_text else 1
        raise ChapterError(chapter.path, line, 'the chapter has no title: '
                           'start its prose with a "# Title" heading')


def front_matter(chapter):
    """The YAML between the chapter's opening `---` lines (Jupytext's
    format and kernel) as a dict; a ChapterError at the line of a YAML
    error. PyYAML is imported here: the framework environments, which read
    chapters only for their cells, do not have it."""
    import yaml
    if not chapter.metadata_text.strip():
        return {}
    last_line = chapter.metadata_text.count('\n') + 2
    try:
        data = yaml.safe_load(chapter.metadata_text)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        if mark is None:
            raise ChapterError(chapter.path, 2, 'the front matter is not '
                               f'valid YAML ({e})') from e
        where = f' (column {mark.column + 1})'
        context = getattr(e, 'context', None)
        start = getattr(e, 'context_mark', None)
        if context and start is not None:
            where += (f', {context} started at line {start.line + 2}, '
                      f'column {start.column + 1}')
        raise ChapterError(chapter.path, min(mark.line + 2, last_line),
                           'the front matter is not valid YAML: '
                           f'{e.problem}{where}') from e
    if not isinstance(data, dict):
        raise ChapterError(chapter.path, 2, 'the front matter must be YAML '
                           '"key: value" lines such as "jupytext:" and '
                           f'"kernelspec:", not a {type(data).__name__}')
    return data


def chapter_description(chapter):
    """(text, line) of the chapter's one-line description, the front
    matter's `description:`, which the book's index shows under its title;
    ('', 0) without one. (Jupytext keeps the key when the front matter's
    `jupytext:` has `notebook_metadata_filter: description`.)"""
    text = front_matter(chapter).get('description')
    if not text:
        return '', 0
    for number, line in enumerate(chapter.metadata_text.split('\n'), 2):
        if line.startswith('description:'):
            return ' '.join(str(text).split()), number
    return ' '.join(str(text).split()), 2


def read_chapter(path, check_front_matter=True):
    """Parse and check a chapter file. The framework environments pass
    `check_front_matter=False` (they have no PyYAML; the build checks)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError as e:
        raise ChapterError(path, 1, f'not UTF-8 text ({e})') from e
    chapter = parse_chapter_text(text, path)
    if check_front_matter:
        front_matter(chapter)
    check_title(chapter)
    check_tab_groups(chapter)
    return chapter
