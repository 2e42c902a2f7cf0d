"""The book as a PDF per framework (bookbuild/render/pdf.py), printed by
Debian's Chromium from a built book (`built_book`: the smoke build under
make test) and read back with poppler-utils: its length, its fonts, its
text (every chapter, the chosen framework's code and no other's, the
Vietnamese letters), a page drawn as an image, and the diagrams kept as
vectors."""
import html
import pathlib
import re
import shutil
import subprocess
import unicodedata

import pytest

from bookbuild.render import pdf

POPPLER = ('pdfinfo', 'pdffonts', 'pdftotext', 'pdftoppm', 'pdfimages')
# The line each framework's tab starts a chapter with.
IMPORT_LINES = {'pytorch': 'from d2l_local import torch as d2l',
                'mxnet': 'from d2l_local import mxnet as d2l',
                'jax': 'from d2l_local import jax as d2l',
                'tensorflow': 'from d2l_local import tensorflow as d2l'}
VIETNAMESE_LETTERS = set('ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ')


def poppler(tool, *args):
    if shutil.which(tool) is None:
        pytest.fail(f'{tool} not found: install the Debian package '
                    'poppler-utils (make test installs it)')
    return subprocess.run([tool, *args], check=True, capture_output=True,
                          text=True).stdout


def plain(text):
    return ' '.join(unicodedata.normalize('NFC', text).split())


def chapter_titles(folder):
    _, names = pdf.read_index(folder, folder)
    return [plain(html.unescape(re.sub(r'<[^>]+>', '',
                                       pdf.Chapter(folder / n, folder).title_html)))
            for n in names]


@pytest.fixture(scope='module')
def framework(built_book):
    found = pdf.available_frameworks(built_book)
    assert found, f'{built_book}: no framework has outputs'
    return 'pytorch' if 'pytorch' in found else found[0]


@pytest.fixture(scope='module')
def printed(built_book, framework, browser, tmp_path_factory):
    """language -> the PDF's path."""
    out = tmp_path_factory.mktemp('pdf')
    result = {}
    for language in ('en', 'vi'):
        target = pdf.pdf_path(out, language, 'book', framework)
        pdf.write_pdf(built_book, framework, target, language, browser=browser)
        result[language] = target
    return result


def test_the_pdf_is_a4_with_a_page_count_of_a_book(printed, built_book):
    info = poppler('pdfinfo', str(printed['en']))
    pages = int(re.search(r'^Pages:\s+(\d+)', info, re.M)[1])
    chapters = len(chapter_titles(built_book))
    # A title page, the contents, and at least a page per chapter; a
    # runaway (a page per line, say) would run far past a few hundred.
    assert chapters + 2 <= pages <= 400, info
    assert '(A4)' in re.search(r'^Page size:.*$', info, re.M)[0]


@pytest.mark.parametrize('language', ['en', 'vi'])
def test_every_font_is_embedded(printed, language):
    rows = poppler('pdffonts', str(printed[language])).splitlines()[2:]
    assert rows, 'no fonts: the text would not be text'
    # columns: name type encoding emb sub uni object ID
    not_embedded = [row for row in rows if row.split()[-5] != 'yes']
    assert not_embedded == []


def test_the_text_holds_every_chapter_and_one_framework(printed, built_book,
                                                        framework):
    text = plain(poppler('pdftotext', str(printed['en']), '-'))
    for title in chapter_titles(built_book):
        assert title in text
    assert IMPORT_LINES[framework] in text
    pages = plain(html.unescape(re.sub(r'<[^>]+>', '', ''.join(
        path.read_text(encoding='utf-8')
        for path in built_book.glob('*.html')))))
    others = [line for fw, line in IMPORT_LINES.items()
              if fw != framework and line in pages]
    if set(pdf.available_frameworks(built_book)) - {framework}:
        assert others, 'the book holds no other framework to leave out'
    for line in others:
        assert line not in text
    # Outputs too, where the kernel-free book's say who ran them.
    for fw in IMPORT_LINES:
        if f'ran on {fw}' in pages:
            assert (f'ran on {fw}' in text) == (fw == framework), fw
    # No tab bar, and no label naming the one framework on every panel.
    assert not re.search(r'PyTorch\s+MXNet\s+JAX', text)
    assert 'PYTORCH' not in text and 'TENSORFLOW' not in text


def test_the_vietnamese_pdf_has_vietnamese_text(printed, built_book):
    text = plain(poppler('pdftotext', str(printed['vi']), '-'))
    titles = chapter_titles(built_book / 'vi')
    assert any(VIETNAMESE_LETTERS & set(title.lower()) for title in titles)
    for title in titles:
        assert title in text
    assert len(VIETNAMESE_LETTERS & set(text.lower())) >= 10


def test_a_page_drawn_is_not_blank(printed, tmp_path):
    """Page 2 (the contents) at 50 dpi: dark text on white, neither an
    empty page nor a black one."""
    poppler('pdftoppm', '-r', '50', '-f', '2', '-l', '2', '-gray',
            str(printed['en']), str(tmp_path / 'page'))
    image, = tmp_path.glob('page*.pgm')
    data = image.read_bytes()
    magic, width, height, depth, pixels = data.split(maxsplit=4)
    assert magic == b'P5' and depth == b'255'
    pixels = pixels[:int(width) * int(height)]
    inked = sum(1 for value in pixels if value < 128) / len(pixels)
    assert 0.002 < inked < 0.3, inked
    assert min(pixels) < 64 and max(pixels) == 255


def test_the_diagrams_stay_vectors(printed, built_book):
    """The SVG diagrams are drawn, not pasted as pictures: the PDF holds no
    more raster images than the pages do, and a diagram's labels are
    text."""
    pages = ''.join(path.read_text(encoding='utf-8')
                    for path in built_book.glob('*.html'))
    diagrams = sorted(set(re.findall(r'<img src="(img/[^"]+\.svg)"', pages)))
    assert diagrams, 'the book shows no SVG diagram'
    rasters = len(re.findall(r'<img src="(?:data:image/(?:png|jpeg)|[^"]+\.(?:png|jpe?g)")',
                             pages))
    listed = poppler('pdfimages', '-list', str(printed['en']))
    images = listed.splitlines()[2:]
    assert len(images) <= rasters, listed
    labels = [plain(html.unescape(re.sub(r'<[^>]+>', '', label)))
              for label in re.findall(
                  r'<text\b[^>]*>(.*?)</text>',
                  (built_book / diagrams[0]).read_text(encoding='utf-8'), re.S)]
    longest = max(labels, key=len)
    assert len(longest) > 8
    assert longest in plain(poppler('pdftotext', str(printed['en']), '-'))


def test_each_edition_prints_a_whole_file(printed):
    for language, path in printed.items():
        assert path.stat().st_size > 10_000, language
        assert path.read_bytes().rstrip().endswith(b'%%EOF'), language
