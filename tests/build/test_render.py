"""The render stage: a merged chapter -> an HTML page, an index, static files.

`make_fixture_book` builds a small merged chapter by hand (the browser tests
render it too): two tab groups, shared cells with identical and with
differing outputs, SVG and PNG outputs, inline and display math, an image
figure, and a stream with ANSI colour codes.
"""
import copy
import re

import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild import render as render_module
from bookbuild.files import atomic_path
from bookbuild.render import RenderError, render_book

CHAPTER = 'tabs-demo'
SOURCE = f'chapters/{CHAPTER}.md'
PNG_1X1 = ('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC'
           'hwGA60e6kgAAAABJRU5ErkJggg==')
FIGURE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" '
              'viewBox="0 0 120 40"><rect x="1" y="1" width="118" height="38" '
              'fill="#cfe2ff" stroke="#0a58ca"/></svg>\n')


def matplotlib_like_svg(title):
    """What matplotlib writes: a prolog, a doctype, metadata, a global
    style, and the same ids ('patch_1', clip path 'p0a1b2c3') in every
    figure."""
    return f'''<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="240pt" height="120pt" viewBox="0 0 240 120" xmlns="http://www.w3.org/2000/svg" version="1.1">
 <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></metadata>
 <defs>
  <style type="text/css">*{{stroke-linejoin: round; stroke-linecap: butt}}</style>
 </defs>
 <g id="figure_1">
  <g id="patch_1"><path d="M 0 120 L 240 120 L 240 0 L 0 0 z" style="fill: #ffffff"/></g>
  <g id="axes_1">
   <defs><path id="m0f1e2d3" d="M 0 0 L 0 3.5" style="stroke: #000000"/></defs>
   <use xlink:href="#m0f1e2d3" x="40" y="100"/>
   <path d="M 40 100 L 120 40 L 200 70" clip-path="url(#p0a1b2c3)" style="fill: none; stroke: #1f77b4; stroke-width: 1.5"/>
   <text x="120" y="20" style="font-size: 10px; text-anchor: middle">{title}</text>
  </g>
 </g>
 <defs><clipPath id="p0a1b2c3"><rect x="30" y="10" width="190" height="100"/></clipPath></defs>
</svg>
'''


GLUED_LOSS = {'pytorch': '0.521', 'mxnet': '0.518', 'jax': '0.523',
              'tensorflow': '0.520'}


def stream(text, name='stdout'):
    return nbformat.v4.new_output('stream', name=name, text=text)


def plain(text):
    return nbformat.v4.new_output('execute_result', data={'text/plain': text},
                                  execution_count=1)


def svg_output(title):
    return nbformat.v4.new_output(
        'display_data', data={'image/svg+xml': matplotlib_like_svg(title),
                              'text/plain': '<Figure size 320x160>'})


def png_output():
    return nbformat.v4.new_output(
        'display_data', data={'image/png': PNG_1X1, 'text/plain': '<Image>'})


def markdown(source, line):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata['d2l_book'] = {'line': line}
    return cell


def code(source, line, framework, outputs):
    """`outputs`: framework -> outputs (one key for a framework cell)."""
    cell = nbformat.v4.new_code_cell(source)
    if framework:
        cell.metadata['tags'] = [framework]
    cell.metadata['d2l_book'] = {'framework': framework, 'line': line,
                                 'outputs': outputs}
    return cell


