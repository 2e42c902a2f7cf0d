"""A chapter's prose as translatable messages, and the way back.

A message is one block of prose as a translator sees it: a heading, a
paragraph (in a list item or a quote too), a figure (its caption is the
image's text), a table cell, an admonition's title. Code cells, code in
prose, math blocks and targets are not messages: they are the same in every
language. The blocks are found by the parser that renders the page, so the
catalog and the page agree on what a paragraph is.

`translate_markdown` puts translations back into a markdown cell's source,
block by block, keeping each block's list marker, indentation or quote
prefix; what has no usable translation stays English inside a marker the
page shows as awaiting translation.

A translation must carry its source's math, inline code, link and image
targets, cross-references and measured values ({glue}`name`, filled in from
the executed cells) unchanged (`placeholder_problems`): those are what a
reader copies, clicks, reads as a formula or as a measurement. Catalogs come from
outside the project, so the same check keeps a translation from adding
markup: no raw HTML, link, image, role or block of its own, no line break
and no control character. A translation that breaks the blocks around it
only in its place on the page is refused there (`translate_markdown`).
"""
import collections
import dataclasses
import html
import re

from bookbuild import glue, myst
from bookbuild.myst import ADMONITIONS
from bookbuild.source import ChapterError, chapter_description

# Source lines are joined into one line: re-wrapping an English paragraph
# must not make its translation fuzzy.
LINE_BREAK = re.compile(r'[ \t]*\n[ \t]*')
DIRECTIVE = re.compile(r'^(?P<indent>\s*(?:`{3,}|~{3,}))\{(?P<name>[\w-]+)\}'
                       r'(?P<space>\s*)(?P<argument>.*)$')
TABLE_PIPE = re.compile(r'(?<!\\)\|')
LETTER = re.compile(r'[^\W\d_]')
# The marker an untranslated block is wrapped in; book.css styles it.
AWAITING = ('<span class="awaiting-translation" lang="en">{text}</span>'
            ' <span class="translation-note">{note}</span>')
AWAITING_NOTE = {'vi': '(đang chờ dịch)'}


class MessageError(ChapterError):
    """A block the extractor cannot map back to its source lines."""


@dataclasses.dataclass
class Message:
    text: str       # the msgid: the block's markdown on one line
    line: int       # 1-based line in the chapter file
    kind: str       # for the translator: heading, paragraph, ...


@dataclasses.dataclass
class _Block:
    text: str
    kind: str
    first: int      # 0-based first line within the parsed source
    last: int       # 0-based line after the block
    raw: str        # the block's own text as parsed (lines kept)
    cell: int = -1  # table cell's column, else -1


_PARSER = None
_CHECKER = None


def parser():
    global _PARSER
    if _PARSER is None:
        _PARSER = myst.parser()
    return _PARSER


def checker():
    """The page's parser, except that it reads every link as a link: the
    page's parser leaves a `javascript:` or `data:` target as plain text,
    which would hide from the checks a link a translator tried to add."""
    global _CHECKER
    if _CHECKER is None:
        _CHECKER = myst.parser()
        _CHECKER.validateLink = lambda url: True
    return _CHECKER


def normalize(text):
    return LINE_BREAK.sub(' ', text.strip())


def has_prose(text):
    """Whether a block holds words to translate, not only math, code,
    numbers or a bare link."""
    kept = []
    for token in inline_tokens(text):
        if token.type == 'text':
            kept.append(token.content)
    return bool(LETTER.search(''.join(kept)))


def inline_tokens(text, markdown=None):
    tokens = (markdown or parser()).parseInline(
        text, {'slugs': set(), 'headings': []})
    found = []

    def walk(children):
        for child in children or []:
            found.append(child)
            if child.type == 'image':
                walk(child.children)
    for token in tokens:
        walk(token.children)
    return found


