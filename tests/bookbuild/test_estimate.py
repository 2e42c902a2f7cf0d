"""The estimate a full-mode build on a CPU prints before it starts."""
from types import SimpleNamespace

import pytest

from bookbuild import cli, estimate

# A probe's figures: 2 steps of 128 images in 4 s (64 examples/s), and full
# mode's workload.
FIGURES = {'steps': 2, 'batch': 128, 'epoch_s': [4.0], 'side': 96,
           'epochs': 10, 'train_examples': 60_000, 'val_examples': 10_000}


def test_the_arithmetic():
    assert estimate.examples_per_second(FIGURES) == 64.0
    # 10 x (60,000 / 64 + 10,000 / (3 x 64)) s
    assert estimate.full_mode_seconds(FIGURES) == pytest.approx(
        10 * (60_000 / 64 + 10_000 / 192))


def test_the_median_epoch_counts():
    figures = dict(FIGURES, epoch_s=[4.0, 100.0, 2.0])
    assert estimate.examples_per_second(figures) == 64.0


# The same probe with its validation passes timed: 256 validation images in
# 1 s per measured epoch (the warm-up's pass, 9 s, compiled), so the epoch's
# training took 4 s of its 5.
TIMED = dict(FIGURES, epoch_s=[5.0], val_s=[9.0, 1.0], val_images=256)


def test_a_timed_validation_leaves_the_epoch_and_gives_its_own_speed():
    assert estimate.training_seconds(TIMED['epoch_s'],
                                     TIMED['val_s']) == [4.0]
    assert estimate.examples_per_second(TIMED) == 64.0
    assert estimate.validation_examples_per_second(TIMED) == 256.0
    # 10 x (60,000 / 64 + 10,000 / 256) s: the measured validation speed,
    # not three times the training's
    assert estimate.full_mode_seconds(TIMED) == pytest.approx(
        10 * (60_000 / 64 + 10_000 / 256))


def test_an_untimed_validation_is_assumed_three_times_faster():
    assert estimate.validation_examples_per_second(FIGURES) is None
    assert estimate.training_seconds(FIGURES['epoch_s']) == [4.0]


@pytest.mark.parametrize('seconds, text', [
    (45, '45 s'), (59.4, '59 s'), (61, '1 min'), (7 * 60 + 10, '7 min'),
    (3600, '1 h 00 min'), (2 * 3600 + 5 * 60 + 20, '2 h 05 min')])
def test_durations(seconds, text):
    assert estimate.duration(seconds) == text


def test_the_line():
    assert estimate.estimate_line('jax', FIGURES) == (
        "full mode on this CPU, jax: about 2 h 45 min for the DenseNet "
        "chapter's training (10 epochs of 60,000 training and 10,000 "
        "validation images at 96x96; 64 training examples/s measured over "
        "2 steps)")


def test_a_failed_probe_says_why_and_the_others_still_report():
    said = []
    figures = estimate.announce(
        '/book', ['pytorch', 'jax'], said.append,
        run_probe=lambda root, fw: FIGURES if fw == 'jax' else
        {'error': 'the probe took over 120 s'})
    assert said == [
        'full mode on this CPU, pytorch: no estimate (the probe took over '
        '120 s)', estimate.estimate_line('jax', FIGURES)]
    assert figures['jax'] is FIGURES


def test_a_missing_environment_is_named(tmp_path):
    result = estimate.probe(tmp_path, 'mxnet')
    assert result == {'error': f'{tmp_path}/.venv/mxnet/bin/python: no such '
                      'environment'}


class Stop(Exception):
    pass


@pytest.mark.parametrize('mode, accel, announced', [
    ('full', 'cpu', True), ('full', 'cuda', False), ('quick', 'cpu', False),
    ('smoke', 'cpu', False)])
def test_only_a_full_build_on_a_cpu_estimates(monkeypatch, tmp_path, mode,
                                              accel, announced):
    calls = []
    monkeypatch.setattr(estimate, 'announce',
                        lambda root, fws, say: calls.append(list(fws)))

    def stop(*args):
        raise Stop  # the build goes on after the estimate: stop it here

    monkeypatch.setattr(cli, 'build_notebooks', stop)
    layout = cli.Layout(tmp_path / 'build', accel=accel)
    with pytest.raises(Stop):
        cli.build_html(layout, [], ['pytorch', 'jax'], mode, 60,
                       SimpleNamespace(say=print))
    assert calls == ([['pytorch', 'jax']] if announced else [])
