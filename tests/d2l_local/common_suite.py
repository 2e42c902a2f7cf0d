"""The tests every framework's d2l_local suite shares: one body, run by each
suite in its own environment against its own module. A suite imports them
(`from common_suite import *`) and has two globals they use: `d2l`, the
module under test, and `RowsClassifier(lr)`, a small classifier of `rows`
(one feature, eleven classes) with BatchNorm and a momentum optimizer, whose
state a checkpoint must bring back; what only one framework has stays in
its suite.
"""
import math
import pathlib
import re

import numpy as np
import pytest

from d2l_local import shared
from idx_files import (data_dir_with_bad_train_images,
                       fake_fashion_mnist_dir, write_bad_magic, write_idx,
                       write_truncated)

__all__ = ['test_public_names_in_the_agreed_order',
           'test_run_mode_follows_the_environment',
           'test_bad_magic_number_names_the_file',
           'test_wrong_length_names_the_file',
           'test_checksum_mismatch_names_the_file',
           'test_idx_round_trip_still_reads',
           'test_data_modules_share_the_skeleton',
           'test_the_loader_cuts_batches_in_the_shared_order',
           'test_fit_runs_the_shared_loop',
           'test_an_interrupted_fit_resumes_with_the_same_numbers',
           'framework_module', 'rows_classifier', 'label_dtype']

PUBLIC_NAMES = ['HyperParameters', 'ProgressBoard', 'Module', 'Classifier',
                'DataModule', 'FashionMNIST', 'Trainer', 'add_to_class',
                'init_cnn', 'cpu', 'gpu', 'num_gpus', 'try_gpu', 'set_seed',
                'run_mode', 'measure_kept_bytes', 'measure_training_step',
                'glue']


@pytest.fixture
def framework_module(request):
    return request.module.d2l


@pytest.fixture
def rows_classifier(request):
    return request.module.RowsClassifier


# ---------------------------------------------------------------- the module

def test_public_names_in_the_agreed_order(framework_module):
    d2l = framework_module
    assert d2l.__all__ == PUBLIC_NAMES
    for name in d2l.__all__:
        assert hasattr(d2l, name), name
    # ... and bound in that order in the file, so that a diff between two
    # framework modules shows only what really differs
    source = pathlib.Path(d2l.__file__).read_text()
    positions = []
    for name in d2l.__all__:
        found = re.search(rf'^(?:class {name}\b|def {name}\(|{name} = )',
                          source, re.M)
        assert found, name
        positions.append(found.start())
    assert positions == sorted(positions)
    assert d2l.HyperParameters is shared.HyperParameters
    assert d2l.ProgressBoard is shared.ProgressBoard


def test_run_mode_follows_the_environment(framework_module, monkeypatch):
    d2l = framework_module
    monkeypatch.setenv('D2L_MODE', 'smoke')
    assert d2l.run_mode().name == 'smoke'
    monkeypatch.delenv('D2L_MODE')
    assert d2l.run_mode().name == ('full' if d2l.num_gpus() else 'quick')


# ---------------------------------------------------------------- data files

def test_bad_magic_number_names_the_file(framework_module, tmp_path,
                                         monkeypatch):
    bad = data_dir_with_bad_train_images(tmp_path, monkeypatch, write_bad_magic)
    with pytest.raises(shared.DataFileError, match='bad magic number') as e:
        framework_module.FashionMNIST()
    assert str(bad) in str(e.value)


def test_wrong_length_names_the_file(framework_module, tmp_path, monkeypatch):
    bad = data_dir_with_bad_train_images(tmp_path, monkeypatch, write_truncated)
    with pytest.raises(shared.DataFileError, match='wrong length') as e:
        framework_module.FashionMNIST()
    assert str(bad) in str(e.value)
    # shared.read_idx says the same about the file on its own
    with pytest.raises(shared.DataFileError, match='wrong length') as e:
        shared.read_idx(bad)
    assert str(bad) in str(e.value)


