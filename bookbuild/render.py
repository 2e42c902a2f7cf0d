"""Stage 4, render: merged chapters -> one HTML page each, plus an index.

A page is plain HTML that works from file:// with no network: code is
highlighted by pygments at build time, plots are inline SVG or data: URIs,
math is typeset in the browser by the KaTeX that Debian installs
(libjs-katex), copied next to the pages.

Each framework's code sits in a tab group. Without JavaScript every panel is
shown under its framework's name; static/book.js turns the groups into tabs
that switch together, by framework name, and remembers the reader's choice.

Everything a page needs (images, notebooks, KaTeX) is found before anything
is written, and every file is written atomically, so a failed render leaves
the previous good book in place.
"""
import dataclasses
import html
import json
import os
import pathlib
import re
import urllib.parse

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from mdit_py_plugins.texmath import texmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS, answers, compare
from bookbuild.files import copy_atomically, write_atomically

BOOK_TITLE = 'Modern Convolutional Neural Networks'
ASSETS = pathlib.Path(__file__).parent / 'assets'
# Debian's libjs-katex; D2L_KATEX_DIR points elsewhere (e.g. an npm copy).
KATEX_DIR = pathlib.Path(os.environ.get('D2L_KATEX_DIR',
                                        '/usr/share/javascript/katex'))
PYGMENTS_STYLE = 'default'

MODE_MEANINGS = {
    'full': 'the code ran exactly as written, as the text describes',
    'quick': 'a short CPU run (a subset of the data, fewer epochs, smaller '
             'images): the model learns, but the numbers fall short of what '
             'the text describes',
    'smoke': 'a few batches only, to check that every line runs: the '
             'numbers are not meaningful',
}

# Elements that make the browser fetch something by themselves (as opposed
# to <a href>, which waits for a click), pointing at another host.
AUTOLOADED_REMOTE_URL = re.compile(
    r'<(?:img|script|iframe|link|source|video|audio|embed|object|image|use'
    r'|track|input)\b[^>]*?\b(?:src|href|xlink:href|data|poster|srcset)\s*=\s*'
    r'["\']?\s*((?:[a-z][a-z0-9+.-]*:)?//[^"\'\s>]*)'
    r'|url\(\s*["\']?\s*((?:https?:)?//[^)"\']*)'
    r'|@import\s+["\']?\s*((?:https?:)?//[^"\';]*)', re.I)
ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*'
                         r'(?:\x07|\x1b\\)|\x1b[@-Z\\-_]')


class RenderError(RuntimeError):
    pass


# ---------------------------------------------------------------- the book

def render_book(merged_paths, html_dir, source_root, notebooks_dir, *,
                book_title=BOOK_TITLE):
    """Render every merged chapter and the index into `html_dir`.

    Returns the pages written: the chapters in the given order, then
    index.html. Raises RenderError, having written nothing, when a chapter
    cannot be rendered (a missing image or notebook, say)."""
    html_dir = pathlib.Path(html_dir)
    pages = [render_chapter(nbformat.read(path, as_version=4), source_root,
                            notebooks_dir, book_title=book_title)
             for path in merged_paths]
    check_unique_names(pages)
    index = render_index(pages, book_title)
    static = static_files()
    # Everything is rendered and everything it needs exists: only now is
    # the previous book replaced, one atomically written file at a time.
    for relative, content in static.items():
        write_atomically(content, html_dir / relative)
    for page in pages:
        for relative, source in page.files.items():
            copy_atomically(source, html_dir / relative)
    written = [write_atomically(page.html, html_dir / f'{page.name}.html')
               for page in pages]
    written.append(write_atomically(index, html_dir / 'index.html'))
    return written


def check_unique_names(pages):
    seen = {}
    for page in pages:
        if page.name in seen:
            raise RenderError(f'{page.source} and {seen[page.name]} would both '
                              f'be written to {page.name}.html')
        seen[page.name] = page.source


# ---------------------------------------------------------------- a chapter

@dataclasses.dataclass
class ChapterPage:
    name: str                 # file stem: densenet -> densenet.html
    title: str
    source: str               # the chapter's file, as error messages name it
    runs: dict                # framework -> {'mode', 'seconds', ...}
    html: str = ''
    # Files the page links, by path under html_dir -> where they come from.
    files: dict = dataclasses.field(default_factory=dict)


class ChapterContext:
    """What rendering one chapter collects and counts as it goes."""

    def __init__(self, page, chapter_dir, frameworks, lexer):
        self.page = page
        self.chapter_dir = chapter_dir
        self.frameworks = frameworks      # those that ran in this build
        self.lexer = lexer
        self.line = 0                     # source line of the current cell
        self.counters = {}

    def next_number(self, kind):
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def error(self, message, line=None):
        return RenderError(f'{self.page.source}:{line or self.line}: {message}')


