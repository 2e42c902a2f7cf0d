"""A translated edition of the book: the English build's outputs with the
prose of a language's catalogs. Nothing is executed here.

Two stages, each from files to files:

- `translate_chapter`: an English merged chapter (build/merged) and the
  executed notebooks (build/executed) -> the same with translated prose
  (build/editions/<lang>/merged and .../notebooks). Code cells and their
  outputs are copied, never re-run, so they are the English book's by
  construction; a translated heading keeps its English id, so a section's
  anchor is the same in every edition. The chapter's SVG diagrams get
  their labels translated (build/editions/<lang>/diagrams), and the
  merged chapter's `image_sources` points the page at them.
- `render_edition`: those -> build/html/<lang>/, rendered with the
  language's page furniture (book.po), linking the English edition's static
  files.
"""
import copy
import dataclasses
import pathlib

import nbformat

from bookbuild import glue, myst
from bookbuild.errors import BookError
from bookbuild.files import write_atomically, write_notebook_atomically
from bookbuild.i18n import catalogs, diagrams, messages
from bookbuild.i18n.furniture import translating
from bookbuild.render.book import render_book
from bookbuild.render.common import MAX_OUTPUT_LINES
from bookbuild.render.page import LANGUAGE_NAMES, Edition
from bookbuild.source import read_chapter
from bookbuild.split import carry_outputs, chapter_notebook


class EditionError(BookError, RuntimeError):
    pass


def edition_of(language, languages):
    """The Edition of `language` ('en' or one under html/<language>/), with
    links to the same page in each of `languages` (all editions)."""
    others = [lang for lang in languages if lang != language]

    def prefix(other):
        if language == 'en':
            return f'{other}/'
        return '../' if other == 'en' else f'../{other}/'

    return Edition(language=language, root='' if language == 'en' else '../',
                   switch=tuple((o, LANGUAGE_NAMES.get(o, o), prefix(o))
                                for o in others))


def english_heading_ids(cells):
    """The id each heading of each markdown cell gets on the English page:
    the page numbers headings across all its cells, in order."""
    markdown = myst.parser()
    env = {'slugs': set(), 'headings': []}
    ids = []
    for cell in cells:
        if cell.cell_type != 'markdown':
            ids.append([])
            continue
        tokens = markdown.parse(cell.source, env)
        ids.append([t.attrGet('id') for t in tokens
                    if t.type == 'heading_open'])
    return ids


@dataclasses.dataclass
class TranslatedChapter:
    name: str
    merged: pathlib.Path
    notebooks: dict           # framework -> translated executed notebook
    translator: catalogs.Translator


def translate_chapter(merged_path, executed_dir, catalog_file, language,
                      out_dir):
    """Write the translated merged chapter and executed notebooks of one
    chapter under `out_dir` (merged/, notebooks/). A missing catalog
    leaves every message English, marked as awaiting translation."""
    merged = nbformat.read(merged_path, as_version=4)
    meta = merged.metadata.get('d2l_book', {})
    source = pathlib.Path(meta.get('source', ''))
    if not source.is_file():
        raise EditionError(f'{merged_path}: its chapter {source} is missing; '
                           'build the English book again')
    chapter = read_chapter(source)
    catalog_file = pathlib.Path(catalog_file)
    catalog = (catalogs.read_catalog(catalog_file, language)
               if catalog_file.is_file() else None)
    translator = catalogs.Translator(catalog, catalog_file)

    def translated(text, line):
        return messages.translate_markdown(text, translator, language,
                                           source, line,
                                           refuse=translator.refuse)

    out_dir = pathlib.Path(out_dir)
    result = copy.deepcopy(merged)
    for cell, ids in zip(result.cells, english_heading_ids(merged.cells)):
        if cell.cell_type == 'markdown':
            book = cell.metadata.setdefault('d2l_book', {})
            cell.source = translated(cell.source, book.get('line', 1))
            book['heading_ids'] = ids
    title = meta.get('title', chapter.title)
    result.metadata['d2l_book']['title'] = translator(title) or title
    description = meta.get('description', '')
    if description:
        result.metadata['d2l_book']['description'] = \
            translator(description) or description
    result.metadata['d2l_book']['image_sources'] = translate_diagrams(
        chapter, translator, out_dir / 'diagrams' / chapter.name)
    result.metadata['d2l_book']['language'] = language
    merged_out = write_notebook_atomically(
        result, out_dir / 'merged' / f'{chapter.name}.ipynb')

    chapter.cells = [dataclasses.replace(c, source=translated(c.source, c.line))
                     if c.kind == 'markdown' else c for c in chapter.cells]
    notebooks = {}
    for framework, run in meta.get('runs', {}).items():
        name = run.get('notebook') or f'{chapter.name}-{framework}.ipynb'
        notebooks[framework] = write_notebook_atomically(
            translated_notebook(chapter, framework,
                                pathlib.Path(executed_dir) / name),
            out_dir / 'notebooks' / name)
    return TranslatedChapter(chapter.name, merged_out, notebooks, translator)


