"""The parts of a page around the chapter's content: the run banner,
download links, contents, the book's navigation (its table of contents and
the previous/next links), the page shell, the index, and the static files
(the book's CSS and JS, and KaTeX) every page links."""
import dataclasses
import os
import pathlib

from pygments.formatters import HtmlFormatter

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.i18n.furniture import N_
from bookbuild.i18n.furniture import gettext as _
from bookbuild.render.common import RenderError, esc
from d2l_local.run_modes import RUN_MODES
from bookbuild.render.search import INDEX_FILE, minisearch_file

# Each language by its own name, as the language switch shows it.
LANGUAGE_NAMES = {'en': 'English', 'vi': 'Tiếng Việt'}

BOOK_TITLE = N_('Modern Convolutional Neural Networks')
ASSETS = pathlib.Path(__file__).parent / 'assets'
# Debian's libjs-katex; D2L_KATEX_DIR points elsewhere (e.g. an npm copy).
KATEX_DIR = pathlib.Path(os.environ.get('D2L_KATEX_DIR',
                                        '/usr/share/javascript/katex'))
PYGMENTS_STYLE = 'default'
# The dark theme's code colours (readable on its dark code background).
PYGMENTS_DARK_STYLE = 'github-dark'
# Where the dark theme applies: chosen with the toggle, or by the system
# while the reader has chosen nothing (theme.js sets data-theme).
DARK_CHOSEN = ':root[data-theme="dark"]'
DARK_BY_SYSTEM = ':root:not([data-theme="light"])'


@dataclasses.dataclass
class Edition:
    """Which edition a page belongs to, and the others it links to."""
    language: str = 'en'
    root: str = ''          # from a page up to the book's root (static/)
    # (language, its own name, path from a page of this edition to the
    # same page in that one, without the file name)
    switch: tuple = ()


ENGLISH = Edition()


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
    # A furniture string is text, filled with HTML: escaped before it is
    # filled, so that a translation (book.po) cannot add markup.
    if len(distinct) == 1:
        runs_text = esc(_('Outputs on this page were produced in {mode} '
                          'mode: {frameworks}.')).format(
            mode=f'<strong>{esc(distinct[0])}</strong>',
            frameworks=', '.join(esc(f'{FRAMEWORK_LABELS[fw]}{timing(fw)}')
                                 for fw in frameworks))
    else:
        runs_text = esc(_('Outputs on this page were produced in different '
                          'modes: {frameworks}.')).format(
            frameworks=', '.join(
                esc(_('{framework} in {mode} mode{timing}')).format(
                    framework=esc(FRAMEWORK_LABELS[fw]),
                    mode=f'<strong>{esc(modes[fw])}</strong>',
                    timing=esc(timing(fw)))
                for fw in frameworks))
    meanings = ' '.join(
        f'<span class="mode-meaning"><em>{esc(mode.capitalize())}</em>: '
        f'{esc(_(RUN_MODES[mode].meaning))}.</span>'
        for mode in distinct if mode in RUN_MODES)
    dates = sorted({runs.get(fw, {}).get('executed_at', '')[:10]
                    for fw in frameworks} - {''})
    if not dates:
        when = ''
    elif len(dates) == 1:
        when = ' ' + esc(_('Executed {date}.')).format(date=esc(dates[0]))
    else:
        when = ' ' + esc(_('Executed {first} to {last}.')).format(
            first=esc(dates[0]), last=esc(dates[-1]))
    mode_class = distinct[0] if len(distinct) == 1 else 'mixed'
    return (f'<aside class="run-banner run-{esc(mode_class)}" role="note">'
            f'<p>{runs_text}{when} {meanings}'
            f'{run_machines(runs, frameworks)}</p></aside>\n')


