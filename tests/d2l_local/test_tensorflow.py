"""d2l_local.tensorflow: data pipeline, compiled training, BatchNorm modes,
determinism and the helpers. Run in the TensorFlow environment:

    python -m pytest tests/d2l_local/test_tensorflow.py
"""
import logging
import pathlib
import re
import sys

import numpy as np

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import short_last_batch  # noqa: E402
# The tests all four suites share (one body, this module under test).
from common_suite import *  # noqa: E402,F401,F403

from d2l_local import shared  # noqa: E402
from d2l_local import tensorflow as d2l  # noqa: E402

import tensorflow as tf  # noqa: E402

L = tf.keras.layers


def _real_data_found():
    try:
        shared.locate_fashion_mnist_file('t10k-labels-idx1-ubyte.gz')
        return True
    except shared.DataFileError:
        return False


needs_data = pytest.mark.skipif(
    not _real_data_found(),
    reason='real Fashion-MNIST not found (apt-get install '
           'dataset-fashion-mnist)')


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'smoke')


class RowsClassifier(d2l.Classifier):
    """common_suite's model of its rows: BatchNorm statistics and momentum
    must come back from a checkpoint."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.Sequential([L.Dense(8), bn(), L.ReLU(),
                                        L.Dense(11)])

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(learning_rate=self.lr, momentum=0.9)


def bn():
    return L.BatchNormalization(momentum=0.9, epsilon=1e-5)


class SmallCNN(d2l.Classifier):
    """LeNet-sized, with BatchNorm: cheap enough for CPU tests."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.Sequential([
            L.Conv2D(8, 5, padding='same'), bn(), L.ReLU(), L.MaxPool2D(2),
            L.Conv2D(16, 5), bn(), L.ReLU(), L.MaxPool2D(2),
            L.Flatten(), L.Dense(64), L.ReLU(), L.Dense(num_classes)])
        self.apply_init(init=d2l.init_cnn)


def fit(model, data, **trainer_args):
    trainer = d2l.Trainer(**{'max_epochs': 1, **trainer_args})
    trainer.fit(model, data)
    return trainer


# ---------------------------------------------------------------- the module

def test_device_helpers_and_default_mode(monkeypatch):
    with d2l.cpu():
        assert tf.ones(1).device.endswith('CPU:0')
    with d2l.try_gpu():  # a usable context whatever the machine
        x = tf.ones(1)
    assert x.device.endswith('GPU:0' if d2l.num_gpus() else 'CPU:0')
    assert d2l.num_gpus() == len(tf.config.list_physical_devices('GPU'))
    monkeypatch.delenv('D2L_MODE', raising=False)
    assert d2l.run_mode().name == ('full' if d2l.num_gpus() else 'quick')


def test_init_cnn_built_and_unbuilt():
    dense = L.Dense(3)
    d2l.init_cnn(dense)
    assert isinstance(dense.kernel_initializer,
                      tf.keras.initializers.GlorotUniform)
    assert isinstance(dense.bias_initializer, tf.keras.initializers.Zeros)
    conv = L.Conv2D(4, 3, bias_initializer='ones',
                    kernel_initializer=tf.keras.initializers.Constant(5.0))
    conv.build((None, 8, 8, 2))
    d2l.init_cnn(conv)
    limit = np.sqrt(6 / (9 * 2 + 9 * 4))
    kernel = conv.kernel.numpy()
    assert np.abs(kernel).max() <= limit and kernel.std() > limit / 4
    assert not conv.bias.numpy().any()
    norm = bn()
    norm.build((None, 4))
    d2l.init_cnn(norm)  # not a conv or dense layer: left alone
    np.testing.assert_array_equal(norm.gamma.numpy(), 1)


def test_layer_summary_and_count_parameters(capsys):
    class Small(d2l.Classifier):
        def __init__(self):
            super().__init__()
            self.net = tf.keras.Sequential([
                L.Conv2D(6, 5, padding='same'), bn(), L.ReLU(), L.Flatten(),
                L.Dense(10)])

    rows = Small().layer_summary((2, 28, 28, 1))
    assert rows == [('Conv2D', (2, 28, 28, 6)),
                    ('BatchNormalization', (2, 28, 28, 6)),
                    ('ReLU', (2, 28, 28, 6)), ('Flatten', (2, 4704)),
                    ('Dense', (2, 10))]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == 'Conv2D           output shape: (2, 28, 28, 6)'
    assert sum('output shape' in line for line in printed) == 5
    # conv 5*5*6 + 6, BN gamma and beta 2*6 (moving statistics are not
    # trainable), dense 4704*10 + 10
    assert Small().count_parameters((1, 28, 28, 1)) == 156 + 12 + 47050


