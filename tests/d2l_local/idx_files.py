"""Small IDX files for the data tests, written the way the format specifies."""
import gzip
import pathlib

import numpy as np


def idx_bytes(array):
    """An IDX payload for a uint8 array: magic 0x0000 08 ndim, big-endian dims."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim])
    header += b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    return header + array.tobytes()


def write_idx(path, array, compress=True):
    path = pathlib.Path(path)
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_bad_magic(path):
    data = bytearray(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    data[0:4] = b'\x12\x34\x56\x78'
    pathlib.Path(path).write_bytes(gzip.compress(bytes(data)))
    return path


def write_truncated(path):
    data = idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-100]
    pathlib.Path(path).write_bytes(gzip.compress(data))
    return path


def fake_fashion_mnist_dir(root, num_train=64, num_val=32):
    """A $D2L_DATA tree holding well-formed but non-genuine files: reading
    them must fail on the checksum, never silently train on fake data."""
    folder = pathlib.Path(root) / 'fashion-mnist'
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (('train', num_train), ('t10k', num_val)):
        write_idx(folder / f'{prefix}-images-idx3-ubyte.gz',
                  rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f'{prefix}-labels-idx1-ubyte.gz',
                  rng.integers(0, 10, (n,)))
    return folder


def data_dir_with_bad_train_images(root, monkeypatch, write_bad):
    """Point $D2L_DATA (smoke mode) at a tree whose training images were
    written by `write_bad`; return that file's path."""
    folder = fake_fashion_mnist_dir(root)
    bad = folder / 'train-images-idx3-ubyte.gz'
    write_bad(bad)
    monkeypatch.setenv('D2L_DATA', str(root))
    monkeypatch.setenv('D2L_MODE', 'smoke')
    return bad
