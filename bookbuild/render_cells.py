"""Rendering a merged chapter's cells: shared code cells, tab groups of
framework cells, and their outputs (text, rich data, inline SVG)."""
import json
import re

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS, compare, glue
from bookbuild.furniture import gettext as _
from bookbuild.render_common import (AUTOLOADED_REMOTE_URL, esc,
                                     highlight_code)

ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*'
                         r'(?:\x07|\x1b\\)|\x1b[@-Z\\-_]')


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
    # A translated cell keeps the ids of its English headings, so that a
    # link to a section works in every edition (bookbuild.editions).
    env['heading_ids'] = list(cell.metadata.get('d2l_book', {})
                              .get('heading_ids', []))
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
        # Babel does not look into f-strings: the message is a plain call.
        note = _('Not executed in this build of the book.')
        output_html = f'<p class="not-run">{esc(note)}</p>'
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
                                     note=_('Output differs by framework:'))
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
    tabs_label = esc(_('Framework'))
    return (f'<div class="tab-group" data-tab-group id="{gid}" '
            f'data-line="{line}">{note_html}\n'
            f'<div class="tab-list" role="tablist" '
            f'aria-label="{tabs_label}">'
            + ''.join(buttons) + '</div>\n' + '\n'.join(sections) + '\n</div>')


# ---------------------------------------------------------------- outputs

def render_outputs(outputs, ctx):
    return '\n'.join(html for html in (render_output(output, ctx)
                                       for output in merge_streams(outputs))
                     if html)


def merge_streams(outputs):
    """Join consecutive chunks of one stream, as Jupyter shows them, so a
    progress line redrawn with \\r across chunks collapses properly.
    Values recorded for the prose (d2l.glue) are not shown: they are left
    out here."""
    merged = []
    for output in outputs:
        if glue.is_glue_output(output):
            continue
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
