"""The parts of a page around the chapter's content: the run banner,
download links, contents, the page shell, the index, and the static files
(the book's CSS and JS, and KaTeX) every page links."""
import os
import pathlib

from pygments.formatters import HtmlFormatter

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.render_common import RenderError, esc

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


# ---------------------------------------------------------------- page parts


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