def run_machines(runs, frameworks):
    """Where each framework's outputs were made, from its run record's
    `machine` (bookbuild.machine): '' where no record says."""
    described = []
    for fw in frameworks:
        facts = runs.get(fw, {}).get('machine')
        if not facts:
            continue
        accel = str(facts.get('accelerator') or 'cpu')
        gpus = facts.get('gpus') or []
        if gpus:
            hardware = gpu_summary(gpus)
        else:
            hardware = _('{cpu}, {cores} cores').format(
                cpu=facts.get('cpu') or '?', cores=facts.get('cores') or '?')
        versions = ', '.join(facts.get('framework') or [])
        label = FRAMEWORK_LABELS[fw] + (f' ({versions})' if versions else '')
        described.append(f'{label}: {hardware}, {accel.upper()}')
    if not described:
        return ''
    return (' <span class="run-machines">' + esc(_('Made on: {machines}.'))
            .format(machines='; '.join(esc(d) for d in described))
            + '</span>')


def gpu_summary(names):
    """'2 \u00d7 NVIDIA H100' for several GPUs of one kind."""
    counts = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ', '.join(name if n == 1 else f'{n} \u00d7 {name}'
                     for name, n in counts.items())


def download_links(notebooks):
    if not notebooks:
        return ''
    links = [f'<a href="{esc(relative)}" download>{FRAMEWORK_LABELS[fw]}</a>'
             for fw, relative in notebooks.items()]
    text = esc(_('Run this chapter yourself: download the notebook for '
                 '{links}.')).format(links=' \u00b7 '.join(links))
    return f'<p class="downloads">{text}</p>\n'


def table_of_contents(headings, markdown, env):
    if len(headings) < 2:
        return ''
    items = []
    for level, slug, token in headings:
        text = markdown.renderer.renderInline(token.children or [],
                                              markdown.options, env)
        items.append(f'<li class="toc-level-{level}"><a href="#{slug}">'
                     f'{text}</a></li>')
    contents = esc(_('Contents'))
    return (f'<nav class="toc" aria-label="{contents}"><details open>'
            f'<summary>{contents}</summary><ol>' + ''.join(items)
            + '</ol></details></nav>\n')


def language_switch(edition, page):
    """Links to the same page in the other editions; book.js adds the
    section the reader is at when one is followed."""
    if not edition.switch:
        return ''
    links = [f'<span class="current-language" lang="{esc(edition.language)}"'
             f' aria-current="true">{esc(LANGUAGE_NAMES.get(edition.language, edition.language))}</span>']
    for language, name, prefix in edition.switch:
        links.append(f'<a href="{esc(prefix + page)}" hreflang="{esc(language)}"'
                     f' lang="{esc(language)}" data-language-switch>'
                     f'{esc(name)}</a>')
    label = esc(_('Language'))
    return (f'<nav class="language-switch" aria-label="{label}">'
            + ' '.join(links) + '</nav>')


def header_tools(edition):
    """The header's controls: the theme toggle (shown once theme.js runs);
    other tools (search) join it in #book-header-tools."""
    dark = esc(_('Dark theme'))
    return (f'<div class="header-tools" id="book-header-tools">'
            f'<button type="button" class="theme-toggle" aria-pressed="false"'
            f' title="{dark}">{dark}</button>'
            f'{search_box(edition)}</div>')


def search_box(edition):
    """The search box (static/search.js): hidden until that script runs,
    since it does nothing without it. It loads the edition's index, beside
    the page, and MiniSearch from static/ on the reader's first query."""
    root = esc(edition.root)
    # Babel does not look into f-strings: the messages are plain calls.
    search = esc(_('Search'))
    placeholder = esc(_('Search the book'))
    results = esc(_('Search results'))
    no_results = esc(_('No results.'))
    # Follows a result's section when the hit is in a code cell.
    code = esc(_('code'))
    return (f'<div class="book-search" role="search" hidden '
            f'data-index="{INDEX_FILE}" '
            f'data-library="{root}static/minisearch.js" '
            f'data-no-results="{no_results}" data-code-label="{code}">'
            f'<input type="search" aria-label="{search}" '
            f'placeholder="{placeholder}" autocomplete="off" '
            f'spellcheck="false">'
            f'<ol class="search-results" hidden '
            f'aria-label="{results}"></ol></div>')