def translate_diagrams(chapter, translator, out_dir):
    """Write the chapter's SVG diagrams, labels translated, under `out_dir`
    at the path the chapter gives them; {src as the chapter writes it: the
    translated file}, for the page to show instead of the English one."""
    sources = {}
    for src, path in diagrams.chapter_diagrams(chapter).items():
        svg = path.read_text(encoding='utf-8')
        sources[src] = str(write_atomically(
            diagrams.translate_svg(svg, translator),
            pathlib.Path(out_dir) / src).resolve())
    return sources


def translated_notebook(chapter, framework, executed_path):
    """The framework's notebook of the translated `chapter`, with the code
    cells' outputs of the English executed notebook."""
    if not executed_path.is_file():
        raise EditionError(f'{executed_path}: the executed notebook is '
                           'missing; build the English book first')
    executed = nbformat.read(executed_path, as_version=4)
    nb = chapter_notebook(chapter, framework)
    if not carry_outputs(executed, nb, cell_metadata=True):
        raise EditionError(f'{executed_path}: its code differs from '
                           f'{chapter.path}: build the English book first')
    nb.metadata = copy.deepcopy(executed.metadata)
    # The translated prose keeps its {glue} references (a placeholder of
    # every message): this framework's values go in, as in English.
    return glue.substitute_notebook(nb)


def render_edition(language, merged_paths, executed_dir, layout_root,
                   locales, build_dir, html_root, languages,
                   max_output_lines=MAX_OUTPUT_LINES):
    """Translate and render one language's edition into html_root/<lang>/
    (long outputs capped as in the English edition, `max_output_lines`).
    Returns (pages written, {chapter: Translator})."""
    build_dir = pathlib.Path(build_dir) / language
    furniture_file = catalogs.catalog_path(locales, language, catalogs.FURNITURE)
    furniture = (catalogs.read_catalog(furniture_file, language)
                 if furniture_file.is_file() else None)
    chapters = {}
    # Only the furniture's finished translations that pass the checks
    # (catalogs.Translator): the render modules fill them in as str.format
    # templates.
    with translating(catalogs.Translator(furniture, furniture_file,
                                     format_fields=True).lookup):
        for merged_path in merged_paths:
            name = pathlib.Path(merged_path).stem
            chapters[name] = translate_chapter(
                merged_path, executed_dir,
                catalogs.catalog_path(locales, language, name), language,
                build_dir)
        pages = render_book([c.merged for c in chapters.values()],
                            pathlib.Path(html_root) / language, layout_root,
                            build_dir / 'notebooks',
                            edition=edition_of(language, languages),
                            write_static=False,
                            max_output_lines=max_output_lines)
    translators = {name: c.translator for name, c in chapters.items()}
    translators[catalogs.FURNITURE] = furniture_coverage(furniture, layout_root,
                                                     furniture_file)
    return pages, translators


def furniture_coverage(catalog, root, path=None):
    translator = catalogs.Translator(catalog, path, format_fields=True)
    for message in catalogs.furniture_template(root):
        if message.id:
            translator(message.id)
    return translator

