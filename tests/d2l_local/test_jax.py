"""d2l_local.jax: data, training, BatchNorm, determinism, printing.

Run in the JAX environment:
    .venv/jax/bin/python -m pytest tests/d2l_local/test_jax.py
"""
import math
import pathlib
import re
import sys
from functools import partial

import numpy as np
import pytest

jax = pytest.importorskip('jax')
import jax.numpy as jnp  # noqa: E402
from flax import linen as nn  # noqa: E402
import optax  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import short_last_batch  # noqa: E402
# The tests all four suites share (one body, this module under test).
from common_suite import *  # noqa: E402,F401,F403

from d2l_local import jax as d2l  # noqa: E402
from d2l_local import shared  # noqa: E402

# A mode of our own: real data, small enough for a test, big enough to learn.
TINY = shared.RunMode('tiny', max_epochs=2, train_examples=3_000,
                      val_examples=1_000, max_image_size=28)


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'smoke')


class DenseBN(nn.Module):
    @nn.compact
    def __call__(self, X, training=False):
        X = nn.relu(nn.BatchNorm(use_running_average=not training)(
            nn.Dense(8)(X)))
        return nn.Dropout(0.3, deterministic=not training)(X)


class RowsClassifier(d2l.Classifier):
    """common_suite's model of its rows: BatchNorm statistics, dropout's
    keys and momentum must all come back from a checkpoint."""
    lr: float = 0.1

    def setup(self):
        self.net = [DenseBN(), nn.Dense(11)]

    def configure_optimizers(self):
        return optax.sgd(self.lr, momentum=0.9)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(shared.RUN_MODES, 'tiny', TINY)
    monkeypatch.setenv('D2L_MODE', 'tiny')


BatchNorm = partial(nn.BatchNorm, momentum=0.9, epsilon=1e-5)


def key(seed):
    # RngBitGenerator keys, as d2l.set_seed makes: threefry's initializers
    # compile slowly on CPU.
    return jax.random.key(seed, impl='rbg')


class ConvBNPool(nn.Module):
    """Conv, BatchNorm, ReLU, 2x2 average pooling."""
    features: int
    padding: int

    @nn.compact
    def __call__(self, X, training=False):
        X = d2l.init_cnn(nn.Conv)(self.features, (5, 5),
                                  padding=self.padding)(X)
        X = nn.relu(BatchNorm(use_running_average=not training)(X))
        return nn.avg_pool(X, (2, 2), strides=(2, 2))


def flatten(X):
    return X.reshape((X.shape[0], -1))


class LeNetBN(d2l.Classifier):
    """A LeNet with BatchNorm: small, quick, and it learns."""
    lr: float = 0.1
    num_classes: int = 10

    def setup(self):
        Dense = d2l.init_cnn(nn.Dense)
        self.net = [ConvBNPool(6, 2), ConvBNPool(16, 0), flatten, Dense(120),
                    nn.relu, Dense(self.num_classes)]


def fit(max_epochs=1, lr=0.1, batch_size=128, resize=(28, 28), **kwargs):
    model = LeNetBN(lr=lr)
    data = d2l.FashionMNIST(batch_size=batch_size, resize=resize)
    trainer = d2l.Trainer(max_epochs=max_epochs, **kwargs)
    trainer.fit(model, data)
    return model, data, trainer


