"""The whole pipeline from the command line, on the fixture chapter with the
fake kernels: what an author sees when a build succeeds, is re-run after a
prose edit, or meets a broken chapter."""
import os
import shutil
import sys
import subprocess

import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild.progress import Progress
from chapter_fixture import fixture_chapter_text


@pytest.fixture
def book(tmp_path, fake_kernels):
    root = tmp_path / 'book'
    (root / 'chapters' / 'img').mkdir(parents=True)
    (root / 'chapters' / 'small.md').write_text(fixture_chapter_text())
    (root / 'd2l_local').mkdir()
    (root / 'd2l_local' / 'lib.py').write_text('X = 1\n')
    (root / 'requirements').mkdir()
    for fw in FRAMEWORKS:
        (root / 'requirements' / f'{fw}.txt').write_text('x==1\n')
    return root


def build(book, *args, env=None):
    return subprocess.run(
        [sys.executable, '-m', 'bookbuild', 'html', '--root', str(book),
         '--build-dir', str(book / 'build'), '--mode', 'smoke', *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, 'D2L_ACCEL': '', **(env or {})})


def test_build_then_prose_edit_executes_nothing(book):
    first = build(book)
    assert first.returncode == 0, first.stderr
    html = book / 'build' / 'html'
    assert (html / 'index.html').exists() and (html / 'small.html').exists()
    assert first.stderr.count('executed in') == len(FRAMEWORKS)
    # Progress lines name chapter, framework and cell i of n.
    assert 'small/jax: cell 3/3' in first.stderr

    chapter = book / 'chapters' / 'small.md'
    chapter.write_text(chapter.read_text().replace('Some prose',
                                                   'Some edited prose'))
    second = build(book)
    assert second.returncode == 0, second.stderr
    assert 'executed in' not in second.stderr
    assert second.stderr.count('cached (code unchanged)') == len(FRAMEWORKS)
    assert 'Some edited prose' in (html / 'small.html').read_text()


def test_broken_chapter_fails_with_its_line_and_keeps_the_last_page(book):
    assert build(book).returncode == 0
    page = book / 'build' / 'html' / 'small.html'
    before = page.read_text()
    chapter = book / 'chapters' / 'small.md'
    text = chapter.read_text().replace(':tags: [jax]', ':tags: [jaxx]', 1)
    chapter.write_text(text)
    result = build(book)
    assert result.returncode == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1)
                if 'jaxx' in t)
    assert f'small.md:{line}: unknown tag' in result.stderr
    assert page.read_text() == before
    leftovers = [p for p in (book / 'build').rglob('*') if '.tmp' in p.name]
    assert not leftovers


def test_unknown_framework_and_mode_are_refused(book):
    result = build(book, '--frameworks', 'pytorch,caffe')
    assert result.returncode == 1 and "unknown framework 'caffe'" in \
        result.stderr


def test_every_error_of_the_build_is_caught_as_one(tmp_path, monkeypatch,
                                                 capsys):
    """The command line catches one base class (bookbuild.errors): each
    error class of the build derives from it, those at a line of a file
    from LocatedError, and a new one is printed as one line untold."""
    import importlib
    import inspect
    import pkgutil

    import bookbuild
    from bookbuild import cli
    from bookbuild.errors import BookError, LocatedError
    classes = {}
    for info in pkgutil.walk_packages(bookbuild.__path__, 'bookbuild.'):
        if info.name != 'bookbuild.__main__':
            module = importlib.import_module(info.name)
            classes.update({name: c for name, c in inspect.getmembers(
                module, inspect.isclass) if issubclass(c, Exception)
                and c.__module__ == info.name})
    assert {'ChapterError', 'CatalogError', 'GlueError', 'RenderError',
            'ExecutionError', 'MergeError', 'EditionError'} <= set(classes)
    assert [name for name, c in classes.items()
            if not issubclass(c, BookError)] == []
    assert [name for name in ('ChapterError', 'CatalogError', 'GlueError',
                              'MessageError')
            if not issubclass(classes[name], LocatedError)] == []

    class NewError(LocatedError):
        pass

    def fail(*args):
        raise NewError(tmp_path / 'small.md', 3, 'a new kind of fault')

    (tmp_path / 'chapters').mkdir()
    (tmp_path / 'chapters' / 'small.md').write_text(fixture_chapter_text())
    monkeypatch.setattr(cli, 'build_notebooks', fail)
    assert cli.main(['notebooks', '--root', str(tmp_path), '--build-dir',
                     str(tmp_path / 'build')]) == 1
    assert capsys.readouterr().err == (
        f'error: {tmp_path / "small.md"}:3: a new kind of fault\n')