def test_custom_layers_are_traced_once_when_the_net_builds():
    # Custom layers without a build method, one inside the other, as the
    # memory chapter's DenseBlock holds its DenseLayers: Keras 3 alone traces
    # the inner layer's call three times to build the net, once per level of
    # building by tracing, then once for the net's own symbolic pass.
    calls = {'inner': 0, 'outer': 0}

    class Inner(L.Layer):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(4, 3, padding='same')
            self.norm = bn()

        def call(self, X, training=None):
            calls['inner'] += 1
            return self.conv(tf.nn.relu(self.norm(X, training=training)))

    class Outer(L.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [Inner(), Inner()]

        def call(self, X, training=None):
            calls['outer'] += 1
            for layer in self.inner:
                X = tf.concat([X, layer(X, training=training)], axis=-1)
            return X

    class Net(d2l.Classifier):
        def __init__(self):
            super().__init__()
            self.net = tf.keras.Sequential([Outer(), L.Flatten(),
                                            L.Dense(3)])
            self.apply_init(init=d2l.init_cnn)

    model = Net()
    # norms 2*2 + 2*6, convs (3*3*2*4 + 4) + (3*3*6*4 + 4), dense 8*10*10*3 + 3
    assert model.count_parameters((1, 8, 10, 2)) == 4 + 12 + 76 + 220 + 2403
    assert calls == {'inner': 2, 'outer': 1}
    # Built from the shapes of that one pass, the weights are the canonical
    # draws in the order of the forward pass, and the net runs eagerly.
    first_conv = model.net.layers[0].inner[0].conv
    assert first_conv.kernel_initializer.first_call < \
        model.net.layers[0].inner[1].conv.kernel_initializer.first_call
    shared.restart_weight_draws()
    expected = shared.to_channels_last(
        shared.canonical_weights(shared.from_channels_last((3, 3, 2, 4))))
    np.testing.assert_array_equal(first_conv.kernel.numpy(), expected)
    assert model(tf.ones((5, 8, 10, 2)), training=True).shape == (5, 3)


def test_loss_and_accuracy():
    model = SmallCNN()
    Y_hat = tf.constant([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0]])
    Y = tf.constant([0, 1, 1])
    assert float(model.accuracy(Y_hat, Y)) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(
        model.accuracy(Y_hat, Y, averaged=False).numpy(), [1, 0, 1])
    log_softmax = Y_hat - tf.math.reduce_logsumexp(Y_hat, axis=1,
                                                   keepdims=True)
    expected = -np.mean([log_softmax[i, int(Y[i])] for i in range(3)])
    assert float(model.loss(Y_hat, Y)) == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- data

@needs_data
def test_smoke_batches_shapes_and_resize(smoke):
    data = d2l.FashionMNIST(batch_size=128, resize=(96, 96))
    assert data.resize == (32, 32)  # the smoke cap
    train, val = data.train_dataloader(), data.val_dataloader()
    assert (len(train), len(val)) == (3, 2)  # 384 / 128, 256 / 128
    # The compiled steps' signature: the batch dimension left open.
    assert [tuple(spec.shape) for spec in d2l._element_spec(train)] == \
        [(None, 32, 32, 1), (None,)]
    batches = list(val)
    assert len(batches) == 2
    for X, y in list(train) + batches:
        assert X.shape == (128, 32, 32, 1)  # NHWC
        assert X.dtype == tf.float32 and y.dtype == tf.int32
        assert 0.0 <= float(tf.reduce_min(X)) <= float(tf.reduce_max(X)) <= 1
        assert set(np.unique(y.numpy())) <= set(range(10))
    # The validation loader does not shuffle: its first batch is the first
    # 128 images, resized bilinearly per batch.
    images, labels = data.val
    expected = tf.image.resize(images[:128, :, :, None], (32, 32),
                               method='bilinear')
    np.testing.assert_allclose(batches[0][0].numpy(), expected.numpy(),
                               atol=1e-6)
    np.testing.assert_array_equal(batches[0][1].numpy(), labels[:128])
    assert [b[1].numpy().tolist() for b in val] == \
        [b[1].numpy().tolist() for b in batches]