def bilinear_reference(images, size):
    """Half-pixel-centre bilinear resize of [N, H, W] in numpy: what
    torchvision's Resize (align_corners=False) computes when upsampling."""
    def weights(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = src - i0
        W = np.zeros((n_out, n_in))
        W[np.arange(n_out), i0] += 1 - frac
        W[np.arange(n_out), i1] += frac
        return W
    Wh, Ww = weights(images.shape[1], size[0]), weights(images.shape[2],
                                                         size[1])
    return np.einsum('oh,nhw,pw->nop', Wh, images, Ww)


# ---------------------------------------------------------------- the module

def test_the_module_s_jax_is_the_real_jax():
    # absolute imports: the package's own d2l_local.jax cannot shadow it
    assert d2l.jax is jax


def test_device_helpers():
    assert d2l.cpu() == jax.devices('cpu')[0]
    try:
        gpus = jax.devices('gpu')
    except RuntimeError:
        gpus = []
    assert d2l.num_gpus() == len(gpus)
    assert d2l.try_gpu() == (gpus[0] if gpus else d2l.cpu())
    assert d2l.try_gpu(d2l.num_gpus()) == d2l.cpu()
    if not gpus:
        with pytest.raises(RuntimeError):
            d2l.gpu(0)


# ---------------------------------------------------------------- data

def test_smoke_batches_shapes_dtypes_layout(smoke):
    data = d2l.FashionMNIST(batch_size=128, resize=(96, 96))
    assert data.resize == (32, 32)  # smoke caps 96x96 at 32x32
    train, val = data.train_dataloader(), data.val_dataloader()
    assert (len(train), len(val)) == (3, 2)  # 384 / 128, 256 / 128
    batches = list(train)
    assert [len(y) for _, y in batches] == [128, 128, 128]
    assert [len(y) for _, y in val] == [128, 128]
    X, y = batches[0]
    assert isinstance(X, jax.Array) and isinstance(y, jax.Array)
    assert X.shape == (128, 32, 32, 1)  # NHWC
    assert X.dtype == jnp.float32 and y.dtype == jnp.int32
    assert 0 <= X.min() and X.max() <= 1 and X.max() > 0.5
    labels = np.concatenate([np.asarray(y) for _, y in batches])
    assert labels.min() >= 0 and labels.max() <= 9
    assert set(labels.tolist()) == set(range(10))


def test_quick_batch_counts(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'quick')
    data = d2l.FashionMNIST(batch_size=128)
    # all 10,000 test images: the last batch is short
    assert len(data.train[1]) == 12_000 and len(data.val[1]) == 10_000
    assert len(data.train_dataloader()) == math.ceil(12_000 / 128) == 94
    assert len(data.val_dataloader()) == 79
    assert [len(y) for _, y in data.val_dataloader()][-1] == 10_000 - 78 * 128


def test_resize_is_bilinear_per_batch(smoke):
    data = d2l.FashionMNIST(batch_size=64, resize=(32, 32))
    # the stored images stay 28x28: resizing happens per batch
    assert data.train[0].shape == (384, 28, 28)
    X, _ = next(iter(data.val_dataloader()))
    raw = data.val[0][:64]
    expected = bilinear_reference(raw, (32, 32))[..., None]
    np.testing.assert_allclose(np.asarray(X), expected, atol=1e-5)
    assert not np.allclose(np.asarray(X)[:, :28, :28, 0], raw)
    # no resize asked: the very same pixels
    plain = d2l.FashionMNIST(batch_size=64)
    np.testing.assert_array_equal(
        np.asarray(next(iter(plain.val_dataloader()))[0])[..., 0], raw)


def test_train_loader_shuffles_each_epoch_val_does_not(smoke):
    def labels(loader):
        return np.concatenate([np.asarray(y) for _, y in loader])

    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=128)
    first = labels(data.train_dataloader())
    second = labels(data.train_dataloader())
    assert not np.array_equal(first, second)
    assert sorted(first) == sorted(data.train[1])
    np.testing.assert_array_equal(labels(data.val_dataloader()), data.val[1])
    # seeded: the same seed gives the same order
    d2l.set_seed(0)
    again = d2l.FashionMNIST(batch_size=128)
    np.testing.assert_array_equal(first, labels(again.train_dataloader()))


