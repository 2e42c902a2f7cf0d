"""Writing outputs so that a failure never leaves half a file behind."""
import contextlib
import os
import pathlib
import shutil
import tempfile

import nbformat


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path beside `target`; rename it over `target` only
    if the block finishes, delete it otherwise."""
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f'.{target.name}.',
                               suffix='.tmp')
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are for everyone
    try:
        yield pathlib.Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomically(content, target):
    """Write text or bytes to `target` all at once or not at all."""
    if isinstance(content, str):
        content = content.encode('utf-8')
    with atomic_path(target) as tmp:
        tmp.write_bytes(content)
    return pathlib.Path(target)


def copy_atomically(source, target):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)  # follows symlinks: a real file lands
    return pathlib.Path(target)


def write_notebook_atomically(nb, target):
    nbformat.validate(nb)
    return write_atomically(nbformat.writes(nb), target)
