"""The chapter's Keras DenseNet and the weight list of weights_shared.py."""
import numpy as np
import tensorflow as tf

from weights_shared import (channels_last, check_shapes,
                            from_framework_layout, to_framework_layout)


def new_model(namespace, image_shape):
    """The chapter's DenseNet, its weights created for (C, H, W) images."""
    model = namespace['DenseNet'](lr=0.01)
    c, h, w = image_shape
    model(np.zeros((1, h, w, c), np.float32))
    return model


def _variables(model):
    # Keras creates a layer's variables in the order of weights_shared
    # (kernel, bias; gamma, beta, moving mean, moving variance), layer by
    # layer in the order the model calls them.
    return list(model.weights)


def get_weights(model):
    return [from_framework_layout(v.numpy()) for v in _variables(model)]


def set_weights(model, arrays):
    variables = _variables(model)
    arrays = [to_framework_layout(a) for a in arrays]
    check_shapes(arrays, [tuple(v.shape) for v in variables])
    for variable, array in zip(variables, arrays):
        variable.assign(array)


def forward(model, X, training):
    """Logits for NCHW images: batch statistics if `training`, else the
    running averages."""
    return model(tf.constant(channels_last(X)), training=training).numpy()


def initial_model(namespace, image_size):
    """The chapter's DenseNet, its weights created by its first call."""
    model = namespace['DenseNet'](lr=0.01)
    model(np.zeros((1,) + tuple(image_size) + (1,), np.float32))
    return model


def trained_model(model, trainer):
    return model