def test_text_labels_and_visualize(smoke):
    data = d2l.FashionMNIST(batch_size=8)
    assert data.text_labels([0, 9, jnp.array(1)]) == [
        't-shirt', 'ankle boot', 'trouser']
    batch = next(iter(data.val_dataloader()))
    import matplotlib.pyplot as plt
    plt.close('all')
    assert data.visualize(batch) is None  # the figure is the output
    axes = plt.gcf().axes
    assert len(axes) == 8
    assert axes[0].get_title() == data.text_labels(batch[1][:1])[0]
    import matplotlib.pyplot as plt
    plt.close('all')


# ---------------------------------------------------------------- training

def test_training_learns(tiny):
    d2l.set_seed(0)
    model, data, trainer = fit(max_epochs=2, batch_size=64)
    history = trainer.history
    assert [row['epoch'] for row in history] == [1, 2]
    assert len(data.val[1]) == 1_000
    # chance is loss ln(10) = 2.30 and accuracy 0.1
    assert history[-1]['train_loss'] < history[0]['train_loss'] < 1.5
    assert history[-1]['val_loss'] < 1.0
    assert history[-1]['val_acc'] > 0.6
    # the recorded validation numbers are those of the trained model, in
    # eval mode (running statistics), on the whole validation set
    state = trainer.state
    X = jnp.asarray(data.val[0])[..., None]
    Y_hat = model.apply({'params': state.params,
                         'batch_stats': state.batch_stats}, X)
    acc = float(model.accuracy(Y_hat, jnp.asarray(data.val[1])))
    assert acc == pytest.approx(history[-1]['val_acc'], abs=1e-6)
    # the board got the curves: 2 train points and 1 val point per epoch
    # (47 batches per epoch: a point every 23)
    board = model.board
    assert len(board.data['train_loss']) == 4
    assert len(board.data['val_loss']) == 2
    assert len(board.data['val_acc']) == 2
    # (the plotted point is the mean of the batches' accuracies, the log's
    # figure is weighted by batch size: the short last batch differs)
    assert board.data['val_acc'][-1] == (2, pytest.approx(acc, abs=0.01))
    assert board.data['train_loss'][0][0] == pytest.approx(11 / 47)


def test_batchnorm_statistics_move_in_training_and_serve_in_eval(tiny):
    d2l.set_seed(0)
    model, data, trainer = fit(max_epochs=1, batch_size=256)
    assert int(trainer.state.step) == len(data.train_dataloader()) == 12
    stats = trainer.state.batch_stats['net_0']['BatchNorm_0']
    # initialised at mean 0, variance 1; training moved them
    assert not np.allclose(stats['mean'], 0, atol=1e-3)
    assert not np.allclose(stats['var'], 1, atol=1e-3)
    # eval mode normalises with those running statistics, training mode
    # with the batch's own (and updates the running ones)
    params = trainer.state.params['net_0']['BatchNorm_0']
    bn = BatchNorm()
    X = jax.random.normal(key(1), (8, 5, 5, 6)) * 3 + 1
    variables = {'params': params, 'batch_stats': stats}
    Y = bn.apply(variables, X, use_running_average=True)
    expected = ((X - stats['mean']) / jnp.sqrt(stats['var'] + 1e-5)
                * params['scale'] + params['bias'])
    np.testing.assert_allclose(Y, expected, rtol=1e-5, atol=1e-5)
    Y_train, updates = bn.apply(variables, X, use_running_average=False,
                                mutable=['batch_stats'])
    assert not np.allclose(Y_train, Y, atol=1e-3)
    # momentum 0.9 as in PyTorch: new = 0.9 old + 0.1 batch
    np.testing.assert_allclose(
        updates['batch_stats']['mean'],
        0.9 * stats['mean'] + 0.1 * X.mean(axis=(0, 1, 2)), rtol=1e-5,
        atol=1e-5)
    # and the whole model: its eval output ignores the rest of the batch
    full = {'params': trainer.state.params,
            'batch_stats': trainer.state.batch_stats}
    X = jnp.asarray(data.val[0][:16])[..., None]
    alone = model.apply(full, X[:1])
    np.testing.assert_allclose(model.apply(full, X)[:1], alone, rtol=1e-4,
                               atol=1e-4)
    together, _ = model.apply(full, X, training=True,
                              mutable=['batch_stats'])
    assert not np.allclose(together[:1], alone, atol=1e-3)


