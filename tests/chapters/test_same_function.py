"""The four tabs compute the same function: given the same weights, the
chapter's DenseNet gives the same logits in every framework.

Runs inside one framework's environment (`D2L_FRAMEWORK` names it). The
reference comes from the chapter's PyTorch model, run by the PyTorch
environment's Python ($D2L_REFERENCE_PYTHON, which `make test-d2l` sets):
random weights and running statistics, a batch of images, and its logits with
the running statistics (evaluation) and with the batch's own (training).
This framework's model takes those weights and must give those logits.
"""
import importlib
import os
import pathlib
import subprocess

import numpy as np
import pytest

from chapter_code import ROOT, chapter_namespace, framework_under_test
from weights_shared import IMAGE_SHAPE

FRAMEWORK = framework_under_test()
framework = importlib.import_module(f'weights_{FRAMEWORK}')
HERE = pathlib.Path(__file__).resolve().parent
# float32 through 21 batch-norm layers: the frameworks' kernels sum in
# different orders, ~1e-6 relative per layer.
TOLERANCE = dict(rtol=1e-4, atol=1e-4)


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    python = os.environ.get('D2L_REFERENCE_PYTHON',
                            str(ROOT / '.venv' / 'pytorch' / 'bin' / 'python'))
    out = tmp_path_factory.mktemp('reference') / 'densenet.npz'
    run = subprocess.run([python, str(HERE / 'densenet_reference.py'),
                          str(out)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f'{python} could not write the PyTorch ' \
        f'reference:\n{run.stderr[-2000:]}'
    data = dict(np.load(out))
    for group in ('weight', 'after'):
        data[group] = [data.pop(k) for k in sorted(data)
                       if k.startswith(f'{group}_')]
    return data


@pytest.fixture(scope='module')
def namespace():
    return chapter_namespace(FRAMEWORK)


def model_with(namespace, weights):
    model = framework.new_model(namespace, IMAGE_SHAPE)
    framework.set_weights(model, weights)
    return model


def test_weights_go_in_and_come_out_unchanged(namespace, reference):
    weights = reference['weight']
    back = framework.get_weights(model_with(namespace, weights))
    assert len(back) == len(weights)
    for i, (a, b) in enumerate(zip(weights, back)):
        np.testing.assert_array_equal(a, b, err_msg=f'weight {i}')


def test_same_weights_give_the_same_logits(namespace, reference):
    ours = framework.forward(model_with(namespace, reference['weight']),
                             reference['X'], training=False)
    np.testing.assert_allclose(ours, reference['logits'], **TOLERANCE)


def test_same_weights_give_the_same_logits_from_batch_statistics(
        namespace, reference):
    ours = framework.forward(model_with(namespace, reference['weight']),
                             reference['X'], training=True)
    np.testing.assert_allclose(ours, reference['logits_training'],
                               **TOLERANCE)
    # The two modes really differ here, so each check above checks its mode.
    assert np.abs(reference['logits_training'] - reference['logits']).max() \
        > 100 * TOLERANCE['atol']


# Which batch variance each framework averages into its running variance.
UNBIASED_RUNNING_VARIANCE = {'pytorch': True, 'mxnet': False, 'jax': False,
                             'tensorflow': False}


def test_training_moves_the_running_statistics_alike(namespace, reference):
    """Batch-norm momentum: each running average keeps 0.9 of its value
    and takes 0.1 of the batch's. The batch variance is the unbiased one
    (divided by n - 1) in PyTorch, the biased one (divided by n) in MXNet,
    Flax and Keras: a difference of the frameworks the chapter keeps, which
    only shows in the running variances (by 1/(n - 1) of a layer's batch
    variance, n = batch x height x width: 1/7 on the last, 1x1, layers)."""
    model = model_with(namespace, reference['weight'])
    framework.forward(model, reference['X'], training=True)
    after = framework.get_weights(model)
    means = reference['mean_positions']
    for i in means:
        np.testing.assert_allclose(after[i], reference['after'][i],
                                   err_msg=f'running mean, weight {i}',
                                   **TOLERANCE)
    variances = np.concatenate([after[i + 1] for i in means])
    if UNBIASED_RUNNING_VARIANCE[FRAMEWORK]:
        expected = np.concatenate([reference['after'][i + 1] for i in means])
    else:
        expected = reference['biased_variances_after']
    np.testing.assert_allclose(variances, expected, **TOLERANCE)
