"""The search index (bookbuild/render/search.py) and the pages' search
script (render/assets/search.js): what is indexed and what is left out,
that every document points at an id of its page, in every edition, and
how terms are normalised (run under Node, the book's own copy of
MiniSearch, as the browser runs them)."""
import html
import json
import re
import shutil
import subprocess

import pytest

from bookbuild import FRAMEWORKS
from bookbuild.render import search as search_module
from bookbuild.render.book import render_book
from bookbuild.render.common import RenderError
from bookbuild.render.search import (INDEX_FILE, MAX_OUTPUT_CHARS,
                                     index_script, page_documents)
from edition_fixture import build_both, translate_all, write_book
from page_fixture import CHAPTER, make_fixture_book

SEARCH_JS = search_module.REPOSITORY / 'bookbuild/render/assets/search.js'


def read_index(path):
    """The object search-index.js assigns to its global."""
    text = path.read_text(encoding='utf-8')
    prefix = f'window.{search_module.INDEX_GLOBAL} = '
    assert text.startswith(prefix) and text.endswith(';\n')
    return json.loads(text[len(prefix):-2])


def page_ids(page_html):
    return set(re.findall(r'\bid="([^"]+)"', page_html))


# ---------------------------------------------------------------- the index

PAGE = '''<html><body><header><a>Book title</a><input type="search"></header>
<main class="content">
<h1 id="intro">Intro <em>Part</em>s</h1>
<aside class="run-banner"><p>Outputs were produced in smoke mode</p></aside>
<nav class="toc"><a href="#x">Contents entry</a></nav>
<p>Dense <strong>connect</strong>ivity with <span class="math math-inline">\\(x^2\\)</span> math.</p>
<div class="cell shared"><div class="highlight"><pre><code><span class="n">print</span>(<span class="s">'shared'</span>)</code></pre></div>
<div class="cell-output"><pre class="output output-stream">shared output</pre></div></div>
<h2 id="blocks">Dense Blocks</h2>
<p>The growth rate<br>counts channels.</p>
<div class="tab-group" data-tab-group id="tabs-1">
<div class="tab-list" role="tablist"><button role="tab" data-framework="pytorch">PyTorch</button></div>
<div class="tab-panel" role="tabpanel" id="tabs-1-pytorch" data-framework="pytorch">
<p class="panel-label">PyTorch</p>
<div class="cell"><div class="highlight"><pre><code>torch.cat(X)</code></pre></div>
<div class="cell-output"><pre class="output output-stream">torch.Size([4, 23])</pre>
<div class="output output-svg"><svg><text>axis label</text></svg></div></div></div>
</div>
<div class="tab-panel" role="tabpanel" id="tabs-1-jax" data-framework="jax">
<p class="panel-label">JAX</p>
<div class="cell"><div class="highlight"><pre><code>jnp.concatenate(X)</code></pre></div>
<p class="not-run">Not executed in this build of the book.</p></div>
</div></div>
<h2 id="exercises">Exercises</h2>
<ol><li>Why average pooling?</li></ol>
<details class="answer" id="answer-1"><summary>Answer to exercise 1</summary>
<div class="answer-body"><p>Because it keeps every channel.</p></div></details>
<p>After the answer.</p>
</main>
<footer>Built from chapters/x.md</footer></body></html>'''


@pytest.fixture
def documents():
    return page_documents(3, PAGE)


def test_one_document_per_section_with_its_heading_and_prose(documents):
    sections = [d for d in documents if 'x' in d]
    assert [(d['a'], d['t']) for d in sections] == [
        ('intro', 'Intro Parts'), ('blocks', 'Dense Blocks'),
        ('exercises', 'Exercises'), ('answer-1', 'Answer to exercise 1')]
    assert all(d['p'] == 3 for d in documents)
    intro = sections[0]['x']
    # Markup inside a word joins it; a block's end (or <br>) separates.
    assert 'Dense connectivity with math.' == intro
    assert sections[1]['x'] == 'The growth rate counts channels.'
    # An answer is a section of its own; the prose after it is its
    # section's again.
    assert sections[3]['x'] == 'Because it keeps every channel.'
    assert sections[2]['x'] == 'Why average pooling? After the answer.'


