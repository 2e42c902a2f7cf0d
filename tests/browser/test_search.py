"""The search box in a real browser: it finds words of the prose and of the
code in every chapter of the edition being read (Vietnamese with and
without its diacritics), lists and marks the hits, opens the section, and
selects the tab of a hit in one framework's code; all from file://, with
no request leaving the machine and no console error.

The book under test is the repository's own chapters in English and in
Vietnamese (the shipped catalogs), split and 'executed' without a kernel
(conftest.kernel_free_book: each cell prints one line), so that every
framework's tab is on the page; built in a temporary folder in seconds.
"""
import pytest

from bookbuild.i18n import catalogs
from conftest import kernel_free_book
from browser_tab import STORAGE_KEY, selected_frameworks

DENSE_BLOCKS = 'dense-blocks'
REMEDY = 'the-remedy-recompute-instead-of-store'


@pytest.fixture(scope='session')
def search_book(tmp_path_factory):
    """The Layout of the repository's chapters rendered in both editions."""
    return kernel_free_book(tmp_path_factory.mktemp('search'))


def edition_folder(layout, language):
    return layout.html if language == 'en' else layout.html / language


def search(tab, page, query):
    """Type `query` into the header's box; the result links."""
    page.fill('.book-search input[type=search]', query)
    page.wait_for_selector('.book-search .search-results:not([hidden]) li')
    return page.locator('.book-search .search-results a.search-result')


def result_to(results, chapter, anchor):
    """The result that opens `anchor` of `chapter`.html."""
    for i in range(results.count()):
        href = results.nth(i).get_attribute('href')
        if href.startswith(f'{chapter}.html?') and href.endswith(f'#{anchor}'):
            return results.nth(i)
    hrefs = [results.nth(i).get_attribute('href')
             for i in range(results.count())]
    raise AssertionError(f'no result opens {chapter}.html#{anchor}: {hrefs}')


def marks_in_section(page, anchor):
    """The texts of the marked hits between the section's heading and the
    next heading of its level or above."""
    return page.evaluate('''anchor => {
      const heading = document.getElementById(anchor);
      const level = Number(heading.tagName[1]);
      const headings = Array.from(document.querySelectorAll('main h1, main h2, main h3, main h4'));
      const next = headings.find(h => Number(h.tagName[1]) <= level &&
        (heading.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING));
      return Array.from(document.querySelectorAll('mark.search-hit')).filter(m =>
        (heading.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING) &&
        (!next || (m.compareDocumentPosition(next) & Node.DOCUMENT_POSITION_FOLLOWING))
      ).map(m => m.textContent);
    }''', anchor)


def in_view(page, selector):
    return page.eval_on_selector(selector, '''e => {
      const box = e.getBoundingClientRect();
      return box.bottom > 0 && box.top < window.innerHeight && box.height > 0;
    }''')


# Each chapter in each edition: a phrase of one section's prose, the
# section, and the words (as on the page) that must be marked there. The
# Vietnamese are the shipped catalogs' words for "growth rate" and "memory
# buffers", with and without diacritics (and đ typed as d).
SECTION_HITS = [
    ('en', 'densenet', 'growth rate', DENSE_BLOCKS, {'growth', 'rate'}),
    ('en', 'densenet-memory', 'memory buffers', REMEDY,
     {'memory', 'buffers'}),
    ('vi', 'densenet', 'tốc độ tăng trưởng', DENSE_BLOCKS,
     {'tốc', 'độ', 'tăng', 'trưởng'}),
    ('vi', 'densenet', 'toc do tang truong', DENSE_BLOCKS,
     {'tốc', 'độ', 'tăng', 'trưởng'}),
    ('vi', 'densenet-memory', 'vùng đệm bộ nhớ', REMEDY,
     {'vùng', 'đệm', 'bộ', 'nhớ'}),
    ('vi', 'densenet-memory', 'vung dem bo nho', REMEDY,
     {'vùng', 'đệm', 'bộ', 'nhớ'}),
]


@pytest.mark.parametrize('language, chapter, query, anchor, words',
                         SECTION_HITS)
