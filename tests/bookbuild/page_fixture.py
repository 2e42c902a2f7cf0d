"""The render suite's chapter, built by hand as a merged notebook (the
browser tests render it too): two tab groups, shared cells with identical
and with differing outputs, SVG and PNG outputs, inline and display math,
an image figure, and a stream with ANSI colour codes."""
import nbformat

from bookbuild import FRAMEWORKS

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


# A trainer's summary: one line, wider than the page's column.
LONG_OUTPUT_LINE = ('run mode smoke (D2L_MODE): 1 epoch of 3 batches at 96x96, '
                    'lr 0.01, batch 128; train loss 2.301, train acc 0.113, '
                    'val acc 0.100, 1234.5 examples/s on cpu; the numbers '
                    'are not meaningful')

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
        code('plot()', 52, 'pytorch', {'pytorch': [stream(
            'pytorch again\n' + LONG_OUTPUT_LINE + '\n')]}),
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
        'description': 'Four frameworks side by side, in tabs that switch '
                       'together.',
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
