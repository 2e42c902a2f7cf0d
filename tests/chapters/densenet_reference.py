"""Write the reference the other frameworks' DenseNets are checked against.

    python tests/chapters/densenet_reference.py OUT.npz   # in the PyTorch env

The chapter's PyTorch DenseNet with every weight drawn at random (biases,
batch-norm scales and shifts too: the initial zeros and ones would hide a
swapped pair) and running statistics gathered from a few training-mode
batches; then, for a batch of random images, its logits in both modes and
the running statistics the training-mode pass leaves behind.
"""
import copy
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from chapter_code import chapter_namespace  # noqa: E402
import weights_pytorch as framework  # noqa: E402
from weights_shared import BATCH, IMAGE_SHAPE  # noqa: E402


def random_weights(model, rng):
    arrays = []
    for array in framework.get_weights(model):
        if array.ndim > 1:  # kernels: keep init_cnn's scale, new values
            arrays.append(rng.permutation(array.ravel()).reshape(array.shape))
        else:
            arrays.append(rng.normal(0, 0.1, array.shape).astype(np.float32))
    return arrays


def batch_norm_positions(model):
    """Where each batch-norm layer's running mean sits in the weight list
    (its running variance follows it)."""
    means = {id(layer.running_mean) for layer in model.modules()
             if isinstance(layer, torch.nn.BatchNorm2d)}
    return np.array([i for i, t in enumerate(framework.weight_tensors(model))
                     if id(t) in means])


def biased_variance_updates(model, X):
    """The running variances a training-mode pass over X would leave if the
    update used the batch's biased variance (divided by n, as MXNet, Flax
    and Keras do) instead of PyTorch's unbiased one (divided by n - 1)."""
    inputs, hooks = [], []
    for layer in model.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            hooks.append(layer.register_forward_hook(
                lambda layer, args, out: inputs.append((layer, args[0]))))
    old = {layer: layer.running_var.clone() for layer in model.modules()
           if isinstance(layer, torch.nn.BatchNorm2d)}
    framework.forward(model, X, training=True)
    for hook in hooks:
        hook.remove()
    return [((1 - layer.momentum) * old[layer] + layer.momentum *
             x.var(dim=(0, 2, 3), unbiased=False)).numpy()
            for layer, x in inputs]


def reference(seed=0):
    """The arrays of the reference file, by name."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = framework.new_model(chapter_namespace('pytorch'), IMAGE_SHAPE)
    framework.set_weights(model, random_weights(model, rng))
    # Batch-norm scales near 1, statistics of a standard normal to start
    # from: a deep net stays in a sane range.
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.weight.uniform_(0.5, 1.5)
                layer.running_var.fill_(1.0)
                layer.running_mean.zero_()
    # Running statistics from data, not the initial zeros and ones.
    for _ in range(3):
        framework.forward(model, rng.normal(
            size=(BATCH,) + IMAGE_SHAPE).astype(np.float32), training=True)
    X = rng.normal(size=(BATCH,) + IMAGE_SHAPE).astype(np.float32)
    weights = framework.get_weights(model)
    arrays = {'X': X, 'logits': framework.forward(model, X, training=False),
              'mean_positions': batch_norm_positions(model)}
    arrays['biased_variances_after'] = np.concatenate(
        biased_variance_updates(copy.deepcopy(model), X))
    # The training-mode pass also moves the running statistics.
    arrays['logits_training'] = framework.forward(model, X, training=True)
    for i, w in enumerate(weights):
        arrays[f'weight_{i:03d}'] = w
    for i, w in enumerate(framework.get_weights(model)):
        arrays[f'after_{i:03d}'] = w
    return arrays


def main(out):
    np.savez(out, **reference())


if __name__ == '__main__':
    main(sys.argv[1])
