"""The book as the workflow builds it: four framework builds, each in a build
directory of its own (test_execute.py's, under $D2L_SMOKE_DIR/<framework>),
assembled into the complete book, executing nothing; and the inputs that
assembly refuses, naming chapter and framework, with no page written.

The four builds are test_execute.py's: `make test-chapters` runs it first,
and here `execute` only takes them from the cache (or runs what is missing).
"""
import pathlib
import re
import shutil
import time

import jupyter_client.manager
import nbformat
import pytest

from bookbuild import FRAMEWORKS, cli, execute
from bookbuild.source import read_chapter

from chapter_code import ROOT, SMOKE_DIR

RUN_DIRS = [SMOKE_DIR / fw for fw in FRAMEWORKS]


@pytest.fixture(scope='module')
def run_dirs():
    for fw, run_dir in zip(FRAMEWORKS, RUN_DIRS):
        assert cli.main(['execute', '--mode', 'smoke', '--accel', 'cpu',
                         '--build-dir', str(run_dir), '--frameworks',
                         fw]) == 0
        assert sorted(p.name for p in (run_dir / 'executed').glob('*.ipynb')) \
            == sorted(f'{c.stem}-{fw}.ipynb'
                      for c in (ROOT / 'chapters').glob('*.md'))
    return RUN_DIRS


@pytest.fixture
def no_kernels(monkeypatch, tmp_path):
    """Running a notebook or starting a kernel raises, and is recorded
    (a cached notebook may still be taken from the cache)."""
    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError('assembly started a kernel')

    monkeypatch.setattr(execute, 'run_notebook', refuse)
    monkeypatch.setattr(execute, 'kernel_manager', refuse)
    for manager in (jupyter_client.manager.KernelManager,
                    jupyter_client.manager.AsyncKernelManager):
        monkeypatch.setattr(manager, 'start_kernel', refuse)
    return started


def assemble(out, *run_dirs, root=ROOT, mode='smoke'):
    args = ['assemble', *map(str, run_dirs), '--build-dir', str(out),
            '--root', str(root), '--accel', 'cpu']
    return cli.main(args + (['--mode', mode] if mode else []))


# What may differ between two builds of the same outputs: the run dates
# and the machines that made them (the run banner's last sentences), and
# in the notebook downloads the cell ids, which nbformat draws at random
# for each split.
VOLATILE = {
    '.html': [re.compile(r'<span class="run-machines">.*?</span>'),
              re.compile(r'\d{4}-\d\d-\d\d')],
    '.ipynb': [re.compile(r'"executed_at": "[^"]*"'),
               re.compile(r'"machine": \{[^{}]*\}'),
               re.compile(r'^   ?"id": "[0-9a-f]{8}",$', re.MULTILINE)],
}


def normalised(path):
    data = path.read_bytes()
    if path.suffix not in VOLATILE:
        return data
    text = data.decode('utf-8')
    for pattern in VOLATILE[path.suffix]:
        text = pattern.sub('<volatile>', text)
    return text


def book_files(html_dir):
    return {p.relative_to(html_dir).as_posix(): p
            for p in sorted(html_dir.rglob('*')) if p.is_file()}


def test_four_framework_builds_assemble_into_the_single_builds_book(
        run_dirs, tmp_path, no_kernels):
    start = time.perf_counter()
    assert assemble(tmp_path / 'assembled', *run_dirs) == 0
    seconds = time.perf_counter() - start
    print(f'assembled the book in {seconds:.1f} s')
    assert no_kernels == []
    assembled = tmp_path / 'assembled' / 'html'
    page = (assembled / 'densenet.html').read_text()
    # Each framework's banner says where its outputs were made.
    machines = re.search(r'<span class="run-machines">(.*?)</span>', page)
    assert machines, 'the run banner names no machine'
    for label in ('PyTorch (torch ', 'MXNet (mxnet ', 'JAX (', 'TensorFlow ('):
        assert label in machines[1]
    assert ' cores, CPU' in machines[1]
    assert (assembled / 'vi' / 'densenet.html').is_file()

    # The single build of all four, from the four builds' cache entries:
    # it executes nothing either (no_kernels), it only renders.
    single = tmp_path / 'single'
    (single / 'cache').mkdir(parents=True)
    for run_dir in run_dirs:
        for entry in (run_dir / 'cache').glob('*.ipynb'):
            shutil.copy(entry, single / 'cache' / entry.name)
    assert cli.main(['html', '--mode', 'smoke', '--accel', 'cpu',
                     '--build-dir', str(single)]) == 0
    assert no_kernels == []
    ours, theirs = book_files(assembled), book_files(single / 'html')
    assert list(ours) == list(theirs)
    assert any(name.startswith('vi/') for name in ours)
    for name in ours:
        assert normalised(ours[name]) == normalised(theirs[name]), name


