"""Stage 4, render: merged chapters -> one HTML page each, plus an index.

A page is plain HTML that works from file:// with no network: code is
highlighted by pygments at build time, plots are inline SVG or data: URIs,
math is typeset in the browser by the KaTeX that Debian installs
(libjs-katex), copied next to the pages.

Each framework's code sits in a tab group. Without JavaScript every panel is
shown under its framework's name; static/book.js turns the groups into tabs
that switch together, by framework name, and remembers the reader's choice.

Everything a page needs (images, notebooks, KaTeX) is found before anything
is written, and every file is written atomically, so a failed render leaves
the previous good book in place.
"""
import pathlib

import nbformat
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from bookbuild import (FRAMEWORK_LABELS, FRAMEWORKS, answers, bibliography,
                       crossref, toc)
from bookbuild.files import copy_atomically, display_path, write_atomically
from bookbuild.i18n.furniture import gettext as _
from bookbuild.render.cells import render_cells
from bookbuild.render.common import (AUTOLOADED_REMOTE_URL, MAX_OUTPUT_LINES,
                                     ChapterContext, ChapterPage, RenderError,
                                     esc)
from bookbuild.render.markdown import markdown_renderer
from bookbuild.render.page import (BOOK_TITLE, ENGLISH, book_navigation,
                                   download_links, page_links, page_shell,
                                   render_index, run_banner, static_files,
                                   table_of_contents)
from bookbuild.render.search import INDEX_FILE, index_script, search_index


# ---------------------------------------------------------------- the book

def render_book(merged_paths, html_dir, source_root, notebooks_dir, *,
                book_title=BOOK_TITLE, edition=ENGLISH, write_static=True,
                max_output_lines=MAX_OUTPUT_LINES):
    """Render every merged chapter and the index into `html_dir`.

    Returns the pages written: the chapters in the given order, then
    index.html. Raises RenderError, having written nothing, when a chapter
    cannot be rendered (a missing image or notebook, say).

    An `edition` other than English links the static files of the book's
    root (`write_static=False`: they are there already). A stream output
    longer than `max_output_lines` shows its first and last lines (0: all).
    """
    html_dir = pathlib.Path(html_dir)
    book_title = _(book_title)
    notebooks = [nbformat.read(path, as_version=4) for path in merged_paths]
    book = book_labels([chapter_source_path(nb.metadata.get('d2l_book', {}),
                                            pathlib.Path(source_root))
                        for nb in notebooks])
    pages = [render_chapter(nb, source_root, notebooks_dir,
                            book_title=book_title, edition=edition,
                            max_output_lines=max_output_lines, book=book)
             for nb in notebooks]
    check_unique_names(pages)
    # Every page shows the whole book's contents: framed again, now that
    # every chapter's sections are known.
    for page in pages:
        frame_chapter(page, pages, book_title, edition)
    index = render_index(pages, book_title, edition=edition)
    search = index_script(search_index(pages, edition.language,
                                       FRAMEWORK_LABELS))
    static = static_files() if write_static else {}
    # Everything is rendered and everything it needs exists: only now is
    # the previous book replaced, one atomically written file at a time.
    for relative, content in static.items():
        write_atomically(content, html_dir / relative)
    for page in pages:
        for relative, source in page.files.items():
            copy_atomically(source, html_dir / relative)
    written = [write_atomically(page.html, html_dir / f'{page.name}.html')
               for page in pages]
    written.append(write_atomically(index, html_dir / 'index.html'))
    write_atomically(search, html_dir / INDEX_FILE)
    return written


def book_labels(sources):
    """The labels and numbers of the book the chapters at `sources`
    belong to (bookbuild.crossref): every chapter beside them, in the
    book's order, whether this build renders it or not; then any chapter
    named by a path outside."""
    paths = []
    for folder in dict.fromkeys(path.parent for path in sources):
        paths += toc.book_chapters(folder)
    paths += [path for path in sources if path not in paths]
    return crossref.Book.of([path for path in paths if path.is_file()])


def check_unique_names(pages):
    seen = {}
    for page in pages:
        if page.name in seen:
            raise RenderError(f'{page.source} and {seen[page.name]} would both '
                              f'be written to {page.name}.html')
        seen[page.name] = page.source


# ---------------------------------------------------------------- a chapter