@needs_data
def test_train_loader_shuffles_each_epoch_with_a_seed(smoke):
    def epochs(data, n):
        loader = data.train_dataloader()
        return [np.concatenate([y.numpy() for _, y in loader])
                for _ in range(n)]

    d2l.set_seed(0)
    first, second = epochs(d2l.FashionMNIST(batch_size=128), 2)
    assert sorted(first) == sorted(second) and list(first) != list(second)
    assert list(first) != list(d2l.FashionMNIST().train[1])
    d2l.set_seed(0)
    again = epochs(d2l.FashionMNIST(batch_size=128), 2)
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], second)


@needs_data
def test_no_resize_at_28_and_batch_counts_per_mode(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'smoke')
    data = d2l.FashionMNIST()  # batch 64, 28x28: no resize
    X, y = next(iter(data.val_dataloader()))
    np.testing.assert_array_equal(X.numpy()[..., 0], data.val[0][:64])
    assert (len(data.train_dataloader()), len(data.val_dataloader())) == \
        (6, 4)
    monkeypatch.setenv('D2L_MODE', 'quick')
    data = d2l.FashionMNIST(batch_size=128, resize=(96, 96))
    assert data.resize == (32, 32)
    # all 10,000 test images: the last batch is short
    assert (len(data.train[1]), len(data.val[1])) == (12_000, 10_000)
    val = data.val_dataloader()
    assert (len(data.train_dataloader()), len(val)) == (94, 79)
    *_, (X, y) = val
    assert X.shape == (10_000 - 78 * 128, 32, 32, 1)


@needs_data
def test_text_labels_and_visualize(smoke):
    data = d2l.FashionMNIST(batch_size=8)
    assert data.text_labels([0, 9, 5]) == ['t-shirt', 'ankle boot', 'sandal']
    batch = next(iter(data.val_dataloader()))
    import matplotlib.pyplot as plt
    plt.close('all')
    assert data.visualize(batch, nrows=2, ncols=4) is None  # the figure is the output
    axes = plt.gcf().axes
    assert len(axes) == 8
    assert [a.get_title() for a in axes] == data.text_labels(batch[1])


# ---------------------------------------------------------------- training

@needs_data
def test_fit_prints_plots_and_batchnorm_modes(smoke, capsys):
    d2l.set_seed(0)
    model = SmallCNN()
    data = d2l.FashionMNIST(batch_size=64)
    model.build((None, 28, 28, 1))
    norm = model.net.layers[1]
    np.testing.assert_array_equal(norm.moving_mean.numpy(), 0)
    trainer = fit(model, data, max_epochs=3)  # smoke caps it to 1 epoch

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('run mode: smoke (at most 1 epoch(s)')
    assert out[0].endswith('; device: CPU')
    assert sum(line.startswith('epoch 1/1: train loss') for line in out) == 1
    assert not any(line.startswith('epoch 2') for line in out)
    assert out[-1].startswith('train loss') and '1 epoch(s)' in out[-1]
    peak = re.search(r'; peak memory ([\d,]+) MiB \(the whole process, on '
                     r'the CPU\)$', out[-1])
    assert peak and int(peak[1].replace(',', '')) > 10, out[-1]
    assert len(trainer.history) == 1 and trainer.history[0]['epoch'] == 1

    # 6 batches, 2 train points per epoch (means of 3 losses) at x = 0.5
    # and 1; one validation point per epoch at x = 1.
    board = model.board.data
    assert [x for x, _ in board['train_loss']] == [0.5, 1.0]
    assert [x for x, _ in board['val_loss']] == [1]
    assert board['val_acc'][0][1] == trainer.history[0]['val_acc']

    # The compiled train step ran the model with training=True: BatchNorm
    # normalised with batch statistics and moved its moving averages.
    mean, var = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    assert np.abs(mean).max() > 1e-3 and np.abs(var - 1).max() > 1e-3

    # The compiled eval step runs with training=False: it uses the moving
    # statistics, leaves them alone, and scores each example on its own.
    X, y = next(iter(data.val_dataloader()))
    means = trainer._eval_step(X, y)
    np.testing.assert_array_equal(norm.moving_mean.numpy(), mean)
    eval_loss = float(model.loss(model(X, training=False), y))
    train_loss = float(model.loss(model(X, training=True), y))
    assert float(means['loss']) == pytest.approx(eval_loss, rel=1e-5)
    assert abs(eval_loss - train_loss) > 1e-3
    np.testing.assert_allclose(model(X[:1], training=False).numpy(),
                               model(X[:8], training=False).numpy()[:1],
                               rtol=1e-4, atol=1e-5)
    # and BatchNorm in inference mode is exactly the moving-statistics formula
    x = tf.random.normal((4, 5, 5, 8))
    gamma, beta = norm.gamma.numpy(), norm.beta.numpy()
    mean, var = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    expected = (x.numpy() - mean) / np.sqrt(var + 1e-5) * gamma + beta
    np.testing.assert_allclose(norm(x, training=False).numpy(), expected,
                               rtol=1e-4, atol=1e-5)


