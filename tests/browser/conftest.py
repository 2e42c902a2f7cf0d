"""Fixtures of the browser tests: a rendered page and Debian's Chromium.

`rendered_page` is the chapter page under test: the file that $D2L_BOOK_PAGE
names (for example the real build/html/densenet.html), else the render
tests' fixture chapter rendered into a temporary folder.
"""
import importlib.util
import os
import pathlib
import sys

import pytest

from bookbuild.render import render_book

# Tests must pass offline: the guard shared by every suite fails a test
# that opens a network connection (tests/network_guard.py).
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))
import network_guard  # noqa: E402
from network_guard import refuse_network  # noqa: E402,F401 (autouse)

network_guard.install()

TESTS = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--no-first-run']


def load_render_fixtures():
    """tests/build/test_render.py, which builds the fixture chapter, loaded
    under its own name (the test folders are not packages)."""
    path = TESTS / 'build' / 'test_render.py'
    spec = importlib.util.spec_from_file_location('render_fixture_book', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def rendered_page(tmp_path_factory):
    named = os.environ.get('D2L_BOOK_PAGE')
    if named:
        page = pathlib.Path(named).resolve()
        if not page.is_file() or page.suffix != '.html':
            pytest.fail(f'D2L_BOOK_PAGE={named} is not an html file')
        return page
    book = load_render_fixtures().make_fixture_book(
        tmp_path_factory.mktemp('book'))
    return render_book(**book)[0]


@pytest.fixture(scope='session')
def browser():
    sync_api = pytest.importorskip('playwright.sync_api')
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f'no Chromium at {CHROMIUM} (Debian package chromium); '
                    'the tests never download a browser')
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def load_i18n_fixtures():
    """tests/build/test_i18n.py, which builds a chapter in two editions."""
    path = TESTS / 'build' / 'test_i18n.py'
    spec = importlib.util.spec_from_file_location('i18n_fixture_book', path)
    module = importlib.util.module_from_spec(spec)
    import sys
    sys.path.insert(0, str(TESTS / 'build'))  # its chapter_fixture import
    spec.loader.exec_module(module)
    return module


def vietnamese(msgid):
    """The fixture's 'translation': real diacritics, every placeholder kept
    (a figure's caption is translated inside its image)."""
    if msgid.startswith('!['):
        return '![Chú thích: ' + msgid[2:]
    return f'Tiếng Việt: {msgid}'


@pytest.fixture(scope='session')
def edition_pages(rendered_page, tmp_path_factory):
    """(English page, the same page in Vietnamese): the `vi/` sibling of
    $D2L_BOOK_PAGE, else a small chapter built in both editions."""
    if os.environ.get('D2L_BOOK_PAGE'):
        english = pathlib.Path(rendered_page)
        translated = english.parent / 'vi' / english.name
        if not translated.is_file():
            pytest.fail(f'{translated}: no Vietnamese edition beside '
                        f'{english} (make html builds it)')
        return english, translated
    fixtures = load_i18n_fixtures()
    layout = fixtures.write_book(tmp_path_factory.mktemp('editions'))
    fixtures.translate_all(layout, translate=vietnamese)
    fixtures.build_both(layout)
    return layout.html / 'small.html', layout.html / 'vi' / 'small.html'
