"""The book around its pages, as rendered: every page's table of contents
and previous/next links (in the order the pages come, which is the toc's),
the index's one line per chapter, and the reading aids' static files (copy
buttons, the dark theme and its code colours)."""
import re

import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild.render.book import render_book
from page_fixture import CHAPTER, make_fixture_book

SECOND = 'second-demo'


@pytest.fixture
def book(tmp_path):
    """The fixture chapter, then a second one after it."""
    book = make_fixture_book(tmp_path)
    first = book['merged_paths'][0]
    nb = nbformat.read(first, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace('# Tabs Demo',
                                                    '# Second Demo')
    meta = nb.metadata['d2l_book']
    meta.update(chapter=SECOND, title='Second Demo',
                source=f'chapters/{SECOND}.md',
                description='A second chapter, after the first.')
    for run in meta['runs'].values():
        run['notebook'] = run['notebook'].replace(CHAPTER, SECOND)
    for fw in FRAMEWORKS:
        nbformat.write(nbformat.v4.new_notebook(),
                       book['notebooks_dir'] / f'{SECOND}-{fw}.ipynb')
    second = first.with_name(f'{SECOND}.ipynb')
    nbformat.write(nb, second)
    book['merged_paths'] = [first, second]
    return book


def nav(page_html, css_class):
    found = re.search(rf'<nav class="{css_class}".*?</nav>', page_html, re.S)
    assert found, f'no <nav class="{css_class}">'
    return found[0]


def test_every_page_shows_the_whole_books_contents_in_order(book):
    render_book(**book)
    html = book['html_dir']
    for name in (CHAPTER, SECOND, 'index'):
        toc = nav((html / f'{name}.html').read_text(), 'book-toc')
        chapters = re.findall(r'<li class="book-toc-chapter[^"]*"><a href="'
                              r'([^"]+)"[^>]*>([^<]+)</a>', toc)
        assert chapters == [(f'{CHAPTER}.html', 'Tabs Demo'),
                            (f'{SECOND}.html', 'Second Demo')]
        # each chapter's sections, linked into its page
        for chapter in (CHAPTER, SECOND):
            assert f'<a href="{chapter}.html#shared-cells">Shared Cells</a>' \
                in toc
        current = re.findall(r'<a href="([^"]+)" aria-current="page">', toc)
        assert current == [f'{name}.html'], name


def test_previous_and_next_follow_the_books_order(book):
    render_book(**book)
    html = book['html_dir']

    def links(name):
        pager = nav((html / f'{name}.html').read_text(), 'page-links')
        return dict((rel, href) for rel, href in re.findall(
            r'rel="(prev|next)" href="([^"]+)"', pager))

    assert links('index') == {'next': f'{CHAPTER}.html'}
    assert links(CHAPTER) == {'prev': 'index.html', 'next': f'{SECOND}.html'}
    assert links(SECOND) == {'prev': f'{CHAPTER}.html'}
    # the order is the one the chapters come in, not their names'
    book['merged_paths'].reverse()
    render_book(**book)
    assert links('index') == {'next': f'{SECOND}.html'}
    assert links(CHAPTER) == {'prev': f'{SECOND}.html'}


def test_the_index_gives_each_chapter_its_line(book):
    render_book(**book)
    index = (book['html_dir'] / 'index.html').read_text()
    assert re.findall(r'<span class="chapter-description">([^<]+)</span>',
                      index) == ['Four frameworks side by side, in tabs that '
                                 'switch together.',
                                 'A second chapter, after the first.']


def test_the_header_has_room_for_tools_and_the_theme_toggle(book):
    render_book(**book)
    page = (book['html_dir'] / f'{CHAPTER}.html').read_text()
    header = re.search(r'<header class="site-header">.*?</header>', page)[0]
    assert 'id="book-header-tools"' in header
    assert re.search(r'<button type="button" class="theme-toggle" '
                     r'aria-pressed="false"', header)
    # the copy buttons' words, for the script
    assert 'data-label-copy="Copy"' in page
    # the theme applies before the page is drawn: its script is in <head>
    head = page.split('</head>')[0]
    assert 'static/theme.js' in head
    assert 'static/reading.js' in page.split('</head>')[1]


def test_the_dark_theme_has_its_own_code_colours(book):
    render_book(**book)
    static = book['html_dir'] / 'static'
    assert (static / 'theme.js').is_file() and (static / 'reading.js').is_file()
    css = (static / 'book.css').read_text()
    chosen = re.findall(r'^:root\[data-theme="dark"\] \.highlight \.k \{ '
                        r'color: (#\w+)', css, re.M)
    by_system = re.findall(r'^:root:not\(\[data-theme="light"\]\) '
                           r'\.highlight \.k \{ color: (#\w+)', css, re.M)
    light = re.findall(r'^\.highlight \.k \{ color: (#\w+)', css, re.M)
    assert chosen and chosen == by_system and chosen != light
    # the system's dark applies only where the reader has not chosen light
    assert '@media screen and (prefers-color-scheme: dark)' in css
    # a long output line wraps in its block
    assert re.search(r'pre\.output \{ white-space: pre-wrap; '
                     r'overflow-wrap: anywhere; \}', css)


# ---------------------------------------------------------------- editions

def test_a_chapters_line_is_a_message_and_the_edition_shows_it_translated(
        tmp_path):
    from bookbuild.i18n import catalogs
    from bookbuild.i18n.messages import chapter_messages
    from bookbuild.source import read_chapter
    from edition_fixture import (CHAPTER as TEXT, build_both, translate_all,
                                 write_book)
    line = 'Dense blocks, their growth and a diagram, in one small chapter.'
    text = TEXT.replace('---\njupytext:', f'---\ndescription: {line}\n'
                        'jupytext:', 1)
    layout = write_book(tmp_path, text)
    chapter = read_chapter(layout.root / 'chapters' / 'small.md')
    first = chapter_messages(chapter)[0]
    assert (first.text, first.line, first.kind) == (line, 2, 'description')
    translate_all(layout)
    pages, translators = build_both(layout)
    assert translators['small'].coverage.untranslated == 0
    english = (layout.html / 'index.html').read_text(encoding='utf-8')
    vietnamese = (layout.html / 'vi' / 'index.html').read_text(
        encoding='utf-8')
    assert f'<span class="chapter-description">{line}</span>' in english
    assert f'<span class="chapter-description">VI {line}</span>' in vietnamese
    # the edition's contents: its translated titles, its own pages
    toc = nav(vietnamese, 'book-toc')
    assert '<a href="small.html">VI A Chapter To Translate</a>' in toc
    assert '<a href="small.html#growth">VI Growth</a>' in toc
    assert 'href="../' not in toc
    # coverage counts it: without its translation the chapter is not done
    path = catalogs.catalog_path(layout.locales, 'vi', 'small')
    catalog = catalogs.read_catalog(path, 'vi')
    catalog[line].string = ''
    catalogs.write_catalog(catalog, path)
    assert catalogs.chapter_coverage(chapter, catalogs.read_catalog(
        path, 'vi')).coverage.untranslated == 1
