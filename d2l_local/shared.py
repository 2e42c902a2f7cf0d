"""The framework-free half of d2l_local.

Everything here runs unchanged in the four framework environments (numpy 1.23
for MXNet, numpy 2.x elsewhere), so it must not import any framework. The
framework modules (`d2l_local.torch`, `.mxnet`, `.jax`, `.tensorflow`) build on
it and re-export what a chapter calls.
"""
import contextlib
import ctypes
import dataclasses
import gc
import gzip
import hashlib
import inspect
import json
import os
import pathlib
import random
import re
import resource
import sys
import tempfile
import time
import urllib.request
import zlib

import numpy as np

from d2l_local import GLUE_MIME, checkpoint
# The run modes have their own module (the standard library only), which
# the build reads too; the framework modules take them from here.
from d2l_local.run_modes import MODE_VARIABLE, RUN_MODES, RunMode, run_mode
# The Trainers' lines have their own module, beside the reader the build uses.
from d2l_local.training_summary import memory_line, metrics_text, summary_line

# --------------------------------------------------------------------------
# Start-up noise of native libraries
# --------------------------------------------------------------------------

@contextlib.contextmanager
def native_stderr_without(noise):
    """Hold back what native code writes to file descriptor 2 inside the
    block (C++ logging bypasses Python's sys.stderr, and Jupyter shows it as
    a cell's stderr), then pass on every line that contains none of the
    strings in `noise`: a library's known start-up lines disappear, anything
    unexpected still shows."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode='w+b') as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors='replace').splitlines()
            kept = [line for line in lines
                    if not any(text in line for text in noise)]
            if kept:
                print('\n'.join(kept), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------

class HyperParameters:
    """Turns the arguments of the caller's `__init__` into attributes."""

    def save_hyperparameters(self, ignore=()):
        frame = inspect.currentframe().f_back
        _, _, _, local_vars = inspect.getargvalues(frame)
        self.hparams = {k: v for k, v in local_vars.items()
                        if k not in set(ignore) | {'self'}
                        and not k.startswith('_')}
        for k, v in self.hparams.items():
            setattr(self, k, v)


def add_to_class(Class):
    """Register the decorated function as a method of `Class`.

    Lets a chapter define a class across several cells, one idea per cell.
    """
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
        return obj
    return wrapper


# --------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------

def seed_python_and_numpy(seed):
    """Seed Python and numpy, and restart the framework-free streams that
    make the four frameworks start alike: `data_rng` (the batch order) and
    `canonical_weights` (the initial weights)."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ['PYTHONHASHSEED'] = str(seed)
    _streams.seed = int(seed)
    _streams.data_modules = 0
    _streams.weight_draws = 0


class _Streams:
    """The state behind `data_rng` and `canonical_weights`: the last seed
    and how many generators each stream has handed out since."""
    seed = 0
    data_modules = 0
    weight_draws = 0


_streams = _Streams()
# Distinct stream tags, so the batch order and the weights never share bits.
_DATA_STREAM, _WEIGHT_STREAM = 1, 2


def data_rng():
    """A numpy generator for one DataModule's batch order.

    The k-th DataModule created since `set_seed(s)` gets the same generator
    in every framework, so the four tabs see the same batches in the same
    order (`batch_indices` draws one permutation per epoch from it)."""
    rng = np.random.default_rng(
        [_streams.seed, _DATA_STREAM, _streams.data_modules])
    _streams.data_modules += 1
    return rng


def restart_weight_draws():
    """Number the next `canonical_weights` draws from 0 again: each
    framework calls this when a model starts initialising its layers, so the
    i-th layer of a model gets the same weights in every framework."""
    _streams.weight_draws = 0


def canonical_weights(shape):
    """Xavier-uniform weights for one conv or dense layer, drawn
    framework-free in PyTorch's layout: (out, in) or (out, in, kh, kw).

    The i-th draw since `restart_weight_draws` (i.e. the i-th conv or dense
    layer of a model, in the order its forward pass meets them) comes from
    its own generator, seeded by (seed, i); each framework transposes the
    array into its own layout. Fans as PyTorch and Keras count them:
    fan_in = in * kh * kw, fan_out = out * kh * kw."""
    out_features, in_features = shape[0], shape[1]
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    bound = np.sqrt(6.0 / ((in_features + out_features) * receptive))
    rng = np.random.default_rng(
        [_streams.seed, _WEIGHT_STREAM, _streams.weight_draws])
    _streams.weight_draws += 1
    return rng.uniform(-bound, bound, size=tuple(shape)).astype(np.float32)


def to_channels_last(weights):
    """PyTorch's (out, in, *kernel) layout -> Keras' and Flax's
    (*kernel, in, out)."""
    spatial = tuple(range(2, weights.ndim))
    return np.ascontiguousarray(weights.transpose(spatial + (1, 0)))


def from_channels_last(shape):
    """The PyTorch-layout shape of a Keras/Flax kernel of `shape`."""
    *kernel, c_in, c_out = shape
    return (c_out, c_in, *kernel)


# --------------------------------------------------------------------------
# Values for the prose
# --------------------------------------------------------------------------

# What {glue}`name` may name: a word, as MyST roles and Python names spell it.
GLUE_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*')


def plain_value(value):
    """A Python number, string or list for a framework's scalar or array
    (duck-typed: this module imports no framework), so that format() and
    JSON take it."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.ndarray) and value.ndim:
        return value.tolist()
    item = getattr(value, 'item', None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError, RuntimeError):  # not one element
            pass
    to_numpy = getattr(value, 'numpy', None)
    if callable(to_numpy):
        return plain_value(np.asarray(to_numpy()))
    to_numpy = getattr(value, 'asnumpy', None)  # MXNet
    if callable(to_numpy):
        return plain_value(to_numpy())
    if hasattr(value, '__array__') and not isinstance(value, np.ndarray):
        return plain_value(np.asarray(value))  # JAX
    return value


