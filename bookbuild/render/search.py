"""The book's search index: the words of every rendered chapter page of an
edition, as a script (`search-index.js`) that defines a global, so that a
page opened from file:// loads it with a <script> tag (fetch() is refused
there) and no request leaves the machine.

The index is read from the pages themselves, after rendering, so that it
holds exactly what the reader sees in that edition (translated prose,
English code and outputs) and every anchor it points to is an id on its
page. One document per section (its heading and prose; a worked answer is
a section of its own), one per code cell per framework (with the
framework, so that a hit can select its tab) holding the cell's code and
outputs, and one per shared code cell. Markup, math, plots and the page
furniture are left out; whitespace is squeezed. The pages' search.js
indexes these documents with MiniSearch on the reader's first query, with
terms normalised there (case, diacritics), not here: the results show the
text as written.
"""
import html.parser
import json
import os
import pathlib
import re

from bookbuild.render.common import RenderError

INDEX_FILE = 'search-index.js'
INDEX_GLOBAL = 'D2L_SEARCH_INDEX'
# MiniSearch's browser build, from npm through requirements/package-lock.json
# (`make env-book` installs it into .venv/node); D2L_MINISEARCH points at
# another copy of dist/umd/index.js.
REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
MINISEARCH = pathlib.Path(os.environ.get(
    'D2L_MINISEARCH',
    REPOSITORY / '.venv' / 'node' / 'node_modules' / 'minisearch' / 'dist'
    / 'umd' / 'index.js'))
# A training log can print thousands of lines: an output adds at most this
# many characters of each cell to the index (the page shows them all).
MAX_OUTPUT_CHARS = 2000

HEADINGS = {'h1', 'h2', 'h3', 'h4'}
# Void elements never get an end tag: they must not be pushed on the stack.
VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link',
        'meta', 'source', 'track', 'wbr'}
# Page furniture and what is not words: the contents, the run banner,
# download links, tab buttons and labels, TeX, drawings.
SKIPPED_CLASSES = {'toc', 'run-banner', 'downloads', 'tab-list', 'panel-label',
                   'tab-note', 'not-run', 'math', 'output-svg', 'output-image',
                   'output-omitted', 'figure-number'}
SKIPPED_TAGS = {'script', 'style', 'svg', 'button', 'nav'}
OUTPUT_CLASSES = {'output', 'cell-output'}
# Elements whose end separates words.
BLOCKS = {'p', 'li', 'div', 'pre', 'td', 'th', 'tr', 'dd', 'dt', 'figcaption',
          'blockquote', 'section', 'details', 'summary', 'table'} | HEADINGS


def minisearch_file():
    """static/ path -> bytes of MiniSearch's browser build."""
    if not MINISEARCH.is_file():
        raise RenderError(
            f'MiniSearch not found: {MINISEARCH} is missing; the search needs '
            'the npm packages of requirements/package-lock.json (make '
            'env-book installs them into .venv/node; or set D2L_MINISEARCH '
            'to a copy of minisearch/dist/umd/index.js)')
    return {'static/minisearch.js': MINISEARCH.read_bytes()}


def squeeze(text):
    return re.sub(r'\s+', ' ', text).strip()