def test_a_missing_framework_is_named_and_nothing_is_written(
        run_dirs, tmp_path, capsys, no_kernels):
    out = tmp_path / 'out'
    assert assemble(out, *run_dirs[:3]) == 1
    error = capsys.readouterr().err
    assert error.startswith('error: chapter densenet, framework tensorflow: '
                            'outputs missing: no densenet-tensorflow.ipynb')
    assert not (out / 'html').exists()
    assert no_kernels == []


def book_copy(tmp_path):
    """The book's sources, to edit without touching the checkout."""
    root = tmp_path / 'book'
    ignore = shutil.ignore_patterns('__pycache__')
    for folder in ('chapters', 'd2l_local', 'requirements', 'locales'):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    return root


def test_outputs_of_other_code_are_stale_and_named_by_cell(
        run_dirs, tmp_path, capsys, no_kernels):
    root = book_copy(tmp_path)
    path = root / 'chapters' / 'densenet.md'
    cell = next(c for c in read_chapter(path).cells
                if c.kind == 'code' and c.framework == 'jax')
    lines = path.read_text().split('\n')
    lines[cell.code_line - 1] += '  # edited'
    path.write_text('\n'.join(lines))
    out = tmp_path / 'out'
    assert assemble(out, *run_dirs, root=root) == 1
    error = capsys.readouterr().err
    assert error.startswith(f'error: chapters/densenet.md:{cell.code_line}: '
                            'chapter densenet, framework jax: ')
    assert 'is stale: it was made from other code than the chapter' in error
    assert not (out / 'html').exists()


def test_outputs_of_another_run_mode_are_refused(run_dirs, tmp_path, capsys,
                                                 no_kernels):
    out = tmp_path / 'out'
    assert assemble(out, *run_dirs, mode='quick') == 1
    error = capsys.readouterr().err
    assert error.startswith('error: chapters/densenet.md: chapter densenet, '
                            'framework pytorch: ')
    assert 'was executed in smoke mode, but the book is assembled in quick ' \
        'mode' in error
    # Without --mode, the frameworks must agree: MXNet's run of another mode.
    mxnet = tmp_path / 'mxnet'
    shutil.copytree(run_dirs[1] / 'executed', mxnet / 'executed')
    notebook = mxnet / 'executed' / 'densenet-mxnet.ipynb'
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata['d2l_book']['run']['mode'] = 'quick'
    nbformat.write(nb, notebook)
    assert assemble(out, run_dirs[0], mxnet, *run_dirs[2:], mode=None) == 1
    error = capsys.readouterr().err
    assert error.startswith('error: chapters/densenet.md: chapter densenet, '
                            'framework mxnet: ')
    assert 'executed in quick mode, but the book is assembled in smoke mode ' \
        '(the mode of densenet/pytorch)' in error
    assert not (out / 'html').exists()


def test_outputs_of_other_lock_files_are_refused(run_dirs, tmp_path, capsys,
                                                 no_kernels):
    root = book_copy(tmp_path)
    lock = root / 'requirements' / 'mxnet.txt'
    lock.write_text(re.sub(r'^(numpy==\S+)$', r'\1.post1', lock.read_text(),
                           count=1, flags=re.MULTILINE))
    assert '.post1' in lock.read_text()
    out = tmp_path / 'out'
    assert assemble(out, *run_dirs, root=root) == 1
    error = capsys.readouterr().err
    assert error.startswith('error: chapters/densenet.md: chapter densenet, '
                            'framework mxnet: ')
    assert "was made with other lock files than this checkout's " \
        'requirements/mxnet.txt' in error
    assert not (out / 'html').exists()