def _blocks(source):
    """The translatable blocks of a markdown source, in order."""
    env = {'slugs': set(), 'headings': []}
    tokens = parser().parse(source, env)
    blocks, row = [], None
    for i, token in enumerate(tokens):
        if token.type == 'tr_open':
            row = (token.map[0], 0)
        elif token.type in ('th_open', 'td_open'):
            inline = tokens[i + 1]
            if normalize(inline.content):
                blocks.append(_Block(normalize(inline.content), 'table cell',
                                     row[0], row[0] + 1, inline.content,
                                     row[1]))
            row = (row[0], row[1] + 1)
        elif token.type in ('paragraph_open', 'heading_open'):
            inline = tokens[i + 1]
            kind = 'heading' if token.type == 'heading_open' else (
                'figure' if token.meta.get('figure') else
                'list item' if token.level and tokens[i - 1].type ==
                'list_item_open' else 'paragraph')
            blocks.append(_Block(normalize(inline.content), kind,
                                 token.map[0], token.map[1], inline.content))
        elif token.type == 'fence':
            match = DIRECTIVE.match(source.splitlines()[token.map[0]])
            if not match or match['name'] == 'math':
                continue
            if match['argument'].strip():
                blocks.append(_Block(match['argument'].strip(),
                                     'admonition title' if match['name'] in
                                     ADMONITIONS else 'directive argument',
                                     token.map[0], token.map[0] + 1,
                                     match['argument'].strip()))
            # The directive's body is prose of its own, one fence deeper.
            body_start = token.map[0] + 1
            lines = source.splitlines()[body_start:token.map[1] - 1]
            while lines and re.match(r'^\s*:[\w-]+:', lines[0]):
                lines.pop(0)
                body_start += 1
            for inner in _blocks('\n'.join(lines)):
                inner.first += body_start
                inner.last += body_start
                blocks.append(inner)
    return [b for b in blocks if b.kind == 'table cell' or b.text]


def extract(source, first_line=1):
    """The messages of one markdown cell whose text starts at `first_line`
    of its file: those with words to translate."""
    return [Message(block.text, first_line + block.first, block.kind)
            for block in _blocks(source) if has_prose(block.text)]


def chapter_messages(chapter):
    """Every message of a chapter (a bookbuild.source.Chapter), in order:
    its one-line description (the book's index shows it), then its prose."""
    text, line = chapter_description(chapter)
    found = [Message(text, line, 'description')] if text else []
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            found.extend(extract(cell.source, cell.line))
    return found


# ---------------------------------------------------------------- back

def awaiting(text, language):
    note = AWAITING_NOTE.get(language, '(awaiting translation)')
    return AWAITING.format(text=text, note=html.escape(note))


def translate_markdown(source, lookup, language, path='', first_line=1,
                       refuse=None):
    """`source` with each block replaced by `lookup(msgid)`; a block whose
    lookup is None stays English, marked as awaiting translation. Blocks
    without words are left alone.

    A translation that would change the blocks of the cell in its place
    (close the admonition whose title it is, say) stays English too, and
    `refuse(msgid, problem)` hears of it."""
    lines = source.split('\n')
    edits = []      # (edit, its English replacement, msgid) of each block
    for block in _blocks(source):
        if not has_prose(block.text):
            continue
        found = lookup(block.text)
        where = first_line + block.first
        english = _edit(lines, block, awaiting(block.text, language), path,
                        where)
        edit = english if found is None else _edit(lines, block, found, path,
                                                   where)
        edits.append((edit, english, block.text if found is not None
                      else None, where))
    translated = _apply(lines, [edit for edit, _, _, _ in edits])
    english_shape = block_shape(source)
    if block_shape(translated) == english_shape:
        return translated
    # Which translation breaks the cell: each alone in the English.
    culprits = [i for i, (edit, _, msgid, _) in enumerate(edits)
                if msgid is not None
                and block_shape(_apply(lines, [edit])) != english_shape]
    if not culprits:
        # Only together; rare enough to keep the whole cell English.
        culprits = [i for i, (_, _, msgid, _) in enumerate(edits)
                    if msgid is not None]
    for i in culprits:
        edit, english, msgid, where = edits[i]
        edits[i] = (english, english, None, where)
        if refuse is not None:
            refuse(msgid, f'would change the blocks around it in '
                   f'{path}:{where} (a translation stays one block of its '
                   'kind, inside the same list, table or admonition)')
    return _apply(lines, [edit for edit, _, _, _ in edits])


