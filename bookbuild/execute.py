"""Stage 2, execute: run a framework notebook on its own kernel.

The kernel of each framework (`d2l-pytorch`, ...) runs in that framework's
virtual environment; the run mode travels to it in $D2L_MODE. Executed
notebooks are cached by a hash of what their outputs depend on (the code that
runs, d2l_local, the environment's lock file, the mode), never of file times,
which a fresh clone resets. Prose is not part of the key: after a prose-only
edit the cached outputs are put into the freshly split notebook.

The executed notebook (the page's download) reads as prose: the values its
cells recorded with d2l.glue are written where the prose refers to them
(bookbuild.glue); the cache keeps the prose as split.
"""
import contextlib
import datetime
import hashlib
import os
import pathlib
import shutil
import sys
import time

import nbformat

from bookbuild.envfile import lock_pins
from bookbuild.errors import BookError
from bookbuild.glue import substitute_notebook
from bookbuild.machine import machine_facts
from bookbuild.files import write_notebook_atomically
from bookbuild.progress import FileTail, Progress, for_stream
from bookbuild.split import carry_outputs
from d2l_local import MODULES as LIBRARY_MODULES

# Bump when the way notebooks are executed changes what they output.
EXECUTOR_VERSION = '1'
TRACEBACK_LINES = 12


class ExecutionError(BookError, RuntimeError):
    """A cell failed or timed out, or the kernel is missing."""


def cache_key(nb, framework, mode, library_dir, lock_file):
    """SHA-256 of everything a framework notebook's outputs depend on."""
    digest = hashlib.sha256()

    def add(label, data):
        if isinstance(data, str):
            data = data.encode('utf-8')
        digest.update(f'{label}:{len(data)}:'.encode())
        digest.update(data)

    add('executor', EXECUTOR_VERSION)
    add('framework', framework)
    add('mode', mode)
    add('kernel', nb.metadata.get('kernelspec', {}).get('name', ''))
    for cell in nb.cells:
        if cell.cell_type == 'code':
            add('cell', cell.source)
            add('tags', ','.join(cell.metadata.get('tags', [])))
    library_dir = pathlib.Path(library_dir)
    # The other frameworks' modules cannot change this framework's outputs:
    # editing the TensorFlow module must not re-run the PyTorch chapter.
    others = {f'{m}.py' for fw, m in LIBRARY_MODULES.items()
              if fw != framework}
    for path in sorted(library_dir.rglob('*.py')):
        if path.name in others and path.parent == library_dir:
            continue
        add(f'lib {path.relative_to(library_dir).as_posix()}',
            path.read_bytes())
    # The pins, not the file: a reworded header comment changes no output.
    add('lock', '\n'.join(lock_pins(lock_file)))
    return digest.hexdigest()


def lock_digest(lock_file):
    """SHA-256 of a lock file's pins, as the cache key reads them: the run
    record keeps it, so assembly can tell outputs of other locks apart."""
    return hashlib.sha256('\n'.join(lock_pins(lock_file)).encode()) \
        .hexdigest()


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == 'code']


@contextlib.contextmanager
def environment(**values):
    """Set environment variables for the kernel this process starts."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _describe_failure(nb, cell_index, framework, reason):
    cell = nb.cells[cell_index]
    meta = nb.metadata['d2l_book']
    info = cell.metadata.get('d2l_book', {})
    position = [c for c in code_cells(nb)].index(cell) + 1
    first = next((t for t in cell.source.splitlines() if t.strip()), '')
    return (f'{meta["source"]}:{info.get("code_line", "?")}: chapter '
            f'{meta["chapter"]}, framework {framework}: code cell {position} '
            f'of {len(code_cells(nb))} ({first.strip()!r}) {reason}')


def _log_tail(path):
    try:
        text = pathlib.Path(path).read_text(errors='replace')
    except OSError:
        return '    (no kernel log)'
    return '\n'.join('    ' + t for t in
                     for_stream(text).strip().splitlines()[-TRACEBACK_LINES:])


def _traceback_tail(error):
    """The end of a failing cell's traceback, coloured by IPython: the
    colours stay for a terminal, not for a log (the message is printed
    to stderr)."""
    text = for_stream(str(error)).strip().splitlines()
    return '\n'.join('    ' + t for t in text[-TRACEBACK_LINES:])


def kernel_manager(kernel):
    """The manager of a d2l kernel. Where pyzmq can, the manager gives the
    kernel CurveZMQ keys (its kernelspec declares it takes them): its sockets
    are encrypted, and it does not warn in the build log that they are not."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager
    encryption = 'auto' if zmq.has('curve') else 'disabled'
    return AsyncKernelManager(kernel_name=kernel,
                              transport_encryption=encryption)


def checkpoint_dir(cache_dir, nb, key):
    """Where the Trainers of notebook `nb` save their epochs' checkpoints
    (d2l_local.checkpoint): named by the chapter, the framework and the
    notebook's cache key, which hashes its code cells, d2l_local, the
    environment and the mode, so that a changed notebook starts afresh
    while a rerun of an interrupted one resumes."""
    meta = nb.metadata['d2l_book']
    return (pathlib.Path(cache_dir).absolute() / 'checkpoints' /
            f'{meta["chapter"]}-{meta["framework"]}-{key[:20]}')