def test_gpu_outputs_are_cached_apart_from_cpu_outputs(book):
    for fw in FRAMEWORKS:
        (book / 'requirements' / f'{fw}-cuda.txt').write_text('x-cuda==1\n')
    assert build(book, '--frameworks', 'jax').returncode == 0
    on_gpu = build(book, '--frameworks', 'jax', env={'D2L_ACCEL': 'cuda'})
    assert on_gpu.returncode == 0, on_gpu.stderr
    assert 'small/jax: executed in' in on_gpu.stderr
    again = build(book, '--frameworks', 'jax', '--accel', 'cuda')
    assert 'small/jax: cached (code unchanged)' in again.stderr


def test_a_missing_lock_file_or_accelerator_is_named(book):
    result = build(book, '--accel', 'cuda')
    assert result.returncode == 1
    assert 'pytorch-cuda.txt: no lock file for pytorch on cuda' in \
        result.stderr
    result = build(book, env={'D2L_ACCEL': 'tpu'})
    assert result.returncode == 1
    assert "D2L_ACCEL='tpu' is not an accelerator" in result.stderr
    assert not (book / 'build' / 'html').exists()


def test_progress_prints_plain_lines_off_a_terminal(tmp_path):
    log = (tmp_path / 'log').open('w')
    progress = Progress(stream=log)
    progress.update('densenet/jax: cell 1/3 (line 10)')
    progress.update('densenet/jax: cell 2/3 (line 20)')
    progress.say('densenet/jax: executed in 1.0 s')
    log.close()
    lines = (tmp_path / 'log').read_text().splitlines()
    assert len(lines) == 3 and '\r' not in ''.join(lines)
    assert lines[1].endswith('densenet/jax: cell 2/3 (line 20)')