def _json_value(value):
    """`value` as the notebook can carry it (JSON, finite numbers), or
    None: the text is what the prose shows anyway."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return value


def glue(name, value, fmt=None):
    """Record `value` under `name` for the chapter's prose, where
    {glue}`name` shows it: `format(value, fmt)` (e.g. fmt='.3f', ',' or
    '.1f'), or str(value) without `fmt`.

    The record is a display output of the book's own type, which the build
    reads back from the executed notebook: the page shows each framework's
    value in its own tab's sentence. JupyterLab has no renderer for that
    type and shows nothing; outside Jupyter nothing is shown either."""
    if not isinstance(name, str) or not GLUE_NAME.fullmatch(name):
        raise ValueError(f'glue name {name!r}: use letters, digits and _, '
                         'starting with a letter (it is written '
                         '{glue}`name` in the prose)')
    value = plain_value(value)
    try:
        text = str(value) if fmt is None else format(value, fmt)
    except (TypeError, ValueError) as e:
        raise ValueError(f'glue {name!r}: cannot format {value!r} with '
                         f'{fmt!r} ({e})') from None
    record = {'name': name, 'text': text, 'value': _json_value(value)}
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is not None:
        display({GLUE_MIME: record}, raw=True)


# --------------------------------------------------------------------------
# Fashion-MNIST: reading, locating and fetching the IDX files
# --------------------------------------------------------------------------

FASHION_MNIST_FILES = {
    # name: sha256 of the gzip file as published by Zalando Research
    'train-images-idx3-ubyte.gz':
        'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7',
    'train-labels-idx1-ubyte.gz':
        '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056',
    't10k-images-idx3-ubyte.gz':
        'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa',
    't10k-labels-idx1-ubyte.gz':
        '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
}
FASHION_MNIST_URL = ('http://fashion-mnist.s3-website.eu-central-1.'
                     'amazonaws.com/')
DEBIAN_DIR = pathlib.Path('/usr/share/datasets/fashion-mnist')
TEXT_LABELS = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
               'shirt', 'sneaker', 'bag', 'ankle boot']

HOW_TO_GET = ('Get the real files with `apt-get install dataset-fashion-mnist` '
              f'(they land in {DEBIAN_DIR}), or put the four .gz files from '
              'https://github.com/zalandoresearch/fashion-mnist into $D2L_DATA; '
              'on a machine with internet, set D2L_DOWNLOAD=1 to fetch them.')


class DataFileError(RuntimeError):
    """A data file is missing, truncated or not what it claims to be."""


def data_dir():
    """Where downloaded data is cached: $D2L_DATA, else ~/.cache/d2l_local."""
    env = os.environ.get('D2L_DATA')
    if env:
        return pathlib.Path(env)
    return pathlib.Path.home() / '.cache' / 'd2l_local'


_IDX_DTYPES = {0x08: np.uint8}
# What gzip raises on a damaged stream, by where the damage is: the header
# or the trailer's CRC and length (BadGzipFile), the deflate data itself
# (zlib.error, which is no OSError), or an early end (EOFError).
_DAMAGED_GZIP = (gzip.BadGzipFile, zlib.error, EOFError)


def read_idx(path):
    """Read an IDX file (gzipped or not) into a numpy array.

    Checks the magic number, the element type and that the payload has
    exactly the length the header promises.
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == '.gz' else open
    try:
        with opener(path, 'rb') as f:
            raw = f.read()
    except _DAMAGED_GZIP as e:
        raise DataFileError(
            f'{path}: damaged gzip data ({type(e).__name__}: {e}). Delete it '
            f'and fetch it again. {HOW_TO_GET}') from e
    except OSError as e:
        raise DataFileError(f'{path}: cannot read ({e}). {HOW_TO_GET}') from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataFileError(
            f'{path}: bad magic number {raw[:4].hex() or "(empty file)"}: not '
            f'an IDX file. {HOW_TO_GET}')
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES or ndim == 0:
        raise DataFileError(
            f'{path}: bad magic number {raw[:4].hex()}: unsupported element '
            f'type 0x{type_code:02x} or {ndim} dimensions. {HOW_TO_GET}')
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f'{path}: wrong length: {len(raw)} bytes is '
                            f'shorter than its header. {HOW_TO_GET}')
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], 'big')
                  for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataFileError(
            f'{path}: wrong length: the header promises shape {shape} '
            f'({expected} bytes) but the file has {len(raw)} bytes. '
            f'{HOW_TO_GET}')
    return np.frombuffer(raw, dtype=_IDX_DTYPES[type_code],
                         offset=header).reshape(shape)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


