"""The render stage: a merged chapter -> an HTML page, an index, static files.

Its chapter is built by hand as a merged notebook (page_fixture.py).
"""
import copy
import re

import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild.files import atomic_path, write_atomically
from bookbuild.render.book import code_lexer, render_book, render_chapter
from bookbuild.render.cells import comparable, render_cells, render_outputs
from bookbuild.render.common import ChapterContext, ChapterPage, RenderError
from bookbuild.render.markdown import markdown_renderer
from bookbuild.render.page import run_banner
from page_fixture import (CHAPTER, FIGURE_SVG, PNG_1X1, SOURCE, code,
                          fixture_notebook, make_fixture_book,
                          matplotlib_like_svg, stream, svg_output)

@pytest.fixture
def book(tmp_path):
    return make_fixture_book(tmp_path)


@pytest.fixture
def page(book):
    render_book(**book)
    return (book['html_dir'] / f'{CHAPTER}.html').read_text()


# ---------------------------------------------------------------- helpers

def tab_groups(page_html):
    """Each tab group's html (groups are not nested at top level)."""
    starts = [m.start() for m in re.finditer(r'<div class="tab-group"', page_html)]
    return [page_html[start:end] for start, end in
            zip(starts, starts[1:] + [len(page_html)])]


def panel(group_html, framework):
    match = re.search(rf'<div class="tab-panel"[^>]*data-framework="{framework}"'
                      rf'[^>]*>(.*?)(?=<div class="tab-panel"|\Z)', group_html, re.S)
    return match[1] if match else None


def visible_text(fragment):
    return re.sub(r'<[^>]+>', '', fragment)


# ---------------------------------------------------------------- tests

def test_render_book_writes_pages_assets_and_notebooks(book):
    written = render_book(**book)
    html = book['html_dir']
    assert [p.name for p in written] == [f'{CHAPTER}.html', 'index.html']
    for relative in ('static/book.css', 'static/book.js',
                     'static/katex/katex.min.js', 'static/katex/katex.min.css',
                     'static/katex/contrib/auto-render.min.js',
                     'img/block.svg'):
        assert (html / relative).is_file(), relative
    fonts = list((html / 'static/katex/fonts').glob('KaTeX_Main-Regular.*'))
    assert fonts and all(not f.is_symlink() for f in fonts)
    for fw in FRAMEWORKS:
        assert (html / 'notebooks' / f'{CHAPTER}-{fw}.ipynb').is_file()
    assert '.highlight .k' in (html / 'static/book.css').read_text()
    # readable by anyone, like any built file (a web server, say)
    assert all(p.stat().st_mode & 0o044 == 0o044
               for p in html.rglob('*') if p.is_file())


def test_tab_groups_have_every_framework_in_the_book_order(page):
    groups = tab_groups(page)
    # two framework groups, and the shared cell whose outputs differ
    assert len(groups) == 3
    for group in groups:
        buttons = re.findall(r'<button type="button" role="tab"[^>]*'
                             r'data-framework="(\w+)"', group)
        assert buttons == list(FRAMEWORKS)
        assert len(re.findall(r'role="tabpanel"', group)) == 4
        assert group.count('aria-selected="true"') == 1
        for fw in FRAMEWORKS:
            assert f'aria-controls="{group_id(group)}-{fw}"' in group
            assert panel(group, fw) is not None


def group_id(group_html):
    return re.search(r'id="(tabs-\d+)"', group_html)[1]


def test_outputs_sit_under_the_code_of_their_framework(page):
    first = tab_groups(page)[0]
    for fw in FRAMEWORKS:
        own = panel(first, fw)
        assert f'hello from {fw}' in visible_text(own)
        others = [other for other in FRAMEWORKS if other != fw]
        assert not any(f'hello from {o}' in visible_text(own) for o in others)
    pytorch = panel(first, 'pytorch')
    assert pytorch.count('<div class="cell"') == 2  # both PyTorch cells
    assert pytorch.index('hello from pytorch') < pytorch.index('<svg')
    # without JavaScript each panel is labelled with its framework
    assert '<p class="panel-label">TensorFlow</p>' in panel(first, 'tensorflow')


