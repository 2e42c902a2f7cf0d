"""The framework-free half of d2l_local, run in every framework environment
(numpy 1.23 under MXNet, numpy 2 elsewhere)."""
import gzip
import os
import pathlib
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from idx_files import (GZIP_DAMAGE, compressible_idx_gzip,  # noqa: E402
                       data_dir_with_bad_train_images, fake_fashion_mnist_dir,
                       write_bad_magic, write_idx, write_truncated)

from d2l_local import shared  # noqa: E402


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for compress in (True, False):
        name = 'a.idx.gz' if compress else 'a.idx'
        path = write_idx(tmp_path / name, array, compress)
        np.testing.assert_array_equal(shared.read_idx(path), array)


def test_bad_magic_names_the_file(tmp_path):
    path = write_bad_magic(tmp_path / 'x-idx3-ubyte.gz')
    with pytest.raises(shared.DataFileError, match='bad magic number') as e:
        shared.read_idx(path)
    assert str(path) in str(e.value)
    assert 'dataset-fashion-mnist' in str(e.value)


def test_wrong_length_names_the_file(tmp_path):
    path = write_truncated(tmp_path / 'y-idx3-ubyte.gz')
    with pytest.raises(shared.DataFileError, match='wrong length') as e:
        shared.read_idx(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize('where', GZIP_DAMAGE)
def test_damaged_gzip_names_the_file_and_how_to_get_good_data(tmp_path,
                                                              where):
    path = tmp_path / 'train-images-idx3-ubyte.gz'
    path.write_bytes(GZIP_DAMAGE[where](compressible_idx_gzip()))
    with pytest.raises(shared.DataFileError, match='damaged gzip data') as e:
        shared.read_idx(path)
    assert str(path) in str(e.value)
    assert 'Delete it and fetch it again' in str(e.value)
    assert 'apt-get install dataset-fashion-mnist' in str(e.value)


def test_the_damage_cases_meet_every_way_gzip_fails():
    # each case is real damage (plain gzip refuses it), and together they
    # reach all three exceptions gzip raises on a damaged stream
    raised = set()
    for where, damage in GZIP_DAMAGE.items():
        with pytest.raises(Exception) as e:
            gzip.decompress(damage(compressible_idx_gzip()))
        raised.add(type(e.value))
    assert raised == {gzip.BadGzipFile, zlib.error, EOFError}


def test_damaged_training_images_stop_loading_with_the_file(tmp_path,
                                                           monkeypatch):
    damage = GZIP_DAMAGE['middle of the deflate data']
    bad = data_dir_with_bad_train_images(
        tmp_path, monkeypatch,
        lambda path: path.write_bytes(damage(compressible_idx_gzip())))
    with pytest.raises(shared.DataFileError, match='damaged gzip data') as e:
        shared.fashion_mnist_arrays(True, shared.RUN_MODES['smoke'])
    assert str(bad) in str(e.value)


def test_checksum_mismatch_names_the_file(tmp_path, monkeypatch):
    folder = fake_fashion_mnist_dir(tmp_path)
    monkeypatch.setenv('D2L_DATA', str(tmp_path))
    with pytest.raises(shared.DataFileError, match='checksum mismatch') as e:
        shared.load_fashion_mnist(train=True)
    assert str(folder / 'train-images-idx3-ubyte.gz') in str(e.value)


def test_missing_files_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv('D2L_DATA', str(tmp_path))
    monkeypatch.setattr(shared, 'DEBIAN_DIR', tmp_path / 'nowhere')
    monkeypatch.delenv('D2L_DOWNLOAD', raising=False)
    with pytest.raises(shared.DataFileError, match='not found') as e:
        shared.load_fashion_mnist(train=False)
    assert 'apt-get install dataset-fashion-mnist' in str(e.value)


def test_download_is_verified_and_atomic(tmp_path, monkeypatch):
    """A download whose checksum is wrong leaves nothing behind; a right one
    lands under its name (served from a file:// URL: no network in tests)."""
    served = tmp_path / 'server'
    served.mkdir()
    payload = served / 'file.gz'
    payload.write_bytes(b'not the real file')
    target = tmp_path / 'cache' / 'file.gz'
    with pytest.raises(shared.DataFileError, match='checksum mismatch'):
        shared.download(payload.as_uri(), target, '0' * 64)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    good = shared.sha256_of(payload)
    assert shared.download(payload.as_uri(), target, good) == target
    assert target.read_bytes() == b'not the real file'


def test_real_data_has_the_expected_shape():
    images, labels = shared.load_fashion_mnist(train=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and set(np.unique(labels)) == set(range(10))


@pytest.mark.parametrize('mode,train,count', [
    ('smoke', True, 384), ('smoke', False, 256),
    ('quick', True, 12_000), ('quick', False, 10_000),
    ('full', False, 10_000)])
def test_modes_cap_the_examples(mode, train, count):
    images, labels = shared.fashion_mnist_arrays(train, shared.RUN_MODES[mode])
    assert len(images) == len(labels) == count
    assert images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    # a seeded subset still holds every class
    assert len(np.unique(labels)) == 10


def test_run_mode_from_the_environment(monkeypatch):
    monkeypatch.delenv('D2L_MODE', raising=False)
    assert shared.run_mode(gpu_found=False).name == 'quick'
    assert shared.run_mode(gpu_found=True).name == 'full'
    monkeypatch.setenv('D2L_MODE', 'smoke')
    assert shared.run_mode(gpu_found=True).name == 'smoke'
    monkeypatch.setenv('D2L_MODE', 'fast')
    with pytest.raises(ValueError, match="D2L_MODE='fast'"):
        shared.run_mode()


def test_mode_caps():
    quick = shared.RUN_MODES['quick']
    assert quick.cap_epochs(10) == 4 and quick.cap_epochs(2) == 2
    assert quick.cap_image_size((96, 96)) == (32, 32)
    assert quick.cap_image_size((28, 28)) == (28, 28)
    assert shared.RUN_MODES['full'].cap_image_size((96, 96)) == (96, 96)
    assert 'smoke' in shared.RUN_MODES['smoke'].describe()


def test_quick_mode_validates_on_the_whole_test_set():
    # The accuracies the page compares across tabs have a standard error of
    # sqrt(p (1 - p) / n): about 0.004 on all 10,000 test images at p = 0.8,
    # smaller than the gaps compared; on 2,000 images it was 0.009.
    quick, smoke = shared.RUN_MODES['quick'], shared.RUN_MODES['smoke']
    assert quick.cap_examples(10_000, train=False) == 10_000
    assert quick.cap_examples(60_000, train=True) == 12_000
    assert quick.describe() == (
        'run mode: quick (at most 4 epoch(s), 12,000 training and all '
        'validation examples, images at most 32x32)')
    # smoke mode stays a few batches
    assert smoke.cap_examples(10_000, train=False) == 256
    assert smoke.describe() == (
        'run mode: smoke (at most 1 epoch(s), 384 training and 256 '
        'validation examples, images at most 32x32)')


def test_pick_gives_the_choice_for_the_mode():
    choices = dict(full=(100, 10), quick=(16, 1), smoke=(10, 1))
    for name, choice in choices.items():
        assert shared.RUN_MODES[name].pick(**choices) == choice
    tiny = shared.RunMode('tiny', 1, 10, 10, 8)
    with pytest.raises(ValueError, match="full, quick, smoke.*'tiny'"):
        tiny.pick(**choices)


def test_the_modes_are_those_the_build_reads(monkeypatch):
    """A mode added to d2l_local.run_modes (which the build and the page
    read) is one the chapters' run_mode() gives."""
    from d2l_local import run_modes
    monkeypatch.setitem(run_modes.RUN_MODES, 'tiny',
                        run_modes.RunMode('tiny', 1, 10, 10, 8))
    monkeypatch.setenv('D2L_MODE', 'tiny')
    assert shared.run_mode().describe().startswith('run mode: tiny (')


def test_save_hyperparameters():
    class Thing(shared.HyperParameters):
        def __init__(self, a, b=2, c=3):
            self.save_hyperparameters(ignore=['c'])

    thing = Thing(1)
    assert (thing.a, thing.b) == (1, 2) and not hasattr(thing, 'c')


def test_batch_indices_cover_every_example_once():
    rng = np.random.default_rng(0)
    batches = shared.batch_indices(10, 4, shuffle=True, rng=rng)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_data_rng_restarts_with_the_seed_and_differs_per_data_module():
    shared.seed_python_and_numpy(3)
    first, second = shared.data_rng(), shared.data_rng()
    a, b = first.permutation(100), second.permutation(100)
    assert not np.array_equal(a, b)
    shared.seed_python_and_numpy(3)
    np.testing.assert_array_equal(shared.data_rng().permutation(100), a)
    shared.seed_python_and_numpy(4)
    assert not np.array_equal(shared.data_rng().permutation(100), a)


def test_canonical_weights_are_xavier_uniform_numbered_per_model():
    shared.seed_python_and_numpy(0)
    conv = shared.canonical_weights((64, 3, 7, 7))
    dense = shared.canonical_weights((10, 64))
    assert conv.dtype == np.float32 and conv.shape == (64, 3, 7, 7)
    bound = np.sqrt(6 / (3 * 49 + 64 * 49))
    assert np.abs(conv).max() <= bound and np.abs(conv).max() > 0.99 * bound
    assert np.abs(dense).max() <= np.sqrt(6 / 74)
    # A model that starts its draws again gets the same weights.
    shared.restart_weight_draws()
    np.testing.assert_array_equal(shared.canonical_weights((64, 3, 7, 7)),
                                  conv)
    # Keras and Flax layouts: (kh, kw, in, out) and (in, out), and back.
    assert shared.to_channels_last(conv).shape == (7, 7, 3, 64)
    assert shared.from_channels_last((7, 7, 3, 64)) == (64, 3, 7, 7)
    np.testing.assert_array_equal(shared.to_channels_last(dense), dense.T)


def test_resize_images_is_bilinear_with_half_pixel_centres():
    images = np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2)
    out = shared.resize_images(images, (4, 4))
    # Enlarging 2 -> 4: output pixel centres at 0.25, 0.75, 1.25, 1.75 of
    # the input's, clamped at the borders: weights 1, .75/.25, .25/.75, 1.
    np.testing.assert_allclose(out[0, 0], [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(out[0, :, 0], [0, 0.5, 1.5, 2])
    assert out.dtype == np.float32 and out.shape == (2, 4, 4)
    assert shared.resize_images(images, (2, 2)) is images


def test_weighted_mean_weighs_a_short_last_batch_by_its_size():
    assert shared.weighted_mean([1.0, 4.0], [3, 1]) == 1.75
    assert np.isnan(shared.weighted_mean([], []))


def test_validation_means_are_over_all_examples():
    # 5 examples in batches of 2, 2 and 1: per-example losses and hits
    losses = np.array([1.0, 3.0, 2.0, 2.0, 8.0])
    hits = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    batches = [slice(0, 2), slice(2, 4), slice(4, 5)]
    metrics = [{'loss': losses[b].mean(), 'acc': hits[b].mean()}
               for b in batches]
    sizes = [2, 2, 1]
    means = shared.validation_means(metrics, sizes)
    assert means == {'loss': pytest.approx(losses.mean()),
                     'acc': pytest.approx(hits.mean())}
    # the plain mean of the batch means is another number here
    assert np.mean([m['loss'] for m in metrics]) != pytest.approx(
        losses.mean())
    assert shared.validation_means([], []) == {}


def test_progress_board_averages_every_n():
    board = shared.ProgressBoard(display=False)
    for x in range(4):
        board.draw(x, x * 2.0, 'loss', every_n=2)
    assert board.data['loss'] == [(0.5, 1.0), (2.5, 5.0)]
    fig = board.figure()
    assert fig.axes[0].get_lines()[0].get_label() == 'loss'


def test_progress_board_orders_its_legend_and_marks_single_points():
    board = shared.ProgressBoard(display=False)
    # The order a framework might draw them in: validation first.
    board.draw(1, 0.8, 'val_acc')
    board.draw(1, 0.6, 'val_loss')
    board.draw(0.5, 0.9, 'train_loss')
    board.draw(1, 0.7, 'train_loss')
    board.draw(1, 3.0, 'my_metric')
    axes = board.figure().axes[0]
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert labels == ['train_loss', 'val_loss', 'val_acc', 'my_metric']
    single = [ln for ln in axes.get_lines() if ln.get_label() == 'val_acc']
    assert len(single[0].get_xdata()) == 1
    assert single[0].get_marker() not in (None, '', 'None', ' ')


def test_plots_in_notebooks_carry_svg_and_png():
    pytest.importorskip('matplotlib_inline')
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure
    shell = InteractiveShell.instance()
    try:
        shared.use_svg_display()
        formats = {mime for mime, formatter
                   in shell.display_formatter.formatters.items()
                   if Figure in formatter.type_printers}
    finally:
        InteractiveShell.clear_instance()
    assert {'image/svg+xml', 'image/png'} <= formats


def test_training_log_prints_a_line_per_epoch(capsys):
    log = shared.TrainingLog(max_epochs=2)
    log.end_epoch(0, 1.5, 1.2, 0.5, examples=100)
    log.end_epoch(1, 1.0, 0.9, 0.7, examples=100)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('epoch 1/2: train loss 1.500, val loss 1.200')
    assert len(out) == 2
    assert log.history[-1]['val_acc'] == 0.7
    assert 'val acc 0.700' in log.summary()
    assert log.summary('peak memory 3 MiB (x)').endswith(
        's/epoch); peak memory 3 MiB (x)')


def test_a_regression_reports_no_accuracy(capsys):
    log = shared.TrainingLog(max_epochs=1)
    log.end_epoch(0, 0.4, 0.5, float('nan'), examples=10)
    line = capsys.readouterr().out
    assert line.startswith('epoch 1/1: train loss 0.400, val loss 0.500 (')
    assert 'nan' not in line and 'nan' not in log.summary()
    assert log.summary().startswith('train loss 0.400, val loss 0.500; ')


def test_training_log_reports_each_epoch_to_the_build(tmp_path, monkeypatch,
                                                     capsys):
    progress = tmp_path / 'progress.txt'
    monkeypatch.setenv(shared.PROGRESS_FILE_VARIABLE, str(progress))
    log = shared.TrainingLog(max_epochs=2)
    log.end_epoch(0, 1.5, 1.2, 0.5, examples=100)
    assert progress.read_text().startswith(
        'epoch 1/2: train loss 1.500, val loss 1.200, val acc 0.500 (')
    log.end_epoch(1, 1.0, 0.9, 0.7, examples=100)
    assert len(progress.read_text().splitlines()) == 2
    monkeypatch.delenv(shared.PROGRESS_FILE_VARIABLE)
    log.end_epoch(1, 1.0, 0.9, 0.7, examples=100)
    assert len(progress.read_text().splitlines()) == 2


def test_memory_line_and_the_peak_of_this_process():
    assert shared.memory_line(3 * 2**20 + 1, 'on GPU 0') == \
        'peak memory 3 MiB (on GPU 0)'
    before = shared.peak_host_memory()
    block = bytearray(64 * 2**20)  # touched, so resident
    for i in range(0, len(block), 4096):
        block[i] = 1
    assert shared.peak_host_memory() >= max(before, 64 * 2**20)


# ---------------------------------------------------------------- step memory

def test_host_peak_memory_sees_an_allocation_inside_the_block_only():
    held = bytearray(64 * 2**20)  # resident before: not part of the peak
    held[::4096] = b'x' * len(held[::4096])
    with shared.HostPeakMemory() as peak:
        inside = bytearray(48 * 2**20)
        inside[::4096] = b'y' * len(inside[::4096])
        del inside
    assert 40 * 2**20 <= peak.peak_bytes <= 60 * 2**20
    assert peak.baseline_bytes >= len(held)
    assert shared.host_rss_bytes(trim=True) > 0


def test_step_memory_table_gives_the_ratios_and_sources():
    rows = [shared.StepMemory('naive', 200 * 2**20, 100 * 2**20, 0.2,
                              'VmHWM', 'hooks'),
            shared.StepMemory('memory-efficient', 100 * 2**20, 25 * 2**20,
                              0.25, 'VmHWM', 'hooks')]
    lines = shared.step_memory_table(rows).splitlines()
    assert lines[1].split() == ['naive', '200.0', '100.0', '0.200']
    assert lines[3].split() == ['ratio', '0.50x', '0.25x', '1.25x']
    assert lines[4] == 'peak: VmHWM; kept: hooks'
    with pytest.raises(ValueError, match='no rows'):
        shared.step_memory_table([])


def test_native_stderr_loses_only_the_named_noise(capfd):
    with shared.native_stderr_without(('start-up chatter',)):
        os.write(2, b'I0000 start-up chatter of a library\n')
        os.write(2, b'E0000 something the reader must see\n')
    err = capfd.readouterr().err
    assert 'start-up chatter' not in err
    assert 'something the reader must see' in err
    os.write(2, b'after the block\n')  # the descriptor is restored
    assert 'after the block' in capfd.readouterr().err


# ---------------------------------------------------------------- glue

def displayed_glue(*args, **kwargs):
    """What one d2l.glue call shows in an IPython shell: its display
    outputs, as a kernel would send them to the notebook. The shell is
    cleared afterwards: the suites after this one run in plain Python."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            returned = shared.glue(*args, **kwargs)
    finally:
        InteractiveShell.clear_instance()
    assert returned is None  # a last line of a cell shows no Out[]
    assert captured.stdout == '' and captured.stderr == ''
    return [output.data for output in captured.outputs]


def test_glue_records_name_text_and_value_in_the_book_s_own_output():
    from d2l_local import GLUE_MIME
    shown = displayed_glue('val_acc', np.float32(0.89125), '.3f')
    # One output, of the book's type only: JupyterLab has no renderer for
    # it and shows nothing, and the build reads it back.
    assert len(shown) == 1 and list(shown[0]) == [GLUE_MIME]
    record = shown[0][GLUE_MIME]
    assert record['name'] == 'val_acc' and record['text'] == '0.891'
    assert record['value'] == pytest.approx(0.89125)
    assert type(record['value']) is float  # numpy's scalar became Python's


@pytest.mark.parametrize('value, fmt, text', [
    (758226, ',', '758,226'),
    (np.int64(758226), ',', '758,226'),
    (np.array(1.4999), '.1f', '1.5'),      # a 0-d array, as frameworks give
    (0.1234, '.1%', '12.3%'),
    ('NCHW', None, 'NCHW'),
    (np.array([4, 23, 8, 8]), None, '[4, 23, 8, 8]'),
    (float('nan'), '.3f', 'nan'),
])
def test_glue_formats_with_format_spec(value, fmt, text):
    from d2l_local import GLUE_MIME
    record = displayed_glue('x', value, fmt)[0][GLUE_MIME]
    assert record['text'] == text
    if text == 'nan':
        assert record['value'] is None  # JSON has no NaN: the text says it


def test_glue_refuses_a_name_the_prose_cannot_write_and_a_bad_format():
    with pytest.raises(ValueError, match='glue name'):
        shared.glue('val acc', 0.9)
    with pytest.raises(ValueError, match="'val_acc'.*'.3f'"):
        shared.glue('val_acc', 'high', '.3f')


def test_glue_outside_ipython_shows_nothing():
    """A chapter's cells run in plain Python too (the architecture tests):
    there glue records nothing and prints nothing."""
    import subprocess
    run = subprocess.run(
        [sys.executable, '-c', 'from d2l_local import shared; '
         "shared.glue('val_acc', 0.9, '.2f')"],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__)
                                            .resolve().parents[2])))
    assert (run.returncode, run.stdout, run.stderr) == (0, '', '')
