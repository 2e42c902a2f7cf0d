"""The Vietnamese edition in a real browser: its tabs, its math, the choice
of framework shared with the English pages, the language switch, and no
request leaving the machine.

Pages come from the `edition_pages` fixture (tests/browser/conftest.py).
Tab groups inside a folded answer are invisible until it opens: the tests
click visible tabs only, and count groups whether folded or not.
"""
import pathlib
import re

import pytest

from browser_tab import STORAGE_KEY, selected_frameworks, untypeset_formulas

VIETNAMESE_LETTERS = re.compile('[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]',
                                re.I)


def visible_tab(page, framework):
    """A tab of `framework` the reader can click (not in a folded answer)."""
    return page.locator(f'[data-tab-group] > .tab-list > '
                        f'[role=tab][data-framework={framework}]') \
        .locator('visible=true').first


def test_the_page_is_vietnamese(tab, edition_pages):
    _, vietnamese = edition_pages
    page = tab.open(vietnamese)
    assert page.evaluate('document.documentElement.lang') == 'vi'
    assert VIETNAMESE_LETTERS.search(page.inner_text('main'))
    assert page.locator('.awaiting-translation').count() == 0


def test_tabs_switch_together_and_the_choice_crosses_languages(
        tab, edition_pages):
    english, vietnamese = edition_pages
    page = tab.open(english)
    visible_tab(page, 'jax').click()
    assert page.evaluate(f'localStorage.getItem("{STORAGE_KEY}")') == 'jax'

    page = tab.open(vietnamese)
    count = page.locator('[data-tab-group]').count()
    assert count >= 1
    assert selected_frameworks(page) == ['jax'] * count
    visible_tab(page, 'tensorflow').click()
    assert selected_frameworks(page) == ['tensorflow'] * count

    page = tab.open(english)
    count = page.locator('[data-tab-group]').count()
    assert selected_frameworks(page) == ['tensorflow'] * count


def test_math_is_typeset_with_vietnamese_text(tab, edition_pages):
    _, vietnamese = edition_pages
    page = tab.open(vietnamese)
    assert page.locator('.math .katex').count() > 0
    assert untypeset_formulas(page) == 0
    assert page.locator('.katex-error').count() == 0
    # Vietnamese words inside a formula: KaTeX lays them out, unchanged.
    rendered = page.evaluate(
        'katex.renderToString("\\\\text{độ chính xác} = 0.9", '
        '{throwOnError: true})')
    assert 'katex-error' not in rendered
    assert 'độ chính xác' in re.sub(r'<[^>]+>', '', rendered)


def test_no_request_leaves_the_machine(tab, edition_pages):
    english, vietnamese = edition_pages
    page = tab.open(vietnamese)
    visible_tab(page, 'mxnet').click()
    tab.open(pathlib.Path(vietnamese).parent / 'index.html')
    page = tab.open(english)
    page.locator('[data-language-switch]').click()
    page.wait_for_load_state('load')
    assert tab.errors == []
    assert any(url.endswith('/static/book.js') for url in tab.requests)
    assert tab.remote_requests() == []


@pytest.mark.parametrize('start', [0, 1], ids=['from English',
                                               'from Vietnamese'])
def test_the_language_switch_lands_on_the_same_section(tab, edition_pages,
                                                       start):
    here = edition_pages[start]
    there = edition_pages[1 - start]
    # A short window, so that even a short page scrolls a section to the top.
    tab.page.set_viewport_size({'width': 900, 'height': 360})
    page = tab.open(here)
    headings = page.eval_on_selector_all(
        'main h2[id]', 'hs => hs.map(h => h.id)')
    assert len(headings) >= 2
    section = headings[len(headings) // 2 - 1]
    page.evaluate(f'document.getElementById("{section}").scrollIntoView()')
    page.locator('[data-language-switch]').click()
    page.wait_for_load_state('load')
    assert page.url.split('#')[0] == pathlib.Path(there).as_uri()
    assert page.url.endswith(f'#{section}')
    top = page.evaluate(f'document.getElementById("{section}")'
                        '.getBoundingClientRect().top')
    assert -2 <= top < 100


def test_a_reader_in_an_open_answer_lands_in_it(tab, edition_pages):
    english, _ = edition_pages
    tab.page.set_viewport_size({'width': 900, 'height': 360})
    page = tab.open(english)
    answer = page.locator('details.answer').first
    answer.locator(':scope > summary').click()
    name = answer.get_attribute('id')
    page.evaluate(f'document.getElementById("{name}").scrollIntoView()')
    page.locator('[data-language-switch]').click()
    page.wait_for_load_state('load')
    assert page.url.endswith(f'#{name}')
    assert page.evaluate(f'document.getElementById("{name}").open')
    top = page.evaluate(f'document.getElementById("{name}")'
                        '.getBoundingClientRect().top')
    assert -2 <= top < 100


def diagram_labels(page):
    """The text of each <text> in the SVG document open in `page`, and
    whether its box lies inside the drawing."""
    return page.evaluate(
        """() => {
            const svg = document.documentElement;
            const view = svg.viewBox.baseVal;
            const area = view && view.width ? view :
                {x: 0, y: 0, width: svg.width.baseVal.value,
                 height: svg.height.baseVal.value};
            return [...document.querySelectorAll('text')].map(t => {
                const box = t.getBBox();
                return {text: t.textContent,
                        inside: box.x >= area.x - 1 &&
                                box.x + box.width <= area.x + area.width + 1};
            });
        }""")


def test_diagrams_speak_vietnamese_and_their_labels_fit(tab, edition_pages):
    _, vietnamese = edition_pages
    page = tab.open(vietnamese)
    sources = page.evaluate(
        "[...document.querySelectorAll('figure img')].map(i => i.src)"
        ".filter(s => s.endsWith('.svg'))")
    assert sources
    words = []
    for src in sources:
        assert '/vi/' in src, src  # the edition's own, translated copy
        page.goto(src)
        labels = diagram_labels(page)
        assert [l['text'] for l in labels if not l['inside']] == [], src
        words += [l['text'] for l in labels]
    assert VIETNAMESE_LETTERS.search(' '.join(words)), words
