"""Rendering a chapter's prose: MyST Markdown through markdown-it, with
math kept for KaTeX, numbered figures, unique heading ids and local images."""
import pathlib
import re
import urllib.parse

from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from mdit_py_plugins.texmath import texmath_plugin
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from bookbuild import glue
from bookbuild.furniture import gettext as _
from bookbuild.render_common import esc, highlight_code

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
    md.core.ruler.push('d2l_role_lines', mark_role_lines)
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
        fixed = state.env.get('heading_ids')
        if fixed:
            slug = fixed.pop(0)
            state.env['slugs'].add(slug)
        else:
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


def mark_role_lines(state):
    """Every role learns its line within the cell (inline tokens have no
    line map of their own): its block's first line plus the line breaks
    before it, so an error can point at it."""
    for token in state.tokens:
        if token.type != 'inline' or not token.children or not token.map:
            continue
        line = token.map[0]
        for child in token.children:
            if child.type in ('softbreak', 'hardbreak'):
                line += 1
            elif child.type == 'myst_role':
                child.meta['line'] = line
            elif child.type == 'text':
                line += child.content.count('\n')


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
    label = esc(_('Figure {number}.').format(number=number))
    return (f'{img}\n<figcaption><span class="figure-number">{label}'
            f'</span> {caption}</figcaption>\n')


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
    if src in ctx.image_sources:
        path = pathlib.Path(ctx.image_sources[src])
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
    """{math}, cross-references, measured values ({glue}, see
    bookbuild.glue) and a few inline roles; others show their text."""
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
    if name == glue.ROLE or name.startswith(glue.ROLE + ':'):
        ctx = env['chapter']
        try:
            return glue.role_html(name, content, ctx.glue, ctx.frameworks)
        except ValueError as e:
            raise ctx.error(str(e), ctx.line + token.meta.get('line', 0)) \
                from None
    return f'<span class="role role-{esc(name)}">{esc(content)}</span>'
