"""Catalogs from outside the project: a translation carries only the markup
of its English message. What it adds (raw HTML, a script, an event handler,
a link or image of its own, a block, a directive or role, a control
character) is refused: the page shows the English, marked as awaiting
translation, the build counts the message broken, and the catalog check
(`make translations`, test_i18n) names its file and line. The same for a
diagram's labels and for the page furniture (book.po), whose templates are
also escaped before they are filled in.

The book is test_i18n's small chapter, built in seconds without a kernel.
"""
import html.parser
import re
import urllib.parse
import xml.etree.ElementTree as ElementTree

import nbformat
import pytest

from bookbuild.i18n import catalogs, messages
from bookbuild.render import page as render_page
from bookbuild.cli import build_edition
from bookbuild.progress import Progress
from bookbuild.render.book import render_book
from bookbuild.source import read_chapter
from edition_fixture import (DIAGRAM, PARAGRAPH, build_both, page_text,
                             translate_all, write_book)

PAYLOAD = 'window.__pwned = 1'
GROWTH = ('The growth rate $k$ is set once; see [the next chapter]'
          '(other.md#start) and {ref}`the figure <fig-block>`.')
GROWTH_VI = ('Tốc độ tăng trưởng $k$ đặt một lần; xem [chương sau]'
             '(other.md#start) và {ref}`hình <fig-block>`.')
PARAGRAPH_VI = 'Vì mỗi tầng sau đọc mọi bản đồ đặc trưng.'

# (msgid, hostile msgstr, what the translator is told)
HOSTILE = {
    'script': (PARAGRAPH, f'{PARAGRAPH_VI}<script>{PAYLOAD}</script>',
               "has a raw HTML tag '<script>' its source does not have"),
    'event handler': (
        PARAGRAPH, f'Vì <img src=x onerror="{PAYLOAD}"> mỗi tầng.',
        f'has a raw HTML tag \'<img src=x onerror="{PAYLOAD}">\''),
    'javascript link': (
        GROWTH, GROWTH_VI.replace('other.md#start', 'javascript:alert(1)'),
        "has a link target 'javascript:alert(1)' its source does not have"),
    'javascript autolink': (
        PARAGRAPH, f'{PARAGRAPH_VI} <javascript:alert(1)>',
        "has a link target 'javascript:alert(1)'"),
    'data link': (
        PARAGRAPH, f'{PARAGRAPH_VI} [xem](data:text/html,<b>x</b>)',
        "has a link target 'data:text/html,%3Cb%3Ex%3C/b%3E'"),
    'link to another site': (
        GROWTH, GROWTH_VI.replace('other.md#start', 'https://evil.example/'),
        "loses the link target 'other.md#start'"),
    'autolink added': (
        PARAGRAPH, f'{PARAGRAPH_VI} <https://evil.example/x>',
        "has a link target 'https://evil.example/x' its source does not have"),
    'unbalanced tag': (
        PARAGRAPH, f'</details></div><div class="answer">{PARAGRAPH_VI}',
        "has a raw HTML tag '</details>' its source does not have"),
    'image added': (
        PARAGRAPH, f'{PARAGRAPH_VI} ![](http://evil.example/x.png)',
        "has an image 'http://evil.example/x.png' its source does not have"),
    'raw HTML block': (
        PARAGRAPH, f'<div onmouseover="{PAYLOAD}">{PARAGRAPH_VI}',
        'is read as a raw HTML block where its source is read as a '
        'paragraph'),
    'raw directive': (
        PARAGRAPH, f'{PARAGRAPH_VI}\n\n```{{raw}} html\n<script>{PAYLOAD}'
        '</script>\n```', 'breaks the line'),
    'raw directive on one line': (
        PARAGRAPH, f'{PARAGRAPH_VI} ```{{raw}} html <script>{PAYLOAD}'
        '</script>```', "has a code '{raw} html <script>"),
    'role added': (
        PARAGRAPH, f'{PARAGRAPH_VI} {{raw}}`<script>{PAYLOAD}</script>`',
        "has a role '{raw}<script>"),
    'heading anchor': (
        'Growth', f'Tăng trưởng <a id="x" onmouseover="{PAYLOAD}">',
        'has a raw HTML tag \'<a id="x"'),
    'heading made up': (
        PARAGRAPH, f'# {PARAGRAPH_VI}',
        'is read as a heading where its source is read as a paragraph'),
    'target made up': (
        PARAGRAPH, '(a-target" onclick="x)=',
        'is read as a (target)= where its source is read as a paragraph'),
    'control character': (
        PARAGRAPH, f'\x1b[31m{PARAGRAPH_VI}',
        "has the control character '\\x1b'"),
}