def render_chapter(nb, source_root, notebooks_dir, *, book_title=BOOK_TITLE):
    """Render one merged notebook into a ChapterPage (not written yet)."""
    meta = nb.metadata.get('d2l_book', {})
    source_root = pathlib.Path(source_root)
    source_path = chapter_source_path(meta, source_root)
    page = ChapterPage(
        name=meta.get('chapter') or source_path.stem,
        title=meta.get('title') or source_path.stem,
        source=display_path(source_path, source_root),
        runs=meta.get('runs', {}))
    frameworks = [fw for fw in FRAMEWORKS
                  if fw in meta.get('frameworks', page.runs)]
    ctx = ChapterContext(page, source_path.parent, frameworks,
                         code_lexer(nb))
    markdown = markdown_renderer()
    env = {'chapter': ctx, 'markdown': markdown, 'headings': [],
           'slugs': set()}
    body = answers.render_with_answers(
        nb.cells, lambda cells: render_cells(cells, ctx, markdown, env))
    notebooks = notebook_files(page, frameworks, pathlib.Path(notebooks_dir))
    intro = (run_banner(page.runs, frameworks) + download_links(notebooks)
             + table_of_contents(env['headings'], markdown, env))
    page.html = page_shell(
        title=f'{page.title} \u2014 {book_title}', book_title=book_title,
        main=insert_after_title(body, intro),
        footer=f'Built from <code>{esc(page.source)}</code>.')
    check_nothing_autoloaded(page.html, page.source)
    return page


def chapter_source_path(meta, source_root):
    source = meta.get('source')
    if not source:
        return source_root / 'chapters' / f'{meta.get("chapter", "chapter")}.md'
    source = pathlib.Path(source)
    return source if source.is_absolute() else source_root / source


def display_path(path, root):
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def code_lexer(nb):
    language = (nb.metadata.get('language_info', {}).get('name')
                or nb.metadata.get('kernelspec', {}).get('language')
                or 'python')
    for name in ('ipython3' if language == 'python' else language, 'python'):
        try:
            return get_lexer_by_name(name)
        except ClassNotFound:
            continue


def notebook_files(page, frameworks, notebooks_dir):
    """framework -> path under html/ of its executed notebook, which is
    registered as a file of the page."""
    links = {}
    for fw in frameworks:
        name = (page.runs.get(fw, {}).get('notebook')
                or f'{page.name}-{fw}.ipynb')
        path = notebooks_dir / name
        if not path.is_file():
            raise RenderError(f'{page.source}: the executed {FRAMEWORK_LABELS[fw]}'
                              f' notebook {path} is missing: execute the '
                              'chapter again')
        links[fw] = f'notebooks/{name}'
        page.files[links[fw]] = path
    return links


def check_nothing_autoloaded(page_html, source):
    match = AUTOLOADED_REMOTE_URL.search(page_html)
    if match:
        url = next(group for group in match.groups() if group)
        raise RenderError(f'{source}: the page would fetch {url} from the '
                          'network; keep the file in the repository instead')


def insert_after_title(body, intro):
    """The banner and contents go right under the chapter's <h1>."""
    end = body.find('</h1>')
    if end < 0:
        return intro + body
    end += len('</h1>')
    return body[:end] + '\n' + intro + body[end:]


# ---------------------------------------------------------------- cells

def render_cells(cells, ctx, markdown, env):
    """Markdown cells, shared code cells, and tab groups, in source order."""
    parts, group = [], []
    for cell in cells:
        framework = cell_framework(cell)
        if cell.cell_type == 'code' and framework:
            group.append(cell)
            continue
        if group:
            parts.append(render_tab_group(group, ctx))
            group = []
        if cell.cell_type == 'markdown':
            parts.append(render_markdown_cell(cell, ctx, markdown, env))
        elif cell.cell_type == 'code':
            parts.append(render_shared_cell(cell, ctx))
    if group:
        parts.append(render_tab_group(group, ctx))
    return '\n'.join(part for part in parts if part)


def cell_framework(cell):
    return cell.metadata.get('d2l_book', {}).get('framework')


def cell_line(cell):
    return cell.metadata.get('d2l_book', {}).get('line', 0)


def cell_tags(cell):
    return set(cell.metadata.get('tags', []))


def render_markdown_cell(cell, ctx, markdown, env):
    ctx.line = cell_line(cell)
    return markdown.render(cell.source, env)