_verified = set()


def _verify(path, name):
    key = (str(path), os.stat(path).st_mtime_ns)
    if key in _verified:
        return
    actual = sha256_of(path)
    if actual != FASHION_MNIST_FILES[name]:
        raise DataFileError(
            f'{path}: checksum mismatch: sha256 {actual}, expected '
            f'{FASHION_MNIST_FILES[name]}. Delete it and fetch it again. '
            f'{HOW_TO_GET}')
    _verified.add(key)


def download(url, target, sha256):
    """Fetch `url` to `target` atomically: verified, then renamed into place."""
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + '.',
                               suffix='.part')
    try:
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(url) as src:
            digest = hashlib.sha256()
            for chunk in iter(lambda: src.read(1 << 20), b''):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DataFileError(
                f'{url}: checksum mismatch: sha256 {digest.hexdigest()}, '
                f'expected {sha256}; nothing was written to {target}.')
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def locate_fashion_mnist_file(name):
    """Path of one of the four files: cache dir, then Debian, then download.

    The caller checks the file's format and checksum after reading it.
    """
    for folder in (data_dir() / 'fashion-mnist', DEBIAN_DIR):
        path = folder / name
        if path.exists():
            return path
    if os.environ.get('D2L_DOWNLOAD') == '1':
        base = os.environ.get('D2L_FASHION_MNIST_URL', FASHION_MNIST_URL)
        return download(base + name, data_dir() / 'fashion-mnist' / name,
                        FASHION_MNIST_FILES[name])
    raise DataFileError(
        f'{name}: not found in {data_dir() / "fashion-mnist"} nor in '
        f'{DEBIAN_DIR}. {HOW_TO_GET}')


