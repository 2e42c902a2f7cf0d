"""d2l_local.mxnet: data, training, BatchNorm, determinism, printing.

Run in the MXNet environment:
    .venv/mxnet/bin/python -m pytest tests/d2l_local/test_mxnet.py
"""
import math
import pathlib
import re
import sys

import numpy as onp
import pytest

from d2l_local import omp_threads

# Before MXNet loads, which is when it takes its thread count.
omp_threads.give_mxnet_every_core()
mx = pytest.importorskip('mxnet')
from mxnet import autograd, gluon, np, npx  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import short_last_batch  # noqa: E402
# The tests all four suites share (one body, this module under test).
from common_suite import *  # noqa: E402,F401,F403

from d2l_local import mxnet as d2l  # noqa: E402
from d2l_local import shared  # noqa: E402

# A mode of our own: real data, small enough for a test, big enough to learn.
TINY = shared.RunMode('tiny', max_epochs=2, train_examples=3_000,
                      val_examples=1_000, max_image_size=28)


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'smoke')


class RowsClassifier(d2l.Classifier):
    """common_suite's model of its rows: BatchNorm statistics and momentum
    must come back from a checkpoint (no dropout: MXNet cannot read its
    random stream back)."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.HybridSequential()
        self.net.add(nn.Dense(8), nn.BatchNorm(), nn.Activation('relu'),
                     nn.Dense(11))

    def configure_optimizers(self):
        return gluon.Trainer(self.collect_params(), 'sgd',
                             {'learning_rate': self.lr, 'momentum': 0.9})


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(shared.RUN_MODES, 'tiny', TINY)
    monkeypatch.setenv('D2L_MODE', 'tiny')


def bn():
    return nn.BatchNorm(momentum=0.9, epsilon=1e-5)


class LeNetBN(d2l.Classifier):
    """A LeNet with BatchNorm: small, quick, and it learns."""

    def __init__(self, lr=0.1, num_classes=10, initialize=True):
        super().__init__()
        self.save_hyperparameters(ignore=['initialize'])
        self.net = nn.HybridSequential()
        self.net.add(nn.Conv2D(6, kernel_size=5, padding=2), bn(),
                     nn.Activation('relu'), nn.AvgPool2D(2, strides=2),
                     nn.Conv2D(16, kernel_size=5), bn(),
                     nn.Activation('relu'), nn.AvgPool2D(2, strides=2),
                     nn.Dense(120, activation='relu'), nn.Dense(num_classes))
        if initialize:
            self.net.initialize(d2l.init_cnn)


def fit(max_epochs=1, lr=0.1, batch_size=128, resize=(28, 28), **kwargs):
    model = LeNetBN(lr=lr)
    data = d2l.FashionMNIST(batch_size=batch_size, resize=resize)
    trainer = d2l.Trainer(max_epochs=max_epochs, **kwargs)
    trainer.fit(model, data)
    return model, data, trainer


def labels_of(loader):
    return onp.concatenate([y.asnumpy() for _, y in loader])


# ---------------------------------------------------------------- the module

def test_numpy_interface_is_on():
    assert npx.is_np_array() and npx.is_np_shape()
    assert isinstance(np.zeros(2), mx.numpy.ndarray)


def test_device_helpers():
    assert d2l.cpu() == mx.cpu()
    assert d2l.gpu(1) == mx.gpu(1)
    assert d2l.num_gpus() == mx.context.num_gpus()
    expected = d2l.gpu(0) if d2l.num_gpus() else d2l.cpu()
    assert d2l.try_gpu() == expected
    assert d2l.try_gpu(d2l.num_gpus()) == d2l.cpu()


# ---------------------------------------------------------------- data

def test_smoke_batches_shapes_dtypes_layout(smoke):
    data = d2l.FashionMNIST(batch_size=128, resize=(96, 96))
    assert data.resize == (32, 32)  # smoke caps 96x96 at 32x32
    train, val = data.train_dataloader(), data.val_dataloader()
    assert (len(train), len(val)) == (3, 2)  # 384 / 128, 256 / 128
    batches = list(train)
    assert [y.shape[0] for _, y in batches] == [128, 128, 128]
    assert [y.shape[0] for _, y in val] == [128, 128]
    X, y = batches[0]
    assert isinstance(X, mx.numpy.ndarray)
    assert X.shape == (128, 1, 32, 32)  # NCHW
    assert X.dtype == onp.float32 and y.dtype == onp.int32
    assert X.ctx == mx.cpu()
    assert 0 <= float(X.min()) and float(X.max()) <= 1
    assert float(X.max()) > 0.5
    labels = onp.concatenate([y.asnumpy() for _, y in batches])
    assert labels.min() >= 0 and labels.max() <= 9
    assert set(labels.tolist()) == set(range(10))


def test_quick_batch_counts(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'quick')
    data = d2l.FashionMNIST(batch_size=128)
    # all 10,000 test images: the last batch is short
    assert len(data.train[0]) == 12_000 and len(data.val[0]) == 10_000
    assert len(data.train_dataloader()) == math.ceil(12_000 / 128) == 94
    assert len(data.val_dataloader()) == 79
    sizes = [y.shape[0] for _, y in data.val_dataloader()]
    assert sizes[-1] == 10_000 - 78 * 128 and sum(sizes) == 10_000


def half_pixel_bilinear(images, height, width):
    """Reference resize in numpy: bilinear with half-pixel centres, what
    torchvision's Resize (and PyTorch's interpolate with
    align_corners=False) computes when enlarging."""
    def taps(out_size, in_size):
        src = (onp.arange(out_size) + 0.5) * in_size / out_size - 0.5
        src = onp.clip(src, 0, in_size - 1)
        lo = onp.floor(src).astype(int)
        hi = onp.minimum(lo + 1, in_size - 1)
        return lo, hi, (src - lo).astype(onp.float32)
    y0, y1, fy = taps(height, images.shape[1])
    x0, x1, fx = taps(width, images.shape[2])
    rows = (images[:, y0] * (1 - fy)[:, None]
            + images[:, y1] * fy[:, None])
    return rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx


def test_resize_is_bilinear_per_batch(smoke):
    data = d2l.FashionMNIST(batch_size=64, resize=(32, 32))
    # the stored images stay 28x28: resizing happens per batch
    assert data.train[0].shape == (384, 28, 28)
    X, _ = next(iter(data.val_dataloader()))
    assert X.shape == (64, 1, 32, 32)
    raw = data.val[0][:64]
    onp.testing.assert_allclose(X.asnumpy()[:, 0],
                                half_pixel_bilinear(raw, 32, 32),
                                atol=1e-5)
    # a non-square target: (height, width), not (width, height)
    tall = d2l.FashionMNIST(batch_size=8, resize=(32, 30))
    X, _ = next(iter(tall.val_dataloader()))
    assert X.shape == (8, 1, 32, 30)
    onp.testing.assert_allclose(X.asnumpy()[:, 0],
                                half_pixel_bilinear(raw[:8], 32, 30),
                                atol=1e-5)
    # no resize asked: the very same pixels
    plain = d2l.FashionMNIST(batch_size=64)
    onp.testing.assert_array_equal(
        next(iter(plain.val_dataloader()))[0].asnumpy()[:, 0], raw)


def test_train_loader_shuffles_each_epoch_val_does_not(smoke):
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=128)
    loader = data.train_dataloader()
    first, second = labels_of(loader), labels_of(loader)
    assert not onp.array_equal(first, second)
    assert sorted(first.tolist()) == sorted(data.train[1].tolist())
    onp.testing.assert_array_equal(labels_of(data.val_dataloader()),
                                   data.val[1])
    # seeded: the same seed gives the same order
    d2l.set_seed(0)
    again = d2l.FashionMNIST(batch_size=128)
    onp.testing.assert_array_equal(first, labels_of(again.train_dataloader()))


def test_text_labels_and_visualize(smoke):
    data = d2l.FashionMNIST(batch_size=8)
    assert data.text_labels([0, 9, np.array(1)]) == [
        't-shirt', 'ankle boot', 'trouser']
    batch = next(iter(data.val_dataloader()))
    import matplotlib.pyplot as plt
    plt.close('all')
    assert data.visualize(batch) is None  # the figure is the output
    axes = plt.gcf().axes
    assert len(axes) == 8
    assert axes[0].get_title() == data.text_labels(batch[1][:1].asnumpy())[0]
    import matplotlib.pyplot as plt
    plt.close('all')


# ---------------------------------------------------------------- training

def test_training_learns(tiny):
    d2l.set_seed(0)
    model, data, trainer = fit(max_epochs=2, lr=0.1)
    history = trainer.history
    assert [row['epoch'] for row in history] == [1, 2]
    assert len(data.val[0]) == 1_000
    # chance is loss ln(10) = 2.30 and accuracy 0.1
    assert history[-1]['train_loss'] < history[0]['train_loss'] < 2.0
    assert history[-1]['val_loss'] < 1.0
    assert history[-1]['val_acc'] > 0.6
    # the whole network ran as one compiled graph
    assert model.net._active
    # the recorded validation numbers are those of the trained model, in
    # inference mode (outside autograd.record)
    X = np.array(data.val[0][:, None])
    y = np.array(data.val[1])
    acc = float(model.accuracy(model(X), y))
    assert acc == pytest.approx(history[-1]['val_acc'], abs=1e-6)
    # the board got the curves: 2 train points and 1 val point per epoch
    assert len(model.board.data['train_loss']) == 4
    assert len(model.board.data['val_loss']) == 2
    assert len(model.board.data['val_acc']) == 2
    assert model.board.data['val_acc'][-1][0] == 2  # x = epoch


def test_batchnorm_statistics_move_in_training_and_serve_in_eval(tiny):
    d2l.set_seed(0)
    model = LeNetBN()
    model.count_parameters((1, 1, 28, 28))  # materialise the parameters
    layer = model.net[1]
    mean, var = layer.running_mean, layer.running_var
    # materialising (an inference-mode call) did not touch the statistics
    onp.testing.assert_array_equal(mean.data().asnumpy(), onp.zeros(6))
    onp.testing.assert_array_equal(var.data().asnumpy(), onp.ones(6))
    d2l.Trainer(max_epochs=1).fit(model, d2l.FashionMNIST(batch_size=256))
    moved_mean = mean.data().asnumpy()
    moved_var = var.data().asnumpy()
    assert not onp.allclose(moved_mean, 0, atol=1e-3)
    assert not onp.allclose(moved_var, 1, atol=1e-3)
    # inference mode normalises with those running statistics ...
    X = np.random.normal(1, 3, size=(8, 6, 5, 5))
    Y = layer(X).asnumpy()
    shape = (1, -1, 1, 1)
    gamma = layer.gamma.data().asnumpy().reshape(shape)
    beta = layer.beta.data().asnumpy().reshape(shape)
    expected = ((X.asnumpy() - moved_mean.reshape(shape))
                / onp.sqrt(moved_var.reshape(shape) + 1e-5) * gamma + beta)
    onp.testing.assert_allclose(Y, expected, rtol=1e-4, atol=1e-4)
    # ... and leaves them alone
    onp.testing.assert_array_equal(mean.data().asnumpy(), moved_mean)
    # training mode normalises with the batch's statistics and (in MXNet,
    # during the backward pass) folds them into the running averages with
    # momentum 0.9; the running variance averages the biased batch variance
    with autograd.record():
        Y_train = layer(X)
    Y_train.backward()
    batch_mean = Y_train.asnumpy().mean(axis=(0, 2, 3))
    onp.testing.assert_allclose(batch_mean, beta.ravel(), atol=1e-4)
    x = X.asnumpy()
    onp.testing.assert_allclose(
        mean.data().asnumpy(), 0.9 * moved_mean + 0.1 * x.mean(axis=(0, 2, 3)),
        rtol=1e-5, atol=1e-5)
    onp.testing.assert_allclose(
        var.data().asnumpy(), 0.9 * moved_var + 0.1 * x.var(axis=(0, 2, 3)),
        rtol=1e-4, atol=1e-4)


def test_smoke_fit_repeats_its_numbers(smoke):
    def run():
        d2l.set_seed(0)
        _, _, trainer = fit(max_epochs=3)
        return [(r['train_loss'], r['val_loss'], r['val_acc'])
                for r in trainer.history]
    first, second = run(), run()
    assert len(first) == 1  # smoke: one epoch however many are asked
    assert first == second
    d2l.set_seed(1)
    _, _, trainer = fit(max_epochs=1)
    assert trainer.history[0]['train_loss'] != first[0][0]


def test_trainer_prints_mode_device_and_a_line_per_epoch(tiny, capsys,
                                                         monkeypatch):
    monkeypatch.setitem(shared.RUN_MODES, 'tiny', shared.RunMode(
        'tiny', max_epochs=2, train_examples=256, val_examples=128,
        max_image_size=28))
    fit(max_epochs=5, num_gpus=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith('run mode: tiny (at most 2 epoch(s)')
    assert lines[0].endswith('; device: CPU')
    assert sum(line.startswith('run mode') for line in lines) == 1
    epochs = [line for line in lines if line.startswith('epoch ')]
    assert [line.split(':')[0] for line in epochs] == ['epoch 1/2',
                                                       'epoch 2/2']
    assert lines[-1].startswith('train loss') and '2 epoch(s)' in lines[-1]
    assert len(lines) == 4
    peak = re.search(r'; peak memory ([\d,]+) MiB \(the whole process, on '
                     r'the CPU\)$', lines[-1])
    assert peak and int(peak[1].replace(',', '')) > 10, lines[-1]


def test_asking_for_a_missing_gpu_trains_on_cpu_and_says_so(smoke, capsys,
                                                           monkeypatch):
    monkeypatch.setattr(d2l, 'num_gpus', lambda: 0)
    model, _, _ = fit(num_gpus=1)
    out = capsys.readouterr().out
    assert 'device: CPU (asked for 1 GPU(s), none found)' in out
    assert model.net[0].weight.list_ctx() == [mx.cpu()]


def test_gradient_clipping_bounds_the_update(smoke):
    class OneBatch(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 64
            rng = onp.random.default_rng(0)
            # huge inputs, huge gradients
            self.arrays = (rng.normal(0, 100, (64, 20)).astype('float32'),
                           rng.integers(0, 3, 64).astype('int32'))

        def get_dataloader(self, train):
            return self.get_tensorloader(self.arrays, train)

    class Linear(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Dense(3)
            self.net.initialize(d2l.init_cnn)

    def update_norm(clip):
        d2l.set_seed(0)
        model = Linear(lr=1.0)
        model.count_parameters((1, 20))
        params = list(model.collect_params().values())
        before = [p.data().asnumpy().copy() for p in params]
        d2l.Trainer(max_epochs=1, gradient_clip_val=clip).fit(model,
                                                              OneBatch())
        return math.sqrt(sum(((p.data().asnumpy() - b) ** 2).sum()
                             for p, b in zip(params, before)))

    assert update_norm(0) > 10
    assert update_norm(0.5) == pytest.approx(0.5, rel=1e-4)  # lr * clip


def test_validation_figures_are_over_all_examples(smoke, monkeypatch):
    """The plotted and logged val loss and acc are those of all validation
    examples, whose last batch is short, by the rule of all four Trainers
    (shared.validation_means)."""
    calls = short_last_batch.spy_on_the_rule(monkeypatch)

    training, validation = short_last_batch.arrays()

    class ShortLastBatch(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = short_last_batch.BATCH_SIZE

        def get_dataloader(self, train):
            return self.get_tensorloader(training if train else validation,
                                         train)

    class Linear(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Dense(short_last_batch.CLASSES)

    d2l.set_seed(0)
    model, data = Linear(lr=0.1), ShortLastBatch()
    assert [len(b[-1]) for b in data.val_dataloader()] == [32, 32, 6]
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    assert calls == [[32, 32, 6]]
    Y_hat = model(np.array(validation[0]))
    labels = np.array(validation[1])
    losses = model.loss(Y_hat, labels, averaged=False).asnumpy()
    hits = model.accuracy(Y_hat, labels, averaged=False).asnumpy()
    short_last_batch.check_figures(trainer, model, losses, hits)


# ---------------------------------------------------------------- models

def test_loss_and_accuracy():
    model = d2l.Classifier()
    Y_hat = np.array([[2., 1., 0.], [0., 3., 1.], [1., 1., 5.],
                      [0., 0., 0.]])
    Y = np.array([0, 2, 2, 1], dtype='int32')
    assert float(model.accuracy(Y_hat, Y)) == pytest.approx(0.5)
    onp.testing.assert_array_equal(
        model.accuracy(Y_hat, Y, averaged=False).asnumpy(), [1, 0, 1, 0])
    logits = Y_hat.asnumpy()
    log_p = logits - onp.log(onp.exp(logits).sum(1, keepdims=True))
    expected = -log_p[onp.arange(4), Y.asnumpy()]
    onp.testing.assert_allclose(
        model.loss(Y_hat, Y, averaged=False).asnumpy(), expected, atol=1e-5)
    assert float(model.loss(Y_hat, Y)) == pytest.approx(expected.mean(),
                                                        abs=1e-5)
    # uniform logits: ln(number of classes)
    assert float(model.loss(np.zeros((5, 10)), np.zeros(5, dtype='int32'))
                 ) == pytest.approx(math.log(10), abs=1e-5)


def test_layer_summary_and_count_parameters(capsys):
    class Small(d2l.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.HybridSequential()
            self.net.add(nn.Conv2D(6, kernel_size=5, padding=2), bn(),
                         nn.AvgPool2D(2), nn.Flatten(), nn.Dense(10))
            self.net.initialize(d2l.init_cnn)

    model = Small()
    rows = model.layer_summary((2, 1, 28, 28))
    assert rows == [('Conv2D', (2, 6, 28, 28)), ('BatchNorm', (2, 6, 28, 28)),
                    ('AvgPool2D', (2, 6, 14, 14)), ('Flatten', (2, 1176)),
                    ('Dense', (2, 10))]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Conv2D           output shape: (2, 6, 28, 28)'
    assert len(out) == 5
    # 1*6*5*5 + 6, BatchNorm's gamma and beta (not its running statistics),
    # and 1176*10 + 10
    assert model.count_parameters((1, 1, 28, 28)) == 156 + 12 + 11_770


def test_init_cnn_is_xavier_uniform_with_zero_bias():
    d2l.set_seed(0)
    model = LeNetBN()
    model.count_parameters((1, 1, 28, 28))
    checked = 0
    for layer in model.net:
        if isinstance(layer, (nn.Conv2D, nn.Dense)):
            w = layer.weight.data().asnumpy()
            receptive = int(onp.prod(w.shape[2:]))
            fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert abs(w).max() <= bound
            assert abs(w).max() > 0.8 * bound  # uniform fills its range
            assert abs(w.mean()) < 0.2 * bound
            onp.testing.assert_array_equal(layer.bias.data().asnumpy(), 0)
            checked += 1
        if isinstance(layer, nn.BatchNorm):
            onp.testing.assert_array_equal(layer.gamma.data().asnumpy(), 1)
            onp.testing.assert_array_equal(layer.beta.data().asnumpy(), 0)
    assert checked == 4
    # apply_init re-draws the weights
    before = model.net[0].weight.data().asnumpy().copy()
    model.apply_init((1, 1, 28, 28))
    assert not onp.array_equal(before, model.net[0].weight.data().asnumpy())


def test_trainer_initialises_a_model_that_did_not(smoke):
    model = LeNetBN(initialize=False)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, d2l.FashionMNIST(batch_size=128))
    w = model.net[0].weight.data().asnumpy()
    assert w.shape == (6, 1, 5, 5) and abs(w).max() > 0
    assert len(trainer.history) == 1


# ------------------------------------------------- memory of a training step

class Chain(d2l.Classifier):
    """BatchNorm, then sixteen layers of 4 MiB activations; each keeps
    sin's output and tanh's for the backward pass (8 MiB), unless `paused`
    runs them unrecorded (then nothing of theirs is kept)."""
    def __init__(self, paused=False):
        super().__init__()
        self.paused = paused
        self.norm = nn.BatchNorm(in_channels=256)
        self.dense = nn.Sequential()
        for _ in range(16):
            self.dense.add(nn.Dense(256, use_bias=False, in_units=256))
        self.head = nn.Dense(10, in_units=256)
        self.initialize()

    def forward(self, X):
        X = self.norm(X)
        with autograd.pause(train_mode=True) if self.paused else _nothing():
            for layer in self.dense:
                X = np.tanh(layer(np.sin(X)))
        return self.head(X)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_measure_training_step_sees_what_is_kept_and_restores_state():
    X = np.random.normal(size=(4096, 256))
    batch = (X, np.arange(4096) % 10)
    model = Chain()
    before = [p.data().asnumpy() for p in model.collect_params().values()]
    kept = d2l.measure_training_step(model, batch, label='kept')
    # Weights and BatchNorm statistics are as they were (MXNet updates the
    # statistics in the backward pass; the measurement puts them back).
    for p, b in zip(model.collect_params().values(), before):
        onp.testing.assert_array_equal(p.data().asnumpy(), b, err_msg=p.name)
    assert kept.kept_bytes >= 0.8 * 16 * 8 * 2 ** 20
    paused = d2l.measure_training_step(Chain(paused=True), batch)
    assert paused.kept_bytes <= 0.25 * kept.kept_bytes
    assert 0 < paused.peak_bytes < 0.8 * kept.peak_bytes
    assert kept.label == 'kept' and kept.seconds > 0
    # One step's proxy: the same as the median's within its noise.
    assert abs(d2l.measure_kept_bytes(model, batch) - kept.kept_bytes) <= \
        0.2 * kept.kept_bytes
    assert 'VmHWM' in kept.peak_source
