"""How the four frameworks' DenseNets are compared: one list of weights.

A model's weights become a list of numpy arrays: its convolution, batch-norm
and dense layers in the order they compute, each adding

    convolution  kernel (out, in, height, width), bias (if it has one)
    batch norm   scale, shift, running mean, running variance
    dense        kernel (out, in), bias

These are PyTorch's layouts, which MXNet shares; Flax and Keras store kernels
as (height, width, in, out) and dense kernels as (in, out), and transpose.
Images travel as NCHW float32 arrays.
"""
import numpy as np

# The quick and smoke modes' image size: the stem and three transitions take
# 32x32 down to 1x1, so every layer is exercised.
IMAGE_SHAPE = (1, 32, 32)
BATCH = 8


def check_shapes(arrays, shapes):
    """Refuse a weight list that does not fit a model, naming where."""
    if len(arrays) != len(shapes):
        raise AssertionError(f'{len(arrays)} weight arrays for a model with '
                             f'{len(shapes)}')
    for i, (array, shape) in enumerate(zip(arrays, shapes)):
        if tuple(array.shape) != tuple(shape):
            raise AssertionError(f'weight {i}: shape {array.shape}, the '
                                 f'model wants {tuple(shape)}')


def to_framework_layout(array):
    """PyTorch layout -> Flax/Keras layout (conv and dense kernels)."""
    if array.ndim == 4:
        return np.ascontiguousarray(array.transpose(2, 3, 1, 0))
    if array.ndim == 2:
        return np.ascontiguousarray(array.T)
    return array


def from_framework_layout(array):
    """Flax/Keras layout -> PyTorch layout."""
    array = np.asarray(array)
    if array.ndim == 4:
        return np.ascontiguousarray(array.transpose(3, 2, 0, 1))
    if array.ndim == 2:
        return np.ascontiguousarray(array.T)
    return array.copy()


def channels_last(X):
    return np.ascontiguousarray(X.transpose(0, 2, 3, 1))
