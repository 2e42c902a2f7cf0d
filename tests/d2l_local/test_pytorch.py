"""d2l_local.torch: data, training, BatchNorm, determinism, printing.

Run in the PyTorch environment:
    .venv/pytorch/bin/python -m pytest tests/d2l_local/test_pytorch.py
"""
import math
import pathlib
import re
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch')
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import short_last_batch  # noqa: E402
# The tests all four suites share (one body, this module under test).
from common_suite import *  # noqa: E402,F401,F403

from d2l_local import shared  # noqa: E402
from d2l_local import torch as d2l  # noqa: E402

# A mode of our own: real data, small enough for a test, big enough to learn.
TINY = shared.RunMode('tiny', max_epochs=2, train_examples=3_000,
                      val_examples=1_000, max_image_size=28)


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'smoke')


class RowsClassifier(d2l.Classifier):
    """common_suite's model of its rows: BatchNorm statistics, dropout's
    random stream and momentum must all come back from a checkpoint."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.LazyLinear(8), nn.LazyBatchNorm1d(),
                                 nn.ReLU(), nn.Dropout(0.3),
                                 nn.LazyLinear(11))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


@pytest.fixture
def label_dtype():
    return np.int64  # what F.cross_entropy takes


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(shared.RUN_MODES, 'tiny', TINY)
    monkeypatch.setenv('D2L_MODE', 'tiny')


class LeNetBN(d2l.Classifier):
    """A LeNet with BatchNorm: small, quick, and it learns."""

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.LazyBatchNorm2d(),
            nn.ReLU(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(),
            nn.ReLU(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.LazyLinear(120), nn.ReLU(),
            nn.LazyLinear(num_classes))


def fit(max_epochs=1, lr=0.1, batch_size=128, resize=(28, 28), **kwargs):
    model = LeNetBN(lr=lr)
    data = d2l.FashionMNIST(batch_size=batch_size, resize=resize)
    trainer = d2l.Trainer(max_epochs=max_epochs, **kwargs)
    trainer.fit(model, data)
    return model, data, trainer


# ---------------------------------------------------------------- the module

def test_device_helpers():
    assert d2l.cpu() == torch.device('cpu')
    assert d2l.gpu(1) == torch.device('cuda:1')
    assert d2l.num_gpus() == torch.cuda.device_count()
    expected = d2l.gpu(0) if torch.cuda.is_available() else d2l.cpu()
    assert d2l.try_gpu() == expected
    assert d2l.try_gpu(d2l.num_gpus()) == d2l.cpu()


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
    assert X.shape == (128, 1, 32, 32)  # NCHW
    assert X.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= X.min() and X.max() <= 1 and X.max() > 0.5
    labels = torch.cat([y for _, y in batches])
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
    raw = torch.from_numpy(data.val[0][:64]).unsqueeze(1)
    expected = F.interpolate(raw, size=(32, 32), mode='bilinear',
                             align_corners=False)
    torch.testing.assert_close(X, expected)
    assert not torch.equal(X[:, :, :28, :28], raw)
    # no resize asked: the very same pixels
    plain = d2l.FashionMNIST(batch_size=64)
    torch.testing.assert_close(next(iter(plain.val_dataloader()))[0], raw,
                               rtol=0, atol=0)


def test_train_loader_shuffles_each_epoch_val_does_not(smoke):
    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=128)
    first = torch.cat([y for _, y in data.train_dataloader()])
    second = torch.cat([y for _, y in data.train_dataloader()])
    assert not torch.equal(first, second)
    assert sorted(first.tolist()) == sorted(data.train[1].tolist())
    val = torch.cat([y for _, y in data.val_dataloader()])
    assert torch.equal(val, torch.from_numpy(data.val[1]).long())
    # seeded: the same seed gives the same order
    d2l.set_seed(0)
    again = d2l.FashionMNIST(batch_size=128)
    assert torch.equal(first, torch.cat([y for _, y in
                                         again.train_dataloader()]))


def test_text_labels_and_visualize(smoke):
    data = d2l.FashionMNIST(batch_size=8)
    assert data.text_labels([0, 9, torch.tensor(1)]) == [
        't-shirt', 'ankle boot', 'trouser']
    batch = next(iter(data.val_dataloader()))
    import matplotlib.pyplot as plt
    plt.close('all')
    assert data.visualize(batch, nrows=2, ncols=4) is None
    axes = plt.gcf().axes
    assert len(axes) == 8
    assert [ax.get_title() for ax in axes] == data.text_labels(batch[1])
    plt.close('all')


# ---------------------------------------------------------------- training

def test_training_learns(tiny, capsys):
    d2l.set_seed(0)
    model = LeNetBN(lr=0.1)
    model.apply_init([torch.zeros(1, 1, 28, 28)], d2l.init_cnn)
    data = d2l.FashionMNIST(batch_size=64)
    trainer = d2l.Trainer(max_epochs=2)
    trainer.fit(model, data)
    history = trainer.history
    assert [row['epoch'] for row in history] == [1, 2]
    assert len(data.val[1]) == 1_000
    # chance is loss ln(10) = 2.30 and accuracy 0.1
    # (seeds 0-3 give val acc 0.71-0.73: the margins are not luck either)
    assert history[-1]['train_loss'] < history[0]['train_loss'] < 1.5
    assert history[-1]['val_loss'] < 1.0
    assert history[-1]['val_acc'] > 0.6
    # the recorded validation numbers are those of the trained model
    model.eval()
    with torch.no_grad():
        X = torch.from_numpy(data.val[0]).unsqueeze(1)
        y = torch.from_numpy(data.val[1]).long()
        acc = model.accuracy(model(X), y).item()
    assert acc == pytest.approx(history[-1]['val_acc'], abs=1e-6)
    # the board got the curves: 2 train points and 1 val point per epoch
    # (47 batches per epoch: a point every 23)
    assert len(model.board.data['train_loss']) == 4
    assert len(model.board.data['val_loss']) == 2
    assert len(model.board.data['val_acc']) == 2
    assert model.board.data['val_acc'][-1][0] == 2  # x = epoch


def test_batchnorm_statistics_move_in_training_and_serve_in_eval(tiny):
    d2l.set_seed(0)
    model = LeNetBN()
    model.apply_init([torch.zeros(1, 1, 28, 28)], d2l.init_cnn)
    bn = model.net[1]
    # materialising the lazy layers did not touch the statistics
    assert int(bn.num_batches_tracked) == 0
    assert torch.equal(bn.running_mean, torch.zeros(6))
    data = d2l.FashionMNIST(batch_size=256)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    # updated once per training step, never during validation
    assert int(bn.num_batches_tracked) == len(data.train_dataloader()) == 12
    assert not torch.allclose(bn.running_mean, torch.zeros(6))
    assert not torch.allclose(bn.running_var, torch.ones(6))
    # eval mode normalises with those running statistics
    model.eval()
    X = torch.randn(8, 6, 5, 5) * 3 + 1
    with torch.no_grad():
        Y = bn(X)
    shape = (1, -1, 1, 1)
    expected = ((X - bn.running_mean.reshape(shape))
                / torch.sqrt(bn.running_var.reshape(shape) + bn.eps)
                * bn.weight.reshape(shape) + bn.bias.reshape(shape))
    torch.testing.assert_close(Y, expected)


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
    model, _, trainer = fit(num_gpus=1)
    assert 'CPU (asked for 1 GPU(s), none found)' in capsys.readouterr().out
    assert next(model.parameters()).device == torch.device('cpu')


def test_gradient_clipping_bounds_the_update(smoke):
    class OneBatch(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 64
            X = torch.randn(64, 20) * 100  # huge inputs, huge gradients
            self.tensors = (X, torch.randint(0, 3, (64,)))

        def get_dataloader(self, train):
            return self.get_tensorloader(self.tensors, train)

    class Linear(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Linear(20, 3)

    def update_norm(clip):
        d2l.set_seed(0)
        model = Linear(lr=1.0)
        before = [p.detach().clone() for p in model.parameters()]
        d2l.Trainer(max_epochs=1, gradient_clip_val=clip).fit(model,
                                                              OneBatch())
        return math.sqrt(sum(((p.detach() - b) ** 2).sum().item()
                             for p, b in zip(model.parameters(), before)))

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
            X, y = training if train else validation
            return self.get_tensorloader(
                (torch.from_numpy(X), torch.from_numpy(y).long()), train)

    class Linear(d2l.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Linear(short_last_batch.FEATURES,
                                 short_last_batch.CLASSES)

    d2l.set_seed(0)
    model, data = Linear(lr=0.1), ShortLastBatch()
    assert [len(b[-1]) for b in data.val_dataloader()] == [32, 32, 6]
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    assert calls == [[32, 32, 6]]
    model.eval()
    with torch.no_grad():
        Y_hat = model(torch.from_numpy(validation[0]))
        labels = torch.from_numpy(validation[1]).long()
        losses = model.loss(Y_hat, labels, averaged=False).numpy()
        hits = model.accuracy(Y_hat, labels, averaged=False).numpy()
    short_last_batch.check_figures(trainer, model, losses, hits)


# ---------------------------------------------------------------- models

def test_layer_summary_and_count_parameters(capsys):
    class Small(d2l.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.LazyConv2d(6, kernel_size=5, padding=2), nn.ReLU(),
                nn.AvgPool2d(2), nn.Flatten(), nn.LazyLinear(10))

    model = Small()
    rows = model.layer_summary((2, 1, 28, 28))
    assert rows == [('Conv2d', (2, 6, 28, 28)), ('ReLU', (2, 6, 28, 28)),
                    ('AvgPool2d', (2, 6, 14, 14)), ('Flatten', (2, 1176)),
                    ('Linear', (2, 10))]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Conv2d           output shape: (2, 6, 28, 28)'
    assert len(out) == 5
    # 1*6*5*5 + 6 and 1176*10 + 10
    assert model.count_parameters((1, 1, 28, 28)) == 156 + 11_770


def test_init_cnn_is_xavier_uniform_with_zero_bias():
    torch.manual_seed(0)
    model = LeNetBN()
    model.apply_init([torch.zeros(1, 1, 28, 28)], d2l.init_cnn)
    for layer in model.net:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            w = layer.weight
            fan_in = w[0].numel()
            fan_out = w.shape[0] * w[0, 0].numel()
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert w.abs().max() <= bound
            assert w.abs().max() > 0.8 * bound  # uniform fills its range
            assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
    with pytest.raises(RuntimeError, match='apply_init'):
        LeNetBN().net.apply(d2l.init_cnn)  # lazy layers not materialised


def test_trainer_materialises_lazy_layers_itself(smoke):
    model = LeNetBN()
    assert any(nn.parameter.is_lazy(p) for p in model.parameters())
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, d2l.FashionMNIST(batch_size=128))
    assert not any(nn.parameter.is_lazy(p) for p in model.parameters())
    assert len(trainer.history) == 1


def test_trainer_computes_channels_last_on_the_cpu(smoke):
    """The Trainer and measure_training_step keep images and convolution
    weights channels-last on the CPU (d2l._memory_format says why); the
    model computes what it computes in PyTorch's default layout."""
    torch.manual_seed(0)
    model = LeNetBN()
    X = torch.rand(8, 1, 28, 28)
    model.apply_init([X], d2l.init_cnn)
    model.eval()
    expected = model(X)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, d2l.FashionMNIST(batch_size=128))
    assert trainer.device == d2l.cpu()
    kernels = [p for p in model.parameters() if p.dim() == 4]
    assert len(kernels) == 2 and all(
        p.is_contiguous(memory_format=torch.channels_last) for p in kernels)
    # (One channel is both layouts at once: three tell them apart.)
    rgb, labels = trainer.prepare_batch([torch.rand(8, 3, 28, 28),
                                         torch.zeros(8).long()])
    assert rgb.is_contiguous(memory_format=torch.channels_last)
    assert not rgb.is_contiguous() and labels.shape == (8,)
    images, _ = trainer.prepare_batch([X, labels])
    # The same weights in the default layout: the same outputs.
    plain = LeNetBN()
    plain.apply_init([X])
    plain.load_state_dict(model.state_dict())
    plain.eval()
    assert all(p.is_contiguous() for p in plain.parameters())
    torch.testing.assert_close(model(images), plain(X), rtol=1e-5,
                               atol=1e-5)
    assert not torch.allclose(model(images), expected)  # it trained

    fresh = LeNetBN()
    fresh.apply_init([X])
    d2l.measure_training_step(fresh, (X, torch.zeros(8).long()), repeats=1)
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               for p in fresh.parameters() if p.dim() == 4)