def render_tab_group(cells, ctx):
    """Consecutive framework cells: one tab per framework, in the book's
    order, each holding that framework's cells with their own outputs."""
    by_framework = {}
    for cell in cells:
        fw = cell_framework(cell)
        if fw not in FRAMEWORKS:
            raise ctx.error(f'unknown framework {fw!r}', cell_line(cell))
        by_framework.setdefault(fw, []).append(cell)
    panels = {}
    for fw in FRAMEWORKS:
        if fw in by_framework:
            panels[fw] = '\n'.join(render_framework_cell(cell, fw, ctx)
                                   for cell in by_framework[fw])
    return (tab_group_html(panels, ctx, line=cell_line(cells[0]))
            + compare.figures_table(cells))


def render_framework_cell(cell, framework, ctx):
    ctx.line = cell_line(cell)
    outputs = cell.metadata.get('d2l_book', {}).get('outputs', {})
    if framework in outputs:
        output_html = render_outputs(outputs[framework], ctx)
    elif framework in ctx.frameworks:
        output_html = ''
    else:
        output_html = ('<p class="not-run">Not executed in this build of '
                       'the book.</p>')
    return cell_html(cell, ctx, output_html)


def render_shared_cell(cell, ctx):
    """A cell every framework ran: its code once; its outputs once when
    they agree, else in tabs of their own."""
    ctx.line = cell_line(cell)
    outputs = cell.metadata.get('d2l_book', {}).get('outputs', {})
    ran = [fw for fw in FRAMEWORKS if fw in outputs]
    if not ran or 'remove-output' in cell_tags(cell):
        output_html = ''
    elif all(comparable(outputs[fw]) == comparable(outputs[ran[0]])
             for fw in ran):
        output_html = render_outputs(outputs[ran[0]], ctx)
    else:
        panels = {fw: render_outputs(outputs[fw], ctx) for fw in ran}
        output_html = tab_group_html(panels, ctx, line=ctx.line,
                                     note='Output differs by framework:')
    return cell_html(cell, ctx, output_html, shared=True)


def cell_html(cell, ctx, output_html, shared=False):
    tags = cell_tags(cell)
    if 'remove-cell' in tags:
        return ''
    if 'remove-output' in tags:
        output_html = ''
    code = '' if 'remove-input' in tags or not cell.source.strip() else \
        highlight_code(cell.source, ctx.lexer)
    if output_html and not output_html.startswith('<div class="tab-group'):
        output_html = f'<div class="cell-output">{output_html}</div>'
    kind = ' shared' if shared else ''
    return (f'<div class="cell{kind}" data-line="{cell_line(cell)}">'
            f'{code}{output_html}</div>')


def highlight_code(source, lexer):
    formatter = HtmlFormatter(cssclass='highlight', wrapcode=True)
    return highlight(source.rstrip('\n') + '\n', lexer, formatter)


def tab_group_html(panels, ctx, line, note=''):
    """`panels` maps framework -> html, in the order to show them.

    The button row is hidden until book.js makes the group a set of tabs;
    until then (and in print) every panel shows, labelled."""
    number = ctx.next_number('tab-group')
    gid = f'tabs-{number}'
    buttons, sections = [], []
    for i, (fw, content) in enumerate(panels.items()):
        label = FRAMEWORK_LABELS[fw]
        selected = 'true' if i == 0 else 'false'
        buttons.append(
            f'<button type="button" role="tab" id="{gid}-tab-{fw}" '
            f'aria-controls="{gid}-{fw}" aria-selected="{selected}" '
            f'tabindex="{0 if i == 0 else -1}" data-framework="{fw}">'
            f'{label}</button>')
        sections.append(
            f'<div class="tab-panel" role="tabpanel" id="{gid}-{fw}" '
            f'aria-labelledby="{gid}-tab-{fw}" data-framework="{fw}" '
            f'tabindex="0">\n<p class="panel-label">{label}</p>\n'
            f'{content}\n</div>')
    note_html = f'<p class="tab-note">{esc(note)}</p>' if note else ''
    return (f'<div class="tab-group" data-tab-group id="{gid}" '
            f'data-line="{line}">{note_html}\n'
            f'<div class="tab-list" role="tablist" aria-label="Framework">'
            + ''.join(buttons) + '</div>\n' + '\n'.join(sections) + '\n</div>')


# ---------------------------------------------------------------- outputs

def render_outputs(outputs, ctx):
    return '\n'.join(render_output(output, ctx)
                     for output in merge_streams(outputs))


def merge_streams(outputs):
    """Join consecutive chunks of one stream, as Jupyter shows them, so a
    progress line redrawn with \\r across chunks collapses properly."""
    merged = []
    for output in outputs:
        if (output.get('output_type') == 'stream' and merged
                and merged[-1].get('output_type') == 'stream'
                and merged[-1].get('name') == output.get('name')):
            merged[-1] = dict(merged[-1], text=merged[-1]['text']
                              + multiline(output.get('text', '')))
        else:
            if output.get('output_type') == 'stream':
                output = dict(output, text=multiline(output.get('text', '')))
            merged.append(output)
    return merged


