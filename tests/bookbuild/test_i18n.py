"""Translations: catalogs from the chapters, the Vietnamese edition built from
the English build's outputs, and the checks that catch drift and breakage.

The pipeline runs on a small chapter of its own (split, then "executed"
notebooks that are the split ones with outputs written in, then merge): no
kernel starts, so these tests take seconds. The shipped catalogs are checked
against the real chapters at the end.
"""
import os
import pathlib
import re
import shutil
import subprocess

import nbformat
import pytest

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.i18n import catalogs, messages
from bookbuild.cli import build_edition
from bookbuild.merge import merge_chapter
from bookbuild.progress import Progress
from bookbuild.render.book import render_book
from bookbuild.editions import edition_of
from bookbuild.source import read_chapter
from edition_fixture import (CHAPTER, DIAGRAM, PARAGRAPH, build_both,
                             page_text, translate_all, write_book)

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCALES = ROOT / 'locales'
SHIPPED = ['densenet', 'densenet-memory']

@pytest.fixture
def book(tmp_path):
    layout = write_book(tmp_path)
    translate_all(layout)
    return layout


def code_blocks(page):
    return re.findall(r'<div class="highlight">.*?</div>', page, re.S)


def outputs(page):
    return re.findall(r'<pre class="output[^"]*">.*?</pre>', page, re.S)


# ---------------------------------------------------------------- extraction

def test_the_template_holds_the_prose_and_no_code(tmp_path):
    layout = write_book(tmp_path)
    template = catalogs.chapter_template(
        read_chapter(layout.root / 'chapters/small.md'), layout.root)
    ids = {m.id: m for m in template if m.id}
    kinds = {m.auto_comments[0] for m in ids.values()}
    assert {'heading', 'paragraph', 'figure', 'table cell', 'list item',
            'admonition title'} <= kinds
    assert 'A Chapter To Translate' in ids
    assert '![A block and its concatenation.](img/block.svg)' in ids
    assert 'after the block' in ids and 'A remark' in ids
    assert 'Notes are prose too.' in ids and PARAGRAPH in ids
    # Numbers, bare math and code are the same in every language.
    assert '64' not in ids and '$c_0 + Lk$' not in ids
    assert not any('print(' in text for text in ids)
    # Where each message comes from, for the translator.
    assert ids['Why concatenate?'].locations[0][0] == 'chapters/small.md'


def test_a_rewrapped_english_paragraph_is_the_same_message():
    one = messages.extract('A short\nparagraph here.')
    two = messages.extract('A short paragraph\n   here.')
    assert [m.text for m in one] == [m.text for m in two]


# ---------------------------------------------------------------- the edition

def test_the_edition_reuses_the_english_code_and_outputs(book):
    build_both(book)
    english, vietnamese = page_text(book), page_text(book, 'vi')
    assert code_blocks(vietnamese) == code_blocks(english)
    assert outputs(vietnamese) == outputs(english) != []
    assert '<html lang="vi">' in vietnamese and '<html lang="en">' in english
    assert 'VI Dense blocks concatenate' in vietnamese
    assert 'VI Because every later layer' in vietnamese   # inside the answer
    assert '<figcaption><span class="figure-number">VI Figure 1.1.</span> ' \
        'VI A block' in vietnamese
    assert 'VI after the block' in vietnamese and 'VI A remark' in vietnamese
    assert 'awaiting-translation' not in vietnamese
    # The page links the English edition's static files and its images.
    assert 'href="../static/book.css"' in vietnamese
    assert (book.html / 'vi' / 'img' / 'block.svg').is_file()
    assert not (book.html / 'vi' / 'static').exists()


def test_headings_keep_their_english_ids_and_the_switch_links_both_ways(book):
    build_both(book)
    english, vietnamese = page_text(book), page_text(book, 'vi')

    def ids(page):
        return re.findall(r'<h[1-6] id="([^"]+)"', page)
    assert ids(vietnamese) == ids(english) == \
        ['a-chapter-to-translate', 'growth', 'exercises']
    assert re.search(r'<a href="vi/small.html" hreflang="vi" lang="vi" '
                     r'data-language-switch>Tiếng Việt</a>', english)
    assert re.search(r'<a href="../small.html" hreflang="en" lang="en" '
                     r'data-language-switch>English</a>', vietnamese)
    index = (book.html / 'vi' / 'index.html').read_text(encoding='utf-8')
    assert 'href="../index.html"' in index and '<html lang="vi">' in index