class _Reader(html.parser.HTMLParser):
    """Collects the documents of one page's <main>, in page order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []           # (tag, classes, role) of open elements
        self.sections = []        # [anchor, title, [prose]] in page order
        self.section_stack = []   # open sections (an answer nests in one)
        self.cells = []           # dicts: anchor, framework, code, output
        self.heading = None       # [anchor, [text]] while inside one
        self.summary = None       # an answer's summary text, while inside
        self.in_main = False
        self.skip_depth = 0       # > 0 inside furniture or drawings
        self.cell = None          # the code cell being read
        self.panel = None         # (tab group id, framework) of a panel
        self.group = None         # id of the innermost tab group
        self.group_stack = []

    # -- where text goes

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get('class') or '').split())
        if tag == 'main':
            self.in_main = True
        if tag in VOID:
            sink = self.sink() if tag in ('br', 'hr') else None
            if sink is not None:
                sink.append(' ')
            return
        entry = {'tag': tag, 'classes': classes, 'skip': False,
                 'section': False, 'cell': False, 'panel': False,
                 'group': False}
        self.stack.append(entry)
        if not self.in_main:
            return
        if self.skip_depth or tag in SKIPPED_TAGS or classes & SKIPPED_CLASSES:
            entry['skip'] = True
            self.skip_depth += 1
            return
        if tag in HEADINGS and attrs.get('id'):
            self.heading = [attrs['id'], []]
        elif tag == 'details' and 'answer' in classes and attrs.get('id'):
            entry['section'] = True
            self.open_section(attrs['id'], '')
            self.summary = None
        elif tag == 'summary' and self.section_stack:
            self.summary = []
        elif 'tab-group' in classes and attrs.get('id'):
            entry['group'] = True
            self.group_stack.append(attrs['id'])
        elif 'tab-panel' in classes and self.group_stack:
            entry['panel'] = True
            self.panel = (self.group_stack[-1], attrs.get('data-framework'))
        elif tag == 'div' and 'cell' in classes and self.cell is None:
            entry['cell'] = True
            self.cell = {'framework': None, 'code': [], 'output': [],
                         'panel': self.panel}
        if self.cell is not None and classes & OUTPUT_CLASSES:
            entry['output'] = True

    def handle_endtag(self, tag):
        if tag in VOID or not self.stack:
            return
        # Tolerate a stray end tag: close up to the matching open element.
        while self.stack:
            entry = self.stack.pop()
            self.close_element(entry)
            if entry['tag'] == tag:
                break
        if tag == 'main':
            self.in_main = False

    def close_element(self, entry):
        if entry['skip']:
            self.skip_depth -= 1
            return
        tag = entry['tag']
        if tag in BLOCKS:
            sink = self.sink()
            if sink is not None:
                sink.append(' ')
        if tag in HEADINGS and self.heading is not None:
            anchor, words = self.heading
            self.heading = None
            # A heading opens a section at its level; an answer's inner
            # headings stay inside the answer's section.
            if self.section_stack and self.section_stack[-1][3]:
                self.section_stack[-1][2].append(' ' + ''.join(words) + ' ')
            else:
                if self.section_stack:
                    self.section_stack.pop()
                self.open_section(anchor, squeeze(''.join(words)))
        elif tag == 'summary' and self.summary is not None:
            self.section_stack[-1][1] = squeeze(''.join(self.summary))
            self.summary = None
        elif entry['section']:
            self.section_stack.pop()
        elif entry['cell']:
            self.finish_cell()
        elif entry['panel']:
            self.panel = None
        elif entry['group']:
            self.group_stack.pop()

    def open_section(self, anchor, title):
        is_answer = anchor.startswith('answer-')
        section = [anchor, title, [], is_answer]
        self.sections.append(section)
        self.section_stack.append(section)

    def finish_cell(self):
        cell, self.cell = self.cell, None
        code = squeeze(''.join(cell['code']))
        output = squeeze(''.join(cell['output']))[:MAX_OUTPUT_CHARS]
        if not (code or output):
            return
        section = self.section_stack[-1] if self.section_stack else None
        panel = cell['panel']
        self.cells.append({
            'anchor': panel[0] if panel else (section[0] if section else ''),
            'framework': panel[1] if panel else '',
            'section': section,
            'code': code, 'output': output})

    def sink(self):
        """The list the text read now belongs to (None: nowhere)."""
        if not self.in_main or self.skip_depth:
            return None
        if self.heading is not None:
            return self.heading[1]
        if self.summary is not None:
            return self.summary
        if self.cell is not None:
            inside_output = any(entry.get('output') for entry in self.stack)
            return self.cell['output'] if inside_output else self.cell['code']
        if self.section_stack:
            return self.section_stack[-1][2]
        return None

    def handle_data(self, data):
        # Pieces join as they are: markup inside a word (a highlighted
        # token, an emphasis) adds no space; the end of a block does.
        sink = self.sink()
        if sink is not None:
            sink.append(data)


def page_documents(page_number, html_text):
    """The search documents of one rendered page: dicts with the page's
    number `p`, the id to jump to `a`, the section's title `t`, and the
    section's prose `x`, or a cell's framework `f` ('' when shared), code
    `c` and output `o`."""
    reader = _Reader()
    reader.feed(html_text)
    reader.close()
    documents = []
    for anchor, title, prose, _ in reader.sections:
        text = squeeze(''.join(prose))
        documents.append({'p': page_number, 'a': anchor, 't': title,
                          'x': text})
    for cell in reader.cells:
        document = {'p': page_number, 'a': cell['anchor'],
                    't': cell['section'][1] if cell['section'] else '',
                    'f': cell['framework'], 'c': cell['code']}
        if cell['output']:
            document['o'] = cell['output']
        documents.append(document)
    return documents


def search_index(pages, language, frameworks):
    """The index of an edition's chapter pages (ChapterPage, rendered):
    the pages' names and titles, the framework labels, the documents."""
    documents = []
    for number, page in enumerate(pages):
        documents.extend(page_documents(number, page.html))
    return {'language': language,
            'pages': [{'name': f'{page.name}.html', 'title': page.title}
                      for page in pages],
            'frameworks': frameworks,
            'documents': documents}


def index_script(index):
    """The index as a script defining window.D2L_SEARCH_INDEX."""
    data = json.dumps(index, ensure_ascii=False, separators=(',', ':'))
    # Line and paragraph separators end a line in older JavaScript.
    data = data.replace('\u2028', '\\u2028').replace('\u2029', '\\u2029')
    return f'window.{INDEX_GLOBAL} = {data};\n'
