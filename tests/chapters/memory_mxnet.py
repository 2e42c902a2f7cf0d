"""The MXNet half of test_memory_efficient.py: a batch, and one training step
of a model as numpy arrays (loss, gradients, BatchNorm statistics after it).

The memory-efficient dense layer is a custom `autograd.Function` whose
backward pass runs on one of MXNet's worker threads; the step is read only
after `npx.waitall()`, so a gradient that the Function wrote late (or not
at all) shows up as a difference, not as a race."""
import numpy as onp
from mxnet import autograd, np, npx


def batch(shape_nchw, num_classes, seed=0):
    n, c, h, w = shape_nchw
    rng = onp.random.default_rng(seed)
    X = rng.standard_normal((n, c, h, w)).astype(onp.float32)
    return np.array(X), np.array(onp.arange(n) % num_classes, dtype='int32')


def copy_weights(source, target, X):
    """Give both models their shapes on X and `target` the weights (and
    BatchNorm statistics) of `source`. Parameters are matched by their
    position: Gluon's names carry a per-instance counter."""
    for model in (source, target):
        model(X[:1])
    pairs = list(zip(source.collect_params().values(),
                     target.collect_params().values()))
    assert [s.shape for s, _ in pairs] == [t.shape for _, t in pairs]
    for s, t in pairs:
        t.set_data(s.data().copy())
    npx.waitall()


def training_step(model, batch):
    """(loss, [gradients], [BatchNorm statistics after], [before]) of one
    step in float64 (the model is cast), so that the comparison sees the
    recomputation and not float32's summation order."""
    X, y = batch
    model.cast('float64')
    X = X.astype('float64')
    params = list(model.collect_params().values())
    stats = [p for p in params if p.grad_req == 'null']
    before = [p.data().asnumpy() for p in stats]
    with autograd.record():
        loss = model.training_step((X, y))
    loss.backward()
    npx.waitall()
    return (float(loss),
            [p.grad().asnumpy() for p in params if p.grad_req != 'null'],
            [p.data().asnumpy() for p in stats], before)


def two_training_outputs(layer, X):
    """A layer's output for X, twice, in training mode (dropout on)."""
    layer.initialize()
    with autograd.train_mode():
        return [layer(X).asnumpy() for _ in range(2)]
