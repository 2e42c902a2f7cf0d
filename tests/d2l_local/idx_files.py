"""Small IDX files for the data tests, written the way the format specifies."""
import gzip
import pathlib
import zlib

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


def compressible_idx_gzip():
    """A gzipped IDX file of image-like data (smooth ramps, few grey levels):
    zlib codes it with Huffman tables and back-references, as it does the
    real files, so damage inside it reaches the decoder (stored blocks of
    random bytes would only ever fail the CRC)."""
    ramp = np.add.outer(np.arange(28), np.arange(28)) * 4 % 256 // 32 * 32
    images = np.stack([np.roll(ramp, k, axis=1) for k in range(8)])
    return gzip.compress(idx_bytes(images), mtime=0)


# Where a gzip file can be damaged (RFC 1952: a 10-byte header, the deflate
# data, then the CRC-32 and the length of the data, 4 bytes each).
GZIP_DAMAGE = {
    'magic number': lambda b: _xor(b, 0, 0xff),
    'compression method': lambda b: _xor(b, 2, 0x07),
    'header flags (a header CRC that is not there)': lambda b: _xor(b, 3, 0x02),
    'header flags (an extra field that is not there)':
        lambda b: _xor(b, 3, 0x04),
    'middle of the deflate data': lambda b: _xor(b, _mid_deflate_byte(b),
                                                 0xff),
    'CRC-32': lambda b: _xor(b, len(b) - 8, 0xff),
    'length': lambda b: _xor(b, len(b) - 4, 0xff),
    'truncated in the deflate data': lambda b: b[:len(b) // 2],
    'truncated in the trailer': lambda b: b[:-4],
    'garbage after the end': lambda b: b + b'garbage!',
}


def _xor(data, index, mask):
    damaged = bytearray(data)
    damaged[index] ^= mask
    return bytes(damaged)


def _mid_deflate_byte(data):
    """The byte nearest the middle of the deflate data whose damage the
    decoder itself rejects (zlib.error), rather than only the CRC check:
    searched, so the case holds whichever zlib compressed the file."""
    start, end = 10, len(data) - 8
    middle = (start + end) // 2
    for offset in range(end - start):
        for index in (middle + offset, middle - offset):
            if start <= index < end:
                try:
                    gzip.decompress(_xor(data, index, 0xff))
                except zlib.error:
                    return index
                except (OSError, EOFError):
                    pass
    raise AssertionError('no damage inside the deflate data trips zlib')


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
