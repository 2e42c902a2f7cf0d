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


def _in_creation_order(tree, module, X):
    """`tree` (from a jitted function: its dicts have sorted keys) with the
    keys in the order Flax creates the submodules. Inside a trace the dicts
    still have that order, so it is read while `module.init` is traced
    (shapes only, nothing computed)."""
    orders = []

    def key_order(values):
        if not hasattr(values, 'items'):
            return None
        return {name: key_order(child) for name, child in values.items()}

    def trace(X):
        orders.append(key_order(module.init(jax.random.PRNGKey(0), X)))
        return 0.0
    jax.eval_shape(trace, X)

    def reorder(values, order):
        if order is None:
            return np.asarray(values)
        return {name: reorder(values[name], order[name]) for name in order}
    return reorder(tree, orders[0])


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


def initial_model(namespace, image_size):
    """The chapter's DenseNet with the variables its Trainer would give it
    (`apply_init`)."""
    module = namespace['DenseNet'](lr=0.01)
    X = np.zeros((1,) + tuple(image_size) + (1,), np.float32)
    return module, _in_creation_order(module.apply_init(X), module, X)


def trained_model(model, trainer):
    """(module, variables) of the Trainer's final state."""
    X = np.asarray(next(iter(trainer.val_dataloader))[0][:1])
    variables = {'params': trainer.state.params,
                 'batch_stats': trainer.state.batch_stats}
    return model, _in_creation_order(variables, model, X)