def test_shared_cell_outputs_show_once_when_equal_else_as_tabs(page):
    assert visible_text(page).count('same everywhere\n') == 1
    shared = re.search(r'<div class="cell shared" data-line="38">(.*?)'
                       r'(?=<div class="cell|<p>|<h2)', page, re.S)[1]
    assert 'tab-group' not in shared and 'same everywhere' in shared
    differing = tab_groups(page)[1]
    assert 'Output differs by framework' in differing
    assert '(4, 23, 8, 8)' in panel(differing, 'pytorch')
    assert '(4, 8, 8, 23)' in panel(differing, 'jax')
    assert '(4, 8, 8, 23)' not in panel(differing, 'mxnet')
    # the code of a shared cell is shown once, outside the tabs
    assert page.count('<span class="n">shape</span>') == 1


def test_svg_outputs_are_inline_with_unique_ids(page):
    assert '<?xml' not in page and '<!DOCTYPE svg' not in page
    assert '<metadata' not in page
    assert page.count('<svg') == 2
    ids = re.findall(r'\bid="([^"]+)"', page)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates
    # every reference still points at an element of its own figure
    references = re.findall(r'url\(#([^)]+)\)', page) + \
        re.findall(r'href="#([^"]+)"', page)
    svg_references = [r for r in references if '-svg' in r]
    assert len(svg_references) == 4
    assert all(r in ids for r in svg_references)
    assert re.search(r'<svg id="tabs-demo-svg1-root"', page)
    # matplotlib's global `*{...}` style is scoped to its own figure
    assert '#tabs-demo-svg1-root *{' in page.replace(' {', '{')
    assert not re.search(r'>\s*\*\s*\{', page)


def test_png_outputs_are_data_uris(page):
    mxnet = panel(tab_groups(page)[2], 'mxnet')
    assert f'<img src="data:image/png;base64,{PNG_1X1}"' in mxnet


def test_ansi_codes_are_stripped(page):
    tensorflow = panel(tab_groups(page)[2], 'tensorflow')
    assert '\x1b' not in page and '[32m' not in page
    assert 'epoch 1 loss 0.52' in tensorflow


def test_math_is_kept_as_tex_for_katex(page):
    assert r'<span class="math math-inline">\(a^2 + b^2 = c^2\)</span>' in page
    display = re.search(r'<div class="math math-display">\\\[(.*?)\\\]</div>',
                        page, re.S)[1]
    assert r'\sum_{i=1}^{n} i = \frac{n(n+1)}{2}' in display
    assert 'i &lt; n + 1' in display  # escaped for HTML, not mangled
    assert '$$' not in page and '<em>' not in display


def test_image_alone_in_a_paragraph_is_a_figure(page, book):
    figure = re.search(r'<figure>(.*?)</figure>', page, re.S)[1]
    assert '<img src="img/block.svg" alt="A dense block with k channels."' in figure
    caption = re.search(r'<figcaption>(.*?)</figcaption>', figure, re.S)[1]
    assert '<em>block</em>' in caption and 'math-inline' in caption
    assert (book['html_dir'] / 'img/block.svg').read_text() == FIGURE_SVG


def test_nothing_is_loaded_from_the_network(book):
    render_book(**book)
    for path in book['html_dir'].glob('*.html'):
        text = path.read_text()
        loaded = re.findall(r'<(?:link|script|img)\b[^>]*\b(?:src|href)\s*=\s*'
                            r'["\']?\s*((?:https?:)?//[^"\'\s>]*)', text, re.I)
        assert loaded == [], path.name
    # links in the prose stay links
    page = (book['html_dir'] / f'{CHAPTER}.html').read_text()
    assert '<a href="https://arxiv.org/abs/1608.06993">paper</a>' in page
    css = (book['html_dir'] / 'static/book.css').read_text()
    assert not re.search(r'url\(\s*["\']?(https?:)?//', css)


