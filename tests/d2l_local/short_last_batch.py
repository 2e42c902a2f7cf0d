"""A small classification set whose last validation batch is short, for the
Trainers' tests of how an epoch's validation figures are averaged."""
import numpy as np

BATCH_SIZE = 32
FEATURES, CLASSES = 20, 3


def arrays():
    """((X, y) for training, (X, y) for validation): float32 features, int32
    labels, the class a fixed linear rule gives (learnt within an epoch).
    The 70 validation examples make batches of 32, 32 and 6, and the 6 are
    unlike the others: inputs 5 times larger and labels off by one class,
    so that their loss and accuracy differ plainly from the rest, and so
    does the plain mean of the batch means from the mean over examples."""
    rng = np.random.default_rng(0)
    rule = rng.normal(size=(FEATURES, CLASSES))

    def split(n):
        X = rng.normal(size=(n, FEATURES)).astype(np.float32)
        return X, (X @ rule).argmax(axis=1).astype(np.int32)
    train, val = split(640), split(70)
    val[0][-6:] *= 5
    val[1][-6:] = (val[1][-6:] + 1) % CLASSES
    return train, val


def batch_means(per_example, batch_size=BATCH_SIZE):
    """The means of the validation batches, in order."""
    per_example = np.asarray(per_example, dtype=np.float64)
    return [per_example[i:i + batch_size].mean()
            for i in range(0, len(per_example), batch_size)]


def spy_on_the_rule(monkeypatch):
    """The batch sizes each call of shared.validation_means is given: the
    Trainer under test must reach its figures through the one rule."""
    from d2l_local import shared
    rule, calls = shared.validation_means, []

    def spy(metrics, sizes):
        calls.append(list(sizes))
        return rule(metrics, sizes)
    monkeypatch.setattr(shared, 'validation_means', spy)
    return calls


def check_figures(trainer, model, losses, hits):
    """The logged and plotted val loss and acc are those of all validation
    examples (per-example `losses` and `hits`), and on this data the plain
    mean of the batch means is another figure, so the check has teeth."""
    import pytest
    losses, hits = np.asarray(losses), np.asarray(hits)
    row = trainer.history[-1]
    assert row['val_loss'] == pytest.approx(losses.mean(), rel=1e-5)
    assert row['val_acc'] == pytest.approx(hits.mean(), abs=1e-6)
    assert model.board.data['val_loss'] == [
        (1, pytest.approx(losses.mean(), rel=1e-5))]
    assert model.board.data['val_acc'] == [
        (1, pytest.approx(hits.mean(), abs=1e-6))]
    for per_example in (losses, hits):
        plain = np.mean(batch_means(per_example))
        assert abs(plain - per_example.mean()) > 0.01
