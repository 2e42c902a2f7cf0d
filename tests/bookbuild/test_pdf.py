"""The PDF step's checks and its document (bookbuild/render/pdf.py), without
a browser: a missing build and a framework without outputs are refused by
name before anything is printed; a failure while printing leaves no file;
the chapters' ids stay unique in the one document. (The printing itself:
tests/browser/test_pdf.py.)"""
import pathlib

import pytest

from bookbuild import cli
from bookbuild.render import pdf

PANEL = ('<div class="tab-group" data-tab-group id="tabs-1">'
         '<div class="tab-list" role="tablist"><button role="tab" '
         'data-framework="{fw}">X</button></div>'
         '<div class="tab-panel" role="tabpanel" id="tabs-1-{fw}" '
         'aria-labelledby="tabs-1-tab-{fw}" data-framework="{fw}">'
         '<div class="cell"><div class="highlight"><pre>code</pre></div>'
         '{output}</div></div></div>')


def write_book(html_dir, outputs=('pytorch',), frameworks=('pytorch', 'jax')):
    """A built book of one chapter whose tabs are `frameworks`, of which
    `outputs` ran."""
    html_dir.mkdir(parents=True)
    (html_dir / 'index.html').write_text(
        '<html lang="en"><body><main class="content"><h1>A Book</h1>'
        '<ol class="chapter-list"><li><a href="one.html">One</a></li></ol>'
        '</main></body></html>', encoding='utf-8')
    panels = ''.join(PANEL.format(
        fw=fw, output='<div class="cell-output"><pre class="output '
        'output-stream">ran</pre></div>' if fw in outputs else
        '<p class="not-run">Not executed.</p>') for fw in frameworks)
    (html_dir / 'one.html').write_text(
        '<html lang="en"><body><main class="content">'
        f'<h1 id="one">One</h1><h2 id="part">Part</h2>{panels}</main>'
        '</body></html>', encoding='utf-8')
    return html_dir


def test_only_frameworks_that_ran_count_as_having_outputs(tmp_path):
    html_dir = write_book(tmp_path / 'html')
    assert pdf.available_frameworks(html_dir) == ['pytorch']


def test_a_framework_without_outputs_is_refused_by_name(tmp_path):
    html_dir = write_book(tmp_path / 'html')
    target = tmp_path / 'pdf' / 'en' / 'book-jax.pdf'
    with pytest.raises(pdf.PdfError) as error:
        pdf.write_pdf(html_dir, 'jax', target, browser=object())
    message = str(error.value)
    assert 'html/index.html' in message and 'no JAX outputs' in message
    assert 'FRAMEWORKS_BUILD=jax' in message
    assert not target.exists()


def test_a_missing_build_is_refused_by_name(tmp_path):
    with pytest.raises(pdf.PdfError, match=r'html/index\.html: no built '
                       r'book there; build the HTML first'):
        pdf.write_pdf(tmp_path / 'html', 'pytorch', tmp_path / 'x.pdf',
                      browser=object())
    html_dir = write_book(tmp_path / 'html')
    with pytest.raises(pdf.PdfError, match=r'html/vi/index\.html: no built'):
        pdf.write_pdf(html_dir, 'pytorch', tmp_path / 'x.pdf',
                      language='vi', browser=object())


def test_the_command_line_says_it_in_one_line(tmp_path, capsys):
    assert cli.main(['pdf', '--build-dir', str(tmp_path / 'build'),
                     '--framework', 'jax']) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('error: ')
    assert 'build/html/index.html: no built book there' in err


class FailingPage:
    """A browser page whose printing fails halfway."""

    def __init__(self, seen):
        self.seen = seen

    def goto(self, url, **options):
        self.seen.append(pathlib.Path(url.removeprefix('file://')))

    def emulate_media(self, **options):
        pass

    def evaluate(self, script, argument):
        return 1

    def pdf(self, **options):
        raise RuntimeError('the printer caught fire')

    def close(self):
        pass


class FailingBrowser:
    def __init__(self):
        self.seen = []

    def new_page(self):
        return FailingPage(self.seen)


def test_a_failed_print_leaves_neither_pdf_nor_document(tmp_path):
    html_dir = write_book(tmp_path / 'html')
    target = tmp_path / 'pdf' / 'en' / 'book-pytorch.pdf'
    target.parent.mkdir(parents=True)
    target.write_bytes(b'%PDF the previous good one')
    browser = FailingBrowser()
    with pytest.raises(RuntimeError, match='caught fire'):
        pdf.write_pdf(html_dir, 'pytorch', target, browser=browser)
    assert target.read_bytes() == b'%PDF the previous good one'
    assert sorted(p.name for p in target.parent.iterdir()) == \
        ['book-pytorch.pdf']
    # The assembled document lay beside the pages, and is gone.
    document, = browser.seen
    assert document.parent == html_dir and not document.exists()
    assert sorted(p.name for p in html_dir.iterdir()) == \
        ['index.html', 'one.html']


def test_ids_are_unique_across_chapters_and_links_follow_them():
    chapter = ('<h2 id="summary">S</h2><a href="#summary">s</a>'
               '<button aria-controls="tabs-1-jax">J</button>'
               '<svg><clipPath id="p1"></clipPath>'
               '<use xlink:href="#g1"/><path clip-path="url(#p1)"/></svg>'
               '<a href="two.html#intro">next</a><a href="two.html">2</a>'
               '<a href="https://example.org/x.html">out</a>'
               '<pre>id=&quot;kept&quot;</pre>')
    scoped = pdf.scoped(chapter, 'one', {'one', 'two'})
    assert '<h2 id="one--summary">' in scoped
    assert 'href="#one--summary"' in scoped
    assert 'aria-controls="one--tabs-1-jax"' in scoped
    assert 'id="one--p1"' in scoped and 'url(#one--p1)' in scoped
    assert 'xlink:href="#one--g1"' in scoped
    assert 'href="#two--intro"' in scoped and 'href="#chapter-two"' in scoped
    assert 'href="https://example.org/x.html"' in scoped
    assert 'id=&quot;kept&quot;' in scoped


def test_the_document_has_a_title_page_contents_and_the_print_mode(tmp_path):
    html_dir = write_book(tmp_path / 'html')
    chapter = pdf.Chapter(html_dir / 'one.html', tmp_path)
    document = pdf.book_document('A Book', [chapter], 'pytorch', 'en', '')
    assert 'data-print-framework="pytorch"' in document
    assert '<section class="pdf-title-page">' in document
    assert '<a href="#chapter-one">One</a><ol><li><a href="#one--part">' \
        'Part</a></li></ol>' in document
    assert '<section class="pdf-chapter" id="chapter-one">' in document
    assert '.print-other-framework { display: none !important; }' in document


def test_the_plan_is_every_edition_and_framework_that_ran(tmp_path):
    html_dir = write_book(tmp_path / 'html')
    write_book(html_dir / 'vi')
    assert pdf.plan(html_dir) == (['en', 'vi'], ['pytorch'])
    with pytest.raises(pdf.PdfError, match=r'html/vi/index\.html: the built '
                       'book has no JAX outputs'):
        pdf.plan(html_dir, ['jax'], ['vi'])
