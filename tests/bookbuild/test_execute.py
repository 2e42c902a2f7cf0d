"""Stage 2: executing framework notebooks, the cache, and failures."""
import io
import sys
import textwrap

import nbformat
import pytest

from bookbuild.jupyter import kernels
from bookbuild.execute import ExecutionError, cache_key, execute_notebook
from bookbuild.progress import Progress
from bookbuild.split import split_chapter
from chapter_fixture import ROOT


def run(nb_path, tmp_path, library, mode='smoke', timeout=60):
    lib, lock = library
    return execute_notebook(nb_path, tmp_path / 'executed' / nb_path.name,
                            mode, lock_file=lock, library_dir=lib,
                            cache_dir=tmp_path / 'cache',
                            cell_timeout=timeout)


def outputs_text(nb):
    return ''.join(o.get('text', '') for c in nb.cells
                   if c.cell_type == 'code' for o in c.outputs)


def test_executes_on_the_framework_kernel_with_the_mode(
        chapter_file, tmp_path, fake_kernels, library):
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['mxnet']
    result = run(nb_path, tmp_path, library)
    assert not result['cached']
    nb = nbformat.read(result['path'], as_version=4)
    text = outputs_text(nb)
    assert "hello from mxnet" in text
    assert 'mode smoke' in text
    assert nb.metadata.d2l_book.run.mode == 'smoke'


def test_prose_edit_hits_the_cache(chapter_file, tmp_path, fake_kernels,
                                   library):
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    first = run(nb_path, tmp_path, library)
    chapter_file.write_text(chapter_file.read_text().replace(
        'Some prose', 'Some better prose'))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    second = run(nb_path, tmp_path, library)
    assert second['cached'] and second['key'] == first['key']
    nb = nbformat.read(second['path'], as_version=4)
    assert 'Some better prose' in nb.cells[0].source + nb.cells[1].source
    assert 'hello from jax' in outputs_text(nb)


@pytest.mark.parametrize('change', ['code', 'library', 'lock', 'mode'])
def test_what_invalidates_the_cache(chapter_file, tmp_path, library, change):
    lib, lock = library
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['pytorch']
    nb = nbformat.read(nb_path, as_version=4)
    before = cache_key(nb, 'pytorch', 'smoke', lib, lock)
    mode = 'smoke'
    if change == 'code':
        next(c for c in nb.cells if c.cell_type == 'code').source += '\n1'
    elif change == 'library':
        (lib / 'mod.py').write_text('X = 2\n')
    elif change == 'lock':
        lock.write_text('numpy==2.1\n')
    else:
        mode = 'quick'
    assert cache_key(nb, 'pytorch', mode, lib, lock) != before


def test_key_ignores_other_frameworks_modules(chapter_file, tmp_path,
                                              library):
    lib, lock = library
    nb = nbformat.read(split_chapter(chapter_file, tmp_path / 'nb')['jax'],
                       as_version=4)
    (lib / 'torch.py').write_text('A = 1\n')
    (lib / 'jax.py').write_text('A = 1\n')
    before = cache_key(nb, 'jax', 'smoke', lib, lock)
    (lib / 'torch.py').write_text('A = 2\n')
    assert cache_key(nb, 'jax', 'smoke', lib, lock) == before
    (lib / 'jax.py').write_text('A = 2\n')
    assert cache_key(nb, 'jax', 'smoke', lib, lock) != before


def test_key_ignores_file_times(chapter_file, tmp_path, library):
    lib, lock = library
    nb = nbformat.read(split_chapter(chapter_file, tmp_path / 'nb')['jax'],
                       as_version=4)
    before = cache_key(nb, 'jax', 'smoke', lib, lock)
    import os
    os.utime(lib / 'mod.py', (1, 1))
    os.utime(lock, (1, 1))
    assert cache_key(nb, 'jax', 'smoke', lib, lock) == before
    # Nor the lock file's comments: only its pins reach the kernel.
    lock.write_text('# locked again, same pins\n' + lock.read_text())
    assert cache_key(nb, 'jax', 'smoke', lib, lock) == before


