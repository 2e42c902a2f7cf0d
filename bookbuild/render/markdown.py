"""Rendering a chapter's prose: the MyST parser's tokens (bookbuild.myst)
as HTML, with math kept for KaTeX, numbered figures and local images."""
import pathlib
import re
import urllib.parse

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from bookbuild import bibliography, crossref, glue, myst
from bookbuild.i18n.furniture import gettext as _
from bookbuild.myst import ADMONITIONS, plain_text
from bookbuild.render.common import esc, highlight_code

# ---------------------------------------------------------------- markdown

def markdown_renderer():
    """The MyST parser (bookbuild.myst) with the page's HTML for its
    tokens: math kept for KaTeX, numbered figures, local images, links to
    other chapters' pages, highlighted code and admonitions."""
    md = myst.parser()
    rules = {
        'math_inline': lambda *a: math_html(a[1][a[2]].content, False),
        'math_inline_double': lambda *a: math_html(a[1][a[2]].content, True),
        'math_block': lambda *a: math_html(a[1][a[2]].content, True),
        'math_block_label': render_labelled_math,
        'math_block_eqno': render_labelled_math,
        'amsmath': lambda *a: math_html(a[1][a[2]].content, True),
        'myst_target': render_target,
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
    """A labelled equation, numbered by the book (bookbuild.crossref):
    KaTeX sets the number at the right, as \\tag."""
    token = tokens[idx]
    number = env['chapter'].book.number(token.info)
    tex = token.content.strip()
    if number is not None:
        tex = f'{tex} \\tag{{{number}}}'
    return (f'<div class="equation" id="{esc(token.info)}">'
            f'{math_html(tex, True)}</div>\n')


def render_target(renderer, tokens, idx, options, env):
    """A (label)= target; above a figure, the figure carries its id."""
    token = tokens[idx]
    if token.meta.get('figure'):
        return ''
    return f'<span class="target" id="{esc(token.content)}"></span>'


def render_paragraph_open(renderer, tokens, idx, options, env):
    if tokens[idx].meta.get('figure'):
        label = tokens[idx].meta.get('label')
        return f'<figure id="{esc(label)}">\n' if label else '<figure>\n'
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
    number = ctx.number('figure')
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
        # Markdown, as MyST reads it (and as an edition marks a title
        # awaiting translation); a translated title's markup is checked
        # like any message's (bookbuild.i18n.messages.placeholder_problems).
        title = (env['markdown'].renderInline(argument, env) if argument
                 else esc(name.capitalize()))
        return (f'<aside class="admonition {name}"><p class="admonition-title">'
                f'{title}</p>{inner}</aside>\n')
    return f'<div class="directive directive-{esc(name)}">{inner}</div>\n'


def render_role(renderer, tokens, idx, options, env):
    """{math}, cross-references, measured values ({glue}, see
    bookbuild.glue) and a few inline roles; others show their text."""
    token = tokens[idx]
    name, content = token.meta.get('name', ''), token.content
    if name == 'math':
        return math_html(content, False)
    if name in crossref.ROLES:
        ctx = env['chapter']
        try:
            return ctx.book.reference_html(name, content, ctx.page.name)
        except ValueError as e:
            raise crossref.CrossReferenceError(
                ctx.page.source, ctx.line + token.meta.get('line', 0),
                str(e)) from None
    if name in bibliography.ROLES:
        ctx = env['chapter']
        try:
            return bibliography.citation_html(name, content,
                                              ctx.bibliography, ctx.cited)
        except ValueError as e:
            raise bibliography.CitationError(
                ctx.page.source, ctx.line + token.meta.get('line', 0),
                str(e)) from None
    if name == 'doc':
        match = re.match(r'(.*?)\s*<([^>]+)>$', content)
        text, target = (match[1], match[2]) if match else (content, content)
        href = re.sub(r'\.md$', '', target) + '.html'
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