@needs_data
def test_short_last_batch_one_trace_and_weighted_val_metrics(smoke):
    d2l.set_seed(0)
    model = SmallCNN()
    data = d2l.FashionMNIST(batch_size=100)  # 384 = 3*100 + 84; 256 = 2*100+56
    trainer = fit(model, data)
    assert trainer._train_step.experimental_get_tracing_count() == 1
    assert trainer._eval_step.experimental_get_tracing_count() == 1
    X = tf.constant(data.val[0][..., None])
    y = tf.constant(data.val[1])
    Y_hat = model(X, training=False)
    row = trainer.history[-1]
    assert row['val_loss'] == pytest.approx(float(model.loss(Y_hat, y)),
                                            rel=1e-4)
    assert row['val_acc'] == pytest.approx(float(model.accuracy(Y_hat, y)),
                                           abs=1e-6)


@needs_data
def test_two_seeded_smoke_fits_repeat_their_numbers(smoke):
    def run(seed):
        d2l.set_seed(seed)
        trainer = fit(SmallCNN(), d2l.FashionMNIST(batch_size=128,
                                                   resize=(32, 32)))
        return [(r['train_loss'], r['val_loss'], r['val_acc'])
                for r in trainer.history]

    first = run(0)
    assert run(0) == first
    assert run(1) != first


@needs_data
def test_gradient_clipping_bounds_each_update(smoke):
    def update_norm(clip):
        d2l.set_seed(0)
        model = SmallCNN(lr=1.0)
        model.build((None, 28, 28, 1))
        before = [v.numpy() for v in model.trainable_variables]
        fit(model, d2l.FashionMNIST(batch_size=128),
            gradient_clip_val=clip)
        return np.sqrt(sum(np.sum((v.numpy() - b) ** 2) for v, b in
                           zip(model.trainable_variables, before)))

    # 3 SGD steps of lr 1 with gradients clipped to global norm 0.01
    assert update_norm(0.01) <= 3 * 0.01 * (1 + 1e-4)
    assert update_norm(0) > 0.1


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
            self.net = L.Dense(short_last_batch.CLASSES)

    d2l.set_seed(0)
    model, data = Linear(lr=0.1), ShortLastBatch()
    assert [len(b[-1]) for b in data.val_dataloader()] == [32, 32, 6]
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    assert calls == [[32, 32, 6]]
    Y_hat = model(tf.constant(validation[0]), training=False)
    labels = tf.constant(validation[1])
    losses = model.loss(Y_hat, labels, averaged=False).numpy()
    hits = model.accuracy(Y_hat, labels, averaged=False).numpy()
    short_last_batch.check_figures(trainer, model, losses, hits)