def test_checksum_mismatch_names_the_file(framework_module, tmp_path,
                                          monkeypatch):
    folder = fake_fashion_mnist_dir(tmp_path)
    monkeypatch.setenv('D2L_DATA', str(tmp_path))
    monkeypatch.setenv('D2L_MODE', 'smoke')
    with pytest.raises(shared.DataFileError, match='checksum mismatch') as e:
        framework_module.FashionMNIST()
    assert str(folder / 'train-images-idx3-ubyte.gz') in str(e.value)


def test_idx_round_trip_still_reads(tmp_path):
    # the helpers write valid files: the failures above are the corruption
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        shared.read_idx(write_idx(tmp_path / 'ok.gz', array)), array)


# ---------------------------------------------------------------- skeleton

def test_data_modules_share_the_skeleton(framework_module):
    """The framework's data classes are the shared skeleton plus the
    framework's conversion: one reading of the files, one set of caps."""
    d2l = framework_module
    assert issubclass(d2l.DataModule, shared.DataModule)
    assert issubclass(d2l.FashionMNIST, shared.FashionMNIST)
    assert issubclass(d2l.FashionMNIST, d2l.DataModule)
    assert issubclass(d2l.Trainer, shared.Trainer)
    assert d2l.Trainer.fit is shared.Trainer.fit


@pytest.fixture
def label_dtype():
    """The labels' type the framework's loss takes (PyTorch: int64)."""
    return np.int32