def comparable(outputs):
    """What two frameworks' outputs must share to be shown once."""
    result = []
    for output in merge_streams(outputs):
        kind = output.get('output_type')
        if kind == 'stream':
            result.append((kind, output.get('name'),
                           clean_text(output['text'])))
        elif kind == 'error':
            result.append((kind, output.get('ename'), output.get('evalue')))
        else:
            data = {mime: multiline(value)
                    for mime, value in output.get('data', {}).items()}
            if 'image/svg+xml' in data:
                data['image/svg+xml'] = canonical_svg(data['image/svg+xml'])
            result.append((kind, json.dumps(data, sort_keys=True)))
    return result


def canonical_svg(svg):
    """An SVG without what differs between two drawings of the same plot:
    matplotlib stamps the date into <metadata> and salts its ids at random
    (unless svg.hashsalt is set). Ids become their order of appearance."""
    svg = re.sub(r'<metadata\b.*?</metadata>', '', svg, flags=re.S)
    order = {}
    for name in SVG_ID.findall(svg):
        order.setdefault(name, f'id{len(order)}')
    if not order:
        return svg
    names = '|'.join(re.escape(name) for name in
                     sorted(order, key=len, reverse=True))
    return re.sub(rf'(?<=["#])({names})(?=[")])', lambda m: order[m[1]], svg)


def render_output(output, ctx):
    kind = output.get('output_type')
    if kind == 'stream':
        name = 'stderr' if output.get('name') == 'stderr' else 'stdout'
        return (f'<pre class="output output-stream output-{name}">'
                f'{esc(clean_text(output["text"]))}</pre>')
    if kind == 'error':
        trace = '\n'.join(output.get('traceback', [])) or \
            f'{output.get("ename")}: {output.get("evalue")}'
        return (f'<pre class="output output-error" role="alert">'
                f'{esc(clean_text(trace))}</pre>')
    if kind in ('execute_result', 'display_data'):
        return render_rich_output(output.get('data', {}),
                                  output.get('metadata', {}), ctx)
    return ''


def render_rich_output(data, metadata, ctx):
    """The richest representation a static page can show faithfully."""
    data = {mime: multiline(value) for mime, value in data.items()}
    if 'image/svg+xml' in data:
        prefix = f'{ctx.page.name}-svg{ctx.next_number("svg")}'
        return (f'<div class="output output-svg">'
                f'{inline_svg(data["image/svg+xml"], prefix)}</div>')
    for mime in ('image/png', 'image/jpeg', 'image/gif'):
        if mime in data:
            return image_data_uri(mime, data[mime], metadata.get(mime, {}))
    if 'text/html' in data and html_is_self_contained(data['text/html']):
        return f'<div class="output output-html">{data["text/html"]}</div>'
    if 'text/latex' in data:
        return (f'<div class="output output-latex">'
                f'{esc(data["text/latex"])}</div>')
    if 'text/plain' in data:
        return (f'<pre class="output output-text">'
                f'{esc(clean_text(data["text/plain"]))}</pre>')
    return ''


def image_data_uri(mime, payload, metadata):
    payload = re.sub(r'\s+', '', payload)
    size = ''.join(f' {dim}="{int(metadata[dim])}"'
                   for dim in ('width', 'height') if dim in metadata)
    return (f'<div class="output output-image"><img src="data:{mime};base64,'
            f'{payload}" alt="output image"{size}></div>')


def html_is_self_contained(fragment):
    # Scripts and remote resources would run or load on the reader's
    # machine: such outputs show as their text/plain form instead.
    return (not re.search(r'<script\b', fragment, re.I)
            and not AUTOLOADED_REMOTE_URL.search(fragment))


def multiline(value):
    return ''.join(value) if isinstance(value, list) else value


def clean_text(text):
    """Terminal text as a page shows it: no colour codes, and a line
    redrawn with carriage returns shows its last state only."""
    text = ANSI_ESCAPE.sub('', text).replace('\r\n', '\n')
    return '\n'.join(line.rstrip('\r').rsplit('\r', 1)[-1]
                     for line in text.split('\n'))


# ---------------------------------------------------------------- svg

SVG_ID = re.compile(r'\bid\s*=\s*"([^"]+)"')