def test_one_document_per_code_cell_and_framework_with_its_outputs(documents):
    cells = {(d['a'], d['f']): d for d in documents if 'c' in d}
    assert set(cells) == {('intro', ''), ('tabs-1', 'pytorch'),
                          ('tabs-1', 'jax')}
    assert cells['intro', '']['c'] == "print('shared')"
    assert cells['intro', '']['o'] == 'shared output'
    assert cells['intro', '']['t'] == 'Intro Parts'
    torch = cells['tabs-1', 'pytorch']
    assert torch['c'] == 'torch.cat(X)'
    assert torch['o'] == 'torch.Size([4, 23])'
    assert torch['t'] == 'Dense Blocks'
    # No output: no field; the 'not executed' note is furniture.
    assert 'o' not in cells['tabs-1', 'jax']


def test_furniture_math_and_drawings_are_left_out(documents):
    words = json.dumps(documents)
    for furniture in ('smoke mode', 'Contents entry', 'PyTorch', 'JAX',
                      'Not executed', 'x^2', 'axis label', 'Book title',
                      'Built from', '<'):
        assert furniture not in words, furniture


def test_a_long_output_is_cut_in_the_index():
    long = PAGE.replace('shared output', 'loss 0.5 ' * 2000)
    shared = next(d for d in page_documents(0, long) if d.get('f') == '')
    assert len(shared['o']) == MAX_OUTPUT_CHARS