def test_failing_cell_names_chapter_framework_cell_and_line(
        chapter_file, tmp_path, fake_kernels, library):
    text = chapter_file.read_text().replace(
        "print(len(NAME) * 3)", "print(len(NAME) * 3)\nraise ValueError('boom')")
    chapter_file.write_text(text)
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    with pytest.raises(ExecutionError) as info:
        run(nb_path, tmp_path, library)
    message = str(info.value)
    line = next(i for i, t in enumerate(text.splitlines(), 1)
                if 'len(NAME) * 3' in t)
    assert f'small.md:{line}:' in message
    assert 'chapter small, framework jax: code cell 3 of 3' in message
    assert 'boom' in message
    assert not (tmp_path / 'executed' / nb_path.name).exists()
    assert not list((tmp_path / 'cache').glob('*.ipynb'))


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_failing_cells_message_has_colours_on_a_terminal_only(
        chapter_file, tmp_path, fake_kernels, library, monkeypatch):
    """IPython colours its tracebacks; in a log the codes showed as
    `[31mSyntaxError[39m`."""
    from bookbuild.execute import _traceback_tail
    chapter_file.write_text(chapter_file.read_text().replace(
        "print(len(NAME) * 3)", "print(len(NAME) * 3)\nx = (1 +"))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    monkeypatch.setattr(sys, 'stderr', io.StringIO())
    with pytest.raises(ExecutionError) as info:
        run(nb_path, tmp_path, library)
    message = str(info.value)
    assert 'SyntaxError' in message and 'code cell 3 of 3' in message
    assert '\x1b' not in message and '[31m' not in message
    monkeypatch.setattr(sys, 'stderr', Terminal())
    coloured = _traceback_tail(info.value.__cause__)
    assert '\x1b[' in coloured
    assert 'SyntaxError' in coloured


def test_colour_codes_stay_for_a_terminal_and_leave_for_a_log():
    from bookbuild.progress import for_stream
    text = '\x1b[31mSyntaxError\x1b[39m: \x1b[1;32mbad\x1b[0m\x1b]0;t\x07'
    assert for_stream(text, io.StringIO()) == 'SyntaxError: bad'
    assert for_stream(text, Terminal()) == text


def test_cell_time_limit(chapter_file, tmp_path, fake_kernels, library):
    chapter_file.write_text(chapter_file.read_text().replace(
        "print('mode', os.environ.get('D2L_MODE'))",
        "import time\ntime.sleep(30)"))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['pytorch']
    with pytest.raises(ExecutionError) as info:
        run(nb_path, tmp_path, library, timeout=3)
    assert 'per-cell limit of 3 s' in str(info.value)
    assert 'code cell 2 of 3' in str(info.value)


def test_missing_kernel(chapter_file, tmp_path, library, monkeypatch):
    monkeypatch.setenv('JUPYTER_PATH', str(tmp_path / 'nothing'))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['tensorflow']
    nb = nbformat.read(nb_path, as_version=4)
    nb.metadata.kernelspec.name = 'd2l-no-such-kernel'
    nbformat.write(nb, nb_path)
    with pytest.raises(ExecutionError) as info:
        run(nb_path, tmp_path, library)
    assert "no Jupyter kernel named 'd2l-no-such-kernel'" in str(info.value)
    assert 'make env' in str(info.value)


class MarkingStream(io.StringIO):
    """A build log that creates `marker` once it has printed `text`."""

    def __init__(self, text, marker):
        super().__init__()
        self.text, self.marker = text, marker

    def write(self, s):
        if self.text in s:
            self.marker.write_text('seen')
        return super().write(s)