def inline_svg(svg, prefix):
    """An SVG document as an element of the page, with ids made unique.

    matplotlib names things 'patch_1', 'p1234abcd', 'm0a1b2c3' in every
    figure; inline, two figures would share (and steal) each other's clip
    paths and markers, so every id and reference gets `prefix`."""
    start = svg.find('<svg')
    if start < 0:
        return f'<pre class="output output-text">{esc(svg)}</pre>'
    svg = svg[start:]  # drops the XML prolog, doctype and comments before it
    svg = re.sub(r'<metadata\b.*?</metadata>\s*', '', svg, flags=re.S)
    ids = set(SVG_ID.findall(svg))

    def renamed(name):
        return f'{prefix}-{name}' if name in ids else name

    svg = SVG_ID.sub(lambda m: f'id="{renamed(m[1])}"', svg)
    svg = re.sub(r'\b(href\s*=\s*)"#([^"]+)"',
                 lambda m: f'{m[1]}"#{renamed(m[2])}"', svg)
    svg = re.sub(r'url\(\s*(["\']?)#([^)"\']+)\1\s*\)',
                 lambda m: f'url(#{renamed(m[2])})', svg)
    root = re.match(r'<svg\b[^>]*?\bid="([^"]+)"', svg)
    root_id = root[1] if root else f'{prefix}-root'
    if not root:
        svg = f'<svg id="{root_id}"' + svg[len('<svg'):]
    return re.sub(r'(<style\b[^>]*>)(.*?)(</style>)',
                  lambda m: m[1] + scope_css(m[2], root_id, renamed) + m[3],
                  svg, flags=re.S)


def scope_css(css, root_id, renamed):
    """matplotlib's `*{stroke-linejoin: round}` would style the whole page:
    prefix each selector with the figure's own root."""
    css = re.sub(r'#([\w-]+)', lambda m: f'#{renamed(m[1])}', css)

    def scoped_rule(match):
        selectors, body = match[1], match[2]
        if selectors.strip().startswith('@'):
            return match[0]
        scoped = ', '.join(f'#{root_id} {s.strip()}'
                           for s in selectors.split(',') if s.strip())
        return f'{scoped} {{{body}}}'

    css = re.sub(r'<!\[CDATA\[|\]\]>', '', css)
    return re.sub(r'([^{}]+)\{([^{}]*)\}', scoped_rule, css)


# ---------------------------------------------------------------- markdown

