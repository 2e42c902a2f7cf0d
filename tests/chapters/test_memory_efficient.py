"""The memory-efficient DenseNet-BC of chapters/densenet-memory.md computes
the same function as the naive one and keeps clearly less for the backward
pass, in the framework of this environment (`D2L_FRAMEWORK`, set by
`make test-d2l`).

Same function: the same weights give the same loss and gradients after one
training step, and BatchNorm's running statistics move, by the same amount
(a recomputation that updates them a second time fails here). Memory: the
bytes kept for backward, as `d2l.measure_training_step` counts them, fall
well below the naive model's (storing instead of recomputing fails here),
and the chapter's model of them predicts what the framework keeps.
The framework-specific step lives in memory_<framework>.py.
"""
import importlib

import numpy as np
import pytest

from chapter_code import chapter_namespace, framework_under_test

FRAMEWORK = framework_under_test()
framework = importlib.import_module(f'memory_{FRAMEWORK}')
# A small ImageNet-style DenseNet-BC, and a DenseNet-BC-16 for 32x32 images.
SMALL = {'DenseNetBC': dict(block_config=(2, 3, 2, 2), growth_rate=8,
                            num_classes=10),
         'DenseNetBCSmall': dict(depth=16, growth_rate=8, num_classes=10)}
GRADIENT_TOLERANCE = 1e-5


@pytest.fixture(scope='module')
def chapter():
    # Up to the measured block of "Where the Memory Goes" (its smoke-sized
    # measurements run too): the models and the memory model; then the
    # small-image DenseNet-BC of the training section.
    return chapter_namespace(FRAMEWORK, 'densenet-memory',
                             until='BlockClassifier',
                             then=('bc_layers_per_block', 'DenseNetBCSmall'))


def one_step_each(chapter, model_name):
    Model, config = chapter[model_name], SMALL[model_name]
    naive = Model(**config)
    efficient = Model(**config, memory_efficient=True)
    batch = framework.batch((4, 3, 32, 32), 10)
    if FRAMEWORK == 'jax':  # Flax models hold no weights: share one tree
        variables = framework.variables_for(naive, batch[0])
        return (framework.training_step(naive, variables, batch),
                framework.training_step(efficient, variables, batch))
    framework.copy_weights(naive, efficient, batch[0])
    return (framework.training_step(naive, batch),
            framework.training_step(efficient, batch))


def largest_difference(xs, ys):
    assert len(xs) == len(ys) and xs
    return max(float(np.abs(x - y).max()) for x, y in zip(xs, ys))


@pytest.mark.parametrize('model_name', sorted(SMALL))
def test_same_loss_gradients_and_batchnorm_statistics(chapter, model_name):
    (loss, grads, stats, before), (loss_e, grads_e, stats_e, _) = \
        one_step_each(chapter, model_name)
    assert abs(loss - loss_e) <= 1e-5
    assert largest_difference(grads, grads_e) <= GRADIENT_TOLERANCE
    # The step moved the running statistics (else the next check is idle),
    # and the efficient model moved them exactly as far: once.
    assert largest_difference(stats, before) > 1e-3
    assert largest_difference(stats, stats_e) <= 1e-6


@pytest.mark.parametrize('drop_rate', [0.0, 0.3])
def test_dropout_draws_new_masks_at_each_training_step(chapter, drop_rate):
    """The small-image DenseNet-BC's optional dropout, with recomputation
    on: two training steps from the same weights on the same batch lose
    differently with a drop rate (new masks), the same without one."""
    model = chapter['DenseNetBCSmall'](depth=16, growth_rate=8,
                                       num_classes=10, drop_rate=drop_rate,
                                       memory_efficient=True)
    batch = framework.batch((4, 1, 32, 32), 10)
    if FRAMEWORK == 'jax':
        variables = framework.variables_for(model, batch[0])
        losses = [framework.training_loss(model, variables, batch, seed)
                  for seed in (1, 2)]
    else:
        framework.copy_weights(model, model, batch[0])  # gives it its shapes
        losses = [framework.training_step(model, batch)[0] for _ in (1, 2)]
    assert (abs(losses[0] - losses[1]) > 1e-6) == (drop_rate > 0), losses


@pytest.mark.parametrize('drop_rate', [0.0, 0.3])
@pytest.mark.parametrize('piece', ['DenseBlock', 'Transition'])
def test_dense_layers_and_transitions_drop_when_asked(chapter, piece,
                                                      drop_rate):
    """Each piece applies the drop rate it is given (the model-wide check
    above passes as long as one of them does)."""
    layer = (chapter['DenseBlock'](1, 8, drop_rate=drop_rate)
             if piece == 'DenseBlock'
             else chapter['Transition'](8, drop_rate=drop_rate))
    X = framework.batch((4, 8, 8, 8), 10)[0]
    first, second = framework.two_training_outputs(layer, X)
    assert (float(np.abs(first - second).max()) > 0) == (drop_rate > 0)


def test_efficient_keeps_clearly_less_for_backward(chapter):
    d2l = chapter['d2l']
    batch = framework.batch((8, 3, 32, 32), 10)
    deep_block = dict(block_config=(12,), growth_rate=16, num_classes=10)
    # The kept bytes alone (d2l_local's suites check that they are
    # measure_training_step's): JAX and TensorFlow count them in the traced
    # step, without compiling it.
    naive = d2l.measure_kept_bytes(chapter['DenseNetBC'](**deep_block), batch)
    efficient = d2l.measure_kept_bytes(
        chapter['DenseNetBC'](**deep_block, memory_efficient=True), batch)
    assert naive > 0
    assert efficient <= 0.6 * naive, (naive, efficient)


# How close the chapter's memory model must come to what the framework
# measures. PyTorch, TensorFlow and JAX count what they keep exactly (the
# model leaves out only per-channel vectors); MXNet's count is a proxy, the
# resident memory its forward pass adds, which the allocator's state moves.
MODEL_TOLERANCE = {'pytorch': 0.02, 'tensorflow': 0.02, 'jax': 0.02,
                   'mxnet': 0.3}


@pytest.mark.parametrize('memory_efficient', [False, True],
                         ids=['naive', 'memory-efficient'])
def test_memory_model_predicts_what_the_framework_keeps(chapter,
                                                        memory_efficient):
    """The prose explains the kept bytes with a model (`predicted_kept_bytes`
    with the tab's `KEPT_PER_PAIR` and `COPIES_WEIGHTS`) and prints it next
    to every measurement: it must be what the framework keeps, for a block
    deep enough that a wrong count per layer shows (counting three tensors
    per BN-ReLU pair, or leaving the recomputation's inputs out, fails)."""
    c0, num_layers, n, side = 48, 6, 8, 16
    X, y = framework.batch((n, 3, side, side), 10)
    model = chapter['BlockClassifier'](c0, num_layers, memory_efficient)
    measured = chapter['d2l'].measure_training_step(
        model, (X, y), repeats=1).kept_bytes
    predicted = chapter['predicted_kept_bytes'](
        c0, num_layers, memory_efficient, n * side * side,
        chapter['KEPT_PER_PAIR'], chapter['COPIES_WEIGHTS'])
    assert measured == pytest.approx(
        predicted, rel=MODEL_TOLERANCE[FRAMEWORK]), (measured, predicted)