def test_banner_says_which_mode_produced_the_outputs(page):
    banner = re.search(r'<aside class="run-banner run-smoke"[^>]*>(.*?)</aside>',
                       page, re.S)[1]
    text = visible_text(banner)
    assert 'produced in smoke mode: PyTorch 41 s, MXNet 42 s, JAX 43 s, ' \
        'TensorFlow 44 s' in text
    assert 'not meaningful' in text
    assert page.index('</h1>') < page.index('run-banner')
    for fw in FRAMEWORKS:
        assert f'href="notebooks/{CHAPTER}-{fw}.ipynb" download' in page


def test_banner_with_mixed_modes():
    runs = {'pytorch': {'mode': 'full', 'seconds': 3725},
            'jax': {'mode': 'quick', 'seconds': 95}}
    banner = run_banner(runs, ['pytorch', 'jax'])
    text = visible_text(banner)
    assert 'PyTorch in full mode 1 h 2 min' in text
    assert 'JAX in quick mode 1 min 35 s' in text
    assert 'short CPU run' in text and 'run-mixed' in banner


def test_headings_get_ids_and_a_table_of_contents(page):
    assert '<h2 id="shared-cells">' in page and '<h2 id="second-group">' in page
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S)[0]
    assert '<a href="#shared-cells">Shared Cells</a>' in toc


def test_index_lists_chapters_with_run_modes_and_the_chooser(book):
    render_book(**book)
    index = (book['html_dir'] / 'index.html').read_text()
    assert f'<a href="{CHAPTER}.html">Tabs Demo</a>' in index
    assert 'smoke mode: PyTorch, MXNet, JAX, TensorFlow' in index
    chooser = re.findall(r'<button type="button" data-framework="(\w+)" '
                         r'aria-pressed', index)
    assert chooser == list(FRAMEWORKS)
    assert 'static/book.js' in index


def test_a_failed_render_leaves_the_previous_page_and_no_temp_files(book):
    render_book(**book)
    html = book['html_dir']
    before = {p: p.read_bytes() for p in html.rglob('*') if p.is_file()}
    nb = nbformat.read(book['merged_paths'][0], as_version=4)
    nb.cells[0].source += '\n\nMore prose.'
    nb.cells[6].source = 'Intro\n\n![Gone.](img/missing.svg)'  # cell at line 30
    nbformat.write(nb, book['merged_paths'][0])
    with pytest.raises(RenderError) as error:
        render_book(**book)
    assert f'{SOURCE}:32:' in str(error.value)
    assert 'img/missing.svg' in str(error.value)
    after = {p: p.read_bytes() for p in html.rglob('*') if p.is_file()}
    assert after == before


