"""The chapter's MXNet DenseNet and the weight list of weights_shared.py."""
from mxnet import autograd, np
from mxnet.gluon import nn

from weights_shared import check_shapes


def new_model(namespace, image_shape):
    """The chapter's DenseNet, its weights created for (C, H, W) images."""
    model = namespace['DenseNet'](lr=0.01)
    model(np.zeros((1,) + image_shape))
    return model


def _layers(block):
    if isinstance(block, (nn.Conv2D, nn.Dense, nn.BatchNorm)):
        yield block
    else:
        for child in block._children.values():  # in the order added
            yield from _layers(child)


def _parameters(model):
    """Weights and running statistics, in the order of weights_shared."""
    parameters = []
    for layer in _layers(model):
        if isinstance(layer, (nn.Conv2D, nn.Dense)):
            parameters += [layer.weight, layer.bias]
        else:
            parameters += [layer.gamma, layer.beta, layer.running_mean,
                           layer.running_var]
    return [p for p in parameters if p is not None]


def get_weights(model):
    return [p.data().asnumpy() for p in _parameters(model)]


def set_weights(model, arrays):
    parameters = _parameters(model)
    check_shapes(arrays, [p.shape for p in parameters])
    for parameter, array in zip(parameters, arrays):
        parameter.set_data(np.array(array))


def forward(model, X, training):
    """Logits for NCHW images: batch statistics if `training` (which moves
    the running averages, as in the other frameworks), else the running
    averages."""
    if not training:
        with autograd.predict_mode():
            return model(np.array(X)).asnumpy()
    with autograd.record():
        Y = model(np.array(X))
    # MXNet moves BatchNorm's running averages in the backward pass, which a
    # training step always has; the gradients are not used.
    Y.backward()
    return Y.asnumpy()


def initial_model(namespace, image_size):
    """The chapter's DenseNet, its weights created by its first call."""
    model = namespace['DenseNet'](lr=0.01)
    model(np.zeros((1, 1) + tuple(image_size)))
    return model


def trained_model(model, trainer):
    return model
