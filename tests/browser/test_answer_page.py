"""Worked answers on a chapter page, in Chromium: folded under their
exercise, opened from the keyboard, their code tabs following the page's,
and printed open.

The page is $D2L_BOOK_PAGE when it holds answers (the real chapter in
`make test-browser`), else the answer chapter of tests/bookbuild/answer_fixture.py
rendered into a temporary folder.
"""
import os
import pathlib
import sys

import pytest

from bookbuild.render.book import render_book

TESTS = pathlib.Path(__file__).resolve().parents[1]
ANSWER = 'details.answer'


def load_answer_fixtures():
    """tests/bookbuild/answer_fixture.py, a helper module of the build
    suites (not a test file)."""
    if str(TESTS / 'bookbuild') not in sys.path:
        sys.path.append(str(TESTS / 'bookbuild'))
    import answer_fixture
    return answer_fixture


@pytest.fixture(scope='module')
def answer_page(tmp_path_factory):
    named = os.environ.get('D2L_BOOK_PAGE')
    if named and 'class="answer"' in pathlib.Path(named).read_text():
        return pathlib.Path(named).resolve()
    book = load_answer_fixtures().make_answer_book(
        tmp_path_factory.mktemp('answers'))
    return render_book(**book)[0]


@pytest.fixture
def page(browser, answer_page):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    page = context.new_page()
    errors = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    page.goto(answer_page.as_uri())
    page.wait_for_load_state('load')
    yield page
    context.close()
    assert not errors


def answer_with_tabs(page):
    """The first answer that holds a tab group."""
    return page.locator(ANSWER, has=page.locator('[data-tab-group]')).first


def test_answers_start_folded(page):
    answers = page.locator(ANSWER)
    assert answers.count() >= 2
    for i in range(answers.count()):
        details = answers.nth(i)
        assert details.get_attribute('open') is None
        assert details.locator('summary').is_visible()
        assert not details.locator('.answer-body').is_visible()


def test_enter_on_the_summary_opens_and_closes_an_answer(page):
    details = answer_with_tabs(page)
    summary = details.locator('summary')
    # Reached with the Tab key like any control: a summary is focusable.
    page.locator('body').focus()
    for _ in range(200):
        page.keyboard.press('Tab')
        if summary.evaluate('s => s === document.activeElement'):
            break
    else:
        pytest.fail('Tab never reached the answer summary')
    page.keyboard.press('Enter')
    assert details.get_attribute('open') is not None
    assert details.locator('.answer-body').is_visible()
    page.keyboard.press('Enter')
    assert details.get_attribute('open') is None


def test_tabs_inside_an_answer_follow_the_page_choice(page):
    details = answer_with_tabs(page)
    details.locator('summary').click()
    inside = details.locator('[data-tab-group]').first
    outside = page.locator(f'[data-tab-group]:not({ANSWER} *)').first
    for framework in ('jax', 'tensorflow'):
        # Chosen outside the answer: the answer's group follows...
        outside.locator(f'[role=tab][data-framework={framework}]').click()
        selected = inside.locator('[role=tab][aria-selected=true]')
        assert selected.get_attribute('data-framework') == framework
        assert inside.locator(
            f'[role=tabpanel][data-framework={framework}]').is_visible()
    # ...and the other way round.
    inside.locator('[role=tab][data-framework=mxnet]').click()
    assert outside.locator('[role=tab][aria-selected=true]').get_attribute(
        'data-framework') == 'mxnet'


def test_printing_shows_every_answer(page):
    page.emulate_media(media='print')
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    answers = page.locator(ANSWER)
    for i in range(answers.count()):
        assert answers.nth(i).get_attribute('open') is not None
        assert answers.nth(i).locator('.answer-body').is_visible()
    # Every framework's code of an answer prints, labelled.
    panels = answer_with_tabs(page).locator('[role=tabpanel]')
    assert all(panels.nth(i).is_visible() for i in range(panels.count()))
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    page.emulate_media(media='screen')
    assert answers.first.get_attribute('open') is None
