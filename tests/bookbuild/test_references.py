"""Numbered figures, equations and sections with references to them
(bookbuild.crossref), and citations with a references section per chapter
(bookbuild.bibliography), through the real pipeline: a book of two small
chapters split, "executed" (outputs written in, no kernel) and merged,
then rendered in English and in a Vietnamese edition."""
import re

import pytest
from pybtex.backends.html import Backend as HtmlBackend
from pybtex.database import parse_file
from pybtex.plugin import find_plugin

from bookbuild import crossref, toc
from bookbuild.bibliography import CitationError
from bookbuild.editions import edition_of, render_edition
from bookbuild.i18n import catalogs, messages
from bookbuild.render.book import render_book
from bookbuild.source import read_chapter
from reference_fixture import ALPHA, BETA, write_chapter, write_reference_book


@pytest.fixture
def book(tmp_path):
    return write_reference_book(tmp_path)


def render(layout, merged, edition=None):
    render_book(merged, layout.html, layout.root, layout.executed,
                **({'edition': edition} if edition else {}))
    return {name: (layout.html / f'{name}.html').read_text()
            for name in ('alpha', 'beta')
            if (layout.html / f'{name}.html').is_file()}


def anchors(page):
    """href -> link text of the page's references and citations."""
    return {m[2]: re.sub(r'<[^>]+>', '', m[3]) for m in re.finditer(
        r'<a class="(reference \w+|citation)" href="([^"]+)">(.*?)</a>', page)}


def test_figures_and_equations_are_numbered_per_chapter(book):
    layout, merged = book
    pages = render(layout, merged)
    alpha, beta = pages['alpha'], pages['beta']
    captions = re.findall(r'<figure(?: id="([^"]*)")?>.*?'
                          r'<span class="figure-number">([^<]*)</span>',
                          alpha, re.S)
    assert captions == [('', 'Figure 1.1.'), ('fig-a2', 'Figure 1.2.')]
    assert re.findall(r'<figure id="([^"]*)">.*?'
                      r'<span class="figure-number">([^<]*)</span>',
                      beta, re.S) == [('fig-b1', 'Figure 2.1.')]
    # KaTeX sets the number at the right of the labelled equation.
    assert '<div class="equation" id="eq-a">' in alpha
    assert 'y = x + f(x) \\tag{1.1}' in alpha
    assert 'c_0 + Lk \\tag{2.1}' in beta
    # The figure carries the target's anchor; no second element has it.
    assert alpha.count('id="fig-a2"') == 1


def test_references_resolve_within_and_across_chapters(book):
    layout, merged = book
    pages = render(layout, merged)
    assert anchors(pages['alpha']) == {
        '#fig-a2': 'Fig. 1.2', '#eq-a': '(1.1)',
        'beta.html#fig-b1': 'Figure 2.1'}
    beta = anchors(pages['beta'])
    assert beta['#fig-b1'] == 'Figure 2.1 shows'     # a {numref} template
    assert beta['#eq-b'] == '(2.1)'
    assert beta['alpha.html#eq-a'] == '(1.1)'
    assert beta['alpha.html#fig-a2'] == 'Fig. 1.2'
    assert beta['#sec-b'] == 'Section 2.1'
    # Every link lands on an element of the page it names.
    for name, page in pages.items():
        for href in anchors(page):
            target_page, _, anchor = href.rpartition('#')
            target = pages[target_page[:-5]] if target_page else page
            assert f'id="{anchor}"' in target, (name, href)


def test_a_chapter_rendered_alone_keeps_its_number_and_links(book):
    """The numbers come from the book's order (chapters/toc.yml, read by bookbuild.toc), not from
    which chapters this build renders."""
    layout, merged = book
    assert [p.stem for p in toc.book_chapters(layout.root / 'chapters')] \
        == ['alpha', 'beta']
    beta = render(layout, merged[1:])['beta']
    assert 'Figure 2.1.' in beta
    assert anchors(beta)['alpha.html#fig-a2'] == 'Fig. 1.2'


def test_a_dangling_reference_names_file_and_line_and_writes_nothing(book):
    layout, merged = book
    broken = BETA.replace('{eq}`eq-b` counts', '{numref}`fig-x` counts')
    merged[1] = write_chapter(layout, 'beta', broken)
    line = broken.splitlines().index(
        next(text for text in broken.splitlines() if 'fig-x' in text)) + 1
    with pytest.raises(crossref.CrossReferenceError) as caught:
        render(layout, merged)
    assert str(caught.value).startswith(
        f"chapters/beta.md:{line}: unknown reference 'fig-x': ")
    assert (caught.value.path, caught.value.line) == ('chapters/beta.md',
                                                      line)
    assert not layout.html.exists() or not any(layout.html.iterdir())


def test_eq_refuses_a_figure_and_a_label_given_twice_is_named(book):
    layout, merged = book
    merged[1] = write_chapter(layout, 'beta',
                              BETA.replace('{eq}`eq-b`', '{eq}`fig-b1`'))
    with pytest.raises(crossref.CrossReferenceError,
                       match=r"chapters/beta\.md:\d+: \{eq\}`fig-b1` points "
                       'at a figure'):
        render(layout, merged)
    twice = BETA.replace('(fig-b1)=', '(fig-a2)=')
    merged[1] = write_chapter(layout, 'beta', twice)
    first, second = (text.splitlines().index('(fig-a2)=') + 1
                     for text in (ALPHA, twice))
    with pytest.raises(crossref.CrossReferenceError,
                       match=rf"beta\.md:{second}: the label 'fig-a2' is "
                       rf'given twice \(first at .*alpha\.md:{first}\)'):
        render(layout, merged)


