"""A chapter page in a real browser (Debian's Chromium, driven by Playwright).

The page comes from the `rendered_page` fixture (tests/browser/conftest.py):
$D2L_BOOK_PAGE, or the render tests' fixture chapter. Screenshots land in
build/screenshots/ for a person to look at.
"""
import pathlib

import pytest

from bookbuild import FRAMEWORKS
from browser_tab import (DESKTOP, PHONE, STORAGE_KEY, Watched, broken_images,
                         open_answers, selected_frameworks,
                         untypeset_formulas, visible_panel_frameworks)

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
SCREENSHOTS = REPOSITORY / 'build' / 'screenshots'


def test_tab_groups_have_four_tabs(tab, rendered_page):
    page = tab.open(rendered_page)
    open_answers(page)
    groups = page.locator('[data-tab-group]')
    assert groups.count() >= 2
    for i in range(groups.count()):
        tabs = groups.nth(i).locator(':scope > .tab-list > [role=tab]')
        assert tabs.count() == 4
        assert [tabs.nth(j).get_attribute('data-framework')
                for j in range(4)] == list(FRAMEWORKS)
        panels = groups.nth(i).locator(':scope > [role=tabpanel]:visible')
        assert panels.count() == 1
    assert selected_frameworks(page) == ['pytorch'] * groups.count()


def test_a_tab_switches_every_group_and_is_remembered(tab, rendered_page):
    page = tab.open(rendered_page)
    groups = page.locator('[data-tab-group]')
    count = groups.count()
    # the last group may sit in a folded answer: a click there must reach
    # the groups of the chapter too, and the folded ones must follow
    open_answers(page)
    groups.nth(count - 1).locator('[role=tab][data-framework=jax]').click()
    assert selected_frameworks(page) == ['jax'] * count
    assert visible_panel_frameworks(page) == ['jax'] * count
    assert page.evaluate(f'localStorage.getItem("{STORAGE_KEY}")') == 'jax'

    page.reload()
    assert selected_frameworks(page) == ['jax'] * count
    shown = page.locator('[data-tab-group]:visible').count()
    assert shown >= 2
    assert visible_panel_frameworks(page) == ['jax'] * shown

    # the choice carries to the index, and back from it
    index = tab.open(pathlib.Path(rendered_page).parent / 'index.html')
    pressed = index.locator('.framework-chooser [aria-pressed=true]')
    assert pressed.count() == 1
    assert pressed.get_attribute('data-framework') == 'jax'
    index.locator('.framework-chooser [data-framework=tensorflow]').click()
    page = tab.open(rendered_page)
    assert selected_frameworks(page) == ['tensorflow'] * count


def test_keyboard_moves_between_tabs(tab, rendered_page):
    page = tab.open(rendered_page)
    first = page.locator('[data-tab-group]').first
    first.locator('[role=tab][data-framework=pytorch]').focus()
    page.keyboard.press('ArrowRight')
    assert set(selected_frameworks(page)) == {'mxnet'}
    focused = page.evaluate('document.activeElement.dataset.framework')
    assert focused == 'mxnet'
    page.keyboard.press('End')
    assert set(selected_frameworks(page)) == {'tensorflow'}
    page.keyboard.press('ArrowRight')  # wraps around
    assert set(selected_frameworks(page)) == {'pytorch'}
    # only the selected tab is a Tab stop
    tabindexes = first.locator('[role=tab]').evaluate_all(
        'tabs => tabs.map(t => t.tabIndex)')
    assert sorted(tabindexes) == [-1, -1, -1, 0]


def shown_values(page):
    """framework -> the text of each .glue-value, without its label."""
    return page.eval_on_selector_all(
        '.glue', 'els => els.map(e => Object.fromEntries(Array.from('
        'e.querySelectorAll(":scope > .glue-value")).map(v => '
        '[v.dataset.framework, v.firstChild.textContent])))')