def prepared_trainer(batch_size):
    """A LeNetBN, a Trainer prepared for it (state built, steps jitted,
    nothing trained) and the first training batch."""
    d2l.set_seed(0)
    model = LeNetBN()
    data = d2l.FashionMNIST(batch_size=batch_size)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.epochs = 1
    trainer.prepare_data(data)
    trainer.prepare_model(model)
    return model, trainer, next(iter(data.train_dataloader()))


def test_training_step_is_pure_and_updates_batch_stats(smoke):
    model, trainer, batch = prepared_trainer(batch_size=32)
    before = jax.device_get((trainer.state.params,
                             trainer.state.batch_stats))
    state, loss = jax.jit(model.training_step)(trainer.state, batch)
    assert loss.shape == () and 1.0 < float(loss) < 4.0
    assert int(state.step) == 1
    assert not np.allclose(state.batch_stats['net_0']['BatchNorm_0']['mean'],
                           before[1]['net_0']['BatchNorm_0']['mean'])
    # every weight moved (a conv bias right before BatchNorm gets no
    # gradient: the normalisation cancels it)
    for path, leaf in jax.tree_util.tree_flatten_with_path(state.params)[0]:
        old = before[0]
        for p in path:
            old = old[p.key]
        if path[-1].key in ('kernel', 'scale'):
            assert not np.allclose(leaf, old), path
    metrics = model.validation_step(state, batch)
    assert set(metrics) == {'loss', 'acc'}
    assert 0 <= float(metrics['acc']) <= 1


def ynn_convolutions(hlo):
    """How many convolutions of a compiled program's HLO text sit in the
    computations that its YNNPACK fusions call."""
    ynn = set(re.findall(r'calls=%([\w.-]+)[^\n]*"kind":"__ynn_fusion"', hlo))
    count, inside = 0, False
    for line in hlo.splitlines():
        if line.startswith(('%', 'ENTRY')):
            inside = line.split()[0].lstrip('%') in ynn
        elif inside and ' convolution(' in line:
            count += 1
    return count


def test_the_training_step_leaves_convolutions_to_xla_on_cpu(smoke):
    # d2l_local compiles the step with YNNPACK's convolutions off, which
    # were the slower ones on the CPU (d2l_local/jax.py, _CPU_COMPILER_OPTIONS).
    model, trainer, batch = prepared_trainer(batch_size=128)
    default = jax.jit(model.training_step).lower(trainer.state, batch)
    # The default does hand them to YNNPACK, so the check can see them...
    assert ynn_convolutions(default.compile().as_text()) > 0
    ours = trainer.train_step.lower(trainer.state, batch).compile().as_text()
    # ...and the Trainer's step has none there: its convolutions are XLA's,
    # and YNNPACK still does the reductions.
    assert ynn_convolutions(ours) == 0
    assert ' convolution(' in ours and '__ynn_fusion' in ours
    assert ynn_convolutions(trainer.eval_step.lower(
        trainer.state, batch).compile().as_text()) == 0


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
    assert 'device: CPU' in lines[0]
    assert sum(line.startswith('run mode') for line in lines) == 1
    epochs = [line for line in lines if line.startswith('epoch ')]
    assert [line.split(':')[0] for line in epochs] == ['epoch 1/2',
                                                       'epoch 2/2']
    assert lines[-1].startswith('train loss') and '2 epoch(s)' in lines[-1]
    peak = re.search(r'; peak memory ([\d,]+) MiB \(the whole process, on '
                     r'the CPU\)$', lines[-1])
    assert peak and int(peak[1].replace(',', '')) > 10, lines[-1]


