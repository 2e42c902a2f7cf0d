"""Writing outputs so that a failure never leaves half a file behind."""
import contextlib
import os
import pathlib
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
    try:
        yield pathlib.Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomically(text, target):
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding='utf-8')
    return pathlib.Path(target)


def write_notebook_atomically(nb, target):
    nbformat.validate(nb)
    return write_text_atomically(nbformat.writes(nb), target)