def test_a_measured_value_in_the_prose_follows_the_tabs(tab, rendered_page):
    """{glue}`name` whose value differs by framework: the sentence shows the
    selected tab's value, changes with the tabs, and remembers."""
    page = tab.open(rendered_page)
    open_answers(page)  # values in worked answers follow too
    glued = page.locator('.glue')
    if glued.count() == 0:
        pytest.skip('no value on this page differs by framework')
    first = glued.first
    values = shown_values(page)[0]
    frameworks = list(values)  # those that ran, in the book's order
    assert frameworks == [fw for fw in FRAMEWORKS if fw in values]
    seen = {}
    for fw in frameworks:
        page.locator(f'[data-tab-group] [role=tab][data-framework={fw}]'
                     ).first.click()
        visible = first.locator('.glue-value:visible')
        assert visible.count() == 1
        assert visible.get_attribute('data-framework') == fw
        seen[fw] = first.inner_text()
        assert seen[fw] == values[fw]  # the value alone, no label
        # every value of the page follows, not only the first
        assert page.locator('.glue-value:visible').count() == glued.count()
    assert len(set(seen.values())) > 1
    page.reload()
    assert page.locator('.glue').first.inner_text() == values[frameworks[-1]]
    assert not tab.errors


def test_math_is_typeset(tab, rendered_page):
    page = tab.open(rendered_page)
    assert page.locator('.katex').count() > 0
    assert untypeset_formulas(page) == 0
    assert page.locator('.katex-error').count() == 0
    text = page.inner_text('main')
    assert '$$' not in text and '\\[' not in text and '\\(' not in text


def test_images_load_and_plots_are_inline(tab, rendered_page):
    page = tab.open(rendered_page)
    assert broken_images(page) == []
    assert page.evaluate('document.images.length') > 0
    assert page.locator('.output-svg svg').count() > 0


def test_no_console_errors_and_no_request_leaves_the_machine(tab, rendered_page):
    page = tab.open(rendered_page)
    page.locator('[data-tab-group] [role=tab][data-framework=mxnet]').first.click()
    tab.open(pathlib.Path(rendered_page).parent / 'index.html')
    assert tab.errors == []
    assert tab.requests, 'no request recorded at all'
    assert tab.remote_requests() == []


def test_phone_width_has_no_horizontal_scroll(browser, rendered_page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    try:
        page = Watched(context).open(rendered_page)
        width = page.evaluate('document.scrollingElement.scrollWidth')
        assert width <= PHONE['width'] + 1
        open_answers(page)  # what the answers hold must fit too
        width = page.evaluate('document.scrollingElement.scrollWidth')
        assert width <= PHONE['width'] + 1
        # code scrolls inside its block rather than widening the page
        overflowing = page.eval_on_selector_all(
            'main *', 'els => els.filter(e => e.getBoundingClientRect().right'
            ' > window.innerWidth + 1 && e.offsetParent !== null'
            ' && !e.closest("pre, .katex-display, .math-display, .table-wrap, .katex-mathml"))'
            '.map(e => e.tagName + "." + e.className).slice(0, 5)')
        assert overflowing == []
        page.screenshot(path=str(SCREENSHOTS / f'{pathlib.Path(rendered_page).stem}'
                                                '-phone.png'), full_page=True)
    finally:
        context.close()


def test_screenshot(tab, rendered_page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = tab.open(rendered_page)
    target = SCREENSHOTS / f'{pathlib.Path(rendered_page).stem}.png'
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 0
    index = tab.open(pathlib.Path(rendered_page).parent / 'index.html')
    index.screenshot(path=str(SCREENSHOTS / 'index.png'), full_page=True)


def test_without_javascript_every_panel_shows_labelled(browser, rendered_page):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = Watched(context).open(rendered_page)
        open_answers(page)
        panels = page.locator('[data-tab-group] > [role=tabpanel]')
        assert panels.count() == 4 * page.locator('[data-tab-group]').count()
        assert page.locator('[data-tab-group] > [role=tabpanel]:visible').count() \
            == panels.count()
        assert page.locator('.tab-list:visible').count() == 0
        assert page.locator('.panel-label:visible').count() == panels.count()
        # a value that differs by framework shows each, labelled
        values = page.locator('.glue-value')
        assert page.locator('.glue-value:visible').count() == values.count()
        assert page.locator('.glue-label:visible').count() == values.count()
    finally:
        context.close()


def test_print_shows_every_panel_without_buttons(tab, rendered_page):
    page = tab.open(rendered_page)
    page.emulate_media(media='print')
    panels = page.locator('[data-tab-group] > [role=tabpanel]')
    assert page.locator('[data-tab-group] > [role=tabpanel]:visible').count() \
        == panels.count()
    assert page.locator('.tab-list:visible').count() == 0
    assert page.locator('.toc:visible').count() == 0
    assert page.locator('.panel-label:visible').count() == panels.count()
    values = page.locator('.glue-value')
    assert page.locator('.glue-value:visible').count() == values.count()