def test_asking_for_a_missing_gpu_trains_on_cpu_and_says_so(smoke, capsys,
                                                           monkeypatch):
    monkeypatch.setattr(d2l, 'num_gpus', lambda: 0)
    _, _, trainer = fit(num_gpus=1)
    assert 'CPU (asked for 1 GPU(s), none found)' in capsys.readouterr().out
    leaves = jax.tree_util.tree_leaves(trainer.state.params)
    assert all(leaf.devices() == {d2l.cpu()} for leaf in leaves)


class OneBatch(d2l.DataModule):
    def __init__(self):
        super().__init__()
        self.batch_size = 64
        X = np.random.default_rng(0).normal(size=(64, 20)) * 100
        self.arrays = (X.astype(np.float32),  # huge inputs, huge gradients
                       np.random.default_rng(1).integers(0, 3, 64))

    def get_dataloader(self, train):
        return self.get_tensorloader(self.arrays, train)


class Linear(d2l.Classifier):
    lr: float = 0.1

    def setup(self):
        self.net = nn.Dense(3)


def test_gradient_clipping_bounds_the_update(smoke):
    def update_norm(clip):
        d2l.set_seed(0)
        model = Linear(lr=1.0)
        trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=clip)
        data = OneBatch()
        d2l.set_seed(0)  # the same initial parameters in prepare_model
        trainer.epochs = 1
        trainer.prepare_data(data)
        trainer.prepare_model(model)
        before = jax.device_get(trainer.state.params)
        d2l.set_seed(0)
        trainer.fit(model, data)
        after = jax.device_get(trainer.state.params)
        return math.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(
            jax.tree_util.tree_leaves(after),
            jax.tree_util.tree_leaves(before))))

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

    d2l.set_seed(0)
    model, data = Linear(lr=0.1), ShortLastBatch()
    assert [len(b[-1]) for b in data.val_dataloader()] == [32, 32, 6]
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    assert calls == [[32, 32, 6]]
    Y_hat = model.apply({'params': trainer.state.params}, validation[0])
    labels = jnp.asarray(validation[1])
    losses = np.asarray(model.loss(Y_hat, labels, averaged=False))
    hits = np.asarray(model.accuracy(Y_hat, labels, averaged=False))
    short_last_batch.check_figures(trainer, model, losses, hits)


# ---------------------------------------------------------------- models

class Small(d2l.Module):
    def setup(self):
        self.net = [nn.Conv(6, (5, 5), padding=2), nn.relu,
                    partial(nn.avg_pool, window_shape=(2, 2), strides=(2, 2)),
                    flatten, nn.Dense(10)]


def test_layer_summary_and_count_parameters(capsys):
    model = Small()
    rows = model.layer_summary((2, 28, 28, 1))
    assert rows == [('Conv', (2, 28, 28, 6)), ('relu', (2, 28, 28, 6)),
                    ('partial', (2, 14, 14, 6)), ('flatten', (2, 1176)),
                    ('Dense', (2, 10))]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Conv             output shape: (2, 28, 28, 6)'
    assert len(out) == 5
    # 1*6*5*5 + 6 and 1176*10 + 10
    assert model.count_parameters((1, 28, 28, 1)) == 156 + 11_770
    # BatchNorm's running statistics are no trainable parameters:
    # 2 convs (156 + 2416), 2 BNs (2 * 6 + 2 * 16), 1176->... dense layers
    lenet = LeNetBN()
    expected = (156 + 12) + (2_416 + 32) + (400 * 120 + 120) + (120 * 10 + 10)
    assert lenet.count_parameters((1, 28, 28, 1)) == expected
    assert [name for name, _ in lenet.layer_summary((1, 28, 28, 1))] == [
        'ConvBNPool', 'ConvBNPool', 'flatten', 'Dense', 'relu', 'Dense']


