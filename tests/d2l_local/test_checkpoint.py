"""d2l_local.checkpoint: the files an interrupted fit resumes from
(framework-free; each framework's resuming is tested in its own suite,
tests/d2l_local/common_suite.py)."""
import pickle

import pytest

from d2l_local import checkpoint


@pytest.fixture
def fresh_process(monkeypatch):
    """Fits numbered from 0, as in a new kernel."""
    monkeypatch.setattr(checkpoint._fits, 'started', 0)


def test_without_the_variable_nothing_is_kept(fresh_process, monkeypatch):
    monkeypatch.delenv(checkpoint.DIRECTORY_VARIABLE, raising=False)
    assert checkpoint.FitCheckpoint.for_next_fit({'model': 'Net'}) is None
    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, '')
    assert checkpoint.FitCheckpoint.for_next_fit({'model': 'Net'}) is None


def test_each_fit_has_its_file_and_the_latest_epoch_wins(
        fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, str(tmp_path / 'nb'))
    first = checkpoint.FitCheckpoint.for_next_fit({'model': 'Net'})
    second = checkpoint.FitCheckpoint.for_next_fit({'model': 'Other'})
    assert (first.path.name, second.path.name) == ('fit-0.pkl', 'fit-1.pkl')
    assert first.load() is None
    first.save({'history': [1]})
    first.save({'history': [1, 2]})
    assert first.load()['history'] == [1, 2]
    # written atomically: no temporary file is left beside it
    assert [p.name for p in (tmp_path / 'nb').iterdir()] == ['fit-0.pkl']


def test_a_failed_write_leaves_the_last_complete_epoch(
        fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, str(tmp_path))
    fit = checkpoint.FitCheckpoint.for_next_fit({'model': 'Net'})
    fit.save({'history': [1]})

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError('killed while writing')
    with pytest.raises(RuntimeError, match='killed while writing'):
        fit.save({'history': [1, 2], 'state': Unpicklable()})
    assert fit.load()['history'] == [1]
    assert [p.name for p in tmp_path.iterdir()] == ['fit-0.pkl']


def test_another_fit_s_checkpoint_is_refused_with_its_file(
        fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, str(tmp_path))
    checkpoint.FitCheckpoint.for_next_fit({'epochs': 3}).save({})
    monkeypatch.setattr(checkpoint._fits, 'started', 0)
    other = checkpoint.FitCheckpoint.for_next_fit({'epochs': 10})
    with pytest.raises(checkpoint.CheckpointError) as e:
        other.load()
    assert str(tmp_path / 'fit-0.pkl') in str(e.value)


def test_a_checkpoint_of_an_older_format_is_ignored(
        fresh_process, monkeypatch, tmp_path):
    monkeypatch.setenv(checkpoint.DIRECTORY_VARIABLE, str(tmp_path))
    (tmp_path / 'fit-0.pkl').write_bytes(pickle.dumps({'format': 0}))
    assert checkpoint.FitCheckpoint.for_next_fit({}).load() is None