def test_a_phrase_opens_its_section_with_the_hits_marked(
        tab, search_book, language, chapter, query, anchor, words):
    folder = edition_folder(search_book, language)
    # From another page than the chapter's: the search spans the edition.
    other = 'densenet-memory' if chapter == 'densenet' else 'densenet'
    page = tab.open(folder / f'{other}.html')
    results = search(tab, page, query)
    hit = result_to(results, chapter, anchor)
    listed = {text.lower() for text in hit.locator('mark').all_inner_texts()}
    assert listed & {w.lower() for w in words}, listed
    hit.click()
    page.wait_for_load_state('load')
    assert page.url.split('?')[0].endswith(f'/{chapter}.html')
    assert page.url.endswith(f'#{anchor}')
    # The page has the phrase: its words are marked there, and no other
    # word that folds alike ('tầng', layer, is not 'tăng', grow).
    marked = {text.lower() for text in marks_in_section(page, anchor)}
    assert marked == {w.lower() for w in words}
    assert in_view(page, 'mark.search-hit') or in_view(page, f'[id="{anchor}"]')
    # The page is this edition's, not the other's.
    assert page.evaluate('document.documentElement.lang') == language
    assert tab.errors == []
    assert tab.remote_requests() == []


@pytest.mark.parametrize('language', ['en', 'vi'])
@pytest.mark.parametrize('chapter', ['densenet', 'densenet-memory'])
def test_a_word_only_in_jax_code_opens_the_jax_tab(
        tab, search_book, language, chapter):
    folder = edition_folder(search_book, language)
    page = tab.open(folder / 'index.html')
    results = search(tab, page, 'jnp')
    frameworks = {results.nth(i).get_attribute('data-framework')
                  for i in range(results.count())}
    assert frameworks == {'jax'}
    hit = next(results.nth(i) for i in range(results.count())
               if results.nth(i).get_attribute('href')
               .startswith(f'{chapter}.html?'))
    group = hit.get_attribute('href').rsplit('#', 1)[1]
    hit.click()
    page.wait_for_load_state('load')
    count = page.locator('[data-tab-group]').count()
    # Before any choice a page shows PyTorch: the hit chose JAX, on every
    # tab group of the page, and book.js remembers it.
    assert selected_frameworks(page) == ['jax'] * count
    assert page.evaluate(f'localStorage.getItem("{STORAGE_KEY}")') == 'jax'
    panel = f'[id="{group}"] > [role=tabpanel][data-framework=jax]'
    marks = page.locator(f'{panel} mark.search-hit')
    assert marks.count() >= 1
    assert marks.first.inner_text() == 'jnp'
    assert marks.first.is_visible()
    assert in_view(page, f'{panel} mark.search-hit')
    assert tab.errors == []
    assert tab.remote_requests() == []


@pytest.mark.parametrize('language', ['en', 'vi'])
def test_nothing_found_says_so_in_the_edition_language(
        tab, search_book, language):
    page = tab.open(edition_folder(search_book, language) / 'densenet.html')
    search(tab, page, 'xylophonequartz')
    none = page.locator('.search-results .search-none')
    assert none.count() == 1
    if language == 'en':
        assert none.inner_text() == 'No results.'
    else:
        path = catalogs.catalog_path(search_book.locales, 'vi',
                                     catalogs.FURNITURE)
        catalog = catalogs.read_catalog(path, 'vi')
        assert none.inner_text() == catalog.get('No results.').string
    assert page.locator('.search-results a').count() == 0
    assert tab.errors == []


def test_the_index_loads_only_when_the_reader_searches(tab, search_book):
    page = tab.open(search_book.html / 'densenet.html')
    assert page.locator('.book-search').is_visible()
    assert not any(url.endswith('search-index.js') for url in tab.requests)
    search(tab, page, 'transition')
    loaded = [url for url in tab.requests
              if url.endswith(('search-index.js', 'minisearch.js'))]
    assert len(loaded) == 2 and all(url.startswith('file://') for url in loaded)
    assert tab.remote_requests() == []
