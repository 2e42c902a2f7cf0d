"""The PyTorch half of test_memory_efficient.py: a batch, and one training
step of a model as numpy arrays (loss, gradients, BatchNorm statistics after
it and before it)."""
import numpy as np
import torch


def batch(shape_nchw, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape_nchw).astype(np.float32)
    return (torch.from_numpy(X),
            torch.from_numpy(np.arange(shape_nchw[0]) % num_classes))


def copy_weights(source, target, X):
    """Give both models their shapes on X and `target` the weights and
    BatchNorm statistics of `source` (the two have the same state names)."""
    for model in (source, target):
        model.apply_init([X[:1]])
    target.load_state_dict(source.state_dict())


def _statistics(model):
    return [v.detach().numpy().copy() for k, v in model.state_dict().items()
            if 'running' in k]


def training_step(model, batch):
    """(loss, [gradients], [BatchNorm statistics after], [before])."""
    X, y = batch
    model.train()
    before = _statistics(model)
    model.zero_grad(set_to_none=True)
    loss = model.loss(model(X), y)
    loss.backward()
    return (loss.item(), [p.grad.numpy().copy() for p in model.parameters()],
            _statistics(model), before)


def two_training_outputs(layer, X):
    """A layer's output for X, twice, in training mode (dropout on)."""
    layer.train()
    with torch.no_grad():
        return [layer(X).numpy() for _ in range(2)]
