"""A small chapter in two editions, for the translation suites and the
browser's edition tests: split, "executed" (outputs written in, no kernel
starts) and merged as the English build leaves them, its catalogs filled
by a fake translator, then rendered in English and Vietnamese."""
import textwrap

import nbformat

from bookbuild import FRAMEWORKS
from bookbuild.cli import Layout
from bookbuild.editions import edition_of, render_edition
from bookbuild.i18n import catalogs
from bookbuild.jupyter import pngtwin
from bookbuild.merge import merge_chapter
from bookbuild.render.book import render_book
from bookbuild.source import read_chapter
from bookbuild.split import split_chapter
from chapter_fixture import FRONT_MATTER, tab_group, tiny_png

CHAPTER = FRONT_MATTER + textwrap.dedent("""
    # A Chapter To Translate

    Dense blocks concatenate where residual blocks add: $[\\mathbf{x}, f(\\mathbf{x})]$
    keeps both parts, and `torch.cat` joins them.

    (fig-block)=
    ![A block and its concatenation.](img/block.svg)

    ## Growth

    The growth rate $k$ is set once; see [the next chapter](other.md#start)
    and {ref}`the figure <fig-block>`.

    | name | channels |
    | --- | --- |
    | stem | 64 |
    | after the block | $c_0 + Lk$ |

    ```{note} A remark
    Notes are prose too.
    ```

    """) + tab_group({fw: f"print('output of {fw}')" for fw in FRAMEWORKS}) \
    + textwrap.dedent("""
    ## Exercises

    1. Why concatenate?
    +++ {"tags": ["answer"]}

    Because every later layer then reads every feature map.

    +++

    2. Count the channels.
    """)

PARAGRAPH = ('Because every later layer then reads every feature map.')

# A diagram with one label to translate and two to leave as drawn.
DIAGRAM = textwrap.dedent("""\
    <svg xmlns="http://www.w3.org/2000/svg" width="320" height="60" viewBox="0 0 320 60">
      <text x="10" y="20" font-size="12">DenseNet</text>
      <text x="10" y="40" font-size="12">layer H<tspan dy="3">1</tspan> concatenates &amp; grows</text>
      <text x="200" y="40" font-size="12">x + f(x)</text>
    </svg>
    """)


def fake_vietnamese(msgid):
    """A 'translation' that keeps every placeholder: a prefix is enough for
    the page to show which text came from the catalog. A figure stays a
    figure: its caption is translated inside the image."""
    if msgid.startswith('!['):
        return '![VI ' + msgid[2:]
    return f'VI {msgid}'


# ---------------------------------------------------------------- a book

def write_book(root, chapter_text=CHAPTER):
    """A chapter split, 'executed' (outputs written in, no kernel) and
    merged, as the English build leaves them. Returns the Layout."""
    (root / 'chapters' / 'img').mkdir(parents=True, exist_ok=True)
    svg = root / 'chapters' / 'img' / 'block.svg'
    svg.write_text(DIAGRAM)
    # split wants the PNG twin JupyterLab draws; any current PNG will do
    pngtwin.twin_path(svg).write_bytes(pngtwin.with_text_chunk(
        tiny_png(), pngtwin.SOURCE_KEY, pngtwin.svg_digest(svg)))
    (root / 'chapters' / 'small.md').write_text(chapter_text)
    layout = Layout(root / 'build', root)
    notebooks = split_chapter(root / 'chapters' / 'small.md',
                              layout.notebooks)
    executed = {}
    for fw, path in notebooks.items():
        nb = nbformat.read(path, as_version=4)
        for count, cell in enumerate(
                [c for c in nb.cells if c.cell_type == 'code'], 1):
            cell.outputs = [nbformat.v4.new_output(
                'stream', name='stdout', text=f'ran on {fw}\n')]
            cell.execution_count = count
        nb.metadata['d2l_book']['run'] = {'mode': 'smoke', 'seconds': 1.0}
        executed[fw] = layout.executed / path.name
        executed[fw].parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed[fw])
    merge_chapter(root / 'chapters' / 'small.md', executed,
                  layout.merged / 'small.ipynb')
    return layout


def translate_all(layout, language='vi', translate=fake_vietnamese):
    """Start catalogs and fill every message with `translate`."""
    catalogs.update_catalogs([read_chapter(layout.root / 'chapters/small.md')],
                         layout.root, layout.locales, [language])
    for domain in ('small', catalogs.FURNITURE):
        path = catalogs.catalog_path(layout.locales, language, domain)
        catalog = catalogs.read_catalog(path, language)
        for message in catalog:
            if message.id:
                message.string = (translate(message.id) if domain == 'small'
                                  else f'VI {message.id}')
        catalogs.write_catalog(catalog, path)


def build_both(layout, language='vi'):
    languages = ['en', language]
    render_book([layout.merged / 'small.ipynb'], layout.html, layout.root,
                layout.executed, edition=edition_of('en', languages))
    pages, translators = render_edition(
        language, [layout.merged / 'small.ipynb'], layout.executed,
        layout.root, layout.locales, layout.editions, layout.html, languages)
    return pages, translators


def page_text(layout, language=None):
    folder = layout.html / language if language else layout.html
    return (folder / 'small.html').read_text(encoding='utf-8')
