"""The book as a PDF per framework, printed from the built HTML.

    python -m bookbuild pdf [--framework jax] [--language vi]   # make pdf

Every chapter of an edition, in the order of its index page, goes into one
document behind a title page and a table of contents; Debian's Chromium
prints it (headless, through Playwright, as the browser tests drive it).
The document keeps the page's own markup, so what the page shows is what
the paper shows: KaTeX typesets the math, the SVG diagrams and plots stay
vectors, and the book's numbering is the page's. assets/print.css takes
away what only works on a screen and keeps one framework's panels.

Nothing is executed: a framework that has no outputs in the built HTML, or
a missing build, is an error naming the file; the PDF is written under a
temporary name and renamed, so a failure leaves no half-written file.
"""
import html
import html.parser
import os
import pathlib
import re
import tempfile

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.files import atomic_path, display_path
from bookbuild.render.common import RenderError

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--no-first-run']
PRINT_CSS = pathlib.Path(__file__).parent / 'assets' / 'print.css'
PAPER = {'format': 'A4',
         'margin': {'top': '18mm', 'bottom': '20mm', 'left': '18mm',
                    'right': '18mm'}}
# Chromium draws these in a document of their own: sizes must be given.
HEADER = ('<div style="width:100%;margin:0 18mm;font-size:7pt;'
          'font-family:\'DejaVu Sans\',sans-serif;color:#777;'
          'text-align:right">{title}</div>')
FOOTER = ('<div style="width:100%;font-size:8pt;text-align:center;'
          'font-family:\'DejaVu Sans\',sans-serif;color:#555">'
          '<span class="pageNumber"></span> / '
          '<span class="totalPages"></span></div>')
LOAD_TIMEOUT_MS = 180_000


class PdfError(RenderError):
    pass


def pdf_path(pdf_dir, language, book, framework):
    """build/pdf/<language>/<book>-<framework>.pdf"""
    return pathlib.Path(pdf_dir) / language / f'{book}-{framework}.pdf'


# ---------------------------------------------------------------- the built book

def edition_dir(html_dir, language):
    """The folder of an edition's pages: html/ for English, html/<language>/
    for a translation."""
    html_dir = pathlib.Path(html_dir)
    return html_dir if language == 'en' else html_dir / language


def built_languages(html_dir):
    """'en' and each translation built beside it (html/<xx>/index.html)."""
    html_dir = pathlib.Path(html_dir)
    return ['en'] + sorted(p.parent.name for p in html_dir.glob('*/index.html')
                           if p.parent.name not in ('static', 'img',
                                                    'notebooks'))


def read_index(folder, root):
    """(book title, [chapter file names in the book's order]) from an
    edition's index page."""
    index = pathlib.Path(folder) / 'index.html'
    if not index.is_file():
        raise PdfError(f'{display_path(index, root)}: no built book there; '
                       'build the HTML first (make html, or python -m '
                       'bookbuild html)')
    text = index.read_text(encoding='utf-8')
    listing = re.search(r'<ol class="chapter-list">(.*?)</ol>', text, re.S)
    chapters = re.findall(r'<a href="([^"#/]+\.html)"', listing[1]) \
        if listing else []
    if not chapters:
        raise PdfError(f'{display_path(index, root)}: the index lists no '
                       'chapters; build the HTML again')
    title = re.search(r'<h1>(.*?)</h1>', text, re.S)
    return (html.unescape(re.sub(r'<[^>]+>', '', title[1])).strip()
            if title else ''), list(dict.fromkeys(chapters))


class Chapter:
    """One built chapter page, as the PDF needs it."""

    def __init__(self, path, root):
        self.path = pathlib.Path(path)
        self.name = self.path.stem
        if not self.path.is_file():
            raise PdfError(f'{display_path(self.path, root)}: the index lists '
                           'this chapter but its page is missing; build the '
                           'HTML again')
        text = self.path.read_text(encoding='utf-8')
        main = re.search(r'<main\b[^>]*>(.*)</main>', text, re.S)
        if not main:
            raise PdfError(f'{display_path(self.path, root)}: no <main> '
                           'element; not a page of this book')
        self.html = main[1]
        self.language = (re.search(r'<html lang="([^"]+)"', text) or
                         [None, 'en'])[1]
        title = re.search(r'<h1\b[^>]*>(.*?)</h1>', self.html, re.S)
        self.title_html = title[1] if title else html.escape(self.name)
        self.contents_label = (re.search(
            r'<nav class="toc" aria-label="([^"]+)"', self.html) or
            [None, 'Contents'])[1]
        self.with_outputs = frameworks_with_outputs(self.html)