@pytest.fixture
def book(tmp_path):
    layout = write_book(tmp_path)
    translate_all(layout)
    return layout


def set_translations(layout, domain, translations):
    """Write `translations` {msgid: msgstr} into a language's catalog;
    {msgid: line of the message in the catalog}."""
    path = catalogs.catalog_path(layout.locales, 'vi', domain)
    catalog = catalogs.read_catalog(path, 'vi')
    for msgid, string in translations.items():
        assert msgid in catalog, msgid
        catalog[msgid].string = string
    catalogs.write_catalog(catalog, path)
    catalog = catalogs.read_catalog(path, 'vi')
    return {msgid: catalog[msgid].lineno for msgid in translations}


class Markup(html.parser.HTMLParser):
    """What a page is made of: its elements with their attributes' names,
    the URLs it points at, and the text of its scripts."""

    def __init__(self, page):
        super().__init__()
        self.elements, self.urls, self.scripts = set(), set(), []
        self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.add((tag, tuple(sorted(name for name, _ in attrs))))
        self.urls.update(value for name, value in attrs
                         if name in ('href', 'src', 'action', 'formaction',
                                     'xlink:href', 'data', 'poster'))
        self._in_script = tag == 'script'

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self._in_script = False


AWAITING = {('span', ('class', 'lang')), ('span', ('class',))}


def assert_only_english_markup(english, translated):
    """The translated page has no element, attribute or script the English
    page lacks (but the awaiting-translation marks), and links nowhere
    off the machine."""
    english, translated = Markup(english), Markup(translated)
    assert translated.elements - english.elements <= AWAITING
    assert translated.scripts == english.scripts == []
    assert not [url for url in translated.urls
                if urllib.parse.urlsplit(url).scheme
                or urllib.parse.urlsplit(url).netloc]
    assert not any(name.startswith('on') for _, names in translated.elements
                   for name in names)


# ---------------------------------------------------------------- prose

@pytest.mark.parametrize('case', HOSTILE)
def test_a_hostile_translation_is_named_with_its_file_and_line(book, case):
    msgid, hostile, problem = HOSTILE[case]
    line = set_translations(book, 'small', {msgid: hostile})[msgid]
    path = catalogs.catalog_path(book.locales, 'vi', 'small')
    problems = catalogs.catalog_problems(catalogs.read_catalog(path, 'vi'), path)
    assert problems, case
    assert all(p.startswith(f'{path}:{line}: the translation of '
                            f'{catalogs.shorten(msgid)} ') for p in problems)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize('case', HOSTILE)
def test_a_hostile_translation_is_shown_in_english(book, case):
    msgid, hostile, problem = HOSTILE[case]
    set_translations(book, 'small', {msgid: hostile})
    _, translators = build_both(book)
    english, vietnamese = page_text(book), page_text(book, 'vi')
    assert_only_english_markup(english, vietnamese)
    assert PAYLOAD not in vietnamese and 'evil.example' not in vietnamese
    shown = msgid[:15]
    assert f'<span class="awaiting-translation" lang="en">{shown}' in \
        vietnamese
    coverage = translators['small'].coverage
    assert (coverage.broken, coverage.translated) == (1, coverage.total - 1)
    assert any(problem in p for m, p in translators['small'].problems
               if m == msgid)
    # A heading keeps its English id, whatever its translation says.
    assert re.findall(r'<h[1-6] id="([^"]+)"', vietnamese) == \
        ['a-chapter-to-translate', 'growth', 'exercises']


