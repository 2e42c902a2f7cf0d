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
