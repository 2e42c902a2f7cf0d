"""The book's table of contents: `chapters/toc.yml`, the one place that
orders the chapters. The build reads them in this order, and every page's
contents and its previous/next links follow it; a file name says nothing
about where a chapter goes.

    # chapters/toc.yml
    chapters:
      - densenet
      - densenet-memory

Each entry names a chapter file of the same folder (`densenet` or
`densenet.md`); a folder of one chapter (or none) may go without. An entry without
its file, an entry listed twice, or a chapter file that no entry names
stops the build with the file and line.
"""
import dataclasses
import pathlib

from bookbuild.errors import LocatedError

TOC_NAME = 'toc.yml'


class TocError(LocatedError, ValueError):
    """A fault in the table of contents, with the file and line."""


@dataclasses.dataclass(frozen=True)
class TocEntry:
    name: str                 # the chapter's file stem: its page's name
    path: pathlib.Path        # the chapter's file
    line: int                 # where the toc lists it


def toc_path(chapters_dir):
    return pathlib.Path(chapters_dir) / TOC_NAME


def read_toc(chapters_dir):
    """The chapters of `chapters_dir`, in the order its toc.yml gives, as
    TocEntry; TocError for a missing or malformed toc, an unknown or
    repeated chapter, or a chapter file the toc leaves out."""
    import yaml  # the tooling's; the framework environments never read this
    path = toc_path(chapters_dir)
    if not path.is_file():
        # One chapter (or none) has no order to give: such a book needs
        # no toc.
        alone = list(pathlib.Path(chapters_dir).glob('*.md'))
        if len(alone) <= 1:
            return [TocEntry(p.stem, p, 0) for p in alone]
        raise TocError(path, 1, 'no table of contents: list the chapters in '
                       'reading order under "chapters:"')
    try:
        root = yaml.compose(path.read_text(encoding='utf-8'))
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        raise TocError(path, mark.line + 1 if mark else 1,
                       f'not valid YAML ({getattr(e, "problem", e)})') from e
    chapters = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == 'chapters':
                chapters = value
            else:
                raise TocError(path, key.start_mark.line + 1,
                               f'unknown key {key.value!r}: the table of '
                               'contents has only "chapters:"')
    if not isinstance(chapters, yaml.SequenceNode) or not chapters.value:
        line = (chapters or root).start_mark.line + 1 if root else 1
        raise TocError(path, line, 'expected "chapters:" followed by a list '
                       'of chapter names ("- densenet")')
    entries, seen = [], {}
    folder = path.parent
    for node in chapters.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
            raise TocError(path, line, 'each entry is a chapter name, such '
                           'as "- densenet"')
        name = node.value.strip()
        name = name[:-3] if name.endswith('.md') else name
        chapter = folder / f'{name}.md'
        if '/' in name or not chapter.is_file():
            raise TocError(path, line, f'unknown chapter {node.value!r}: '
                           f'there is no {chapter}')
        if name in seen:
            raise TocError(path, line, f'chapter {name!r} is listed twice '
                           f'(first on line {seen[name]})')
        seen[name] = line
        entries.append(TocEntry(name, chapter, line))
    left_out = sorted(p for p in folder.glob('*.md') if p.stem not in seen)
    if left_out:
        end = chapters.end_mark.line + (0 if chapters.end_mark.column else 1)
        raise TocError(path, end, f'the chapter {left_out[0]} is not in the '
                       f'table of contents: add "- {left_out[0].stem}" where '
                       'it belongs in the reading order')
    return entries


def book_chapters(chapters_dir):
    """The chapter files of `chapters_dir`, in the book's order: what the
    build reads, what numbers figures and equations ("Fig. 2.3")."""
    return [entry.path for entry in read_toc(chapters_dir)]