@pytest.mark.parametrize('msgid, text, shown', [
    (PARAGRAPH, f'Vì &lt;script&gt;{PAYLOAD}&lt;/script&gt; &amp; mỗi tầng.',
     f'Vì &lt;script&gt;{PAYLOAD}&lt;/script&gt; &amp; mỗi tầng.'),
    (GROWTH, GROWTH_VI.replace('hình <fig-block>',
                               f'<img src=x onerror="{PAYLOAD}"> '
                               '<fig-block>'),
     f'&lt;img src=x onerror=&quot;{PAYLOAD}&quot;&gt;</a>'),
], ids=['entities', 'a cross-reference\'s text'])
def test_what_is_text_in_markdown_is_shown_as_text(book, msgid, text,
                                                   shown):
    """`&lt;script&gt;` is how a translation writes about a tag, and a
    cross-reference's text is text: the page escapes them."""
    set_translations(book, 'small', {msgid: text})
    _, translators = build_both(book)
    vietnamese = page_text(book, 'vi')
    assert translators['small'].coverage.broken == 0
    assert shown in vietnamese
    assert_only_english_markup(page_text(book), vietnamese)


def test_raw_html_of_the_english_may_be_kept_in_its_order():
    source = 'Press <kbd>Shift</kbd> and $x$.'
    assert messages.placeholder_problems(
        source, 'Nhấn <kbd>Shift</kbd> và $x$.') == []
    assert messages.placeholder_problems(
        source, 'Nhấn </kbd>Shift<kbd> và $x$.') == [
        "has its source's raw HTML tags in another order"]
    assert messages.placeholder_problems(
        source, 'Nhấn <kbd onclick="x">Shift</kbd> và $x$.')


def test_emphasis_may_move(book):
    """Emphasis carries no attribute and loads nothing; languages put it
    in different places."""
    assert messages.placeholder_problems(
        'Dense *blocks* concatenate.', '**Khối** dày *nối*.') == []


def test_a_translation_that_breaks_its_admonition_is_refused_in_place(
        book, capsys):
    """Alone, 'a ``` b' is a paragraph; as the title of an admonition
    fenced with ``` it would end the fence: the edition refuses it there,
    names the chapter's line and the catalog's, and shows the English."""
    line = set_translations(book, 'small',
                            {'A remark': 'Một ``` nhận xét'})['A remark']
    render_book([book.merged / 'small.ipynb'], book.html, book.root,
                book.executed)
    build_edition(book, 'vi', [book.merged / 'small.ipynb'], ['en', 'vi'],
                  Progress())
    err = capsys.readouterr().err
    assert (f'locales/vi/LC_MESSAGES/small.po:{line}: warning: the '
            "translation of 'A remark' would change the blocks around it in "
            in err), err
    assert re.search(r'small\.md:\d+ \(a translation stays one block', err)
    assert 'vi small: 16/17 messages translated (94%), 1 broken' in err
    vietnamese = page_text(book, 'vi')
    assert '<aside class="admonition note"><p class="admonition-title">' \
        '<span class="awaiting-translation" lang="en">A remark</span>' in \
        vietnamese
    assert 'VI Notes are prose too.' in vietnamese


def test_the_build_names_a_hostile_translation_s_catalog_line(book, capsys):
    msgid, hostile, problem = HOSTILE['script']
    line = set_translations(book, 'small', {msgid: hostile})[msgid]
    render_book([book.merged / 'small.ipynb'], book.html, book.root,
                book.executed)
    build_edition(book, 'vi', [book.merged / 'small.ipynb'], ['en', 'vi'],
                  Progress())
    err = capsys.readouterr().err
    assert (f'locales/vi/LC_MESSAGES/small.po:{line}: warning: the '
            f'translation of {catalogs.shorten(msgid)} {problem}') in err, err
    assert 'shown in English' in err


def test_make_translations_names_a_hostile_translation(book, capsys):
    from bookbuild import cli
    msgid, hostile, problem = HOSTILE['event handler']
    line = set_translations(book, 'small', {msgid: hostile})[msgid]
    furniture = set_translations(book, 'book', {
        'Executed {date}.': 'Đã chạy {date}.<script>x</script>'})
    capsys.readouterr()
    assert cli.main(['translations', '--root', str(book.root),
                     '--build-dir', str(book.root / 'build')]) == 0
    err = capsys.readouterr().err
    assert (f'locales/vi/LC_MESSAGES/small.po:{line}: the translation of '
            f'{catalogs.shorten(msgid)} {problem}') in err, err
    assert (f'locales/vi/LC_MESSAGES/book.po:{furniture["Executed {date}."]}'
            ": the translation of 'Executed {date}.' has a raw HTML tag "
            "'<script>'") in err
    assert '1 broken' in err