def test_the_edition_executes_no_cell(book, monkeypatch):
    import nbclient
    from bookbuild import execute

    def refuse(*args, **kwargs):
        raise AssertionError('the edition tried to execute a notebook')
    monkeypatch.setattr(execute, 'execute_notebook', refuse)
    monkeypatch.setattr(nbclient.NotebookClient, 'execute', refuse)
    monkeypatch.setattr(nbclient.NotebookClient, 'execute_cell', refuse)
    monkeypatch.setattr(nbclient.NotebookClient, 'async_execute_cell', refuse)
    render_book([book.merged / 'small.ipynb'], book.html, book.root,
                book.executed)
    pages = build_edition(book, 'vi', [book.merged / 'small.ipynb'],
                          ['en', 'vi'], Progress())
    assert book.html / 'vi' / 'small.html' in pages


def test_the_edition_caps_a_long_output_as_the_english_one_does(book):
    """The cap is the build's option in both editions; the downloadable
    notebooks of both keep every line."""
    long_output = ''.join(f'step {i}\n' for i in range(1000))
    for path in book.executed.glob('small-*.ipynb'):
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == 'code')
        first.outputs = [nbformat.v4.new_output('stream', name='stdout',
                                                text=long_output)]
        nbformat.write(nb, path)
    merge_chapter(book.root / 'chapters' / 'small.md',
                  {fw: book.executed / f'small-{fw}.ipynb'
                   for fw in FRAMEWORKS}, book.merged / 'small.ipynb')
    render_book([book.merged / 'small.ipynb'], book.html, book.root,
                book.executed, edition=edition_of('en', ['en', 'vi']),
                max_output_lines=10)
    build_edition(book, 'vi', [book.merged / 'small.ipynb'], ['en', 'vi'],
                  Progress(), max_output_lines=10)
    for language, note in ((None, '[... 990 lines left out here: the '
                            'executed notebook has the whole output ...]'),
                           ('vi', 'VI [... 990 lines left out here: the '
                            'executed notebook has the whole output ...]')):
        page = page_text(book, language)
        assert page.count(note) == len(FRAMEWORKS), language
        assert 'step 4\n<span' in page and 'step 5\n' not in page
        folder = book.html / language if language else book.html
        download = nbformat.read(folder / 'notebooks' / 'small-jax.ipynb',
                                 as_version=4)
        assert long_output in [o.get('text') for c in download.cells
                               if c.cell_type == 'code' for o in c.outputs]


def test_downloads_are_vietnamese_notebooks_with_the_same_code(book):
    build_both(book)
    for fw in FRAMEWORKS:
        name = f'small-{fw}.ipynb'
        english = nbformat.read(book.executed / name, as_version=4)
        vietnamese = nbformat.read(book.html / 'vi' / 'notebooks' / name,
                                   as_version=4)
        nbformat.validate(vietnamese)

        def code(nb):
            return [(c.source, c.outputs) for c in nb.cells
                    if c.cell_type == 'code']
        assert code(vietnamese) == code(english)
        prose = '\n'.join(c.source for c in vietnamese.cells
                          if c.cell_type == 'markdown')
        assert 'VI Dense blocks concatenate' in prose
        assert '#### VI Answer to exercise 1' in prose
        # The line under the title, naming the notebook's framework, too.
        label = FRAMEWORK_LABELS[fw]
        assert f'VI *The {label} notebook of this chapter' in prose
        assert english.cells[1].source.startswith(f'*The {label} notebook')
        assert vietnamese.metadata.kernelspec == english.metadata.kernelspec
    assert 'href="notebooks/small-pytorch.ipynb"' in page_text(book, 'vi')


# ---------------------------------------------------------------- drift