def load_fashion_mnist(train):
    """(images uint8 [N, 28, 28], labels int32 [N]) of one split."""
    prefix = 'train' if train else 't10k'
    images_path = locate_fashion_mnist_file(f'{prefix}-images-idx3-ubyte.gz')
    labels_path = locate_fashion_mnist_file(f'{prefix}-labels-idx1-ubyte.gz')
    # Format first, then checksum: the message names the most specific fault.
    images, labels = read_idx(images_path), read_idx(labels_path)
    _verify(images_path, images_path.name)
    _verify(labels_path, labels_path.name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataFileError(
            f'{images_path} and {labels_path} do not fit together: shapes '
            f'{images.shape} and {labels.shape}. {HOW_TO_GET}')
    if labels.max(initial=0) > 9:
        raise DataFileError(f'{labels_path}: labels outside 0..9. '
                            f'{HOW_TO_GET}')
    return images, labels.astype(np.int32)


def fashion_mnist_arrays(train, mode):
    """The split as float32 images in [0, 1] (N, 28, 28) and int32 labels,
    cut to the run mode's number of examples (a fixed, class-balanced-ish
    prefix of a seeded permutation, so every mode sees all ten classes)."""
    images, labels = load_fashion_mnist(train)
    count = mode.cap_examples(len(labels), train)
    if count < len(labels):
        order = np.random.default_rng(0).permutation(len(labels))[:count]
        images, labels = images[order], labels[order]
    return (images.astype(np.float32) / 255.0), labels


def batch_indices(num_examples, batch_size, shuffle, rng):
    """Index arrays of the batches of one epoch (the last one may be short:
    it is kept, so an epoch has ceil(n / batch_size) steps)."""
    order = rng.permutation(num_examples) if shuffle else np.arange(
        num_examples)
    return [order[i:i + batch_size]
            for i in range(0, num_examples, batch_size)]


def _bilinear_matrix(size_in, size_out):
    """(size_out, size_in) weights of 1-D linear interpolation with
    half-pixel centres and no antialiasing: PyTorch's
    `interpolate(mode='bilinear', align_corners=False)`, TensorFlow's and
    JAX's bilinear resize when enlarging."""
    scale = size_in / size_out
    src = np.maximum((np.arange(size_out) + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(int), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = src - low
    weights = np.zeros((size_out, size_in))
    np.add.at(weights, (np.arange(size_out), low), 1.0 - frac)
    np.add.at(weights, (np.arange(size_out), high), frac)
    return weights.astype(np.float32)


def resize_images(images, size):
    """Resize a batch of grey images [N, H, W] to `size` (h, w) bilinearly.

    One numpy implementation for the four frameworks, so their inputs are
    the same to the last bit; a batch at a time it costs two small matrix
    products."""
    n, height, width = images.shape
    h, w = size
    if (h, w) == (height, width):
        return images
    rows, cols = _bilinear_matrix(height, h), _bilinear_matrix(width, w)
    return np.matmul(np.matmul(rows, images), cols.T).astype(np.float32)


# --------------------------------------------------------------------------
# Data modules: the skeleton every framework's DataModule fills in
# --------------------------------------------------------------------------

class BatchLoader:
    """Minibatches of in-memory arrays, the one loader of the four
    frameworks: each pass over a shuffled loader draws a new permutation from
    its seeded generator (`batch_indices`: the same order in every
    framework), `transform` turns a batch of host arrays into the model's
    inputs (resizing, the channel axis), and `convert` turns each array into
    the framework's own.

    Indexing whole batches beats a loader with worker processes here: the
    data already sits in memory, and workers would fight the training for
    the few CPU cores.
    """

    def __init__(self, arrays, batch_size, shuffle, rng, convert,
                 transform=None):
        self.arrays, self.batch_size = arrays, batch_size
        self.shuffle, self.rng = shuffle, rng
        self.convert, self.transform = convert, transform

    def __len__(self):
        return -(-len(self.arrays[0]) // self.batch_size)

    def batch(self, idx):
        """The batch of the examples `idx` (an index array or a slice)."""
        batch = tuple(a[idx] for a in self.arrays)
        if self.transform is not None:
            batch = self.transform(batch)
        return tuple(self.convert(a) for a in batch)

    def __iter__(self):
        for idx in batch_indices(len(self.arrays[0]), self.batch_size,
                                 self.shuffle, self.rng):
            yield self.batch(idx)


class DataModule(HyperParameters):
    """The skeleton of `d2l.DataModule`: `get_dataloader(train)` gives the
    batches. A framework's DataModule supplies `_run_mode` and `_convert`
    (a host array to the framework's array)."""

    def __init__(self):
        # Its own generator (data_rng): set_seed(s) fixes every epoch's
        # order, the same in every framework, and the model's randomness
        # cannot shift it.
        self.rng = data_rng()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None),
                         transform=None):
        """Batches of (a slice of) in-memory arrays: shuffled every epoch
        when training, `transform` applied per batch."""
        return BatchLoader(tuple(a[indices] for a in tensors),
                           self.batch_size, shuffle=train, rng=self.rng,
                           convert=self._convert, transform=transform)


class FashionMNIST(DataModule):
    """The skeleton of `d2l.FashionMNIST`: the real IDX files cut to the run
    mode's caps (examples, image size). Images are resized per batch, never
    all at once; a framework's FashionMNIST supplies `_prepare` (a resized
    batch in its layout and label type) and `visualize`."""

    def __init__(self, batch_size=64, resize=(28, 28)):
        super().__init__()
        self.save_hyperparameters()
        self.mode = self._run_mode()
        self.resize = self.mode.cap_image_size(tuple(resize))
        self.train = fashion_mnist_arrays(True, self.mode)
        self.val = fashion_mnist_arrays(False, self.mode)

    def get_dataloader(self, train):
        data = self.train if train else self.val
        return self.get_tensorloader(data, train, transform=self._prepare)

    def text_labels(self, indices):
        return [TEXT_LABELS[int(i)] for i in indices]


# --------------------------------------------------------------------------
# Progress: the board that plots, the log that prints
# --------------------------------------------------------------------------

def in_notebook():
    """True inside a Jupyter kernel (live plots), False in a plain process."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, 'kernel')


def use_svg_display():
    """Plots in notebooks as SVG and PNG: the HTML inlines the crisp SVG,
    while JupyterLab draws SVG outputs only in trusted notebooks and falls
    back to the PNG in the others (an executed notebook opened anew)."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    set_matplotlib_formats('svg', 'png')


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """A grid of grey images (numpy arrays [N, H, W]) with optional titles."""
    import matplotlib
    if not in_notebook():
        matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    use_svg_display()
    _, axes = plt.subplots(num_rows, num_cols, squeeze=False,
                           figsize=(num_cols * scale, num_rows * scale))
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(img, cmap='gray')
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    return axes


# The curves' order in a board's legend (and their styles): the same in every
# tab, whichever metric a framework happens to draw first.
LEGEND_ORDER = ('train_loss', 'train_acc', 'val_loss', 'val_acc')


def legend_position(label):
    """Sort key of a board's curve: LEGEND_ORDER first, others by name."""
    if label in LEGEND_ORDER:
        return (0, LEGEND_ORDER.index(label), '')
    return (1, 0, label)


class ProgressBoard(HyperParameters):
    """Plots data points as they arrive.

    In Jupyter one figure is shown and updated in place (at most every
    `min_interval` seconds, so that plotting never dominates training); an
    executed notebook therefore keeps exactly one final figure. Outside
    Jupyter nothing is drawn until `show()` is called.
    """

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None,
                 xscale='linear', yscale='linear',
                 ls=('-', '--', '-.', ':'), colors=('C0', 'C1', 'C2', 'C3'),
                 fig=None, axes=None, figsize=(3.5, 2.5), display=True,
                 min_interval=1.0):
        self.save_hyperparameters()
        self.raw_points = {}
        self.data = {}
        self._handle = None
        self._last_draw = 0.0

    def draw(self, x, y, label, every_n=1):
        """Add (x, y) to line `label`; every `every_n` points become one
        plotted point, their mean."""
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append((float(x), float(y)))
        if len(points) != every_n:
            return
        line.append((np.mean([p[0] for p in points]),
                     np.mean([p[1] for p in points])))
        points.clear()
        if self.display and in_notebook() and (
                time.monotonic() - self._last_draw >= self.min_interval):
            self.show()

    def figure(self):
        """A matplotlib figure of all lines so far."""
        import matplotlib
        if not in_notebook():
            matplotlib.use('Agg', force=False)
        import matplotlib.pyplot as plt
        if self.fig is None:
            self.fig = plt.figure(figsize=self.figsize)
            plt.close(self.fig)  # shown through display(), never by pyplot
        fig = self.fig
        axes = self.axes if self.axes is not None else fig.gca()
        axes.cla()
        labels = sorted(self.data, key=legend_position)
        for label, ls, color in zip(labels, self.ls * 4, self.colors * 4):
            line = self.data[label]
            if line:
                # Markers: a validation curve after one epoch is one point,
                # which a line alone does not draw; unclipped, since that
                # point sits on the right edge (x = the last epoch).
                axes.plot([p[0] for p in line], [p[1] for p in line],
                          linestyle=ls, color=color, label=label,
                          marker='o', markersize=3, clip_on=False)
        axes.set_xlabel(self.xlabel or 'epoch')
        if self.ylabel:
            axes.set_ylabel(self.ylabel)
        if self.xlim:
            axes.set_xlim(self.xlim)
        if self.ylim:
            axes.set_ylim(self.ylim)
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        if self.data:
            axes.legend()
        axes.grid(alpha=0.3)
        fig.tight_layout()
        return fig

    def show(self):
        """Draw now: update the figure in place in Jupyter."""
        if not (self.display and in_notebook()):
            return
        from IPython.display import display
        use_svg_display()
        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._last_draw = time.monotonic()


def weighted_mean(values, weights):
    """The mean of per-batch means weighted by batch sizes: an epoch's mean
    over examples, however short its last batch (nan for no batch)."""
    total = sum(weights)
    if not total:
        return float('nan')
    return float(np.dot(np.asarray(values, dtype=np.float64),
                        np.asarray(weights, dtype=np.float64)) / total)


def validation_means(batch_metrics, batch_sizes):
    """An epoch's validation figures, the one rule of the four Trainers'
    curves and logs: each metric over all the validation examples, i.e. the
    batches' means weighted by their sizes. `batch_metrics` holds one dict
    {name: the batch's mean} per batch, read to the host. The plain mean of
    the batch means would count each example of a short last batch more
    than the others (and differ from one batch size to another)."""
    names = batch_metrics[0] if batch_metrics else {}
    return {name: weighted_mean([m[name] for m in batch_metrics], batch_sizes)
            for name in names}


# The book's build names a file here; each epoch's line is appended to it,
# and the build prints it while the cell still runs (the notebook's own output
# only reaches the build when the cell ends).
PROGRESS_FILE_VARIABLE = 'D2L_PROGRESS_FILE'


def report_progress(line):
    """Append `line` to the file $D2L_PROGRESS_FILE names, if any."""
    path = os.environ.get(PROGRESS_FILE_VARIABLE)
    if not path:
        return
    with open(path, 'a', encoding='utf-8') as f:
        f.write(line.rstrip('\n') + '\n')


class TrainingLog:
    """Per-epoch means of the training metrics, printed as plain lines.

    A line per epoch outside Jupyter (where nothing is plotted); inside
    Jupyter the board shows the curves and only the final summary prints.
    Either way the line goes to `report_progress` for the book's build log.
    """

    def __init__(self, max_epochs, stream=None):
        self.max_epochs = max_epochs
        self.stream = stream or sys.stdout
        self.history = []
        self._start = time.perf_counter()
        self._epoch_start = self._start

    def end_epoch(self, epoch, train_loss, val_loss, val_acc, examples):
        now = time.perf_counter()
        seconds = now - self._epoch_start
        self._epoch_start = now
        row = {'epoch': epoch + 1, 'train_loss': float(train_loss),
               'val_loss': float(val_loss), 'val_acc': float(val_acc),
               'seconds': seconds,
               'examples_per_sec': examples / seconds if seconds else 0.0}
        self.history.append(row)
        self._print(row)
        return row

    def _print(self, row):
        line = (f'epoch {row["epoch"]}/{self.max_epochs}: '
                f'{metrics_text(row)} ({row["seconds"]:.1f} s, '
                f'{row["examples_per_sec"]:.0f} examples/s)')
        if not in_notebook():
            print(line, file=self.stream, flush=True)
        report_progress(line)

    def elapsed(self):
        """Seconds since the log started (resumed epochs' time included)."""
        return time.perf_counter() - self._start

    def resume(self, rows, elapsed):
        """Continue after the epochs `rows` of an interrupted run (which
        took `elapsed` seconds): their lines are printed again as they
        were, and the summary's time counts them."""
        for row in rows:
            self.history.append(row)
            self._print(row)
        now = time.perf_counter()
        self._start, self._epoch_start = now - elapsed, now

    def summary(self, memory=None):
        """The last epoch's metrics and the time per epoch (and `memory`,
        a `memory_line`, if given)."""
        if not self.history:
            return 'no epoch finished'
        last = self.history[-1]
        total = time.perf_counter() - self._start
        return summary_line(last, len(self.history), total, memory)


def peak_host_memory():
    """The most memory this process has held so far (its peak resident
    set), in bytes: where a model trains on the CPU, its tensors are in it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB


def host_memory_line():
    """The memory line of a fit on the CPU, in every framework."""
    return memory_line(peak_host_memory(), 'the whole process, on the CPU')


# --------------------------------------------------------------------------
# The Trainer's skeleton: the loop every framework's Trainer fills in
# --------------------------------------------------------------------------

class Trainer(HyperParameters):
    """The skeleton of `d2l.Trainer`: `fit` runs the epochs, times and logs
    them, plots the validation figures and prints the run mode, the device
    and the summary, the same in every framework.

    A framework's Trainer supplies the hooks: `_run_mode`, `_device` (the
    device and a line naming it), `_device_scope` (where arrays are made
    during the fit; none by default), `_reset_peak_memory`, `_peak_memory`,
    `prepare_model` (the model and its optimizer, ready on the device),
    `_checkpoint_state` and `_load_checkpoint_state` (the model's and the
    optimizer's state and the framework's random stream, as picklable
    objects) and what a reader studies: `fit_epoch`, whose training steps
    end with `_end_epoch`, and `_validate`.
    """

    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        self.save_hyperparameters()
        self.history = []
        self.step_losses = []

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader)

    def _device_scope(self):
        return contextlib.nullcontext()

    def fit(self, model, data):
        mode = self._run_mode()
        self.device, device_line = self._device()
        print(f'{mode.describe()}; {device_line}', flush=True)
        self._reset_peak_memory(self.device)
        self.epochs = mode.cap_epochs(self.max_epochs)
        with self._device_scope():
            self.prepare_data(data)
            self.prepare_model(model)
            self.log = TrainingLog(self.epochs)
            self.history = self.log.history
            self.step_losses = []
            self.epoch = self.train_batch_idx = self.val_batch_idx = 0
            self._resume(model)
            for self.epoch in range(len(self.history), self.epochs):
                self.fit_epoch()
                self._save_checkpoint(model)
        model.board.show()
        print(self.log.summary(self._peak_memory(self.device)), flush=True)

    def _resume(self, model):
        """Continue from this fit's checkpoint, where the build keeps one
        (`d2l_local.checkpoint`): the finished epochs are not run again but
        printed and plotted as they were, and the model, the optimizer, the
        batch order and the random streams continue from where they were,
        so the run ends with the numbers of an uninterrupted one."""
        self._checkpoint = checkpoint.FitCheckpoint.for_next_fit({
            'model': type(model).__name__, 'max_epochs': self.max_epochs,
            'epochs': self.epochs, 'train_batches': self.num_train_batches,
            'val_batches': self.num_val_batches})
        saved = self._checkpoint and self._checkpoint.load()
        if not saved:
            return
        self._load_checkpoint_state(saved['framework'])
        order = getattr(self.train_dataloader, 'rng', None)
        if order is not None:
            order.bit_generator.state = saved['batch_order']
        random.setstate(saved['python_random'])
        np.random.set_state(saved['numpy_random'])
        model.board.raw_points, model.board.data = saved['board']
        self.step_losses = saved['step_losses']
        self.train_batch_idx, self.val_batch_idx = saved['batches_seen']
        self.log.resume(saved['history'], saved['elapsed'])

    def _save_checkpoint(self, model):
        """After an epoch: everything `_resume` needs, where the build
        keeps checkpoints."""
        if self._checkpoint is None:
            return
        order = getattr(self.train_dataloader, 'rng', None)
        self._checkpoint.save({
            'framework': self._checkpoint_state(),
            'batch_order': order.bit_generator.state if order else None,
            'python_random': random.getstate(),
            'numpy_random': np.random.get_state(),
            'board': (model.board.raw_points, model.board.data),
            'step_losses': self.step_losses,
            'batches_seen': (self.train_batch_idx, self.val_batch_idx),
            'history': self.history, 'elapsed': self.log.elapsed()})

    def _end_epoch(self, step_losses, sizes, val):
        """The end of an epoch, once its figures are on the host: the step
        losses kept, the validation figures plotted, the epoch logged (its
        train loss the example-weighted mean of the step losses)."""
        self.step_losses += step_losses
        for key, value in val.items():
            self.model.plot(key, value, train=False)
        self.log.end_epoch(self.epoch, weighted_mean(step_losses, sizes),
                           val.get('loss', float('nan')),
                           val.get('acc', float('nan')), sum(sizes))


# --------------------------------------------------------------------------
# Memory of one training step (the memory-efficient DenseNet chapter)
# --------------------------------------------------------------------------

@dataclasses.dataclass
class StepMemory:
    """What one training step costs: its peak memory above what the process
    held just before it, the bytes kept for the backward pass, and its time.
    `peak_source` / `kept_source` say what measured each figure."""
    label: str
    peak_bytes: int
    kept_bytes: int | None
    seconds: float
    peak_source: str = ''
    kept_source: str = ''


_PROC_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'


def _proc_status_bytes(field):
    """A `kB` field of /proc/self/status (VmRSS, VmHWM) in bytes."""
    try:
        with open(_PROC_STATUS) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        raise RuntimeError(
            f'{_PROC_STATUS} is missing: measuring the memory of one step on '
            'the CPU needs Linux') from None
    raise RuntimeError(f'{_PROC_STATUS} has no {field} line')


def _malloc_trim():
    # glibc keeps freed memory in its arenas; without a trim the resident
    # set after a step says nothing about what the next step will need.
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def host_rss_bytes(trim=False):
    """The process's resident memory now (VmRSS), in bytes; glibc's free
    lists are returned to the system first when `trim`."""
    if trim:
        gc.collect()
        _malloc_trim()
    return _proc_status_bytes('VmRSS')


class HostPeakMemory:
    """Peak resident memory of the process inside a `with` block, above what
    it held when the block began (`.peak_bytes`; `.baseline_bytes` is the
    resident memory at the start, after a trim). Linux resets the peak
    (`VmHWM`) when 5 is written to /proc/self/clear_refs, so, unlike
    `ru_maxrss`, this measures one step, not the process's whole life."""

    def __init__(self):
        self.baseline_bytes = None
        self.peak_bytes = None

    def __enter__(self):
        self.baseline_bytes = host_rss_bytes(trim=True)
        try:
            with open(_CLEAR_REFS, 'w') as f:
                f.write('5')
        except OSError as e:
            raise RuntimeError(
                f'cannot reset the peak through {_CLEAR_REFS} ({e}): '
                'measuring one step on the CPU needs Linux') from None
        return self

    def __exit__(self, *exc):
        self.peak_bytes = max(
            0, _proc_status_bytes('VmHWM') - self.baseline_bytes)
        return False


