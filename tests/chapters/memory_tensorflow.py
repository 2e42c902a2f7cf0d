"""The TensorFlow half of test_memory_efficient.py: a batch, and one training
step of a model as numpy arrays (loss, gradients, BatchNorm statistics after
it), compiled with tf.function as the Trainer compiles its step."""
import numpy as np
import tensorflow as tf


def batch(shape_nchw, num_classes, seed=0):
    n, c, h, w = shape_nchw
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, h, w, c)).astype(np.float32)
    return tf.constant(X), tf.constant(np.arange(n) % num_classes, tf.int32)


def copy_weights(source, target, X):
    """Build both models on X and give `target` the weights (and BatchNorm
    statistics) of `source`."""
    for model in (source, target):
        if not model.built:
            model(X[:1], training=False)
    assert [v.shape for v in source.weights] == \
        [v.shape for v in target.weights]
    for s, t in zip(source.weights, target.weights):
        t.assign(s)


def training_step(model, batch):
    """(loss, [gradients], [BatchNorm statistics after], [before])."""
    X, y = batch
    before = [v.numpy() for v in model.non_trainable_variables]

    @tf.function
    def step(X, y):
        with tf.GradientTape() as tape:
            loss = model.loss(model(X, training=True), y)
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, grads = step(X, y)
    return (float(loss), [g.numpy() for g in grads],
            [v.numpy() for v in model.non_trainable_variables], before)


def two_training_outputs(layer, X):
    """A layer's output for X, twice, in training mode (dropout on)."""
    return [layer(X, training=True).numpy() for _ in range(2)]