def test_make_translations_names_a_translation_broken_in_its_place(
        book, capsys):
    from bookbuild import cli
    line = set_translations(book, 'small',
                            {'A remark': 'Một ``` nhận xét'})['A remark']
    capsys.readouterr()
    assert cli.main(['translations', '--root', str(book.root),
                     '--build-dir', str(book.root / 'build')]) == 0
    err = capsys.readouterr().err
    assert (f'locales/vi/LC_MESSAGES/small.po:{line}: the translation of '
            "'A remark' would change the blocks around it in ") in err, err
    assert 'vi small: 16/17 messages translated (94%), 1 broken' in err


# ---------------------------------------------------------------- furniture

FURNITURE_HOSTILE = {
    'Executed {date}.':
        f'Đã chạy {{date}}.<img src=x onerror="{PAYLOAD}">',
    'Run this chapter yourself: download the notebook for {links}.':
        'Tải <a href="https://evil.example/">sổ tay</a> {links}.',
    '{mode} mode: {frameworks}': f'<script>{PAYLOAD}</script>{{mode}}: '
                                 '{frameworks}',
    'Contents': '<b>Mục lục',
}


def test_furniture_cannot_add_markup(book):
    lines = set_translations(book, 'book', FURNITURE_HOSTILE)
    _, translators = build_both(book)
    for name in ('small.html', 'index.html'):
        english = (book.html / name).read_text(encoding='utf-8')
        vietnamese = (book.html / 'vi' / name).read_text(encoding='utf-8')
        assert_only_english_markup(english, vietnamese)
        assert PAYLOAD not in vietnamese and 'evil.example' not in vietnamese
    vietnamese = page_text(book, 'vi')
    assert 'Run this chapter yourself: download the notebook for' in \
        vietnamese
    assert 'Executed ' not in vietnamese    # the fixture has no date
    assert '<summary>Contents</summary>' in vietnamese
    furniture = translators[catalogs.FURNITURE]
    assert furniture.coverage.broken == len(FURNITURE_HOSTILE)
    path = catalogs.catalog_path(book.locales, 'vi', 'book')
    assert {furniture.where(m) for m, _ in furniture.problems} == \
        {f'{path}:{lines[m]}' for m in FURNITURE_HOSTILE}
    problems = catalogs.catalog_problems(catalogs.read_catalog(path, 'vi'), path,
                                     format_fields=True)
    assert {p.split(': the translation of')[0] for p in problems} == \
        {f'{path}:{lines[m]}' for m in FURNITURE_HOSTILE}


@pytest.mark.parametrize('template, problem', [
    ('Đáp án {number:>99999}', 'has the field {number:>99999}: only plain '
     'fields like {name} may be used'),
    ('Đáp án {number.__class__}', 'has the field {number.__class__}'),
    ('Đáp án {number!r}', 'has the field {number!r}'),
    ('Đáp án {number} {', "is not a str.format template (Single '{' "
     "encountered in format string): write {{ and }} for a brace"),
    ('Đáp án {count}', 'has the fields {count} where its source has '
     '{number}'),
])
def test_a_furniture_template_is_filled_with_plain_fields_only(
        book, template, problem):
    """A format spec could make a page of gigabytes, an attribute shows
    what it should not, a lone brace would stop the build."""
    msgid = 'Answer to exercise {number}'
    line = set_translations(book, 'book', {msgid: template})[msgid]
    path = catalogs.catalog_path(book.locales, 'vi', 'book')
    [found] = catalogs.catalog_problems(catalogs.read_catalog(path, 'vi'), path,
                                    format_fields=True)
    assert found.startswith(f'{path}:{line}: the translation of '
                            f'{catalogs.shorten(msgid)} {problem}'), found
    _, translators = build_both(book)
    assert '<summary>Answer to exercise 1</summary>' in page_text(book, 'vi')
    assert translators[catalogs.FURNITURE].coverage.broken == 1