def page_shell(title, book_title, main, footer='', head_extra='',
               edition=ENGLISH, page='index.html', navigation='', pager=''):
    """The page around the content: header, styles and scripts, all local.
    `page` is the file's name, for the links to other editions;
    `navigation` the book's table of contents, `pager` the previous/next
    links (book_navigation, page_links)."""
    root = esc(edition.root)
    # The copy buttons' words, for reading.js to put on them.
    copy, copy_title, copied = (esc(_('Copy')), esc(_('Copy this code')),
                                esc(_('Copied')))
    copy_labels = (f' data-label-copy="{copy}" data-label-copy-title='
                   f'"{copy_title}" data-label-copied="{copied}"')
    return f"""<!DOCTYPE html>
<html lang="{esc(edition.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{root}static/katex/katex.min.css">
<link rel="stylesheet" href="{root}static/book.css">
<script src="{root}static/theme.js"></script>
{head_extra}</head>
<body{copy_labels}>
<header class="site-header"><a class="book-title" href="index.html">{esc(book_title)}</a>{header_tools(edition)}{language_switch(edition, page)}</header>
{navigation}<main class="content">
{main}
{pager}</main>
{f'<footer class="site-footer"><p>{footer}</p></footer>' if footer else ''}
<script src="{root}static/katex/katex.min.js"></script>
<script src="{root}static/katex/contrib/auto-render.min.js"></script>
<script src="{root}static/book.js"></script>
<script src="{root}static/reading.js"></script>
<script src="{root}static/search.js"></script>
</body>
</html>
"""


# ---------------------------------------------------------------- navigation

INDEX = 'index'   # the front page's name among the pages' names


def book_navigation(pages, current, book_title):
    """The book's table of contents, on every page: the front page, each
    chapter (in the toc's order, as `pages` come) with its sections, the
    page `current` (a chapter's name or INDEX) marked. A <details>, so a
    phone can fold it (reading.js folds it on a narrow screen)."""
    label = esc(_('Table of contents'))

    def marked(name):
        return ' aria-current="page"' if name == current else ''

    chapters = []
    for page in pages:
        sections = ''.join(
            f'<li><a href="{esc(page.name)}.html#{esc(slug)}">{text}</a></li>'
            for slug, text in page.sections)
        here = ' current' if page.name == current else ''
        chapters.append(
            f'<li class="book-toc-chapter{here}">'
            f'<a href="{esc(page.name)}.html"{marked(page.name)}>'
            f'{esc(page.title)}</a>'
            + (f'<ol class="book-toc-sections">{sections}</ol>'
               if sections else '') + '</li>')
    return (f'<nav class="book-toc" id="book-toc" aria-label="{label}">'
            f'<details open><summary>{label}</summary>'
            f'<p class="book-toc-home"><a href="index.html"{marked(INDEX)}>'
            f'{esc(book_title)}</a></p>'
            f'<ol class="book-toc-chapters">{"".join(chapters)}</ol>'
            '</details></nav>\n')


def page_links(pages, current, book_title):
    """The previous and next pages of `current` in the book's order: the
    front page, then the chapters."""
    order = [(INDEX, book_title)] + [(page.name, page.title)
                                     for page in pages]
    names = [name for name, _title in order]
    at = names.index(current)
    links = []
    for rel, step, label in (('prev', -1, _('Previous')),
                             ('next', 1, _('Next'))):
        if 0 <= at + step < len(order):
            name, title = order[at + step]
            links.append(f'<a class="page-link page-link-{rel}" rel="{rel}" '
                         f'href="{esc(name)}.html"><span class="page-link-label">'
                         f'{esc(label)}</span> <span class="page-link-title">'
                         f'{esc(title)}</span></a>')
    if not links:
        return ''
    label = esc(_('Previous and next page'))
    return (f'<nav class="page-links" aria-label="{label}">'
            + ''.join(links) + '</nav>\n')


# ---------------------------------------------------------------- the index