def test_epoch_lines_reach_the_log_while_the_cell_runs(
        chapter_file, tmp_path, library, monkeypatch, capfd):
    """The Trainer's lines (d2l_local.shared.report_progress) print while
    the cell runs; the kernel, registered as the Makefile does, says
    nothing about its transport."""
    kernels.install('jax', sys.executable, tmp_path / 'prefix')
    monkeypatch.setenv('JUPYTER_PATH',
                       str(tmp_path / 'prefix' / 'share' / 'jupyter'))
    monkeypatch.setenv('PYTHONPATH', str(ROOT))
    marker = tmp_path / 'seen'
    # The cell goes on only once the log has shown its first epoch.
    chapter_file.write_text(chapter_file.read_text().replace(
        "print('mode', os.environ.get('D2L_MODE'))", textwrap.dedent(f"""\
        import os, pathlib, time
        def report_progress(line):  # as d2l_local.shared's (needs numpy)
            with open(os.environ['D2L_PROGRESS_FILE'], 'a') as f:
                f.write(line + '\\n')
        report_progress('epoch 1/2: train loss 1.000')
        deadline = time.monotonic() + 20
        while not pathlib.Path({str(marker)!r}).exists() and \\
                time.monotonic() < deadline:
            time.sleep(0.1)
        print('log showed epoch 1:', pathlib.Path({str(marker)!r}).exists())
        os.write(2, b'I0000 a C++ library logs at start-up\\n')
        report_progress('epoch 2/2: train loss 0.500')""")))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    stream = MarkingStream('small/jax: epoch 1/2: train loss 1.000', marker)
    lib, lock = library
    result = execute_notebook(
        nb_path, tmp_path / 'executed' / nb_path.name, 'smoke',
        lock_file=lock, library_dir=lib, cache_dir=tmp_path / 'cache',
        cell_timeout=60, progress=Progress(stream))
    nb = nbformat.read(result['path'], as_version=4)
    assert 'log showed epoch 1: True' in outputs_text(nb)
    log = stream.getvalue()
    assert 'small/jax: epoch 2/2: train loss 0.500' in log
    assert not list((tmp_path / 'executed').glob('.*.progress'))
    err = capfd.readouterr().err
    assert 'without encryption' not in err
    assert 'a C++ library logs' not in err + log


def test_a_dead_kernel_shows_what_it_printed(chapter_file, tmp_path,
                                             fake_kernels, library):
    chapter_file.write_text(chapter_file.read_text().replace(
        "print('mode', os.environ.get('D2L_MODE'))",
        "os.write(2, b'last words of the kernel\\n'); os._exit(3)"))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['mxnet']
    with pytest.raises(ExecutionError) as info:
        run(nb_path, tmp_path, library)
    message = str(info.value)
    assert 'framework mxnet: code cell 2 of 3' in message
    assert 'killed its kernel' in message
    assert 'last words of the kernel' in message


def test_the_kernel_keeps_checkpoints_keyed_by_the_code_until_it_ends(
        chapter_file, tmp_path, fake_kernels, library):
    """$D2L_CHECKPOINT_DIR names a directory per chapter, framework and
    cache key (the code, the library, the lock, the mode): a run killed in
    a cell leaves it for the rerun of the same code to resume from; a run
    that ends removes it; changed code gets another one."""
    marker = tmp_path / 'killed-once'
    chapter_file.write_text(chapter_file.read_text().replace(
        "print('mode', os.environ.get('D2L_MODE'))", textwrap.dedent(f"""\
        import pathlib
        kept = pathlib.Path(os.environ['D2L_CHECKPOINT_DIR'])
        print('checkpoints', kept, 'resumed', (kept / 'fit-0.pkl').exists())
        kept.mkdir(parents=True, exist_ok=True)
        (kept / 'fit-0.pkl').write_text('epoch 1')
        if not pathlib.Path({str(marker)!r}).exists():
            pathlib.Path({str(marker)!r}).touch()
            raise KeyboardInterrupt('the job ran out of time')""")))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    nb = nbformat.read(nb_path, as_version=4)
    lib, lock = library
    key = cache_key(nb, 'jax', 'smoke', lib, lock)
    expected = (tmp_path / 'cache' / 'checkpoints' /
                f'small-jax-{key[:20]}').absolute()
    with pytest.raises(ExecutionError):
        run(nb_path, tmp_path, library)
    assert (expected / 'fit-0.pkl').read_text() == 'epoch 1'

    result = run(nb_path, tmp_path, library)
    assert result['key'] == key
    text = outputs_text(nbformat.read(result['path'], as_version=4))
    assert f'checkpoints {expected} resumed True' in text
    assert not expected.exists()  # the cached notebook replaces it

    chapter_file.write_text(chapter_file.read_text().replace(
        "'epoch 1'", "'epoch one'"))
    nb_path = split_chapter(chapter_file, tmp_path / 'nb')['jax']
    changed = run(nb_path, tmp_path, library)
    text = outputs_text(nbformat.read(changed['path'], as_version=4))
    assert changed['key'] != key
    assert f'small-jax-{changed["key"][:20]} resumed False' in text