def _mib(n):
    return '-' if n is None else f'{n / 2**20:,.1f}'


def step_memory_table(rows):
    """One plain-text table of `StepMemory` rows, the same lines in every
    tab; the last row is compared with the first (efficient / naive)."""
    rows = list(rows)
    if not rows:
        raise ValueError('step_memory_table: no rows to show')
    width = max(12, *(len(r.label) for r in rows))
    lines = [f'{"":{width}}  {"peak MiB":>9}  {"kept MiB":>9}  {"s/step":>7}']
    for r in rows:
        lines.append(f'{r.label:{width}}  {_mib(r.peak_bytes):>9}  '
                     f'{_mib(r.kept_bytes):>9}  {r.seconds:>7.3f}')
    if len(rows) > 1:
        first, last = rows[0], rows[-1]

        def ratio(a, b):
            return f'{a / b:.2f}x' if a is not None and b else '-'
        lines.append(f'{"ratio":{width}}  '
                     f'{ratio(last.peak_bytes, first.peak_bytes):>9}  '
                     f'{ratio(last.kept_bytes, first.kept_bytes):>9}  '
                     f'{ratio(last.seconds, first.seconds):>7}')
    sources = {(r.peak_source, r.kept_source) for r in rows}
    for peak, kept in sorted(sources):
        lines.append(f'peak: {peak or "?"}; kept: {kept or "?"}')
    return '\n'.join(lines)