def _edit(lines, block, new, path, where):
    """(first, last, lines) that put `new` in place of `block`'s text."""
    if block.kind == 'table cell':
        return (block.first, block.last,
                [_replace_cell(lines[block.first], block.cell, new, path,
                               where)])
    if block.kind in ('admonition title', 'directive argument'):
        match = DIRECTIVE.match(lines[block.first])
        return (block.first, block.last, [
            f'{match["indent"]}{{{match["name"]}}}{match["space"]}{new}'])
    return (block.first, block.last,
            _replace_lines(lines[block.first:block.last], block.raw, new,
                           path, where))


def _apply(lines, edits):
    lines = list(lines)
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first:last] = replacement
    return '\n'.join(lines)


def block_shape(source):
    """The blocks a markdown source is read as, with the blocks inside its
    directives (whose bodies the page renders on their own), without their
    words: what a translation may not change."""
    shape = []
    for token in parser().parse(source, {'slugs': set(), 'headings': []}):
        if token.type == 'inline':
            continue
        if token.type == 'fence':
            match = re.match(r'\{([\w-]+)\}', token.info.strip())
            name = match[1] if match else None
            shape.append((token.type, token.markup, name))
            if name and name != 'math':
                body = re.sub(r'\A(?:\s*:[\w-]+:.*\n)+', '', token.content)
                shape.append(tuple(block_shape(body)))
        else:
            shape.append((token.type, token.tag, token.markup))
    return shape


def _replace_lines(lines, raw, new, path, line):
    """The block's lines with `new` in place of its text, keeping the
    prefix (indentation, list marker, quote) of its first line."""
    first = raw.split('\n')[0]
    start = lines[0].find(first) if first else -1
    if start < 0:
        raise MessageError(path, line, f'cannot find {first!r} in its line '
                           f'{lines[0]!r}')
    prefix = lines[0][:start]
    if lines[0].lstrip().startswith('#'):
        # An ATX heading: the text may end in closing hashes; keep them.
        return [prefix + new + lines[0][start + len(first):]]
    return [prefix + new]


def _replace_cell(row, column, new, path, line):
    cells = TABLE_PIPE.split(row)
    # A row may or may not start with a pipe; column 0 is the first cell.
    offset = 1 if row.strip().startswith('|') else 0
    index = column + offset
    if index >= len(cells):
        raise MessageError(path, line, f'the table row {row!r} has no '
                           f'column {column + 1}')
    cells[index] = ' ' + TABLE_PIPE.sub(r'\\|', new) + ' '
    return '|'.join(cells)


# ---------------------------------------------------------------- checks

# What a message's text may parse into, by name, for the translator.
BLOCK_NAMES = {
    'paragraph_open': 'a paragraph', 'heading_open': 'a heading',
    'html_block': 'a raw HTML block', 'fence': 'a fenced block (code or a '
    '{directive})', 'code_block': 'an indented code block',
    'bullet_list_open': 'a list', 'ordered_list_open': 'a list',
    'blockquote_open': 'a quote', 'hr': 'a horizontal rule',
    'table_open': 'a table', 'myst_target': 'a (target)=',
    'myst_line_comment': 'a % comment', 'myst_block_break': 'a +++ break',
    'math_block': 'a math block', 'math_block_label': 'a math block',
    'amsmath': 'a math block'}
# Roles that point somewhere: a translation may translate their text.
REFERENCE_ROLES = ('ref', 'numref', 'eq', 'doc')
# C0 and C1 control characters: XML (the diagrams) forbids most of them and
# a page has no use for any; a tab is spacing, a line break is refused on
# its own (a message is one line).
CONTROL = re.compile('[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]')
LINE_BREAK_CHAR = re.compile('[\r\n]')