def check_with_gettext(path):
    """GNU msgfmt's opinion of a catalog, where gettext is installed: what
    any PO editor will make of it."""
    msgfmt = shutil.which('msgfmt')
    if msgfmt:
        run = subprocess.run([msgfmt, '--check-format', '-o', os.devnull,
                              str(path)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


def test_a_changed_paragraph_turns_fuzzy_and_shows_in_english(book):
    chapter = book.root / 'chapters' / 'small.md'
    changed = PARAGRAPH.replace('every feature map', 'each feature map')
    new = 'A paragraph the translator has never seen.'
    chapter.write_text(CHAPTER.replace(PARAGRAPH, changed).replace(
        '## Growth\n', f'## Growth\n\n{new}\n'))
    catalogs.update_catalogs([read_chapter(chapter)], book.root, book.locales)
    path = catalogs.catalog_path(book.locales, 'vi', 'small')
    catalog = catalogs.read_catalog(path, 'vi')
    assert catalog[changed].fuzzy
    assert not catalog[new].string
    # The translator sees the English it translated (msgmerge's #| lines),
    # in lines GNU gettext reads, and still after another update.
    assert catalog[changed].previous_id == [PARAGRAPH]
    catalogs.update_catalogs([read_chapter(chapter)], book.root, book.locales)
    assert catalogs.read_catalog(path, 'vi')[changed].previous_id == [PARAGRAPH]
    check_with_gettext(path)

    # The English build runs again (the chapter changed), then the edition.
    write_book(book.root, chapter.read_text())
    _, translators = build_both(book)
    vietnamese = page_text(book, 'vi')
    assert 'VI Because every later layer' not in vietnamese  # never stale
    for english in (changed, new):
        assert (f'<span class="awaiting-translation" lang="en">{english}'
                f'</span> <span class="translation-note">(đang chờ dịch)'
                '</span>') in vietnamese
    coverage = translators['small'].coverage
    assert (coverage.fuzzy, coverage.untranslated) == (1, 1)
    assert coverage.percent < 100


def test_a_translation_cleared_of_fuzzy_by_hand_drops_the_old_english(
        tmp_path):
    # A translator in a text editor deletes '#, fuzzy' and leaves the '#|'
    # lines: the next update drops them rather than keep them as comments.
    path = tmp_path / 'small.po'
    path.write_text('msgid ""\nmsgstr ""\n'
                    '"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                    '# a translator\'s note\n#. paragraph\n'
                    '#| msgid "Old English."\n'
                    'msgid "New English."\nmsgstr "Bản dịch mới."\n')
    catalogs.write_catalog(catalogs.read_catalog(path, 'vi'), path)
    text = path.read_text()
    assert 'Old English' not in text, text
    assert "# a translator's note\n" in text
    assert catalogs.read_catalog(path, 'vi')['New English.'].string == \
        'Bản dịch mới.'


def test_a_diagram_s_labels_are_messages_and_translated_on_its_page(book):
    template = catalogs.chapter_template(
        read_chapter(book.root / 'chapters' / 'small.md'), book.root)
    labels = [m for m in template if m.id and
              catalogs.DIAGRAM_TEXT in m.auto_comments]
    assert [(m.id, m.locations) for m in labels] == [
        ('layer H', [('chapters/img/block.svg', 3)]),
        ('concatenates & grows', [('chapters/img/block.svg', 3)])]
    assert labels[0].auto_comments[1] == \
        'part of: layer H1 concatenates & grows'

    build_both(book)
    english = (book.html / 'img' / 'block.svg').read_text()
    vietnamese = (book.html / 'vi' / 'img' / 'block.svg').read_text()
    assert english == DIAGRAM
    # Words replaced, escaped; the drawing, the names and formulas kept.
    assert vietnamese == DIAGRAM.replace(
        '>layer H<', '>VI layer H<').replace(
        '> concatenates &amp; grows<', '> VI concatenates &amp; grows<')
    assert 'src="img/block.svg"' in page_text(book, 'vi')


def test_an_untranslated_diagram_label_stays_english_and_counts(book):
    path = catalogs.catalog_path(book.locales, 'vi', 'small')
    catalog = catalogs.read_catalog(path, 'vi')
    catalog['layer H'].string = ''
    catalogs.write_catalog(catalog, path)
    _, translators = build_both(book)
    vietnamese = (book.html / 'vi' / 'img' / 'block.svg').read_text()
    assert '>layer H<' in vietnamese
    assert '> VI concatenates &amp; grows<' in vietnamese
    assert translators['small'].coverage.untranslated == 1


def test_the_build_reports_coverage_per_chapter(book, capsys):
    render_book([book.merged / 'small.ipynb'], book.html, book.root,
                book.executed)
    build_edition(book, 'vi', [book.merged / 'small.ipynb'], ['en', 'vi'],
                  Progress())
    err = capsys.readouterr().err
    assert re.search(r'vi small: (\d+)/\1 messages translated \(100%\)', err)
    assert re.search(r'vi book: \d+/\d+ messages translated', err)


# ---------------------------------------------------------------- breakage

@pytest.mark.parametrize('translation, problem', [
    ('Khối dày nối $[\\mathbf{x}, g(\\mathbf{x})]$ và `torch.cat`.',
     "loses the math '[\\\\mathbf{x}, f(\\\\mathbf{x})]'"),
    ('Khối dày nối $[\\mathbf{x}, f(\\mathbf{x})]$ và `torch.concat`.',
     "loses the code 'torch.cat'"),
    ('Tốc độ $k$ [chương sau](other.md) và {ref}`hình <fig-block>`.',
     "loses the link target 'other.md#start'"),
    ('Tốc độ $k$ [chương sau](other.md#start) và {ref}`hình <fig-blk>`.',
     "loses the cross-reference '{ref}fig-block'"),
])
def test_a_translation_that_breaks_a_placeholder_is_named(translation,
                                                          problem):
    sources = {
        'K': 'Dense blocks join $[\\mathbf{x}, f(\\mathbf{x})]$ with '
             '`torch.cat`.',
        'T': 'The rate $k$, [the next chapter](other.md#start) and '
             '{ref}`the figure <fig-block>`.'}
    source = sources['K' if translation.startswith('Khối') else 'T']
    assert problem in messages.placeholder_problems(source, translation)


def test_placeholders_may_move_but_must_all_stay():
    source = 'Use `a` on $x$, then `b`.'
    assert messages.placeholder_problems(source, 'Trên $x$ dùng `b` sau `a`.') \
        == []
    assert messages.placeholder_problems(source, 'Dùng `a` trên $x$.') == \
        ["loses the code 'b'"]


def test_a_broken_translation_is_not_shown(book):
    path = catalogs.catalog_path(book.locales, 'vi', 'small')
    catalog = catalogs.read_catalog(path, 'vi')
    msgid = next(m.id for m in catalog if m.id and '$k$' in m.id)
    catalog[msgid].string = catalog[msgid].string.replace('$k$', '$K$')
    catalogs.write_catalog(catalog, path)
    _, translators = build_both(book)
    assert translators['small'].coverage.broken == 1
    assert 'awaiting-translation" lang="en">The growth rate' in \
        page_text(book, 'vi')


def test_a_malformed_catalog_names_its_file_and_line(tmp_path):
    path = tmp_path / 'broken.po'
    path.write_text('msgid ""\nmsgstr ""\n"Language: vi\\n"\n\n'
                    'msgid "Dense Blocks"\nmsgstr "Khối dày đặc"\n\n'
                    'msgid "Transition"\nmsgstr "unterminated\n\n'
                    'msgid "Growth rate"\nmsgstr "tốc độ tăng trưởng"\n',
                    encoding='utf-8')
    with pytest.raises(catalogs.CatalogError) as error:
        catalogs.read_catalog(path, 'vi')
    assert str(error.value).startswith(f'{path}:9: ')


def test_a_catalog_with_a_bad_keyword_names_its_line(tmp_path):
    path = tmp_path / 'broken.po'
    path.write_text('msgid "a"\nmsgstr "b"\n\nmsgidd "c"\nmsgstr "d"\n')
    with pytest.raises(catalogs.CatalogError,
                       match=rf'^{re.escape(str(path))}:4: .*msgidd'):
        catalogs.read_catalog(path, 'vi')


# ---------------------------------------------------------------- shipped

@pytest.fixture(scope='module')
def shipped():
    return {name: (read_chapter(ROOT / 'chapters' / f'{name}.md'),
                   catalogs.catalog_path(LOCALES, 'vi', name))
            for name in SHIPPED}


@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_chapters_are_fully_translated(shipped, name):
    chapter, path = shipped[name]
    translator = catalogs.chapter_coverage(chapter, catalogs.read_catalog(path, 'vi'))
    coverage = translator.coverage
    assert coverage.fuzzy == 0, f'{path}: {coverage.describe()}'
    assert coverage.percent == 100, (
        f'{path}: {coverage.describe()}: run `make translations` and '
        'translate the new and fuzzy messages')


@pytest.mark.parametrize('domain', SHIPPED + [catalogs.FURNITURE])
def test_shipped_translations_keep_every_placeholder(domain):
    path = catalogs.catalog_path(LOCALES, 'vi', domain)
    problems = catalogs.catalog_problems(catalogs.read_catalog(path, 'vi'), path,
                                     format_fields=domain == catalogs.FURNITURE)
    assert problems == []


def test_the_page_furniture_is_fully_translated():
    path = catalogs.catalog_path(LOCALES, 'vi', catalogs.FURNITURE)
    catalog = catalogs.read_catalog(path, 'vi')
    template = catalogs.furniture_template(ROOT)
    missing = [m.id for m in template if m.id and (
        m.id not in catalog or not catalog[m.id].string
        or catalog[m.id].fuzzy)]
    assert missing == [], f'{path}: run `make translations`, then translate'


def test_furniture_strings_in_the_rooms_reach_the_template(tmp_path,
                                                          monkeypatch):
    """The renderer lives in a subpackage (bookbuild/render/): a string it
    marks for the furniture is extracted like one at the package's top."""
    shipped = catalogs.furniture_template(ROOT)
    assert shipped['Figure {number}.'].locations[0][0] == \
        'bookbuild/render/markdown.py'
    package = tmp_path / 'bookbuild'
    (package / 'render').mkdir(parents=True)
    (package / 'split.py').write_text("_('Top floor')\n")
    (package / 'render' / 'cells.py').write_text("_('In a room')\n")
    monkeypatch.setattr(catalogs, 'PACKAGE', package)
    template = catalogs.furniture_template(tmp_path)
    assert {m.id: m.locations for m in template if m.id} == {
        'Top floor': [('bookbuild/split.py', 1)],
        'In a room': [('bookbuild/render/cells.py', 1)]}


def test_a_formula_altered_in_a_copy_of_the_catalog_is_named(tmp_path):
    """Mutation: change one formula of one translation in a copy of the
    shipped catalog; the check names that message and its line."""
    path = catalogs.catalog_path(LOCALES, 'vi', 'densenet')
    copy = tmp_path / 'densenet.po'
    shutil.copy(path, copy)
    catalog = catalogs.read_catalog(copy, 'vi')
    target = next(m for m in catalog if m.id and '$L(L+1)/2$' in m.id)
    assert '$L(L+1)/2$' in target.string
    target.string = target.string.replace('$L(L+1)/2$', '$L(L-1)/2$')
    catalogs.write_catalog(catalog, copy)
    problems = catalogs.catalog_problems(catalogs.read_catalog(copy, 'vi'), copy)
    line = catalogs.read_catalog(copy, 'vi')[target.id].lineno
    assert len(problems) == 2
    for problem in problems:
        assert problem.startswith(f'{copy}:{line}: the translation of '
                                  "'With $L$ layers there are")
    assert "loses the math 'L(L+1)/2'" in problems[0]
    assert "has a math 'L(L-1)/2' its source does not have" in problems[1]


@pytest.mark.parametrize('name', SHIPPED + [catalogs.FURNITURE])
def test_the_shipped_templates_match_the_english_sources(name):
    """A template older than its chapter means `make translations` was not
    run after an English edit: the catalogs would miss its new prose."""
    if name == catalogs.FURNITURE:
        fresh = catalogs.furniture_template(ROOT)
    else:
        fresh = catalogs.chapter_template(
            read_chapter(ROOT / 'chapters' / f'{name}.md'), ROOT)
    shipped = catalogs.read_catalog(catalogs.templates_dir(LOCALES) / f'{name}.pot')
    assert [m.id for m in shipped if m.id] == [m.id for m in fresh if m.id], \
        'run `make translations`'


@pytest.mark.parametrize('domain', SHIPPED + [catalogs.FURNITURE])
def test_the_shipped_catalogs_are_valid_gettext(domain):
    if not shutil.which('msgfmt'):
        pytest.skip('GNU gettext (msgfmt) is not installed')
    check_with_gettext(catalogs.catalog_path(LOCALES, 'vi', domain))


def glossary_terms():
    """(English, Vietnamese) rows of locales/vi/GLOSSARY.md that name one
    term each way (rows with alternatives are for people to read)."""
    rows = []
    text = (LOCALES / 'vi' / 'GLOSSARY.md').read_text(encoding='utf-8')
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) < 2 or not line.startswith('|') or \
                set(cells[0]) <= set('- ') or cells[0] == 'English':
            continue
        if not re.search(r'[/,()]', cells[0] + cells[1]):
            rows.append((cells[0], cells[1]))
    return rows


def test_the_glossary_is_read_by_its_check():
    terms = dict(glossary_terms())
    assert terms['convolution'] == 'tích chập'
    assert terms['transition layer'] == 'tầng chuyển tiếp'
    assert len(terms) > 20


def glossary_misses(catalog):
    terms = glossary_terms()
    misses = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        english = re.sub(r'`[^`]*`|\$[^$]*\$|\]\([^)]*\)|\*[A-Z][^*]+\*', '',
                         message.id).lower()
        for term, vietnamese in terms:
            if re.search(rf'\b{re.escape(term.lower())}(?:e?s)?\b',
                         english) and \
                    vietnamese.lower() not in message.string.lower():
                misses.append(f'line {message.lineno}: {term!r} is not '
                              f'{vietnamese!r} in {message.string[:60]!r}')
    return misses


@pytest.mark.parametrize('domain', SHIPPED)
def test_translations_use_the_glossary(domain):
    """Where the English uses a glossary term, its translation uses the
    glossary's Vietnamese (titles of papers, in italics, excepted)."""
    catalog = catalogs.read_catalog(catalogs.catalog_path(LOCALES, 'vi', domain),
                                'vi')
    assert glossary_misses(catalog) == []


def test_a_term_off_the_glossary_is_named():
    catalog = catalogs.read_catalog(catalogs.catalog_path(LOCALES, 'vi', 'densenet'),
                                'vi')
    message = catalog['Transition Layers']
    message.string = 'Lớp Chuyển tiếp'
    misses = glossary_misses(catalog)
    line = message.lineno
    assert [m.split(' is not ')[0] for m in misses] == [
        f"line {line}: 'layer'", f"line {line}: 'transition layer'"]
    assert "'transition layer' is not 'tầng chuyển tiếp'" in misses[1]


# ---------------------------------------------------------------- command line

def test_make_translations_starts_and_updates_catalogs(tmp_path, capsys):
    from bookbuild import cli
    write_book(tmp_path)
    args = ['translations', '--root', str(tmp_path), '--build-dir',
            str(tmp_path / 'build')]
    assert cli.main(args + ['--new-language', 'vi']) == 0
    assert (tmp_path / 'locales/templates/small.pot').is_file()
    assert (tmp_path / 'locales/templates/book.pot').is_file()
    path = tmp_path / 'locales/vi/LC_MESSAGES/small.po'
    err = capsys.readouterr().err
    assert 'vi small: 0/' in err
    # What is left to translate, by file and line, for the translator.
    assert re.search(r'locales/vi/LC_MESSAGES/small.po:\d+: untranslated: '
                     r"'A Chapter To Translate'", err)
    # A second run finds the language by its folder and changes nothing.
    before = path.read_bytes()
    assert cli.main(args) == 0
    assert path.read_bytes() == before


def test_a_malformed_catalog_stops_the_command_with_file_and_line(
        tmp_path, capsys):
    from bookbuild import cli
    write_book(tmp_path)
    args = ['translations', '--root', str(tmp_path), '--build-dir',
            str(tmp_path / 'build')]
    assert cli.main(args + ['--new-language', 'vi']) == 0
    path = tmp_path / 'locales/vi/LC_MESSAGES/small.po'
    lines = path.read_text(encoding='utf-8').splitlines()
    number = next(i for i, line in enumerate(lines, 1)
                  if line.startswith('msgstr ""') and i > 20)
    lines[number - 1] = 'msgstr "Khối dày đặc'
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    capsys.readouterr()
    assert cli.main(args) == 1
    assert f'error: {path}:{number}: malformed catalog' in \
        capsys.readouterr().err