def render_index(pages, book_title=BOOK_TITLE, edition=ENGLISH):
    """The book's front page: its chapters with how each was run, and the
    framework chooser (the choice then holds on every chapter)."""
    frameworks = [fw for fw in FRAMEWORKS
                  if any(fw in page.runs for page in pages)] or list(FRAMEWORKS)
    chooser = ''.join(
        f'<button type="button" data-framework="{fw}" aria-pressed="false">'
        f'{FRAMEWORK_LABELS[fw]}</button>' for fw in frameworks)
    items = ''.join(
        f'<li><a href="{esc(page.name)}.html">{esc(page.title)}</a>'
        + (f'<span class="chapter-description">{esc(page.description)}'
           '</span>' if page.description else '')
        + f'<span class="chapter-runs">{chapter_modes(page.runs)}</span></li>'
        for page in pages)
    count = _(NUMBER_WORDS.get(len(frameworks), str(len(frameworks))))
    if len(frameworks) == 1:
        about = _('Executable chapters on modern convolutional networks. '
                  'Every code step is given in {count} framework; pick yours '
                  'once and every code tab on every page follows.')
    else:
        about = _('Executable chapters on modern convolutional networks. '
                  'Every code step is given in {count} frameworks; pick '
                  'yours once and every code tab on every page follows.')
    show = esc(_('Show code in'))
    show_label = esc(_('Show code in:'))
    chapters = esc(_('Chapters'))
    main = f"""<h1>{esc(book_title)}</h1>
<p>{esc(about).format(count=esc(count))}</p>
<div class="framework-chooser" role="group" aria-label="{show}">
<span class="chooser-label">{show_label}</span>{chooser}</div>
<h2>{chapters}</h2>
<ol class="chapter-list">{items}</ol>
"""
    return page_shell(title=book_title, book_title=book_title, main=main,
                      edition=edition, page='index.html',
                      navigation=book_navigation(pages, INDEX, book_title),
                      pager=page_links(pages, INDEX, book_title))


NUMBER_WORDS = {1: N_('one'), 2: N_('two'), 3: N_('three'), 4: N_('four')}


def chapter_modes(runs):
    """'smoke mode: PyTorch, MXNet, ...' grouped by mode."""
    by_mode = {}
    for fw in FRAMEWORKS:
        if fw in runs:
            mode = runs[fw].get('mode', 'unknown')
            by_mode.setdefault(mode, []).append(FRAMEWORK_LABELS[fw])
    return '; '.join(esc(_('{mode} mode: {frameworks}')).format(
        mode=esc(mode), frameworks=esc(', '.join(labels)))
        for mode, labels in by_mode.items())


# ---------------------------------------------------------------- static files

def static_files():
    """static/ path -> bytes: the book's CSS and JS, and KaTeX."""
    files = {
        'static/book.css': (ASSETS / 'book.css').read_bytes()
        + pygments_css().encode(),
        'static/book.js': (ASSETS / 'book.js').read_bytes(),
        'static/theme.js': (ASSETS / 'theme.js').read_bytes(),
        'static/reading.js': (ASSETS / 'reading.js').read_bytes(),
        'static/search.js': (ASSETS / 'search.js').read_bytes(),
    }
    files.update(minisearch_file())
    files.update(katex_files())
    return files


def pygments_css():
    defs = HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs('.highlight')
    # Only the rules scoped to .highlight: the others restyle every <pre>.
    rules = [line for line in defs.splitlines() if line.startswith('.highlight')]
    return (f'\n/* Code highlighting: pygments style "{PYGMENTS_STYLE}" */\n'
            + '\n'.join(rules) + '\n' + pygments_dark_css())


def pygments_dark_css():
    """The dark theme's code colours: the dark style's rules, scoped to the
    dark theme, once where the reader chose it and once where the system
    asks for it (and the reader has not chosen light)."""
    def scoped(scope):
        selector = f'{scope} .highlight'
        defs = HtmlFormatter(style=PYGMENTS_DARK_STYLE).get_style_defs(
            selector)
        return '\n'.join(line for line in defs.splitlines()
                         if line.startswith(selector))
    return (f'\n/* Dark theme code: pygments style "{PYGMENTS_DARK_STYLE}" */'
            f'\n@media screen {{\n{scoped(DARK_CHOSEN)}\n}}\n'
            '@media screen and (prefers-color-scheme: dark) {\n'
            f'{scoped(DARK_BY_SYSTEM)}\n}}\n')


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
