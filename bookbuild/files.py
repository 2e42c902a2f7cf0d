"""Writing outputs so that a failure never leaves half a file behind, and
naming files in messages."""
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


def write_if_changed(content, target):
    """write_atomically unless `target` holds `content` already (text);
    True if it wrote."""
    target = pathlib.Path(target)
    if target.is_file() and target.read_text(encoding='utf-8') == content:
        return False
    write_atomically(content, target)
    return True


def copy_atomically(source, target):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)  # follows symlinks: a real file lands
    return pathlib.Path(target)


def write_notebook_atomically(nb, target):
    nbformat.validate(nb)
    return write_atomically(nbformat.writes(nb), target)


def display_path(path, root):
    """`path` relative to `root` where it lies inside it, as messages and
    catalogs name files; else as given."""
    path, root = pathlib.Path(path), pathlib.Path(root)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def blocking_file(path):
    """The file that stops `path` from being a directory: `path` itself or
    the nearest of its parents that exists and is not a directory; None
    where nothing does."""
    path = pathlib.Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None