# ---------------------------------------------------------------- memory

class _Chain(d2l.Classifier):
    """Six wide layers; with `recompute`, the middle four are checkpointed
    (only their input kept) as the memory-efficient dense layer is."""

    def __init__(self, recompute):
        super().__init__()
        self.recompute, self.lr = recompute, 0.1
        self.a, self.c = nn.Linear(64, 512), nn.Linear(512, 10)
        self.middle_layers = nn.ModuleList(
            nn.Linear(512, 512) for _ in range(4))

    def middle(self, X):
        for layer in self.middle_layers:
            X = layer(F.relu(X))
        return F.relu(X)

    def forward(self, X):
        X = self.a(X)
        if self.recompute:
            from torch.utils.checkpoint import checkpoint
            X = checkpoint(self.middle, X, use_reentrant=False)
        else:
            X = self.middle(X)
        return self.c(X)


def test_measure_training_step_counts_what_is_kept_and_restores_state():
    torch.manual_seed(0)
    batch = (torch.randn(256, 64), torch.randint(0, 10, (256,)))
    stored, recomputed = _Chain(False), _Chain(True)
    recomputed.load_state_dict(stored.state_dict())
    before = {k: v.clone() for k, v in stored.state_dict().items()}
    a = d2l.measure_training_step(stored, batch, label='stored')
    b = d2l.measure_training_step(recomputed, batch, label='recomputed')
    # stored: five ReLU outputs (each also the next layer's saved input),
    # 256 x 512 floats each; recomputed: the checkpoint's input and output.
    assert a.kept_bytes >= 5 * 256 * 512 * 4
    assert b.kept_bytes <= a.kept_bytes * 0.6
    assert a.label == 'stored' and a.seconds > 0 and a.peak_bytes >= 0
    for k, v in stored.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert d2l.measure_kept_bytes(stored, batch) == a.kept_bytes
    assert d2l.measure_kept_bytes(recomputed, batch) == b.kept_bytes
    for k, v in stored.state_dict().items():
        assert torch.equal(v, before[k]), k