@needs_data
def test_small_cnn_learns_on_real_data(monkeypatch, capsys):
    # 6,000 training and 1,000 validation images, 3 epochs at 28x28.
    monkeypatch.setitem(shared.RUN_MODES, 'test',
                        shared.RunMode('test', 3, 6_000, 1_000, 28))
    monkeypatch.setenv('D2L_MODE', 'test')
    d2l.set_seed(0)
    model = SmallCNN(lr=0.1)
    trainer = fit(model, d2l.FashionMNIST(batch_size=128), max_epochs=10)
    out = capsys.readouterr().out
    assert out.count('\nepoch ') == 3 and 'epoch 3/3: train loss' in out
    first, last = trainer.history[0], trainer.history[-1]
    assert last['train_loss'] < first['train_loss']
    points = model.board.data['train_loss']
    assert points[-1][1] < 0.6 * points[0][1]
    # 1,000 validation images: chance is 0.1, and 0.7 is dozens of standard
    # deviations (about 0.01) away from it (this run reaches about 0.8).
    assert last['val_acc'] > 0.7


# ------------------------------------------------- memory of a training step

class Chain(d2l.Classifier):
    """BatchNorm, then sixteen dense layers of 4 MiB activations; with
    `remat`, each layer's inside is recomputed in the backward pass."""
    def __init__(self, remat=False, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.norm = tf.keras.layers.BatchNormalization()
        self.dense = [tf.keras.layers.Dense(256, use_bias=False)
                      for _ in range(16)]
        self.head = tf.keras.layers.Dense(10)

    def call(self, X, training=None):
        X = self.norm(X, training=training)
        for layer in self.dense:
            def inside(X, layer=layer):
                return tf.tanh(layer(tf.sin(X)))
            X = (tf.keras.remat(inside) if self.remat else inside)(X)
        return self.head(X)


def test_measure_training_step_sees_recomputation_and_restores_weights():
    X = tf.random.normal((4096, 256), seed=0)
    batch = (X, tf.range(4096) % 10)
    model = Chain()
    model(X[:1], training=False)
    before = [v.numpy() for v in model.weights]
    kept = d2l.measure_training_step(model, batch, label='kept')
    # Every weight and BatchNorm statistic is as it was.
    for v, b in zip(model.weights, before):
        np.testing.assert_array_equal(v.numpy(), b)
    recomputed = d2l.measure_training_step(Chain(remat=True), batch)
    # Kept: sin(X) and each layer's output (2 x 4 MiB x 16); with remat only
    # each layer's input.
    assert kept.kept_bytes >= 2 * 16 * 4 * 2 ** 20
    assert recomputed.kept_bytes <= 0.6 * kept.kept_bytes
    assert 0 < recomputed.peak_bytes < 0.8 * kept.peak_bytes
    assert kept.label == 'kept' and kept.seconds > 0


def test_measure_kept_bytes_counts_the_same_without_running_the_step(
        monkeypatch):
    X = tf.random.normal((512, 256), seed=0)
    batch = (X, tf.range(512) % 10)
    measured = [d2l.measure_training_step(Chain(remat=remat), batch,
                                          repeats=1).kept_bytes
                for remat in (False, True)]

    def refuse(*args, **kwargs):
        raise AssertionError('measure_kept_bytes ran a tf.function')
    monkeypatch.setattr(type(tf.function(lambda: 0)), '__call__', refuse)
    assert [d2l.measure_kept_bytes(Chain(remat=remat), batch)
            for remat in (False, True)] == measured


class TinyData(d2l.DataModule):
    """A few rows in memory: a fit of it is a handful of step calls."""

    def __init__(self, batch_size=4):
        super().__init__()
        self.save_hyperparameters()
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((8, 3)).astype(np.float32)
        self.y = rng.integers(0, 2, 8).astype(np.int32)

    def get_dataloader(self, train):
        return self.get_tensorloader((self.X, self.y), train)


class TinyClassifier(d2l.Classifier):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = tf.keras.Sequential([L.Dense(2)])


def test_many_short_fits_are_no_retracing(smoke):
    """Each fit traces its own steps once; TensorFlow's frequent-retracing
    warning must not add those traces up across fits (it did once a
    notebook fitted five models of a few batches each: exercise 5 of the
    first chapter, in smoke mode)."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger('tensorflow')
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        for seed in range(6):
            d2l.set_seed(seed)
            trainer = fit(TinyClassifier(), TinyData())
            assert trainer._train_step.experimental_get_tracing_count() == 1
            assert trainer._eval_step.experimental_get_tracing_count() == 1
    finally:
        logger.removeHandler(handler)
    assert not [m for m in records if 'retracing' in m], records