def test_the_script_defines_the_index_and_escapes_line_separators():
    index = {'documents': [{'x': 'a\u2028b </script> "c"'}]}
    script = index_script(index)
    assert '\u2028' not in script and '\\u2028' in script
    node = shutil.which('node')
    assert node, 'node is needed (a book package: make env-book)'
    result = subprocess.run(
        [node, '-e', 'global.window = {}; eval(require("fs").readFileSync(0, '
         '"utf8")); console.log(JSON.stringify(window.D2L_SEARCH_INDEX))'],
        input=script, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == index


# ---------------------------------------------------------------- a book

def test_the_book_ships_its_index_and_every_anchor_is_on_its_page(tmp_path):
    book = make_fixture_book(tmp_path)
    render_book(**book)
    html_dir = book['html_dir']
    index = read_index(html_dir / INDEX_FILE)
    assert index['pages'] == [{'name': f'{CHAPTER}.html',
                               'title': 'Tabs Demo'}]
    assert index['language'] == 'en'
    assert list(index['frameworks']) == list(FRAMEWORKS)
    page = (html_dir / f'{CHAPTER}.html').read_text()
    ids = page_ids(page)
    assert all(d['a'] in ids for d in index['documents'])
    # Every framework's cells of the first group, each under its name.
    found = {(d['a'], d['f']) for d in index['documents'] if d.get('f')}
    assert {('tabs-1', fw) for fw in FRAMEWORKS} <= found
    jax = next(d for d in index['documents']
               if d.get('f') == 'jax' and d['a'] == 'tabs-1')
    assert "NAME = 'jax'" in jax['c'] and jax['o'] == 'hello from jax'
    assert 'MiniSearch' in (html_dir / 'static/minisearch.js').read_text()
    assert (html_dir / 'static/search.js').read_bytes() == \
        SEARCH_JS.read_bytes()
    # The box is on every page, with the edition's index beside the page.
    for name in (f'{CHAPTER}.html', 'index.html'):
        text = (html_dir / name).read_text()
        tools = re.search(r'<div class="header-tools" id="book-header-tools">'
                          r'.*?</header>', text, re.S)
        assert tools and '<div class="book-search"' in tools.group(0)
        assert f'data-index="{INDEX_FILE}"' in text
        assert 'src="static/search.js"' in text


def test_each_edition_indexes_its_own_prose_with_the_same_anchors(tmp_path):
    layout = write_book(tmp_path)
    translate_all(layout)
    build_both(layout)
    english = read_index(layout.html / INDEX_FILE)
    vietnamese = read_index(layout.html / 'vi' / INDEX_FILE)
    assert vietnamese['language'] == 'vi'
    assert [d['a'] for d in vietnamese['documents']] == \
        [d['a'] for d in english['documents']]
    ids = page_ids((layout.html / 'vi' / 'small.html').read_text())
    assert all(d['a'] in ids for d in vietnamese['documents'])
    prose = [d['x'] for d in vietnamese['documents'] if d.get('x')]
    assert prose and all(text.startswith('VI ') for text in prose)
    # Code and outputs are the English book's.
    assert [d.get('c') for d in vietnamese['documents']] == \
        [d.get('c') for d in english['documents']]
    page = (layout.html / 'vi' / 'small.html').read_text()
    assert 'data-library="../static/minisearch.js"' in page
    assert f'placeholder="{html.escape("VI Search the book")}"' in page


def test_a_missing_minisearch_is_named_and_nothing_is_written(
        tmp_path, monkeypatch):
    book = make_fixture_book(tmp_path)
    missing = tmp_path / 'node_modules' / 'minisearch' / 'dist' / 'umd' / \
        'index.js'
    monkeypatch.setattr(search_module, 'MINISEARCH', missing)
    with pytest.raises(RenderError) as error:
        render_book(**book)
    assert str(missing) in str(error.value)
    assert 'requirements/package-lock.json' in str(error.value)
    assert not book['html_dir'].exists()


# ---------------------------------------------------------------- search.js

def run_search(data, queries):
    """For each query, the (anchor, framework, marked words) of its results,
    searched by search.js with the book's MiniSearch under Node."""
    node = shutil.which('node')
    assert node, 'node is needed (a book package: make env-book)'
    assert search_module.MINISEARCH.is_file(), \
        f'{search_module.MINISEARCH} is missing (make env-book)'
    script = '''
      const fs = require('fs'), vm = require('vm');
      const [library, searchJs, input] = process.argv.slice(1);
      // The browser build, run as a page runs it: it defines a global.
      const page = {};
      vm.runInNewContext(fs.readFileSync(library, 'utf8'), page);
      const api = require(searchJs);
      const {data, queries} = JSON.parse(fs.readFileSync(input, 'utf8'));
      const index = api.createIndex(page.MiniSearch, data);
      const normalised = queries.map(api.normalise);
      const results = queries.map(q => api.find(index, data, q).map(r => [
        r.doc.a, r.doc.f || '',
        api.snippet(r.doc.x || r.doc.c || '', r.match)
          .filter(p => p.hit).map(p => p.text)]));
      console.log(JSON.stringify({normalised, results}));
    '''
    return subprocess.run(
        [node, '-e', script, str(search_module.MINISEARCH), str(SEARCH_JS),
         '/dev/stdin'], input=json.dumps({'data': data, 'queries': queries}),
        capture_output=True, text=True, timeout=60)


VIETNAMESE = {
    'language': 'vi', 'pages': [{'name': 'densenet.html', 'title': 'DenseNet'}],
    'frameworks': {'jax': 'JAX'},
    'documents': [
        {'p': 0, 'a': 'dense-blocks', 't': 'Khối dày đặc',
         'x': 'Số kênh mỗi khối thêm vào là tốc độ tăng trưởng của khối.'},
        {'p': 0, 'a': 'layers', 't': 'Tầng chuyển tiếp',
         'x': 'Mỗi tầng giảm số kênh.'},
        {'p': 0, 'a': 'tabs-2', 't': 'Khối dày đặc', 'f': 'jax',
         'c': 'X = jnp.concatenate((X, Y), axis=-1)', 'o': '(4, 8, 8, 23)'},
        {'p': 0, 'a': 'roads', 't': 'Đường đi', 'x': 'Đường ĐI dài.'},
    ]}


def test_terms_are_normalised_so_diacritics_need_not_be_typed():
    result = run_search(VIETNAMESE, [
        'Tốc Độ Tăng Trưởng', 'toc do tang truong', 'tăng trưởng',
        'TANG TRUONG', 'duong di', 'jnp', 'concatenate', 'tầng'])
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer['normalised'][:2] == ['toc do tang truong'] * 2
    assert answer['normalised'][4] == 'duong di'
    results = answer['results']
    for found in results[:4]:
        assert [r[0] for r in found] == ['dense-blocks'], found
    # Typed with diacritics, a word marks only itself; without, every
    # spelling it stands for.
    assert results[0][0][2] == ['tốc', 'độ', 'tăng', 'trưởng']
    assert results[2][0][2] == ['tăng', 'trưởng']
    assert [r[0] for r in results[4]] == ['roads']
    assert results[4][0][2] == ['Đường', 'ĐI']
    # A word of one framework's code: that framework's document only.
    assert [(r[0], r[1]) for r in results[5]] == [('tabs-2', 'jax')]
    assert [(r[0], r[1]) for r in results[6]] == [('tabs-2', 'jax')]
    # 'tầng' (layer) and 'tăng' (grow) fold alike: both documents come,
    # but only the typed word is marked.
    by_anchor = {r[0]: r[2] for r in results[7]}
    assert by_anchor['layers'] == ['tầng']
    assert by_anchor['dense-blocks'] == []