def test_chapter_names_may_come_anywhere_on_the_command_line(book):
    from bookbuild.cli import parse_args
    for argv in (['html', '--mode', 'smoke', 'densenet'],
                 ['html', 'densenet', '--mode', 'smoke'],
                 ['html', '--mode', 'smoke', 'densenet', '--frameworks',
                  'jax', 'densenet-memory']):
        args = parse_args(argv)
        assert args.command == 'html' and args.mode == 'smoke'
        assert args.chapters[0] == 'densenet', argv
    assert parse_args(argv).chapters == ['densenet', 'densenet-memory']
    assert parse_args(argv).frameworks == 'jax'
    run = subprocess.run(
        [sys.executable, '-m', 'bookbuild', 'notebooks', '--root', str(book),
         '--build-dir', str(book / 'build'), '--frameworks', 'jax', 'small'],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [p.name for p in (book / 'build' / 'notebooks').iterdir()] == \
        ['small-jax.ipynb']


def one_error_line(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Traceback' not in result.stderr, result.stderr
    errors = [t for t in result.stderr.splitlines() if 'error' in t.lower()]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_a_build_directory_that_is_a_file_is_named_in_one_line(book,
                                                              tmp_path):
    not_a_folder = tmp_path / 'build-here'
    not_a_folder.write_text('a file\n')
    base = [sys.executable, '-m', 'bookbuild', 'html', '--root', str(book),
            '--mode', 'smoke']
    for build_dir in (not_a_folder, not_a_folder / 'sub'):
        result = subprocess.run([*base, '--build-dir', str(build_dir)],
                                capture_output=True, text=True, timeout=120)
        line = one_error_line(result)
        assert line.startswith(f'error: {not_a_folder}: not a directory')
    assert line == (f'error: {not_a_folder}: not a directory, so the build '
                    f'directory {not_a_folder / "sub"} cannot be made there; '
                    'choose another --build-dir')


def test_a_file_where_the_build_makes_a_directory_is_named(book):
    (book / 'build').mkdir()
    (book / 'build' / 'html').write_text('a file\n')
    line = one_error_line(build(book))
    html = book / 'build' / 'html'
    assert line == (f'error: {html}: not a directory, but the build makes a '
                    'directory there; move the file away or choose another '
                    '--build-dir')
    (book / 'build' / 'html').unlink()
    # Deeper down, found when the page links its notebooks.
    (book / 'build' / 'html').mkdir()
    (book / 'build' / 'html' / 'notebooks').write_text('a file\n')
    result = build(book, '--frameworks', 'jax')
    line = one_error_line(result)
    assert line.startswith(f'error: {html / "notebooks"}: not a directory, '
                           'but the build makes a directory there')


def test_a_failing_cell_shows_no_colour_codes_in_a_log(book):
    chapter = book / 'chapters' / 'small.md'
    chapter.write_text(chapter.read_text().replace(
        "print(len(NAME) * 3)", "print(len(NAME) * 3)\nx = (1 +"))
    result = build(book, '--frameworks', 'jax')
    assert result.returncode == 1
    assert 'SyntaxError' in result.stderr
    assert '\x1b' not in result.stderr and '[31m' not in result.stderr


def test_the_output_cap_is_a_build_option(capsys):
    from bookbuild.cli import parse_args
    from bookbuild.render.common import MAX_OUTPUT_LINES
    assert parse_args(['html']).max_output_lines == MAX_OUTPUT_LINES == 200
    assert parse_args(['html', '--max-output-lines', '0', 'densenet']) \
        .max_output_lines == 0
    for wrong in ('-1', 'many'):
        with pytest.raises(SystemExit):
            parse_args(['html', '--max-output-lines', wrong])
        assert f"argument --max-output-lines: {wrong!r} is not a number of " \
            'lines (0 or more; 0: no limit)' in capsys.readouterr().err


def test_a_chapter_named_by_a_path_outside_the_book_is_split(book, tmp_path):
    outside = tmp_path / 'elsewhere' / 'small.md'
    outside.parent.mkdir()
    outside.write_text(fixture_chapter_text())
    run = subprocess.run(
        [sys.executable, '-m', 'bookbuild', 'notebooks', '--root', str(book),
         '--build-dir', str(book / 'build'), str(outside)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f'split {outside} -> 4 notebooks' in run.stderr


@pytest.mark.parametrize('role, problem', [
    ('{numref}`fig-nowhere`', "unknown reference 'fig-nowhere'"),
    ('{cite:p}`nobody2020`', '{cite:p}`nobody2020`: there is no references.bib'),
])
def test_a_dangling_reference_stops_the_build_before_it_executes(
        book, role, problem):
    """The references and citations are checked before any cell runs: an
    author hears of a typo in seconds, not after the training."""
    chapter = book / 'chapters' / 'small.md'
    text = chapter.read_text().replace('Some prose', f'See {role}. Some prose')
    chapter.write_text(text)
    result = build(book)
    assert result.returncode == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if role in t)
    assert f'small.md:{line}: {problem}' in result.stderr
    assert 'executed in' not in result.stderr
    assert not (book / 'build' / 'executed').exists() or \
        not any((book / 'build' / 'executed').iterdir())


def bookbuild(book, *args):
    return subprocess.run(
        [sys.executable, '-m', 'bookbuild', *args, '--root', str(book)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, 'D2L_ACCEL': ''})


def test_four_framework_builds_are_assembled_executing_nothing(book):
    """What the workflow does, on the fixture chapter: one `execute` per
    framework in a directory of its own, then `assemble`, with no kernel
    to start (JUPYTER_PATH is emptied); its run records say the machine."""
    runs = []
    for fw in FRAMEWORKS:
        run_dir = book / 'runs' / fw
        result = bookbuild(book, 'execute', '--mode', 'smoke',
                           '--frameworks', fw, '--build-dir', str(run_dir))
        assert result.returncode == 0, result.stderr
        assert not (run_dir / 'html').exists()
        runs.append(run_dir)
    nb = nbformat.read(runs[0] / 'executed' / 'small-pytorch.ipynb',
                       as_version=4)
    run = nb.metadata['d2l_book']['run']
    assert run['accel'] == 'cpu' and run['lock'] == 'pytorch.txt'
    assert run['machine']['cores'] == os.cpu_count()
    assert run['machine']['accelerator'] == 'cpu'
    assert 'gpus' not in run['machine']
    out = book / 'assembled'
    result = subprocess.run(
        [sys.executable, '-m', 'bookbuild', 'assemble', *map(str, runs),
         '--root', str(book), '--build-dir', str(out)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, 'D2L_ACCEL': '',
             'JUPYTER_PATH': str(book / 'no-kernels')})
    assert result.returncode == 0, result.stderr
    assert 'executed in' not in result.stderr
    page = (out / 'html' / 'small.html').read_text()
    assert page.count('cores, CPU') == len(FRAMEWORKS)
    assert (out / 'html' / 'index.html').is_file()

    missing = bookbuild(book, 'assemble', *map(str, runs[1:]),
                        '--build-dir', str(book / 'missing'))
    assert missing.returncode == 1
    assert missing.stderr.startswith(
        'error: chapter small, framework pytorch: outputs missing')
    assert not (book / 'missing').exists()