class _PanelOutputs(html.parser.HTMLParser):
    """Which frameworks' tab panels hold an output (an element of class
    `output`): a framework that was not executed shows code only."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.divs = []      # framework of each open div's panel, or None
        self.found = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get('class') or '').split()
        inside = next((fw for fw in reversed(self.divs) if fw), None)
        if inside and 'output' in classes:
            self.found.add(inside)
        if tag == 'div':
            self.divs.append(attrs.get('data-framework')
                             if 'tab-panel' in classes else None)

    def handle_endtag(self, tag):
        if tag == 'div' and self.divs:
            self.divs.pop()


def frameworks_with_outputs(page_html):
    parser = _PanelOutputs()
    parser.feed(page_html)
    parser.close()
    return parser.found


# ---------------------------------------------------------------- one document

ID_ATTRIBUTE = re.compile(r'(\sid=")([^"]+)(")')
LOCAL_HREF = re.compile(r'((?:\s|:)href=")#([^"]*)(")')
ID_LISTS = re.compile(r'(\s(?:aria-labelledby|aria-controls|aria-describedby|'
                      r'for)=")([^"]+)(")')
URL_REFERENCE = re.compile(r'url\(#([^)\s]+)\)')
CHAPTER_HREF = re.compile(r'(\shref=")([^"#/:]+)\.html(?:#([^"]*))?(")')


def scoped(chapter_html, name, chapter_names):
    """The chapter's markup with its ids made unique in the whole book
    (`name--id`), and its links to itself and to the other chapters made
    links inside the PDF."""
    def prefix(id_):
        return f'{name}--{id_}'

    text = ID_ATTRIBUTE.sub(lambda m: m[1] + prefix(m[2]) + m[3],
                            chapter_html)
    text = LOCAL_HREF.sub(lambda m: m[1] + '#' + prefix(m[2]) + m[3]
                          if m[2] else m[0], text)
    text = ID_LISTS.sub(lambda m: m[1] + ' '.join(
        prefix(i) for i in m[2].split()) + m[3], text)
    text = URL_REFERENCE.sub(lambda m: f'url(#{prefix(m[1])})', text)

    def chapter_link(m):
        if m[2] not in chapter_names:
            return m[0]
        target = f'{m[2]}--{m[3]}' if m[3] else f'chapter-{m[2]}'
        return f'{m[1]}#{target}{m[4]}'
    return CHAPTER_HREF.sub(chapter_link, text)


def section_headings(chapter_html):
    """(id, inner html) of the chapter's <h2>s, for the contents."""
    return re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', chapter_html,
                      re.S)


def book_document(title, chapters, framework, language, static_root):
    """The whole book as one HTML document, for the edition's folder (its
    relative links are those of the chapter pages)."""
    label = FRAMEWORK_LABELS[framework]
    names = {chapter.name for chapter in chapters}
    bodies, entries = [], []
    for chapter in chapters:
        body = scoped(chapter.html, chapter.name, names)
        sections = ''.join(f'<li><a href="#{esc_attr(id_)}">{inner}</a></li>'
                           for id_, inner in section_headings(body))
        entries.append(f'<li><a href="#chapter-{esc_attr(chapter.name)}">'
                       f'{chapter.title_html}</a>'
                       + (f'<ol>{sections}</ol>' if sections else '')
                       + '</li>')
        bodies.append(f'<section class="pdf-chapter" '
                      f'id="chapter-{esc_attr(chapter.name)}">\n{body}\n'
                      '</section>')
    contents = chapters[0].contents_label
    root = esc_attr(static_root)
    return f"""<!DOCTYPE html>
<html lang="{esc_attr(language)}" data-print-framework="{esc_attr(framework)}">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} \u2014 {html.escape(label)}</title>
<link rel="stylesheet" href="{root}static/katex/katex.min.css">
<link rel="stylesheet" href="{root}static/book.css">
<style>
{PRINT_CSS.read_text(encoding='utf-8')}
</style>
</head>
<body class="pdf-book">
<section class="pdf-title-page">
<h1>{html.escape(title)}</h1>
<p class="pdf-framework">{html.escape(label)}</p>
</section>
<section class="pdf-contents">
<h1>{contents}</h1>
<ol>{''.join(entries)}</ol>
</section>
{chr(10).join(bodies)}
<script src="{root}static/katex/katex.min.js"></script>
<script src="{root}static/katex/contrib/auto-render.min.js"></script>
<script src="{root}static/book.js"></script>
</body>
</html>
"""


def esc_attr(text):
    return html.escape(text, quote=True)