def fixture_notebook():
    shapes = {'pytorch': '(4, 23, 8, 8)', 'mxnet': '(4, 23, 8, 8)',
              'jax': '(4, 8, 8, 23)', 'tensorflow': '(4, 8, 8, 23)'}
    cells = [
        markdown('# Tabs Demo\n\nEvery step comes in four frameworks; inline '
                 'math $a^2 + b^2 = c^2$ and `code`, a\n'
                 '[paper](https://arxiv.org/abs/1608.06993), and a sum:\n\n'
                 '$$\n\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}, \\quad i < n + 1\n$$',
                 line=1),
        # Group 1, written in an order other than the book's; PyTorch has
        # two cells, the second with a plot.
        code("NAME = 'jax'\nprint('hello from', NAME)", 10, 'jax',
             {'jax': [stream('hello from jax\n')]}),
        code("NAME = 'pytorch'\nprint('hello from', NAME)", 14, 'pytorch',
             {'pytorch': [stream('hello from pytorch\n')]}),
        code('plot(NAME)', 18, 'pytorch', {'pytorch': [svg_output('pytorch')]}),
        code("NAME = 'tensorflow'\nprint('hello from', NAME)", 22,
             'tensorflow', {'tensorflow': [stream('hello from tensorflow\n')]}),
        code("NAME = 'mxnet'\nprint('hello from', NAME)", 26, 'mxnet',
             {'mxnet': [stream('hello from mxnet\n')]}),
        markdown('## Shared Cells\n\nA figure drawn by hand:\n\n'
                 '![A dense *block* with $k$ channels.](img/block.svg)\n\n'
                 'A cell that prints the same everywhere:', line=30),
        code("print('same everywhere')", 38, None,
             {fw: [stream('same everywhere\n')] for fw in FRAMEWORKS}),
        markdown('And one whose output depends on the layout:', line=42),
        code('shape', 44, None, {fw: [plain(shapes[fw])] for fw in FRAMEWORKS}),
        markdown('## Second Group\n\nPlots, pictures and colours:', line=48),
        code('plot()', 52, 'pytorch', {'pytorch': [stream('pytorch again\n')]}),
        code('picture()', 56, 'mxnet', {'mxnet': [png_output()]}),
        code('plot()', 60, 'jax', {'jax': [svg_output('jax')]}),
        code('colours()', 64, 'tensorflow', {'tensorflow': [stream(
            '\x1b[1m\x1b[32mepoch 1\x1b[0m loss \x1b[31m0.52\x1b[0m\n')]}),
        # Values the cells measured, in the prose (bookbuild.glue): the
        # loss differs by framework and follows the tabs, the epochs not.
        markdown('The last epoch ended at a loss of {glue}`loss` after '
                 '{glue}`epochs` epoch.', line=68),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata['d2l_book'] = {
        'chapter': CHAPTER, 'title': 'Tabs Demo', 'source': SOURCE,
        'frameworks': list(FRAMEWORKS),
        'glue': {'loss': GLUED_LOSS,
                 'epochs': {fw: '1' for fw in FRAMEWORKS}},
        'runs': {fw: {'mode': 'smoke', 'seconds': 41.0 + i,
                      'executed_at': '2025-11-23T10:00:00+00:00',
                      'notebook': f'{CHAPTER}-{fw}.ipynb'}
                 for i, fw in enumerate(FRAMEWORKS)}}
    nbformat.validate(nb)
    return nb


def make_fixture_book(root):
    """Write the fixture's merged notebook, chapter image and executed
    notebooks under `root`; returns the arguments of render_book."""
    source_root = root / 'source'
    (source_root / 'chapters' / 'img').mkdir(parents=True)
    (source_root / 'chapters' / 'img' / 'block.svg').write_text(FIGURE_SVG)
    notebooks = root / 'executed'
    notebooks.mkdir()
    for fw in FRAMEWORKS:
        nbformat.write(nbformat.v4.new_notebook(),
                       notebooks / f'{CHAPTER}-{fw}.ipynb')
    merged = root / 'merged' / f'{CHAPTER}.ipynb'
    merged.parent.mkdir()
    nbformat.write(fixture_notebook(), merged)
    return {'merged_paths': [merged], 'html_dir': root / 'html',
            'source_root': source_root, 'notebooks_dir': notebooks}


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
    banner = render_module.run_banner(runs, ['pytorch', 'jax'])
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

    real_write = render_module.write_atomically

    def disk_full(content, target):
        if not str(target).endswith('.html'):
            return real_write(content, target)
        with atomic_path(target) as tmp:
            tmp.write_text(content[:100])
            raise OSError('No space left on device')

    monkeypatch.setattr(render_module, 'write_atomically', disk_full)
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
    page = render_module.ChapterPage('c', 'C', 'chapters/c.md', {})
    lexer = render_module.code_lexer(nbformat.v4.new_notebook())
    return render_module.ChapterContext(page, None, list(FRAMEWORKS), lexer)


def test_errors_are_rendered_visibly():
    error = nbformat.v4.new_output(
        'error', ename='ValueError', evalue='bad shape',
        traceback=['\x1b[0;31mValueError\x1b[0m: bad shape'])
    html = render_module.render_outputs([error], context())
    assert 'output-error' in html and 'ValueError: bad shape' in html


def test_carriage_returns_keep_the_last_state_of_a_line():
    outputs = [stream('epoch 1 10%\r'), stream('epoch 1 100%\ndone\n')]
    html = render_module.render_outputs(outputs, context())
    assert html.count('<pre') == 1
    assert 'epoch 1 100%\ndone' in html and '10%' not in html


def test_html_outputs_that_would_fetch_or_run_fall_back_to_text():
    remote = nbformat.v4.new_output('display_data', data={
        'text/html': '<img src="https://example.com/x.png">',
        'text/plain': 'an image'})
    table = nbformat.v4.new_output('display_data', data={
        'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': '1'})
    html = render_module.render_outputs([remote, table], context())
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
    assert render_module.comparable(outputs['pytorch']) == \
        render_module.comparable(outputs['jax'])
    html = render_module.render_cells(nb.cells, context(), None, {})
    assert html.count('<svg') == 1 and 'tab-group' not in html
    # a different plot is still told apart
    other = [drawn('9', '2025-11-29')]
    other[0]['data']['image/svg+xml'] = other[0]['data'][
        'image/svg+xml'].replace('L 200 70', 'L 200 90')
    assert render_module.comparable(other) != \
        render_module.comparable(outputs['jax'])


def test_two_inline_svgs_from_the_same_figure_do_not_share_ids():
    ctx = context()
    a = render_module.render_outputs([svg_output('a')], ctx)
    b = render_module.render_outputs([svg_output('b')], ctx)
    assert set(re.findall(r'id="([^"]+)"', a)).isdisjoint(
        re.findall(r'id="([^"]+)"', b))


def test_links_to_chapters_point_at_their_pages():
    md = render_module.markdown_renderer()
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
    page = render_module.render_chapter(nb, book['source_root'],
                                        book['notebooks_dir'])
    jax = panel(tab_groups(page.html)[0], 'jax')
    assert 'Not executed in this build' in jax
    assert list(page.files) == ['img/block.svg',
                                f'notebooks/{CHAPTER}-pytorch.ipynb']
    assert 'produced in smoke mode: PyTorch 41 s.' in visible_text(page.html)


def test_rendering_does_not_change_the_merged_notebook(book):
    nb = fixture_notebook()
    snapshot = copy.deepcopy(nb)
    render_module.render_chapter(nb, book['source_root'], book['notebooks_dir'])
    assert nb == snapshot