def placeholders(text):
    """What a translation must keep of its source, as a multiset: math,
    inline code, link and image targets, roles (cross-references, and the
    {glue} values a cell measured) and raw HTML. Read with `checker()`, so that every link counts, also those the
    page would show as text."""
    found = collections.Counter()
    for token in inline_tokens(text, checker()):
        if token.type in ('math_inline', 'math_inline_double'):
            found[('math', token.content.strip())] += 1
        elif token.type == 'code_inline':
            found[('code', token.content)] += 1
        elif token.type == 'link_open':
            found[('link target', token.attrGet('href'))] += 1
        elif token.type == 'image':
            found[('image', token.attrGet('src'))] += 1
        elif token.type == 'html_inline':
            found[('raw HTML tag', token.content)] += 1
        elif token.type == 'myst_role' and \
                token.meta.get('name') == glue.ROLE:
            found[('value', f'{{{glue.ROLE}}}`{token.content}`')] += 1
        elif token.type == 'myst_role':
            name = token.meta.get('name', '')
            target = re.search(r'<([^>]+)>\s*$', token.content)
            kept = target[1] if target and name in REFERENCE_ROLES \
                else token.content
            kind = ('math' if name == 'math' else 'cross-reference'
                    if name in REFERENCE_ROLES else 'role')
            found[(kind, f'{{{name}}}{kept}')] += 1
    return found


def raw_html(text):
    return [token.content for token in inline_tokens(text, checker())
            if token.type == 'html_inline']


def describe_blocks(text):
    """What `text` alone is read as, for the translator: 'a paragraph',
    'a paragraph, then a fenced block (code or a {directive})'."""
    tokens = parser().parse(text, {'slugs': set(), 'headings': []})
    names = [BLOCK_NAMES.get(token.type, token.type) for token in tokens
             if token.level == 0 and token.nesting >= 0
             and token.type != 'inline']
    return ', then '.join(names) or 'nothing'


def placeholder_problems(source, translation):
    """What `translation` loses or adds of `source`'s placeholders and
    markup, as sentences; empty when it keeps them all and adds none.

    Anything a translation adds is refused rather than escaped: a catalog
    is read by a translator, who can fix it once told where, while an
    escaped `<script>` or `[link](javascript:...)` would show the reader
    markup as text. The page then shows the English until it is fixed."""
    if LINE_BREAK_CHAR.search(translation):
        # A second line could open any block (a {raw} directive, an HTML
        # block, a heading); the English's own lines are joined too.
        return ['breaks the line: a message is one line (write it without '
                'line breaks)']
    control = CONTROL.search(translation)
    if control:
        return [f'has the control character {control[0]!r}: remove it']
    want, have = placeholders(source), placeholders(translation)
    problems = []
    for (kind, value), count in (want - have).items():
        problems.append(f'loses the {kind} {value!r}'
                        + (f' ({count}x)' if count > 1 else ''))
    hint = ' (a "<" meant as text wants a space after it)'
    for (kind, value), count in (have - want).items():
        article = 'an' if kind[0] in 'aeiou' else 'a'
        problems.append(f'has {article} {kind} {value!r} its source does '
                        'not have' + (f' ({count}x)' if count > 1 else '')
                        + (hint if kind == 'raw HTML tag' else ''))
        if kind == 'raw HTML tag':
            hint = ''
    if not problems and raw_html(source) != raw_html(translation):
        # <b> and </b> swapped would leave a tag open for the rest of the
        # page: the source's HTML is kept in its order.
        problems.append('has its source\'s raw HTML tags in another order')
    if block_shape(source) != block_shape(translation):
        problems.append(f'is read as {describe_blocks(translation)} where '
                        f'its source is read as {describe_blocks(source)}: '
                        'a translation stays one block of '
                        'its kind (mind a leading #, -, 1., >, <, %, (x)= or '
                        'four spaces)')
    return problems