# What the page must do before it is printed: this framework's panels,
# values and rows only, every worked answer open, fonts loaded.
PREPARE = """framework => {
  document.querySelectorAll('[data-framework]').forEach(element => {
    if (element.closest('.tab-list, .framework-chooser')) return;
    element.classList.toggle('print-other-framework',
                             element.dataset.framework !== framework);
  });
  document.querySelectorAll('details.answer').forEach(d => { d.open = true; });
  return document.fonts.ready.then(() => document.querySelectorAll(
    '.tab-panel:not(.print-other-framework)').length);
}"""


# ---------------------------------------------------------------- printing

def write_pdf(html_dir, framework, target, language='en', root=None,
              browser=None):
    """Print the edition `language` of the book in `html_dir` with
    `framework`'s code and outputs into `target`. Returns a dict: path,
    pages (PDF bytes), chapters."""
    root = pathlib.Path(root or pathlib.Path(html_dir).parent)
    if framework not in FRAMEWORKS:
        raise PdfError(f'unknown framework {framework!r}; choose from '
                       f'{", ".join(FRAMEWORKS)}')
    folder = edition_dir(html_dir, language)
    title, names = read_index(folder, root)
    chapters = [Chapter(folder / name, root) for name in names]
    label = FRAMEWORK_LABELS[framework]
    if not any(framework in c.with_outputs for c in chapters):
        raise no_outputs(folder, framework, root)
    static_root = '' if language == 'en' else '../'
    document = book_document(title, chapters, framework, language,
                             static_root)
    if browser is None:
        with chromium() as launched:
            return write_pdf(html_dir, framework, target, language, root,
                             launched)
    # Beside the chapter pages, so that their relative links hold; hidden,
    # and removed whatever happens.
    fd, source = tempfile.mkstemp(dir=folder, prefix='.pdf-book-',
                                  suffix='.html')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as out:
            out.write(document)
        page = browser.new_page()
        try:
            page.goto(pathlib.Path(source).resolve().as_uri(),
                      wait_until='load', timeout=LOAD_TIMEOUT_MS)
            page.emulate_media(media='print')
            if not page.evaluate(PREPARE, framework):
                raise PdfError(f'{display_path(folder, root)}: no {label} '
                               'code in the book')
            with atomic_path(target) as tmp:
                tmp.write_bytes(page.pdf(
                    **PAPER, print_background=True,
                    display_header_footer=True,
                    header_template=HEADER.format(
                        title=html.escape(f'{title} \u2014 {label}')),
                    footer_template=FOOTER, outline=True, tagged=True))
        finally:
            page.close()
    finally:
        os.unlink(source)
    return {'path': pathlib.Path(target), 'chapters': [c.name for c in chapters]}


class chromium:
    """Debian's Chromium, headless, through Playwright (never a download)."""

    def __enter__(self):
        if not os.access(CHROMIUM, os.X_OK):
            raise PdfError(f'{CHROMIUM}: no Chromium to print with; install '
                           'the Debian package chromium')
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise PdfError('Playwright is not installed in this environment; '
                           'run the PDF step with the tooling environment '
                           '(.venv/tooling/bin/python)') from None
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception:
            self._playwright.stop()
            raise
        return self._browser

    def __exit__(self, *exc):
        try:
            self._browser.close()
        finally:
            self._playwright.stop()


def no_outputs(folder, framework, root):
    label = FRAMEWORK_LABELS[framework]
    return PdfError(
        f'{display_path(pathlib.Path(folder) / "index.html", root)}: the '
        f'built book has no {label} outputs (no chapter was executed with '
        f'{label}); build it with that framework first (make html '
        f'FRAMEWORKS_BUILD={framework})')


def plan(html_dir, frameworks=(), languages=(), root=None):
    """(languages, frameworks) to print, checked before a browser starts:
    by default every edition built and every framework with outputs."""
    root = pathlib.Path(root or pathlib.Path(html_dir).parent)
    languages = list(languages) or built_languages(html_dir)
    available = {language: available_frameworks(html_dir, language, root)
                 for language in languages}
    frameworks = list(frameworks) or available['en' if 'en' in available
                                               else languages[0]]
    for language in languages:
        for framework in frameworks:
            if framework not in available[language]:
                raise no_outputs(edition_dir(html_dir, language), framework,
                                 root)
    if not frameworks:
        raise PdfError(f'{display_path(pathlib.Path(html_dir) / "index.html", root)}'
                       ': the built book has no outputs of any framework; '
                       'build it first (make html)')
    return languages, frameworks


def available_frameworks(html_dir, language='en', root=None):
    """The frameworks with outputs somewhere in the built edition."""
    root = pathlib.Path(root or pathlib.Path(html_dir).parent)
    folder = edition_dir(html_dir, language)
    _, names = read_index(folder, root)
    found = set()
    for name in names:
        found |= Chapter(folder / name, root).with_outputs
    return [fw for fw in FRAMEWORKS if fw in found]