def test_a_notebook_s_furniture_cannot_add_an_image(book):
    msgid = next(m.id for m in catalogs.read_catalog(
        catalogs.catalog_path(book.locales, 'vi', 'book'), 'vi')
        if m.id.startswith('*The {label} notebook'))
    set_translations(book, 'book', {
        msgid: '*Sổ tay {label}, nhân "{kernel}", từ `{source}`.* '
               '![](http://evil.example/x.png)',
        'Answer to exercise {number}':
            'Đáp án {number}\n\n<script>x</script>'})
    build_both(book)
    notebook = nbformat.read(book.html / 'vi' / 'notebooks' /
                             'small-jax.ipynb', as_version=4)
    prose = '\n'.join(c.source for c in notebook.cells
                      if c.cell_type == 'markdown')
    assert 'evil.example' not in prose and '<script>' not in prose
    assert '*The JAX notebook of this chapter' in prose
    assert '#### Answer to exercise 1\n' in prose


def test_furniture_templates_are_escaped_before_they_are_filled(
        monkeypatch):
    """The second guard: whatever the lookup lets through (here every
    template is wrapped in <i>) is text on the page."""
    def hostile(msgid):
        return f'<i>{msgid}</i>'
    monkeypatch.setattr(render_page, '_', hostile)
    runs = {'pytorch': {'mode': 'smoke', 'seconds': 3,
                        'executed_at': '2026-01-02T00:00:00'},
            'jax': {'mode': 'quick', 'executed_at': '2026-01-03T00:00:00'}}
    for made in (render_page.run_banner(runs, ['pytorch', 'jax']),
                 render_page.run_banner(runs, ['pytorch']),
                 render_page.download_links({'jax': 'small-jax.ipynb'}),
                 render_page.chapter_modes(runs),
                 render_page.render_index([])):
        assert '<i>' not in made and '&lt;i&gt;' in made, made


# ---------------------------------------------------------------- diagrams

def svg_markup(svg):
    """The elements of an SVG document with their attributes, in order."""
    return [(e.tag, sorted(e.attrib.items()))
            for e in ElementTree.fromstring(svg).iter()]


@pytest.mark.parametrize('label, problem', [
    (f'</text><script>{PAYLOAD}</script><text onclick="x">',
     "has a raw HTML tag '</text>'"),
    ('nối <tspan font-size="400">lớn</tspan>', "raw HTML tag '<tspan"),
    ('nối\x08', "has the control character '\\x08'"),
])
def test_a_diagram_label_cannot_add_svg(book, label, problem):
    msgid = 'concatenates & grows'
    line = set_translations(book, 'small', {msgid: label})[msgid]
    _, translators = build_both(book)
    vietnamese = (book.html / 'vi' / 'img' / 'block.svg').read_text()
    assert svg_markup(vietnamese) == svg_markup(DIAGRAM)
    assert '> concatenates &amp; grows<' in vietnamese   # English
    assert '>VI layer H<' in vietnamese
    translator = translators['small']
    assert translator.coverage.broken == 1
    assert [translator.where(m) for m, p in translator.problems
            if problem in p] == [
        f'{catalogs.catalog_path(book.locales, "vi", "small")}:{line}']


# ---------------------------------------------------------------- shipped

@pytest.mark.parametrize('name', ['densenet', 'densenet-memory'])
def test_the_shipped_translations_stand_in_their_place(name):
    """Every Vietnamese message, put back into its chapter, keeps the
    chapter's blocks: none is refused in place."""
    root = catalogs.PACKAGE.parent
    chapter = read_chapter(root / 'chapters' / f'{name}.md')
    path = catalogs.catalog_path(root / 'locales', 'vi', name)
    translator = catalogs.Translator(catalogs.read_catalog(path, 'vi'), path)
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            out = messages.translate_markdown(
                cell.source, translator, 'vi', chapter.path, cell.line,
                refuse=translator.refuse)
            assert 'awaiting-translation' not in out, cell.line
    assert translator.problems == []
    assert translator.coverage.percent == 100