def run_notebook(nb, framework, mode, cell_timeout, workdir,
                 progress=None, checkpoints=None):
    """Execute `nb` in place on its kernel; raise ExecutionError naming the
    chapter, framework, cell and line on any failure. With `checkpoints`
    (a directory) the kernel's Trainers checkpoint each epoch there and
    resume from what they find."""
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import (CellExecutionError, CellTimeoutError,
                                     DeadKernelError)

    kernel = nb.metadata['kernelspec']['name']
    meta = nb.metadata['d2l_book']
    total = len(code_cells(nb))
    state = {'index': None, 'position': 0}
    progress = progress or Progress()

    def on_cell_start(cell, cell_index):
        if cell.cell_type != 'code':
            return
        state['index'] = cell_index
        state['position'] += 1
        progress.update(f'{meta["chapter"]}/{framework}: cell '
                        f'{state["position"]}/{total} (line '
                        f'{cell.metadata["d2l_book"]["code_line"]})')

    client = NotebookClient(
        nb, km=kernel_manager(kernel), timeout=cell_timeout,
        resources={'metadata': {'path': str(workdir)}},
        on_cell_start=on_cell_start, allow_errors=False,
        record_timing=False)
    # Named per chapter and framework: two builds may share a workdir.
    stem = str(pathlib.Path(workdir).absolute() /
               f'.{meta["chapter"]}-{framework}')
    progress_file = pathlib.Path(stem + '.progress')
    # What the kernel process itself prints (TensorFlow's C++ start-up lines,
    # ipykernel's warnings) is not the notebook's output: it goes to a file
    # beside the executed notebook, shown only if the kernel dies.
    kernel_log = pathlib.Path(stem + '.kernel.log')
    try:
        with environment(D2L_MODE=mode, PYTHONUNBUFFERED='1',
                         D2L_PROGRESS_FILE=str(progress_file),
                         D2L_CHECKPOINT_DIR=str(checkpoints or '')), \
                open(kernel_log, 'w') as log, \
                FileTail(progress_file, progress,
                         f'{meta["chapter"]}/{framework}'):
            client.execute(stdout=log, stderr=log)
    except NoSuchKernel as e:
        raise ExecutionError(
            f'{meta["source"]}: chapter {meta["chapter"]}, framework '
            f'{framework}: no Jupyter kernel named {kernel!r}; run `make env` '
            'to build the framework environments and register their '
            'kernels') from e
    except CellTimeoutError as e:
        raise ExecutionError(_describe_failure(
            nb, state['index'], framework,
            f'ran past the per-cell limit of {cell_timeout} s')) from e
    except DeadKernelError as e:
        raise ExecutionError(_describe_failure(
            nb, state['index'], framework,
            f'killed its kernel ({e}); the kernel printed:') + '\n' +
            _log_tail(kernel_log)) from e
    except CellExecutionError as e:
        raise ExecutionError(_describe_failure(
            nb, state['index'], framework, 'failed:') + '\n' +
            _traceback_tail(e)) from e
    finally:
        progress.done()
    return nb


def execute_notebook(nb_path, out_path, mode, *, lock_file, library_dir,
                     cache_dir, cell_timeout=600, progress=None,
                     accel='cpu'):
    """Execute the split notebook `nb_path` (or reuse a cached run of the
    same code) and write the executed notebook to `out_path`.

    Returns a dict: {'path', 'cached', 'seconds', 'key'}.
    """
    nb = nbformat.read(nb_path, as_version=4)
    framework = nb.metadata['d2l_book']['framework']
    key = cache_key(nb, framework, mode, library_dir, lock_file)
    cache_dir = pathlib.Path(cache_dir)
    cached_path = cache_dir / (f'{nb.metadata["d2l_book"]["chapter"]}-'
                               f'{framework}-{key[:20]}.ipynb')
    if cached_path.exists():
        executed = nbformat.read(cached_path, as_version=4)
        if not carry_outputs(executed, nb):
            raise ExecutionError('the cached notebook does not hold the same '
                                 'code cells as the chapter')
        run = nb.metadata['d2l_book']['run'] = \
            executed.metadata['d2l_book']['run']
        write_notebook_atomically(substitute_notebook(nb), out_path)
        return {'path': pathlib.Path(out_path), 'cached': True,
                'seconds': run['seconds'],
                'key': key}

    start = time.perf_counter()
    workdir = pathlib.Path(out_path).parent
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoints = checkpoint_dir(cache_dir, nb, key)
    run_notebook(nb, framework, mode, cell_timeout, workdir, progress,
                 checkpoints)
    seconds = time.perf_counter() - start
    nb.metadata['d2l_book']['run'] = {
        'mode': mode, 'seconds': round(seconds, 1),
        'executed_at': datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec='seconds'),
        'cache_key': key, 'python': sys.version.split()[0],
        # What assembly checks the outputs against, and where they were
        # made (bookbuild.machine: no hostname).
        'accel': accel, 'lock': pathlib.Path(lock_file).name,
        'lock_sha256': lock_digest(lock_file),
        'machine': machine_facts(framework, accel, lock_file)}
    write_notebook_atomically(nb, cached_path)
    # The cached notebook replaces its checkpoints: a rerun reuses it whole.
    shutil.rmtree(checkpoints, ignore_errors=True)
    write_notebook_atomically(substitute_notebook(nb), out_path)
    return {'path': pathlib.Path(out_path), 'cached': False,
            'seconds': seconds, 'key': key}
