"""Fixtures of the browser tests: a rendered page and Debian's Chromium.

`rendered_page` is the chapter page under test: the file that $D2L_BOOK_PAGE
names (for example the real build/html/densenet.html), else the render
tests' fixture chapter rendered into a temporary folder.
"""
import os
import pathlib
import sys

import pytest

from bookbuild.render.book import render_book
from browser_tab import DESKTOP, Watched

# Tests must pass offline: the guard shared by every suite fails a test
# that opens a network connection (tests/network_guard.py).
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))
import network_guard  # noqa: E402
from network_guard import refuse_network  # noqa: E402,F401 (autouse)
from kernel_free import run_without_kernels  # noqa: E402

network_guard.install()

TESTS = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--no-first-run']


def load_render_fixtures():
    """tests/bookbuild/page_fixture.py, which builds the fixture chapter (a
    helper module of the build suites, not a test file)."""
    if str(TESTS / 'bookbuild') not in sys.path:
        sys.path.append(str(TESTS / 'bookbuild'))
    import page_fixture
    return page_fixture


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


# A desktop-sized tab of the browser, recording what the page requests and
# logs (browser_tab.Watched), for any test of the suite.
@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def tab(context):
    return Watched(context)


def load_i18n_fixtures():
    """tests/bookbuild/edition_fixture.py, which builds a chapter in two
    editions (a helper module of the build suites, not a test file)."""
    if str(TESTS / 'bookbuild') not in sys.path:
        sys.path.append(str(TESTS / 'bookbuild'))
    import edition_fixture
    return edition_fixture


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


# What a hostile catalog tries, one payload a message in turn: scripts,
# event handlers, a dialog, a changed title, links and images to another
# host, a redirect, a {raw} directive on lines of its own. Each would set
# window.__pwned, open a dialog or make a request leave the machine if it
# reached the page as markup.
HOSTILE_PAYLOADS = [
    '<script>window.__pwned = 1; document.title = "pwned"</script>',
    '<img src=x onerror="window.__pwned = 2; alert(2)">',
    '<svg onload="window.__pwned = 3"></svg>',
    '<details open ontoggle="window.__pwned = 4"><summary>x</summary>'
    '</details>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '[bấm vào](javascript:window.__pwned=5)',
    '![](http://evil.example/pixel.png)',
    '<https://evil.example/autolink>',
    '\n\n```{raw} html\n<script>window.__pwned = 6</script>\n```',
    '{raw}`<script>window.__pwned = 7</script>`',
    '</div></details><iframe srcdoc="<script>parent.__pwned = 8'
    '</script>"></iframe>',
]
# Not markup: shown as text.
ESCAPED_TEXT = '&lt;script&gt;window.__pwned = 9&lt;/script&gt;'
ESCAPED_MESSAGE = 2     # the first paragraph of the first chapter (after
                        # its one-line description and its title)


def kernel_free_book(root, prepare=None):
    """The repository's chapters and catalogs copied under `root`, run
    without kernels (run_without_kernels) and rendered in English and
    Vietnamese, in about a second; `prepare(layout)` may change the copied
    catalogs first. Returns the Layout."""
    import shutil

    from bookbuild.cli import Layout
    from bookbuild.editions import edition_of, render_edition
    shutil.copytree(TESTS.parent / 'chapters', root / 'chapters')
    shutil.copytree(TESTS.parent / 'locales', root / 'locales')
    layout = Layout(root / 'build', root)
    merged = [run_without_kernels(layout, chapter)
              for chapter in layout.chapters()]
    if prepare is not None:
        prepare(layout)
    languages = ['en', 'vi']
    render_book(merged, layout.html, layout.root, layout.executed,
                edition=edition_of('en', languages))
    render_edition('vi', merged, layout.executed, layout.root,
                   layout.locales, layout.editions, layout.html, languages)
    return layout


@pytest.fixture(scope='session')
def hostile_edition(tmp_path_factory):
    """The repository's chapters in English and in a Vietnamese whose every
    message (prose, diagram labels, furniture) is the shipped translation
    with a payload after it; one message gets only escaped text. Built in
    a temporary folder without a kernel, in about a second. Returns the
    Layout."""
    from bookbuild.i18n import catalogs

    def poison_catalogs(layout):
        turn = 0
        for domain in [path.stem for path in layout.chapters()] + \
                [catalogs.FURNITURE]:
            path = catalogs.catalog_path(layout.locales, 'vi', domain)
            catalog = catalogs.read_catalog(path, 'vi')
            for message in catalog:
                if not message.id:
                    continue
                if turn == ESCAPED_MESSAGE:
                    message.string += f' {ESCAPED_TEXT}'
                else:
                    message.string += \
                        f' {HOSTILE_PAYLOADS[turn % len(HOSTILE_PAYLOADS)]}'
                turn += 1
            catalogs.write_catalog(catalog, path)

    return kernel_free_book(tmp_path_factory.mktemp('hostile'),
                            poison_catalogs)


@pytest.fixture(scope='session')
def built_book(tmp_path_factory):
    """The html/ folder of a built book in English and Vietnamese: the one
    $D2L_BOOK_PAGE lies in (a smoke build, say), else the repository's
    chapters and catalogs rendered without a kernel (each code cell's
    output says which framework 'ran' it), in about a second."""
    named = os.environ.get('D2L_BOOK_PAGE')
    if named:
        return pathlib.Path(named).resolve().parent
    return kernel_free_book(tmp_path_factory.mktemp('kernel-free')).html