def rows(d2l, label_dtype):
    """Eleven numbered rows (one feature, label = row number) in batches of
    4, the last one short."""
    class Rows(d2l.DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 4
            self.X = np.arange(11, dtype=np.float32)[:, None] / 10
            self.y = np.arange(11).astype(label_dtype)

        def get_dataloader(self, train):
            return self.get_tensorloader((self.X, self.y), train)
    return Rows()


def test_the_loader_cuts_batches_in_the_shared_order(framework_module,
                                                     label_dtype):
    """Every framework's loader is `shared.BatchLoader`: the epochs'
    orders are `shared.batch_indices` drawn from the data module's own
    generator, the last short batch kept, the arrays the framework's."""
    d2l = framework_module
    d2l.set_seed(3)
    data = rows(d2l, label_dtype)
    loader = data.train_dataloader()
    assert isinstance(loader, shared.BatchLoader)
    assert len(loader) == math.ceil(11 / 4)
    d2l.set_seed(3)
    expected_rng = shared.data_rng()
    for _ in range(2):  # two epochs, two permutations
        expected = shared.batch_indices(11, 4, True, expected_rng)
        got = [np.asarray(_host(y)).tolist() for _, y in loader]
        assert got == [e.tolist() for e in expected]
    val = [np.asarray(_host(y)).tolist() for _, y in data.val_dataloader()]
    assert val == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    X, _ = next(iter(loader))
    assert not isinstance(X, np.ndarray)  # the framework's own array


def _host(array):
    """A framework's array on the host, as numpy."""
    for method in ('asnumpy', 'numpy'):
        if hasattr(array, method) and not isinstance(array, np.ndarray):
            return getattr(array, method)()
    return np.asarray(array)


def test_fit_runs_the_shared_loop(framework_module, rows_classifier,
                                  label_dtype, monkeypatch, capsys):
    """A framework's Trainer reaches the end of each epoch through the
    shared `_end_epoch`, which logs the example-weighted train loss."""
    d2l = framework_module
    ends = []
    end_epoch = shared.Trainer._end_epoch

    def spy(self, step_losses, sizes, val):
        ends.append((list(sizes), sorted(val)))
        return end_epoch(self, step_losses, sizes, val)
    monkeypatch.setattr(shared.Trainer, '_end_epoch', spy)
    monkeypatch.setenv('D2L_MODE', 'smoke')
    trainer = d2l.Trainer(max_epochs=1)
    d2l.set_seed(0)
    trainer.fit(rows_classifier(lr=0.1), rows(d2l, label_dtype))
    assert ends == [([4, 4, 3], ['acc', 'loss'])]
    row = trainer.history[0]
    assert row['train_loss'] == pytest.approx(
        np.dot(trainer.step_losses, [4, 4, 3]) / 11, rel=1e-6)
    out = capsys.readouterr().out
    assert out.startswith('run mode: smoke')
    assert 'epoch 1/1: train loss' in out


# ---------------------------------------------------------------- resuming

RESUME = shared.RunMode('resume', max_epochs=3, train_examples=None,
                        val_examples=None, max_image_size=None)


def test_an_interrupted_fit_resumes_with_the_same_numbers(
        framework_module, rows_classifier, label_dtype, tmp_path,
        monkeypatch, capsys):
    """With $D2L_CHECKPOINT_DIR, a fit killed after its first epoch and
    run again continues from the checkpoint: two epochs trained, not
    three, and the losses, accuracies, curves and printed lines of an
    uninterrupted fit (a BatchNorm model with a momentum optimizer, so
    that the statistics and the optimizer's state must come back too)."""
    from d2l_local import checkpoint
    d2l = framework_module
    monkeypatch.setitem(shared.RUN_MODES, 'resume', RESUME)
    monkeypatch.setenv('D2L_MODE', 'resume')
    trained = []
    end_epoch = shared.Trainer._end_epoch

    def counting(self, *args):
        trained.append(self.epoch)
        return end_epoch(self, *args)
    monkeypatch.setattr(shared.Trainer, '_end_epoch', counting)

    def fit():
        # A rerun is a new kernel: its fits are numbered from 0 again.
        monkeypatch.setattr(checkpoint._fits, 'started', 0)
        d2l.set_seed(0)
        model = rows_classifier(lr=0.1)
        trainer = d2l.Trainer(max_epochs=3)
        trainer.fit(model, rows(d2l, label_dtype))
        return trainer, model, capsys.readouterr().out

    def figures(run):
        trainer, model, out = run
        lines = [re.sub(r' \(.*', '', line) for line in out.splitlines()
                 if line.startswith('epoch ')]
        return trainer.history, trainer.step_losses, model.board.data, lines

    def same(got, expected):
        assert got[3] == expected[3]  # the printed lines, timings left out
        assert len(got[0]) == len(expected[0])
        for row, expected_row in zip(got[0], expected[0]):
            for key in ('epoch', 'train_loss', 'val_loss', 'val_acc'):
                assert row[key] == pytest.approx(expected_row[key],
                                                 rel=1e-6, abs=1e-7), key
        assert got[1] == pytest.approx(expected[1], rel=1e-6, abs=1e-7)
        assert got[2].keys() == expected[2].keys()
        for label, points in expected[2].items():
            np.testing.assert_allclose(got[2][label], points, rtol=1e-6,
                                       atol=1e-7)

    whole = figures(fit())
    assert trained == [0, 1, 2] and not list(tmp_path.iterdir())

    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, str(tmp_path))
    save = shared.Trainer._save_checkpoint

    def killed_after_the_first_epoch(self, model):
        save(self, model)
        raise KeyboardInterrupt
    monkeypatch.setattr(shared.Trainer, '_save_checkpoint',
                        killed_after_the_first_epoch)
    trained.clear()
    with pytest.raises(KeyboardInterrupt):
        fit()
    capsys.readouterr()  # what the killed run printed
    assert trained == [0]
    assert [p.name for p in tmp_path.iterdir()] == ['fit-0.pkl']
    monkeypatch.setattr(shared.Trainer, '_save_checkpoint', save)

    trained.clear()
    same(figures(fit()), whole)
    assert trained == [1, 2]  # the first epoch came from the checkpoint

    # Once more: every epoch is in the checkpoint, and nothing is trained.
    trained.clear()
    same(figures(fit()), whole)
    assert trained == []
