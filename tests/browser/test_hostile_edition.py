"""The Vietnamese edition of the repository's chapters built from hostile
copies of its catalogs (tests/browser/conftest.py, `hostile_edition`),
opened in Chromium: no script of the catalogs runs, no dialog opens, no
request leaves the machine, and the pages carry no event handler, script
or link off the machine that the book did not write. The refused messages
show their English, awaiting translation.
"""
import pathlib

import pytest

PAGES = ['densenet.html', 'densenet-memory.html', 'index.html']


def open_watched(tab, path):
    """The page at `path`, and the messages of the dialogs it opened."""
    if not hasattr(tab, 'dialogs'):
        tab.dialogs = []
        tab.page.on('dialog', lambda dialog: (
            tab.dialogs.append(dialog.message), dialog.dismiss()))
    dialogs = tab.dialogs
    page = tab.open(path)
    # a meta refresh or a failed image's onerror acts just after load
    page.wait_for_timeout(300)
    return page, dialogs


# The attributes that hold a URL, and the URLs that run script or leave
# the machine.
UNTRUSTED = r"""() => {
    const urls = ['href', 'src', 'action', 'formaction', 'xlink:href',
                  'content', 'poster', 'data'];
    const bad = /^\s*(javascript|vbscript|data|https?):|^\s*\/\/|url=/i;
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            if (attr.name.startsWith('on') || attr.name === 'srcdoc' ||
                    urls.includes(attr.name) && bad.test(attr.value))
                found.push(`<${el.tagName} ${attr.name}="${attr.value}">`);
        }
        // the book's scripts; search.js adds MiniSearch and the edition's
        // index when the reader searches
        const own = /static\/(book\.js|theme\.js|reading\.js|search\.js|minisearch\.js|katex\/)|\/search-index\.js$/
            .test(el.src || '');
        if (el.tagName.toLowerCase() === 'script' && !own ||
                ['IFRAME', 'OBJECT', 'EMBED'].includes(el.tagName) ||
                el.tagName === 'META' && el.httpEquiv)
            found.push(el.outerHTML.slice(0, 120));
    }
    return found;
}"""


def untrusted_markup(page):
    """Event-handler attributes, scripts not of the book, frames, redirects
    and URLs that run script or leave the machine, in the document."""
    return page.evaluate(UNTRUSTED)


@pytest.mark.parametrize('name', PAGES)
def test_no_script_of_a_catalog_runs(tab, hostile_edition, name):
    path = hostile_edition.html / 'vi' / name
    page, dialogs = open_watched(tab, path)
    assert tab.remote_requests() == []
    assert page.url == pathlib.Path(path).as_uri()     # no redirect
    assert page.evaluate('window.__pwned') is None
    assert 'pwned' not in page.title()
    assert dialogs == []
    assert tab.errors == []
    assert untrusted_markup(page) == []


def test_refused_messages_show_english_and_text_stays_text(
        tab, hostile_edition):
    from bookbuild.source import read_chapter
    title = read_chapter(hostile_edition.root / 'chapters' /
                         'densenet.md').title
    page, _ = open_watched(tab, hostile_edition.html / 'vi' /
                           'densenet.html')
    assert page.locator('.awaiting-translation').count() >= 30
    assert page.locator('h1 .awaiting-translation').inner_text() == title
    assert page.title().startswith(title)
    # An entity is how a translation writes about a tag: the reader sees it.
    assert '<script>window.__pwned = 9</script>' in page.inner_text('main')
    assert page.evaluate('window.__pwned') is None


def test_a_translated_diagram_opened_alone_runs_nothing(tab, hostile_edition):
    """An SVG opened as a document runs its scripts: a label cannot add one."""
    diagrams = sorted((hostile_edition.html / 'vi' / 'img').glob('*.svg'))
    assert diagrams
    for path in diagrams:
        page, dialogs = open_watched(tab, path)
        assert page.evaluate('window.__pwned') is None
        assert page.evaluate("document.querySelectorAll('script').length") \
            == 0
        assert untrusted_markup(page) == []
        assert dialogs == [] and tab.remote_requests() == []
        assert page.evaluate("document.querySelectorAll('text').length") > 0
