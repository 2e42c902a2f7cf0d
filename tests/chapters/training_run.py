"""What the same-training suite compares across the four frameworks.

    python tests/chapters/training_run.py OUT.npz   # the PyTorch reference

Runs inside one framework's environment ($D2L_FRAMEWORK, default pytorch)
and records, after `d2l.set_seed(0)` every time:
- batches: the first two training batches of `d2l.FashionMNIST` and the
  first of the second epoch (labels and NCHW pixels);
- init: the chapter's DenseNet's initial weights (weights_shared's list);
- steps: one epoch of `d2l.Trainer` on a small DenseNet (11 steps, the last
  one short), its per-step losses, its weights and running statistics
  afterwards, and the epoch's validation loss and accuracy.
"""
import contextlib
import importlib
import io
import os
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from chapter_code import chapter_namespace  # noqa: E402

FRAMEWORK = os.environ.get('D2L_FRAMEWORK', 'pytorch')
MODULES = {'pytorch': 'torch', 'mxnet': 'mxnet', 'jax': 'jax',
           'tensorflow': 'tensorflow'}
# 384 smoke-mode examples in batches of 36: 10 full steps and a short one.
BATCH_SIZE, IMAGE_SIZE = 36, (32, 32)
# A DenseNet small enough to train for a few steps in a second or two.
SMALL = dict(num_channels=16, growth_rate=8, arch=(2, 2), lr=0.1)


def _numpy(a):
    a = a.asnumpy() if hasattr(a, 'asnumpy') else a
    return np.asarray(a.numpy() if hasattr(a, 'numpy') else a)


def _nchw(X):
    X = _numpy(X)
    return X if FRAMEWORK in ('pytorch', 'mxnet') else X.transpose(0, 3, 1, 2)


def record(framework=FRAMEWORK):
    d2l = importlib.import_module(f'd2l_local.{MODULES[framework]}')
    weights = importlib.import_module(f'weights_{framework}')
    namespace = chapter_namespace(framework)
    out = {}

    d2l.set_seed(0)
    loader = d2l.FashionMNIST(batch_size=BATCH_SIZE,
                              resize=IMAGE_SIZE).train_dataloader()
    epoch = iter(loader)
    batches = [next(epoch), next(epoch), next(iter(loader))]
    out['batch_X'] = np.stack([_nchw(X) for X, _ in batches])
    out['batch_y'] = np.stack([_numpy(y).astype(np.int64)
                               for _, y in batches])

    d2l.set_seed(0)
    initial = weights.get_weights(weights.initial_model(namespace,
                                                        IMAGE_SIZE))
    for i, array in enumerate(initial):
        out[f'init_{i:03d}'] = array

    d2l.set_seed(0)
    model = namespace['DenseNet'](**SMALL)
    data = d2l.FashionMNIST(batch_size=BATCH_SIZE, resize=IMAGE_SIZE)
    trainer = d2l.Trainer(max_epochs=1)
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, data)
    out['step_losses'] = np.array(trainer.step_losses)
    out['val'] = np.array([trainer.history[-1]['val_loss'],
                           trainer.history[-1]['val_acc'],
                           trainer.history[-1]['train_loss']])
    trained = weights.get_weights(weights.trained_model(model, trainer))
    for i, array in enumerate(trained):
        out[f'after_{i:03d}'] = array
    return out


def groups(data):
    """The flat npz dict with the numbered arrays gathered into lists."""
    data = dict(data)
    for group in ('init', 'after'):
        data[group] = [data.pop(k) for k in sorted(data)
                       if k.startswith(f'{group}_')]
    return data


if __name__ == '__main__':
    np.savez(sys.argv[1], **record())
