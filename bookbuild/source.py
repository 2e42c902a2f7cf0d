"""Reading a chapter: Jupytext MyST Markdown into cells that know their line.

Jupytext can read these files too (and a test checks that it finds the same
cells), but it forgets where a cell came from. The build needs the line of
every cell to point an author at the fault, so it reads the format itself.
This module uses the standard library only: the framework environments import
it too (the architecture tests run a chapter's cells in-process).
"""
import dataclasses
import pathlib
import re

from bookbuild import FRAMEWORKS

# Tags a code cell may carry besides its framework. Anything else is a typo
# (most likely of a framework name) and stops the build.
OTHER_TAGS = {
    'train': 'trains a model: the architecture tests skip it',
    'hide-output': 'the page folds the output away',
    'answer': "part of an exercise's worked answer",
}

CODE_CELL_OPEN = re.compile(r'^```\{code-cell\}\s*(?P<lang>\S*)\s*$')
FENCE = re.compile(r'^(?P<fence>`{3,}|~{3,})')
OPTION_LINE = re.compile(r'^:(?P<key>[\w-]+):\s*(?P<value>.*)$')


class ChapterError(ValueError):
    """Bad input in a chapter, with the file and line at fault."""

    def __init__(self, path, line, message):
        self.path, self.line = path, line
        super().__init__(f'{path}:{line}: {message}')


@dataclasses.dataclass
class Cell:
    kind: str                 # 'markdown' or 'code'
    source: str
    line: int                 # 1-based line of the cell's first line in the file
    tags: list = dataclasses.field(default_factory=list)
    options: dict = dataclasses.field(default_factory=dict)
    code_line: int = 0        # line of the first line of code (code cells)
    tags_line: int = 0        # line of the cell's tags option, if any

    @property
    def framework(self):
        """The framework a code cell belongs to, or None for a shared cell."""
        found = [t for t in self.tags if t in FRAMEWORKS]
        return found[0] if found else None

    @property
    def first_line(self):
        for text in self.source.splitlines():
            if text.strip():
                return text.strip()
        return ''


@dataclasses.dataclass
class Chapter:
    path: pathlib.Path
    name: str
    metadata_text: str
    cells: list

    @property
    def title(self):
        for cell in self.cells:
            if cell.kind == 'markdown':
                for text in cell.source.splitlines():
                    if text.startswith('# '):
                        return text[2:].strip()
        return self.name

    def code_cells(self, framework=None):
        """Code cells in order; with a framework, those that run there."""
        return [c for c in self.cells if c.kind == 'code' and (
            framework is None or c.framework in (None, framework))]

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
    frameworks = [t for t in tags if t in FRAMEWORKS]
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

    def flush_markdown():
        body = '\n'.join(markdown).strip('\n')
        if body.strip():
            offset = next(k for k, t in enumerate(markdown) if t.strip())
            cells.append(Cell('markdown', body, markdown_start + offset))
        markdown.clear()

    while i < len(lines):
        text_line = lines[i]
        if fence is None and CODE_CELL_OPEN.match(text_line):
            flush_markdown()
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
            markdown_start = i + 2
            i += 1
            continue
        markdown.append(text_line)
        i += 1
    if fence is not None:
        raise ChapterError(path, len(lines), f'a fenced block ({fence}) in '
                           'the prose is never closed')
    flush_markdown()
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


def read_chapter(path):
    """Parse and check a chapter file."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except UnicodeDecodeError as e:
        raise ChapterError(path, 1, f'not UTF-8 text ({e})') from e
    chapter = parse_chapter_text(text, path)
    check_tab_groups(chapter)
    return chapter
