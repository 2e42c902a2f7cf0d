"""References and citations in a real browser: clicking a {numref} or
{eq} link lands on its figure or equation (on this page or another
chapter's), and clicking a citation lands on its entry in the chapter's
references section, scrolled into view.

The pages are $D2L_BOOK_PAGE's folder (a built book: the reference, cross
and citation links of its chapters), else the two-chapter book of
tests/bookbuild/reference_fixture.py rendered into a temporary folder.
"""
import os
import pathlib
import re

import pytest

from bookbuild.render.book import render_book

# Short, so that a target is usually out of view before the click.
SHORT = {'width': 900, 'height': 360}


@pytest.fixture(scope='session')
def reference_pages(tmp_path_factory):
    """The chapter pages to click through, the one with the most
    reference and citation links first."""
    named = os.environ.get('D2L_BOOK_PAGE')
    if named:
        folder = pathlib.Path(named).resolve().parent
        pages = sorted(folder.glob('*.html'), key=lambda p: -(
            p.read_text(encoding='utf-8').count('class="reference ')
            + p.read_text(encoding='utf-8').count('class="citation"')))
        return [p for p in pages if p.name != 'index.html']
    from conftest import TESTS
    import sys
    if str(TESTS / 'bookbuild') not in sys.path:
        sys.path.append(str(TESTS / 'bookbuild'))
    import reference_fixture
    layout, merged = reference_fixture.write_reference_book(
        tmp_path_factory.mktemp('references'))
    pages = render_book(merged, layout.html, layout.root, layout.executed)
    return [p for p in reversed(pages) if p.name != 'index.html']


def first_link(tab, pages, selector):
    """(page, link): the first link matching `selector` on the first page
    that has one, opened at a short viewport."""
    for path in pages:
        page = tab.open(path)
        page.set_viewport_size(SHORT)
        links = page.locator(selector)
        if links.count():
            return page, links.first
    pytest.fail(f'no {selector} on {", ".join(p.name for p in pages)}')


def landed(page):
    """The element the location's hash names, as the reader sees it:
    (id, top of its box, the viewport's height), or None."""
    return page.evaluate('''() => {
        const id = decodeURIComponent(location.hash.slice(1));
        const element = document.getElementById(id);
        if (!element) return null;
        const cover = document.querySelector('.language-switch');
        return [id, element.getBoundingClientRect().top, innerHeight,
                element.tagName.toLowerCase(), element.textContent,
                cover ? cover.getBoundingClientRect().bottom : 0];
    }''')


def click_and_check(page, link):
    href = link.get_attribute('href')
    link.scroll_into_view_if_needed()
    link.click()
    page.wait_for_load_state('load')
    page.wait_for_function('() => location.hash.length > 1')
    target = landed(page)
    assert target is not None, f'{href}: no element has the id {page.url}'
    anchor, top, height, tag, text, covered = target
    assert href.endswith('#' + anchor)
    assert -2 <= top < height, f'{href}: {tag}#{anchor} is not in view ' \
        f'(top {top}, viewport {height})'
    # not under the language switch that floats at the top of the page
    assert top >= covered, (href, top, covered)
    return tag, text


def test_a_reference_lands_on_its_figure_or_equation(tab, reference_pages):
    page, link = first_link(tab, reference_pages,
                            'main a.reference[href^="#"]')
    number = link.inner_text()
    tag, text = click_and_check(page, link)
    assert tag in ('figure', 'div', 'span', 'h2', 'h3')
    if tag == 'figure':
        # the caption shows the number the link said
        assert re.search(r'\d+\.\d+', number)[0] + '.' in text


def test_a_reference_to_another_chapter_opens_it_at_the_target(
        tab, reference_pages):
    page, link = first_link(tab, reference_pages,
                            'main a.reference:not([href^="#"])')
    href = link.get_attribute('href')
    click_and_check(page, link)
    assert page.url.split('#')[0].endswith('/' + href.split('#')[0])


def test_a_citation_lands_on_its_bibliography_entry(tab, reference_pages):
    page, link = first_link(tab, reference_pages, 'main a.citation')
    year = link.inner_text().rstrip(')').split()[-1].strip('(')[:4]
    tag, text = click_and_check(page, link)
    assert tag == 'li'
    assert year in text
    assert page.locator('section.bibliography li:target').count() == 1
