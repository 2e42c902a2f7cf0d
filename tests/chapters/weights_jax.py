"""The chapter's Flax DenseNet and the weight list of weights_shared.py.

A Flax model keeps no weights; here a model is the pair (module, variables).
"""
import jax
import numpy as np

from weights_shared import (channels_last, check_shapes,
                            from_framework_layout, to_framework_layout)


def new_model(namespace, image_shape):
    """The chapter's DenseNet, its weights created for (C, H, W) images."""
    module = namespace['DenseNet'](lr=0.01)
    c, h, w = image_shape
    variables = module.init(jax.random.PRNGKey(0), np.zeros((1, h, w, c),
                                                             np.float32))
    return module, _numpy_tree(variables)


def _numpy_tree(tree):
    # Not jax.tree_util.tree_map: its dicts come back with sorted keys, and
    # the order Flax created the submodules in is the order they compute.
    if hasattr(tree, 'items'):
        return {name: _numpy_tree(child) for name, child in tree.items()}
    return np.asarray(tree)


def _leaves(params):
    """(collection, path, name) of every weight, in the order of
    weights_shared: modules in the order Flax created them."""
    if 'kernel' in params:
        return [('params', (), 'kernel')] + \
            ([('params', (), 'bias')] if 'bias' in params else [])
    if 'scale' in params:
        return [('params', (), 'scale'), ('params', (), 'bias'),
                ('batch_stats', (), 'mean'), ('batch_stats', (), 'var')]
    leaves = []
    for name, child in params.items():
        leaves += [(c, (name,) + path, leaf)
                   for c, path, leaf in _leaves(child)]
    return leaves


def _get(tree, path):
    for name in path:
        tree = tree[name]
    return tree


def get_weights(model):
    _, variables = model
    return [from_framework_layout(_get(variables[c], path)[leaf])
            for c, path, leaf in _leaves(variables['params'])]


def set_weights(model, arrays):
    _, variables = model
    leaves = _leaves(variables['params'])
    check_shapes([to_framework_layout(a) for a in arrays],
                 [_get(variables[c], path)[leaf].shape
                  for c, path, leaf in leaves])
    for (c, path, leaf), array in zip(leaves, arrays):
        _get(variables[c], path)[leaf] = to_framework_layout(array)


def forward(model, X, training):
    """Logits for NCHW images: batch statistics if `training` (which moves
    the running averages, as in the other frameworks), else the running
    averages."""
    module, variables = model
    if training:
        Y, updates = module.apply(variables, channels_last(X), training=True,
                                  mutable=['batch_stats'])
        variables['batch_stats'] = _numpy_tree(updates['batch_stats'])
    else:
        Y = module.apply(variables, channels_last(X), training=False)
    return np.asarray(Y)
