"""A chapter's prose as tokens: MyST Markdown as far as the chapters use it,
parsed by markdown-it. Both the page (bookbuild.render.markdown turns the
tokens into HTML) and the catalogs (bookbuild.i18n.messages finds the
translatable blocks in them) read this one parser, so they agree on what a
paragraph is."""
import re

from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from mdit_py_plugins.texmath import texmath_plugin

# The directives a page draws as an admonition box with a title.
ADMONITIONS = {'note', 'tip', 'hint', 'important', 'warning', 'caution',
               'attention', 'danger', 'error', 'seealso', 'admonition'}


def parser():
    """MyST Markdown as far as a chapter's prose uses it: CommonMark,
    tables, math ($ and $$, \\( and \\[, amsmath environments),
    (targets)=, {roles} and a few {directives}; images alone in a
    paragraph are marked as figures."""
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
    md.core.ruler.push('d2l_labels', mark_labels)
    md.core.ruler.push('d2l_role_lines', mark_role_lines)
    return md


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


def mark_labels(state):
    """A (target)= right above a figure or a heading labels it: the
    figure or heading learns its label (bookbuild.crossref numbers it),
    and the target, whose anchor the figure then carries, its figure."""
    tokens = state.tokens
    for i, token in enumerate(tokens[:-1]):
        if token.type != 'myst_target':
            continue
        following = tokens[i + 1]
        if following.type == 'paragraph_open' and \
                following.meta.get('figure'):
            following.meta['label'] = token.content
            token.meta['figure'] = True
        elif following.type == 'heading_open':
            following.meta['label'] = token.content


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
