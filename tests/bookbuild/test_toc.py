"""The book's table of contents (chapters/toc.yml): the one place that
orders the chapters, and its errors, each naming the file and line."""
import pytest

from bookbuild.toc import TocError, read_toc


def book(tmp_path, toc, chapters=('densenet', 'densenet-memory', 'alexnet')):
    folder = tmp_path / 'chapters'
    folder.mkdir()
    for name in chapters:
        (folder / f'{name}.md').write_text(f'# {name}\n')
    if toc is not None:
        (folder / 'toc.yml').write_text(toc)
    return folder


def test_the_order_is_the_tocs_not_the_file_names(tmp_path):
    folder = book(tmp_path, '# reading order\nchapters:\n  - densenet-memory\n'
                  '  - alexnet.md\n  - densenet\n')
    entries = read_toc(folder)
    assert [e.name for e in entries] == ['densenet-memory', 'alexnet',
                                         'densenet']
    assert [e.path for e in entries] == [folder / 'densenet-memory.md',
                                         folder / 'alexnet.md',
                                         folder / 'densenet.md']
    assert [e.line for e in entries] == [3, 4, 5]


@pytest.mark.parametrize('toc, line, words', [
    ('chapters:\n  - densenet\n  - vgg\n  - alexnet\n  - densenet-memory\n',
     3, "unknown chapter 'vgg'"),
    ('chapters:\n  - densenet\n  - alexnet\n  - densenet.md\n'
     '  - densenet-memory\n', 4, "chapter 'densenet' is listed twice "
     '(first on line 2)'),
    ('chapters:\n  - densenet\n  - alexnet\n', 4,
     'densenet-memory.md is not in the table of contents'),
    ('chapters:\n  - densenet\n  - {file: alexnet}\n', 3,
     'each entry is a chapter name'),
    ('chapter:\n  - densenet\n', 1, "unknown key 'chapter'"),
    ('chapters: densenet\n', 1, 'expected "chapters:" followed by a list'),
    ('chapters:\n  - densenet\n - alexnet\n', 3, 'not valid YAML'),
    ('', 1, 'expected "chapters:"'),
])
def test_a_faulty_toc_names_its_file_and_line(tmp_path, toc, line, words):
    folder = book(tmp_path, toc)
    with pytest.raises(TocError) as caught:
        read_toc(folder)
    message = str(caught.value)
    assert message.startswith(f'{folder / "toc.yml"}:{line}: '), message
    assert words in message


def test_a_book_without_a_toc_is_told_to_write_one(tmp_path):
    folder = book(tmp_path, None)
    with pytest.raises(TocError, match=r'toc.yml:1: no table of contents'):
        read_toc(folder)


def test_a_book_of_one_chapter_needs_no_toc(tmp_path):
    folder = book(tmp_path, None, chapters=('small',))
    assert [e.path for e in read_toc(folder)] == [folder / 'small.md']


def test_the_build_reads_its_chapters_in_the_tocs_order(tmp_path):
    from bookbuild.cli import Layout
    book(tmp_path, 'chapters:\n  - densenet-memory\n  - densenet\n'
         '  - alexnet\n')
    layout = Layout(tmp_path / 'build', root=tmp_path)
    assert [p.stem for p in layout.chapters()] == \
        ['densenet-memory', 'densenet', 'alexnet']


def test_the_build_stops_on_a_faulty_toc_with_its_line(tmp_path, capsys):
    from bookbuild.cli import main
    book(tmp_path, 'chapters:\n  - densenet\n  - densenet\n')
    assert main(['notebooks', '--root', str(tmp_path),
                 '--build-dir', str(tmp_path / 'build')]) == 1
    assert f"{tmp_path / 'chapters' / 'toc.yml'}:3: chapter 'densenet' is " \
        'listed twice' in capsys.readouterr().err


def test_the_books_toc_lists_every_chapter():
    import pathlib
    chapters = pathlib.Path(__file__).resolve().parents[2] / 'chapters'
    assert {e.name for e in read_toc(chapters)} == \
        {p.stem for p in chapters.glob('*.md')}