def test_a_write_failing_midway_leaves_no_half_written_file(book, monkeypatch):
    render_book(**book)
    html = book['html_dir']
    page = html / f'{CHAPTER}.html'
    before = page.read_bytes()
    nb = nbformat.read(book['merged_paths'][0], as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace('Tabs Demo', 'Renamed')
    nbformat.write(nb, book['merged_paths'][0])

    real_write = write_atomically

    def disk_full(content, target):
        if not str(target).endswith('.html'):
            return real_write(content, target)
        with atomic_path(target) as tmp:
            tmp.write_text(content[:100])
            raise OSError('No space left on device')

    monkeypatch.setattr('bookbuild.render.book.write_atomically', disk_full)
    with pytest.raises(OSError):
        render_book(**book)
    assert page.read_bytes() == before
    assert not [p for p in html.rglob('*') if p.name.endswith('.tmp')]


def test_missing_notebook_names_the_chapter(book):
    (book['notebooks_dir'] / f'{CHAPTER}-jax.ipynb').unlink()
    with pytest.raises(RenderError, match=rf'{SOURCE}: .*JAX notebook .*'
                       rf'{CHAPTER}-jax.ipynb is missing'):
        render_book(**book)
    assert not book['html_dir'].exists()


def test_remote_images_are_refused_with_chapter_and_line(book):
    nb = nbformat.read(book['merged_paths'][0], as_version=4)
    nb.cells[8].source = 'Look:\n\n![x](https://example.com/x.png)'  # line 42
    nbformat.write(nb, book['merged_paths'][0])
    with pytest.raises(RenderError, match=rf'{SOURCE}:44: image https://'
                       r'example.com/x.png would be fetched from the network'):
        render_book(**book)


def context():
    page = ChapterPage('c', 'C', 'chapters/c.md', {})
    lexer = code_lexer(nbformat.v4.new_notebook())
    return ChapterContext(page, None, list(FRAMEWORKS), lexer)


def test_errors_are_rendered_visibly():
    error = nbformat.v4.new_output(
        'error', ename='ValueError', evalue='bad shape',
        traceback=['\x1b[0;31mValueError\x1b[0m: bad shape'])
    html = render_outputs([error], context())
    assert 'output-error' in html and 'ValueError: bad shape' in html


def test_carriage_returns_keep_the_last_state_of_a_line():
    outputs = [stream('epoch 1 10%\r'), stream('epoch 1 100%\ndone\n')]
    html = render_outputs(outputs, context())
    assert html.count('<pre') == 1
    assert 'epoch 1 100%\ndone' in html and '10%' not in html


def numbered_lines(count):
    """What a cell printing `count` lines leaves: many stream chunks."""
    return [stream(''.join(f'line {i}\n' for i in range(start, min(
        start + 5000, count)))) for start in range(0, count, 5000)]


def test_a_long_stream_shows_its_head_and_tail_and_how_much_is_left_out():
    html = render_outputs(numbered_lines(200_000), context())
    assert len(html) < 10_000, 'a 200,000-line output is 2.3 MB of page'
    assert html.count('<pre') == 1
    shown = visible_text(html).split('\n')
    assert shown[:100] == [f'line {i}' for i in range(100)]
    assert shown[100] == ('[... 199800 lines left out here: the executed '
                          'notebook has the whole output ...]')
    assert shown[101:] == [f'line {i}' for i in range(199_900, 200_000)] + \
        ['']
    assert '<span class="output-omitted">' in html


@pytest.mark.parametrize('limit, shown', [(0, 1000), (1000, 1000), (999, 999),
                                          (7, 7), (1, 1)])
def test_the_limit_is_an_option_and_0_shows_everything(limit, shown):
    ctx = context()
    ctx.max_output_lines = limit
    text = visible_text(render_outputs(numbered_lines(1000),
                                                     ctx))
    kept = [t for t in text.split('\n') if t.startswith('line ')]
    assert len(kept) == shown
    assert kept[0] == 'line 0'
    assert (f'{1000 - shown} lines left out' in text) == (shown < 1000)
    if limit == 7:
        assert kept == [f'line {i}' for i in (0, 1, 2, 3, 997, 998, 999)]


def test_render_book_passes_the_limit_to_every_page(book):
    nb = nbformat.read(book['merged_paths'][0], as_version=4)
    cell = next(c for c in nb.cells if c.source == "print('same everywhere')")
    cell.metadata['d2l_book']['outputs'] = {
        fw: numbered_lines(500) for fw in FRAMEWORKS}
    nbformat.write(nb, book['merged_paths'][0])
    render_book(**book, max_output_lines=20)
    page = (book['html_dir'] / f'{CHAPTER}.html').read_text()
    assert '480 lines left out' in page and 'line 250' not in page
    render_book(**book)
    page = (book['html_dir'] / f'{CHAPTER}.html').read_text()
    assert '300 lines left out' in page
    render_book(**book, max_output_lines=0)
    page = (book['html_dir'] / f'{CHAPTER}.html').read_text()
    assert 'lines left out' not in page and 'line 250' in page


def test_html_outputs_that_would_fetch_or_run_fall_back_to_text():
    remote = nbformat.v4.new_output('display_data', data={
        'text/html': '<img src="https://example.com/x.png">',
        'text/plain': 'an image'})
    table = nbformat.v4.new_output('display_data', data={
        'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': '1'})
    html = render_outputs([remote, table], context())
    assert 'example.com' not in html and 'an image' in html
    assert '<table><tr><td>1</td></tr></table>' in html


def test_the_same_plot_drawn_by_every_framework_shows_once():
    # matplotlib dates each SVG and salts its ids at random
    def drawn(salt, date):
        svg = matplotlib_like_svg('loss').replace('p0a1b2c3', f'p{salt}')
        svg = svg.replace('m0f1e2d3', f'm{salt}').replace(
            '</rdf:RDF>', f'<dc:date>{date}</dc:date></rdf:RDF>')
        return nbformat.v4.new_output('display_data', data={
            'image/svg+xml': svg, 'text/plain': '<Figure>'})

    nb = fixture_notebook()
    nb.cells = [code('plot()', 3, None, {
        fw: [drawn(f'{i}abc{i}', f'2025-11-2{i}')]
        for i, fw in enumerate(FRAMEWORKS)})]
    outputs = nb.cells[0].metadata['d2l_book']['outputs']
    assert comparable(outputs['pytorch']) == \
        comparable(outputs['jax'])
    html = render_cells(nb.cells, context(), None, {})
    assert html.count('<svg') == 1 and 'tab-group' not in html
    # a different plot is still told apart
    other = [drawn('9', '2025-11-29')]
    other[0]['data']['image/svg+xml'] = other[0]['data'][
        'image/svg+xml'].replace('L 200 70', 'L 200 90')
    assert comparable(other) != \
        comparable(outputs['jax'])


def test_two_inline_svgs_from_the_same_figure_do_not_share_ids():
    ctx = context()
    a = render_outputs([svg_output('a')], ctx)
    b = render_outputs([svg_output('b')], ctx)
    assert set(re.findall(r'id="([^"]+)"', a)).isdisjoint(
        re.findall(r'id="([^"]+)"', b))


def test_links_to_chapters_point_at_their_pages():
    md = markdown_renderer()
    env = {'chapter': context(), 'markdown': md, 'headings': [], 'slugs': set()}
    html = md.render('See [ResNet](resnet.md#blocks) and [web](https://x.org/a.md).',
                     env)
    assert 'href="resnet.html#blocks"' in html
    assert 'href="https://x.org/a.md"' in html


def test_a_framework_that_did_not_run_says_so(book):
    nb = fixture_notebook()
    nb.metadata['d2l_book']['frameworks'] = ['pytorch']
    nb.metadata['d2l_book']['runs'] = {'pytorch': nb.metadata['d2l_book']['runs']['pytorch']}
    for cell in nb.cells:
        outputs = cell.metadata['d2l_book'].get('outputs', {})
        for fw in list(outputs):
            if fw != 'pytorch':
                del outputs[fw]
    page = render_chapter(nb, book['source_root'],
                                        book['notebooks_dir'])
    jax = panel(tab_groups(page.html)[0], 'jax')
    assert 'Not executed in this build' in jax
    assert list(page.files) == ['img/block.svg',
                                f'notebooks/{CHAPTER}-pytorch.ipynb']
    assert 'produced in smoke mode: PyTorch 41 s.' in visible_text(page.html)


def test_rendering_does_not_change_the_merged_notebook(book):
    nb = fixture_notebook()
    snapshot = copy.deepcopy(nb)
    render_chapter(nb, book['source_root'], book['notebooks_dir'])
    assert nb == snapshot