def plot_step_memory(rows, title=None, figsize=(4.5, 3)):
    """Bars of peak and kept-for-backward MiB per `StepMemory` row (naive
    next to memory-efficient). In a notebook the figure is the cell's
    output (SVG); nothing is returned."""
    rows = list(rows)
    labels = [r.label for r in rows]
    series = {'step peak': [r.peak_bytes for r in rows],
              'kept for backward': [r.kept_bytes or 0 for r in rows]}
    ax = _memory_axes(figsize)
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([j + i * width for j in range(len(rows))],
               [v / 2**20 for v in values], width, label=name)
    ax.set_xticks([j + width * (len(series) - 1) / 2
                   for j in range(len(rows))], labels)
    _finish_memory_axes(ax, 'MiB', title)


def plot_memory_growth(xs, series, xlabel, title=None, figsize=(4.5, 3)):
    """Curves of memory against `xs` (e.g. a dense block's depth): `series`
    maps a legend label to byte counts, plotted in MiB. In a notebook the
    figure is the cell's output (SVG); nothing is returned."""
    ax = _memory_axes(figsize)
    for label, values in series.items():
        ax.plot(list(xs), [v / 2**20 for v in values], marker='o',
                label=label)
    ax.set_xlabel(xlabel)
    _finish_memory_axes(ax, 'MiB', title)


def _memory_axes(figsize):
    import matplotlib
    if not in_notebook():
        matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    use_svg_display()
    return plt.subplots(figsize=figsize)[1]


def _finish_memory_axes(ax, ylabel, title):
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.figure.tight_layout()
