"""The chapter's PyTorch DenseNet and the weight list of weights_shared.py."""
import torch
from torch import nn

from weights_shared import check_shapes


def new_model(namespace, image_shape):
    """The chapter's DenseNet, its weights created for (C, H, W) images."""
    model = namespace['DenseNet'](lr=0.01)
    model.eval()  # one image has no batch statistics
    with torch.no_grad():
        model(torch.zeros((1,) + image_shape))
    return model


def weight_tensors(model):
    """Weights and running statistics, in the order of weights_shared."""
    tensors = []
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            tensors += [layer.weight, layer.bias]
        elif isinstance(layer, nn.BatchNorm2d):
            tensors += [layer.weight, layer.bias, layer.running_mean,
                        layer.running_var]
    return [t for t in tensors if t is not None]


def get_weights(model):
    return [t.detach().numpy().copy() for t in weight_tensors(model)]


def set_weights(model, arrays):
    tensors = weight_tensors(model)
    check_shapes(arrays, [tuple(t.shape) for t in tensors])
    with torch.no_grad():
        for tensor, array in zip(tensors, arrays):
            tensor.copy_(torch.from_numpy(array))


def forward(model, X, training):
    """Logits for NCHW images: batch statistics if `training`, else the
    running averages."""
    model.train(training)
    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


def initial_model(namespace, image_size):
    """The chapter's DenseNet as its code creates it (its weights exist
    once __init__ returns)."""
    return namespace['DenseNet'](lr=0.01)


def trained_model(model, trainer):
    return model