def test_layer_summary_of_a_sequential_net(capsys):
    class Seq(d2l.Module):
        def setup(self):
            self.net = nn.Sequential([nn.Dense(4), nn.relu, nn.Dense(2)])

    rows = Seq().layer_summary((3, 5))
    assert rows == [('Dense', (3, 4)), ('relu', (3, 4)), ('Dense', (3, 2))]
    assert Seq().count_parameters((3, 5)) == 24 + 10


def _check_xavier_and_zero_bias(params):
    kernels = biases = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        name = path[-1].key
        if name == 'kernel':
            receptive = math.prod(leaf.shape[:-2])
            fan_in, fan_out = (leaf.shape[-2] * receptive,
                               leaf.shape[-1] * receptive)
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert np.abs(leaf).max() <= bound
            assert np.abs(leaf).max() > 0.8 * bound  # uniform fills its range
            kernels += 1
        elif name == 'bias':
            assert not np.any(leaf)
            biases += 1
    return kernels, biases


def test_init_cnn_is_xavier_uniform_with_zero_bias():
    # As layer classes: the initializers are bound
    Conv = d2l.init_cnn(nn.Conv)
    params = Conv(32, (3, 3)).init(key(0), jnp.zeros((1, 8, 8, 16)))
    assert _check_xavier_and_zero_bias(params['params']) == (1, 1)
    assert d2l.init_cnn(nn.Dense)(7).kernel_init is not None
    variables = LeNetBN().init(key(0), jnp.zeros((1, 28, 28, 1)))
    # 2 conv + 2 dense kernels; their 4 biases and the 2 BatchNorm biases
    assert _check_xavier_and_zero_bias(variables['params']) == (4, 6)

    # On a parameter pytree: Flax's default (LeCun normal, zero bias)
    # replaced by Xavier uniform
    Plain = Small()
    dummy = jnp.zeros((1, 28, 28, 1))
    default = Plain.init(key(0), dummy)['params']
    with pytest.raises(AssertionError):
        _check_xavier_and_zero_bias(default)
    variables = Plain.apply_init(dummy, key=key(0),
                                 init=d2l.init_cnn)
    assert _check_xavier_and_zero_bias(variables['params']) == (2, 2)
    assert jax.tree_util.tree_structure(variables['params']) == \
        jax.tree_util.tree_structure(default)


def test_add_to_class_defines_a_flax_setup_later():
    # The chapters build a model across cells: a setup added afterwards must
    # be able to create submodules, as one written in the class body can.
    class Later(d2l.Module):
        width: int = 3

    @d2l.add_to_class(Later)
    def setup(self):
        self.net = [nn.Dense(self.width), nn.relu]

    y, variables = Later(width=5).init_with_output(key(0),
                                                   jnp.ones((2, 4)))
    assert y.shape == (2, 5)
    assert variables['params']['net_0']['kernel'].shape == (4, 5)

    # and on a plain class it is shared.add_to_class
    class Plain:
        pass

    @d2l.add_to_class(Plain)
    def hello(self):
        return 'hi'

    assert Plain().hello() == 'hi'


def test_module_hyperparameters_are_fields():
    model = LeNetBN(lr=0.05, plot_train_per_epoch=4)
    assert (model.lr, model.num_classes) == (0.05, 10)
    assert (model.plot_train_per_epoch, model.plot_valid_per_epoch) == (4, 1)
    assert isinstance(model.board, d2l.ProgressBoard)
    assert model.board is model.board
    # the plotting fields are keyword-only: a model's own come first
    assert LeNetBN(0.3).lr == 0.3


def test_set_seed_repeats_keys_and_numpy():
    d2l.set_seed(3)
    a = (jax.random.normal(d2l.get_key(), (4,)), np.random.rand())
    d2l.set_seed(3)
    b = (jax.random.normal(d2l.get_key(), (4,)), np.random.rand())
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert not np.array_equal(jax.random.normal(d2l.get_key(), (4,)), a[0])