def render_chapter(nb, source_root, notebooks_dir, *, book_title=BOOK_TITLE,
                   edition=ENGLISH, max_output_lines=MAX_OUTPUT_LINES,
                   book=None):
    """Render one merged notebook into a ChapterPage (not written yet).
    `book`: the labels its references may point at (bookbuild.crossref;
    by default those of the chapters beside it)."""
    meta = nb.metadata.get('d2l_book', {})
    source_root = pathlib.Path(source_root)
    source_path = chapter_source_path(meta, source_root)
    page = ChapterPage(
        name=meta.get('chapter') or source_path.stem,
        title=meta.get('title') or source_path.stem,
        source=display_path(source_path, source_root),
        runs=meta.get('runs', {}),
        description=meta.get('description', ''))
    frameworks = [fw for fw in FRAMEWORKS
                  if fw in meta.get('frameworks', page.runs)]
    ctx = ChapterContext(page, source_path.parent, frameworks,
                         code_lexer(nb), meta.get('image_sources', {}),
                         meta.get('glue', {}),
                         max_output_lines=max_output_lines)
    ctx.book = book or book_labels([source_path])
    ctx.chapter_number = ctx.book.chapters.get(page.name)
    ctx.bibliography = bibliography.bibliography_of(source_path.parent)
    markdown = markdown_renderer()
    env = {'chapter': ctx, 'markdown': markdown, 'headings': [],
           'slugs': set()}
    body = answers.render_with_answers(
        nb.cells, lambda cells: render_cells(cells, ctx, markdown, env))
    body += bibliography.references_html(ctx.bibliography, ctx.cited)
    notebooks = notebook_files(page, frameworks, pathlib.Path(notebooks_dir))
    intro = (run_banner(page.runs, frameworks) + download_links(notebooks)
             + table_of_contents(env['headings'], markdown, env))
    page.sections = [
        (slug, markdown.renderer.renderInline(token.children or [],
                                              markdown.options, env))
        for level, slug, token in env['headings'] if level == 2]
    page.main = insert_after_title(body, intro)
    page.footer = esc(_('Built from {source}.')).format(
        source=f'<code>{esc(page.source)}</code>')
    return frame_chapter(page, [page], book_title, edition)


def frame_chapter(page, pages, book_title, edition):
    """The chapter's whole page: its content in the page shell, with the
    contents of the book (`pages`, in order) and previous/next links."""
    page.html = page_shell(
        title=f'{page.title} \u2014 {book_title}', book_title=book_title,
        main=page.main, footer=page.footer,
        edition=edition, page=f'{page.name}.html',
        navigation=book_navigation(pages, page.name, book_title),
        pager=page_links(pages, page.name, book_title))
    check_nothing_autoloaded(page.html, page.source)
    return page


def chapter_source_path(meta, source_root):
    source = meta.get('source')
    if not source:
        return source_root / 'chapters' / f'{meta.get("chapter", "chapter")}.md'
    source = pathlib.Path(source)
    return source if source.is_absolute() else source_root / source


def code_lexer(nb):
    language = (nb.metadata.get('language_info', {}).get('name')
                or nb.metadata.get('kernelspec', {}).get('language')
                or 'python')
    for name in ('ipython3' if language == 'python' else language, 'python'):
        try:
            return get_lexer_by_name(name)
        except ClassNotFound:
            continue


def notebook_files(page, frameworks, notebooks_dir):
    """framework -> path under html/ of its executed notebook, which is
    registered as a file of the page."""
    links = {}
    for fw in frameworks:
        name = (page.runs.get(fw, {}).get('notebook')
                or f'{page.name}-{fw}.ipynb')
        path = notebooks_dir / name
        if not path.is_file():
            raise RenderError(f'{page.source}: the executed {FRAMEWORK_LABELS[fw]}'
                              f' notebook {path} is missing: execute the '
                              'chapter again')
        links[fw] = f'notebooks/{name}'
        page.files[links[fw]] = path
    return links


def check_nothing_autoloaded(page_html, source):
    match = AUTOLOADED_REMOTE_URL.search(page_html)
    if match:
        url = next(group for group in match.groups() if group)
        raise RenderError(f'{source}: the page would fetch {url} from the '
                          'network; keep the file in the repository instead')


def insert_after_title(body, intro):
    """The banner and contents go right under the chapter's <h1>."""
    end = body.find('</h1>')
    if end < 0:
        return intro + body
    end += len('</h1>')
    return body[:end] + '\n' + intro + body[end:]