def test_an_unknown_citation_key_names_file_and_line(book):
    layout, merged = book
    broken = BETA.replace('{cite:p}`huang2017densely`',
                          '{cite:p}`huang2017dense`')
    merged[1] = write_chapter(layout, 'beta', broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1)
                if 'huang2017dense`' in text)
    with pytest.raises(CitationError) as caught:
        render(layout, merged)
    assert str(caught.value).startswith(
        f"chapters/beta.md:{line}: unknown citation key 'huang2017dense': ")
    assert "did you mean 'huang2017densely'?" in str(caught.value)
    assert not layout.html.exists() or not any(layout.html.iterdir())


def test_citations_link_to_the_chapters_references_formatted_by_pybtex(book):
    layout, merged = book
    pages = render(layout, merged)
    beta = pages['beta']
    links = anchors(beta)
    assert links['#bib-huang2017densely'] == 'Huang et al., 2017'
    # Two works of the same authors and year are told apart by title.
    assert links['#bib-he2016deep'] == 'He et al. (2016a)'
    assert links['#bib-he2016identity'] == 'He et al. (2016b)'
    assert '(<a class="citation" href="#bib-huang2017densely">' in beta
    section = beta[beta.index('<section class="bibliography"'):]
    entries = re.findall(r'<li id="bib-([\w-]+)" class="reference-entry">'
                         r'(.*?)</li>', section, re.S)
    # The cited works only, sorted by author and year; each as pybtex's
    # unsrt style writes it in HTML.
    assert [key for key, _ in entries] == ['he2016deep', 'he2016identity',
                                           'huang2017densely']
    data = parse_file(str(layout.root / 'chapters' / 'references.bib'))
    style = find_plugin('pybtex.style.formatting', 'unsrt')()
    expected = {e.key: e.text.render(HtmlBackend())
                for e in style.format_entries(data.entries.values())}
    for key, html in entries:
        assert html == expected[key]
    assert 'Densely connected convolutional networks' in section
    assert 'References</h2>' in section
    # A chapter that cites nothing has no references section.
    assert 'class="bibliography"' not in pages['alpha']


def fill_catalogs(layout):
    chapters = [read_chapter(layout.root / 'chapters' / f'{name}.md')
                for name in ('alpha', 'beta')]
    catalogs.update_catalogs(chapters, layout.root, layout.locales, ['vi'])
    for domain in ('alpha', 'beta', catalogs.FURNITURE):
        path = catalogs.catalog_path(layout.locales, 'vi', domain)
        catalog = catalogs.read_catalog(path, 'vi')
        for message in catalog:
            if message.id:
                message.string = (
                    '![VI ' + message.id[2:] if message.id.startswith('![')
                    else f'VI {message.id}')
        catalogs.write_catalog(catalog, path)


def test_the_vietnamese_edition_keeps_the_numbers(book):
    layout, merged = book
    fill_catalogs(layout)
    english = render(layout, merged, edition_of('en', ['en', 'vi']))
    render_edition('vi', merged, layout.executed, layout.root, layout.locales,
                   layout.editions, layout.html, ['en', 'vi'])
    vi = {name: (layout.html / 'vi' / f'{name}.html').read_text()
          for name in ('alpha', 'beta')}
    # The same targets, numbers and anchors; the words around the numbers
    # are the edition's (book.po; here the fake 'VI ' prefix).
    assert anchors(vi['alpha']) == {
        '#fig-a2': 'VI Fig. 1.2', '#eq-a': '(1.1)',
        'beta.html#fig-b1': 'Figure 2.1'}   # the prose's template
    assert anchors(vi['beta'])['alpha.html#fig-a2'] == 'VI Fig. 1.2'
    assert anchors(vi['beta'])['#sec-b'] == 'VI Section 2.1'
    assert 'VI Figure 2.1.</span>' in vi['beta']
    assert 'c_0 + Lk \\tag{2.1}' in vi['beta']
    for name in ('alpha', 'beta'):
        assert (set(anchors(vi[name])) == set(anchors(english[name])))
    assert 'VI References</h2>' in vi['beta']
    # Citations in the edition's words, with the same years and letters.
    assert anchors(vi['beta'])['#bib-huang2017densely'] == \
        'VI Huang et al., 2017'
    assert anchors(vi['beta'])['#bib-he2016identity'] == \
        'VI He et al. (2016b)'
    assert anchors(english['beta'])['#bib-huang2017densely'] == \
        'Huang et al., 2017'


@pytest.mark.parametrize('source, translation, problem', [
    ('See {numref}`Figure %s <fig-b1>`.', 'Xem {numref}`Hình %s <fig-a2>`.',
     "loses the cross-reference '{numref}fig-b1'"),
    ('As {eq}`eq-b` says.', 'Như {eq}`eq-a` nói.',
     "loses the cross-reference '{eq}eq-b'"),
    ('DenseNet {cite:p}`huang2017densely`.', 'DenseNet {cite:p}`he2016deep`.',
     "loses the role '{cite:p}huang2017densely'"),
    ('DenseNet {cite:p}`huang2017densely`.',
     'DenseNet {cite:p}`huang2017densely` {cite:t}`he2016deep`.',
     "has a role '{cite:t}he2016deep' its source does not have"),
])
def test_a_translation_cannot_point_a_reference_or_citation_elsewhere(
        source, translation, problem):
    problems = messages.placeholder_problems(source, translation)
    assert any(p.startswith(problem) for p in problems), problems
    # The template's words are the translator's; the target is not.
    assert messages.placeholder_problems(
        'See {numref}`Figure %s <fig-b1>`.',
        'Xem {numref}`Hình %s <fig-b1>`.') == []