# ------------------------------------------------- memory of a training step

class Chain(d2l.Classifier):
    """Sixteen dense layers of 4 MiB activations; with `remat`, each layer's
    inside is recomputed in the backward pass instead of kept."""
    remat: bool = False
    lr: float = 0.1

    @nn.compact
    def __call__(self, X, training=False):
        def layer(module, X):
            return jnp.tanh(nn.Dense(256, use_bias=False)(jnp.sin(X)))
        step = nn.remat(layer) if self.remat else layer
        for _ in range(16):
            X = step(self, X)
        return nn.Dense(10)(X)


def test_measure_training_step_sees_recomputation_on_this_device():
    X = jnp.asarray(np.random.default_rng(0).standard_normal((4096, 256)),
                    jnp.float32)
    batch = (X, jnp.arange(4096) % 10)
    kept, recomputed, kept_again = (
        d2l.measure_training_step(Chain(remat=remat), batch, label=str(remat))
        for remat in (False, True, False))
    assert kept.label == 'False' and recomputed.label == 'True'
    # Kept: sin(X) and the layer's output per layer (2 x 4 MiB x 16); with
    # remat, only each layer's input.
    assert kept.kept_bytes >= 2 * 16 * 4 * 2 ** 20
    assert recomputed.kept_bytes <= 0.6 * kept.kept_bytes
    # Measured, and XLA keeps the recomputation in the backward pass (on the
    # CPU it would merge it into the forward pass without the option
    # measure_training_step compiles with)...
    assert 0 < recomputed.peak_bytes < 0.8 * kept.peak_bytes
    # ...whatever was measured first.
    assert abs(kept_again.peak_bytes - kept.peak_bytes) < \
        0.2 * kept.peak_bytes
    assert kept.seconds > 0 and kept.peak_source and kept.kept_source


def test_measure_kept_bytes_counts_the_same_without_compiling(monkeypatch):
    X = jnp.ones((512, 256), jnp.float32)
    batch = (X, jnp.arange(512) % 10)
    measured = [d2l.measure_training_step(Chain(remat=remat), batch,
                                          repeats=1).kept_bytes
                for remat in (False, True)]

    def refuse(*args, **kwargs):
        raise AssertionError('measure_kept_bytes compiled a step')
    monkeypatch.setattr(jax.stages.Lowered, 'compile', refuse)
    assert [d2l.measure_kept_bytes(Chain(remat=remat), batch)
            for remat in (False, True)] == measured


COMPILATION_CACHE_PROBE = (
    'import jax\n'
    'from d2l_local import jax as d2l\n'
    # Every program is written to the cache, however quickly it compiled.
    "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)\n"
    'f = jax.jit(lambda x: (x @ x.T).sum())\n'
    'print(jax.config.jax_compilation_cache_dir)\n'
    'print(f(jax.numpy.ones((64, 64))))\n')


def run_cache_probe(tmp_path, env_overrides):
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items()
           if k != 'JAX_COMPILATION_CACHE_DIR'}
    env.update(HOME=str(tmp_path), **env_overrides)
    out = subprocess.run([sys.executable, '-c', COMPILATION_CACHE_PROBE],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def test_compiled_steps_are_cached_across_processes(tmp_path):
    """Importing d2l_local.jax keeps XLA's compiled programs on disk, so a
    rerun loads its train step instead of compiling it again."""
    folder = tmp_path / '.cache' / 'd2l_local' / 'jax-compilation'
    assert run_cache_probe(tmp_path, {}) == str(folder)
    assert any(folder.iterdir())


def test_a_compilation_cache_the_user_chose_wins(tmp_path):
    mine = tmp_path / 'mine'
    assert run_cache_probe(tmp_path, {
        'JAX_COMPILATION_CACHE_DIR': str(mine)}) == str(mine)
    assert not (tmp_path / '.cache' / 'd2l_local' /
                'jax-compilation').exists()
