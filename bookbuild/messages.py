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
reader copies, clicks, reads as a formula or as a measurement.
"""
import collections
import dataclasses
import html
import re

from bookbuild import glue
from bookbuild.render_markdown import ADMONITIONS, markdown_renderer
from bookbuild.source import ChapterError

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


def parser():
    global _PARSER
    if _PARSER is None:
        _PARSER = markdown_renderer()
    return _PARSER


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


def inline_tokens(text):
    tokens = parser().parseInline(text, {'slugs': set(), 'headings': []})
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
    """Every message of a chapter (a bookbuild.source.Chapter), in order."""
    found = []
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            found.extend(extract(cell.source, cell.line))
    return found


# ---------------------------------------------------------------- back

def awaiting(text, language):
    note = AWAITING_NOTE.get(language, '(awaiting translation)')
    return AWAITING.format(text=text, note=html.escape(note))


def translate_markdown(source, lookup, language, path='', first_line=1):
    """`source` with each block replaced by `lookup(msgid)`; a block whose
    lookup is None stays English, marked as awaiting translation. Blocks
    without words are left alone."""
    lines = source.split('\n')
    edits = []
    for block in _blocks(source):
        if not has_prose(block.text):
            continue
        found = lookup(block.text)
        new = found if found is not None else awaiting(block.text, language)
        where = first_line + block.first
        if block.kind == 'table cell':
            edits.append((block.first, block.last,
                          [_replace_cell(lines[block.first], block.cell,
                                         new, path, where)]))
        elif block.kind in ('admonition title', 'directive argument'):
            match = DIRECTIVE.match(lines[block.first])
            edits.append((block.first, block.last, [
                f'{match["indent"]}{{{match["name"]}}}{match["space"]}{new}']))
        else:
            edits.append((block.first, block.last,
                          _replace_lines(lines[block.first:block.last],
                                         block.raw, new, path, where)))
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first:last] = replacement
    return '\n'.join(lines)


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

def placeholders(text):
    """What a translation must keep of its source, as a multiset: math,
    inline code, link and image targets, roles (cross-references, and the
    {glue} values a cell measured)."""
    found = collections.Counter()
    for token in inline_tokens(text):
        if token.type in ('math_inline', 'math_inline_double'):
            found[('math', token.content.strip())] += 1
        elif token.type == 'code_inline':
            found[('code', token.content)] += 1
        elif token.type == 'link_open':
            found[('link target', token.attrGet('href'))] += 1
        elif token.type == 'image':
            found[('image', token.attrGet('src'))] += 1
        elif token.type == 'myst_role' and \
                token.meta.get('name') == glue.ROLE:
            found[('value', f'{{{glue.ROLE}}}`{token.content}`')] += 1
        elif token.type == 'myst_role':
            name = token.meta.get('name', '')
            target = re.search(r'<([^>]+)>\s*$', token.content)
            kept = target[1] if target and name != 'math' else token.content
            found[('cross-reference' if name != 'math' else 'math',
                   f'{{{name}}}{kept}')] += 1
    return found


def placeholder_problems(source, translation):
    """What `translation` loses or adds of `source`'s placeholders, as
    sentences; empty when it keeps them all."""
    want, have = placeholders(source), placeholders(translation)
    problems = []
    for (kind, value), count in (want - have).items():
        problems.append(f'loses the {kind} {value!r}'
                        + (f' ({count}x)' if count > 1 else ''))
    for (kind, value), count in (have - want).items():
        problems.append(f'has a {kind} {value!r} its source does not have'
                        + (f' ({count}x)' if count > 1 else ''))
    return problems