def markdown_renderer():
    """MyST Markdown as far as a chapter's prose uses it: CommonMark,
    tables, math ($ and $$, \\( and \\[, amsmath environments),
    (targets)=, {roles} and a few {directives}; images alone in a
    paragraph become figures."""
    md = (MarkdownIt('commonmark', {'html': True, 'typographer': False})
          .enable(['table', 'strikethrough'])
          .use(dollarmath_plugin, double_inline=True)
          # \( \) and \[ \]: without this CommonMark reads "\(" as "("
          .use(texmath_plugin, delimiters='brackets')
          .use(amsmath_plugin)
          .use(myst_block_plugin)
          .use(myst_role_plugin))
    md.core.ruler.push('d2l_headings', number_headings)
    md.core.ruler.push('d2l_figures', mark_figures)
    rules = {
        'math_inline': lambda *a: math_html(a[1][a[2]].content, False),
        'math_inline_double': lambda *a: math_html(a[1][a[2]].content, True),
        'math_block': lambda *a: math_html(a[1][a[2]].content, True),
        'math_block_label': render_labelled_math,
        'math_block_eqno': render_labelled_math,
        'amsmath': lambda *a: math_html(a[1][a[2]].content, True),
        'myst_target': lambda *a: (f'<span class="target" '
                                   f'id="{esc(a[1][a[2]].content)}"></span>'),
        'myst_line_comment': lambda *a: '',
        'myst_block_break': lambda *a: '',
        'myst_role': render_role,
        'paragraph_open': render_paragraph_open,
        'paragraph_close': render_paragraph_close,
        'image': render_image,
        'link_open': render_link_open,
        'table_open': lambda *a: '<div class="table-wrap"><table>\n',
        'table_close': lambda *a: '</table></div>\n',
        'fence': render_fence,
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


def math_html(tex, display):
    """TeX kept verbatim (escaped for HTML) inside the element book.js
    typesets; without JavaScript the reader still sees the TeX."""
    if display:
        return f'<div class="math math-display">\\[{esc(tex.strip())}\\]</div>\n'
    return f'<span class="math math-inline">\\({esc(tex.strip())}\\)</span>'


def render_labelled_math(renderer, tokens, idx, options, env):
    token = tokens[idx]
    return (f'<div class="equation" id="{esc(token.info)}">'
            f'{math_html(token.content, True)}</div>\n')


def number_headings(state):
    """Give every heading a unique id (across all cells of the page) and
    collect h2/h3 for the table of contents."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != 'heading_open':
            continue
        inline = tokens[i + 1]
        slug = unique_slug(slugify(plain_text(inline.children or [])),
                           state.env['slugs'])
        token.attrSet('id', slug)
        level = int(token.tag[1])
        if level in (2, 3):
            state.env['headings'].append((level, slug, inline))


def slugify(text):
    slug = re.sub(r'[^\w\s-]', '', text.lower()).strip()
    return re.sub(r'[\s_-]+', '-', slug) or 'section'


def unique_slug(slug, used):
    candidate, n = slug, 1
    while candidate in used:
        n += 1
        candidate = f'{slug}-{n}'
    used.add(candidate)
    return candidate


def plain_text(children):
    parts = []
    for child in children:
        if child.type in ('text', 'code_inline', 'math_inline'):
            parts.append(child.content)
        elif child.type == 'image':
            parts.append(plain_text(child.children or []))
        elif child.type in ('softbreak', 'hardbreak'):
            parts.append(' ')
        elif child.children:
            parts.append(plain_text(child.children))
    return ''.join(parts)


def mark_figures(state):
    """A paragraph holding nothing but an image is a figure; every image
    learns its source line (inline tokens have no line map of their own)."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != 'inline' or not token.children:
            continue
        for child in token.children:
            if child.type == 'image':
                child.meta['line'] = token.map[0] if token.map else 0
        content = [c for c in token.children
                   if not (c.type == 'text' and not c.content.strip())
                   and c.type != 'softbreak']
        if (len(content) == 1 and content[0].type == 'image'
                and i > 0 and tokens[i - 1].type == 'paragraph_open'
                and not tokens[i - 1].hidden):
            tokens[i - 1].meta['figure'] = True
            tokens[i + 1].meta['figure'] = True
            content[0].meta['figure'] = True


def render_paragraph_open(renderer, tokens, idx, options, env):
    if tokens[idx].meta.get('figure'):
        return '<figure>\n'
    return renderer.renderToken(tokens, idx, options, env)


def render_paragraph_close(renderer, tokens, idx, options, env):
    if tokens[idx].meta.get('figure'):
        return '</figure>\n'
    return renderer.renderToken(tokens, idx, options, env)


def render_image(renderer, tokens, idx, options, env):
    token = tokens[idx]
    ctx = env['chapter']
    src = page_image(token.attrGet('src') or '', ctx,
                     ctx.line + token.meta.get('line', 0))
    alt = plain_text(token.children or [])
    title = token.attrGet('title')
    title_attr = f' title="{esc(title)}"' if title else ''
    img = f'<img src="{esc(src)}" alt="{esc(alt)}"{title_attr}>'
    if not token.meta.get('figure'):
        return img
    number = ctx.next_number('figure')
    caption = renderer.renderInline(token.children or [], options, env)
    return (f'{img}\n<figcaption><span class="figure-number">Figure '
            f'{number}.</span> {caption}</figcaption>\n')


def page_image(src, ctx, line):
    """Where the page finds an image; registers the copy to make.

    Images live beside the chapter (chapters/img/...) and land at the same
    relative path under html/, since pages sit at html/'s top level."""
    if src.startswith('data:'):
        return src
    parsed = urllib.parse.urlsplit(src)
    if parsed.scheme or parsed.netloc:
        raise ctx.error(f'image {src} would be fetched from the network; '
                        'put it under chapters/img/ instead', line)
    relative = pathlib.PurePosixPath(urllib.parse.unquote(parsed.path))
    path = ctx.chapter_dir / relative
    if relative.is_absolute() or '..' in relative.parts:
        raise ctx.error(f'image {src} is outside the chapters folder', line)
    if not path.is_file():
        raise ctx.error(f'image {src} not found (looked for {path})', line)
    ctx.page.files[relative.as_posix()] = path
    return src


def render_link_open(renderer, tokens, idx, options, env):
    """Links to other chapters (.md, or their notebooks) go to their pages."""
    token = tokens[idx]
    href = token.attrGet('href') or ''
    parsed = urllib.parse.urlsplit(href)
    if not parsed.scheme and not parsed.netloc and \
            parsed.path.endswith(('.md', '.ipynb')):
        page = re.sub(r'\.(md|ipynb)$', '.html',
                      pathlib.PurePosixPath(parsed.path).name)
        token.attrSet('href', urllib.parse.urlunsplit(
            ('', '', page, parsed.query, parsed.fragment)))
    return renderer.renderToken(tokens, idx, options, env)


ADMONITIONS = {'note', 'tip', 'hint', 'important', 'warning', 'caution',
               'attention', 'danger', 'error', 'seealso', 'admonition'}


def render_fence(renderer, tokens, idx, options, env):
    """Code in prose is highlighted like cells; MyST directives written as
    fences ({note}, {math}, ...) get a plain rendering of their body."""
    token = tokens[idx]
    info = token.info.strip()
    match = re.match(r'\{([\w-]+)\}\s*(.*)', info)
    if not match:
        language = info.split()[0] if info else 'text'
        try:
            lexer = get_lexer_by_name(language)
        except ClassNotFound:
            lexer = get_lexer_by_name('text')
        return highlight_code(token.content, lexer)
    name, argument = match[1], match[2]
    body = re.sub(r'\A(?::[\w-]+:.*\n)+', '', token.content)  # :options:
    if name == 'math':
        return math_html(body, True)
    inner = env['markdown'].render(body, env)
    if name in ADMONITIONS:
        title = argument or name.capitalize()
        return (f'<aside class="admonition {name}"><p class="admonition-title">'
                f'{esc(title)}</p>{inner}</aside>\n')
    return f'<div class="directive directive-{esc(name)}">{inner}</div>\n'


def render_role(renderer, tokens, idx, options, env):
    """{math}, cross-references and a few inline roles; others show their
    text."""
    token = tokens[idx]
    name, content = token.meta.get('name', ''), token.content
    if name == 'math':
        return math_html(content, False)
    if name in ('ref', 'numref', 'eq', 'doc'):
        match = re.match(r'(.*?)\s*<([^>]+)>$', content)
        text, target = (match[1], match[2]) if match else (content, content)
        href = (re.sub(r'\.md$', '', target) + '.html' if name == 'doc'
                else f'#{target}')
        return f'<a href="{esc(href)}">{esc(text)}</a>'
    if name in ('sub', 'sup'):
        return f'<{name}>{esc(content)}</{name}>'
    return f'<span class="role role-{esc(name)}">{esc(content)}</span>'


# ---------------------------------------------------------------- page parts

def esc(text):
    return html.escape(str(text), quote=True)


def format_seconds(seconds):
    seconds = round(float(seconds))
    if seconds < 60:
        return f'{seconds} s'
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f'{minutes} min {seconds} s' if seconds else f'{minutes} min'
    hours, minutes = divmod(minutes, 60)
    return f'{hours} h {minutes} min'


def run_banner(runs, frameworks):
    """Which run mode produced the outputs on the page, per framework."""
    if not frameworks:
        return ''
    modes = {fw: runs.get(fw, {}).get('mode', 'unknown') for fw in frameworks}

    def timing(fw):
        seconds = runs.get(fw, {}).get('seconds')
        return f' {format_seconds(seconds)}' if seconds is not None else ''

    distinct = list(dict.fromkeys(modes.values()))
    if len(distinct) == 1:
        runs_text = (f'Outputs on this page were produced in <strong>'
                     f'{esc(distinct[0])}</strong> mode: ' + ', '.join(
                         f'{FRAMEWORK_LABELS[fw]}{timing(fw)}'
                         for fw in frameworks) + '.')
    else:
        runs_text = 'Outputs on this page were produced in different modes: ' \
            + ', '.join(f'{FRAMEWORK_LABELS[fw]} in <strong>{esc(modes[fw])}'
                        f'</strong> mode{timing(fw)}'
                        for fw in frameworks) + '.'
    meanings = ' '.join(
        f'<span class="mode-meaning"><em>{esc(mode.capitalize())}</em>: '
        f'{esc(MODE_MEANINGS[mode])}.</span>'
        for mode in distinct if mode in MODE_MEANINGS)
    dates = sorted({runs.get(fw, {}).get('executed_at', '')[:10]
                    for fw in frameworks} - {''})
    when = (f' Executed {dates[0]}' + (f' to {dates[-1]}' if len(dates) > 1
                                       else '') + '.') if dates else ''
    mode_class = distinct[0] if len(distinct) == 1 else 'mixed'
    return (f'<aside class="run-banner run-{esc(mode_class)}" role="note">'
            f'<p>{runs_text}{when} {meanings}</p></aside>\n')


def download_links(notebooks):
    if not notebooks:
        return ''
    links = [f'<a href="{esc(relative)}" download>{FRAMEWORK_LABELS[fw]}</a>'
             for fw, relative in notebooks.items()]
    return ('<p class="downloads">Run this chapter yourself: download the '
            'notebook for ' + ' \u00b7 '.join(links) + '.</p>\n')


def table_of_contents(headings, markdown, env):
    if len(headings) < 2:
        return ''
    items = []
    for level, slug, token in headings:
        text = markdown.renderer.renderInline(token.children or [],
                                              markdown.options, env)
        items.append(f'<li class="toc-level-{level}"><a href="#{slug}">'
                     f'{text}</a></li>')
    return ('<nav class="toc" aria-label="Contents"><details open>'
            '<summary>Contents</summary><ol>' + ''.join(items)
            + '</ol></details></nav>\n')


def page_shell(title, book_title, main, footer='', head_extra=''):
    """The page around the content: header, styles and scripts, all local."""
    return f'''<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="static/katex/katex.min.css">
<link rel="stylesheet" href="static/book.css">
{head_extra}</head>
<body>
<header class="site-header"><a class="book-title" href="index.html">{esc(book_title)}</a></header>
<main class="content">
{main}
</main>
{f'<footer class="site-footer"><p>{footer}</p></footer>' if footer else ''}
<script src="static/katex/katex.min.js"></script>
<script src="static/katex/contrib/auto-render.min.js"></script>
<script src="static/book.js"></script>
</body>
</html>
'''


# ---------------------------------------------------------------- the index

def render_index(pages, book_title=BOOK_TITLE):
    """The book's front page: its chapters with how each was run, and the
    framework chooser (the choice then holds on every chapter)."""
    frameworks = [fw for fw in FRAMEWORKS
                  if any(fw in page.runs for page in pages)] or list(FRAMEWORKS)
    chooser = ''.join(
        f'<button type="button" data-framework="{fw}" aria-pressed="false">'
        f'{FRAMEWORK_LABELS[fw]}</button>' for fw in frameworks)
    items = ''.join(
        f'<li><a href="{esc(page.name)}.html">{esc(page.title)}</a>'
        f'<span class="chapter-runs">{chapter_modes(page.runs)}</span></li>'
        for page in pages)
    count = NUMBER_WORDS.get(len(frameworks), str(len(frameworks)))
    main = f'''<h1>{esc(book_title)}</h1>
<p>Executable chapters on modern convolutional networks. Every code step is
given in {count} framework{'s' if len(frameworks) != 1 else ''}; pick yours
once and every code tab on every page follows.</p>
<div class="framework-chooser" role="group" aria-label="Show code in">
<span class="chooser-label">Show code in:</span>{chooser}</div>
<h2>Chapters</h2>
<ol class="chapter-list">{items}</ol>
'''
    return page_shell(title=book_title, book_title=book_title, main=main)


NUMBER_WORDS = {1: 'one', 2: 'two', 3: 'three', 4: 'four'}


def chapter_modes(runs):
    """'smoke mode: PyTorch, MXNet, ...' grouped by mode."""
    by_mode = {}
    for fw in FRAMEWORKS:
        if fw in runs:
            mode = runs[fw].get('mode', 'unknown')
            by_mode.setdefault(mode, []).append(FRAMEWORK_LABELS[fw])
    return '; '.join(f'{esc(mode)} mode: {", ".join(labels)}'
                     for mode, labels in by_mode.items())


# ---------------------------------------------------------------- static files

def static_files():
    """static/ path -> bytes: the book's CSS and JS, and KaTeX."""
    files = {
        'static/book.css': (ASSETS / 'book.css').read_bytes()
        + pygments_css().encode(),
        'static/book.js': (ASSETS / 'book.js').read_bytes(),
    }
    files.update(katex_files())
    return files


def pygments_css():
    defs = HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs('.highlight')
    # Only the rules scoped to .highlight: the others restyle every <pre>.
    rules = [line for line in defs.splitlines() if line.startswith('.highlight')]
    return (f'\n/* Code highlighting: pygments style "{PYGMENTS_STYLE}" */\n'
            + '\n'.join(rules) + '\n')


def katex_files():
    def first(*names):
        for name in names:
            if (KATEX_DIR / name).is_file():
                return (KATEX_DIR / name).read_bytes()
        raise RenderError(f'KaTeX not found: no {" or ".join(names)} in '
                          f'{KATEX_DIR}; install the Debian package '
                          'libjs-katex (or set D2L_KATEX_DIR)')

    files = {
        'static/katex/katex.min.js': first('katex.min.js', 'katex.js'),
        'static/katex/katex.min.css': first('katex.min.css', 'katex.css'),
        'static/katex/contrib/auto-render.min.js': first(
            'contrib/auto-render.min.js', 'contrib/auto-render.js'),
    }
    fonts = KATEX_DIR / 'fonts'  # a symlink into fonts-katex on Debian
    if not fonts.is_dir() or not any(fonts.iterdir()):
        raise RenderError(f'KaTeX fonts not found in {fonts}; install the '
                          'Debian package fonts-katex')
    for font in sorted(fonts.iterdir()):
        if font.suffix in ('.woff2', '.woff', '.ttf'):
            files[f'static/katex/fonts/{font.name}'] = font.read_bytes()
    return files
