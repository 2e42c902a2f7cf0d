"""The JAX half of test_memory_efficient.py: a batch, and one training step
of a model as numpy arrays (loss, gradients, BatchNorm statistics after it).

A Flax model holds no weights: `model_pair` gives the naive and the
memory-efficient model one set of variables (their trees are the same,
since nn.remat does not rename anything). The step runs in float64, so that
the comparison sees the recomputation and not float32's summation order.
"""
import jax
import jax.numpy as jnp
import numpy as np

from d2l_local import jax as d2l


def batch(shape_nchw, num_classes, seed=0):
    n, c, h, w = shape_nchw
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, h, w, c)).astype(np.float32)
    return jnp.asarray(X), jnp.asarray(np.arange(n) % num_classes)


def variables_for(model, X):
    return model.apply_init(X[:1], key=jax.random.key(0))


def training_step(model, variables, batch):
    """(loss, [gradients], [BatchNorm statistics after the step]) of one
    training step, in float64, compiled as measure_training_step compiles it
    (so that on the CPU the recomputation stays in the backward pass)."""
    X, y = batch
    with jax.enable_x64(True):
        variables = jax.tree_util.tree_map(
            lambda a: jnp.asarray(a, jnp.float64), variables)
        X = jnp.asarray(X, jnp.float64)

        def loss_fn(params):
            Y_hat, updates = model.apply(
                {'params': params, 'batch_stats': variables['batch_stats']},
                X, training=True, mutable=['batch_stats'])
            return model.loss(Y_hat, y), updates['batch_stats']

        step = jax.jit(jax.value_and_grad(loss_fn, has_aux=True),
                       compiler_options=d2l._CPU_COMPILER_OPTIONS)
        (loss, stats), grads = step(variables['params'])
        leaves = jax.tree_util.tree_leaves
        return (float(loss), [np.asarray(g) for g in leaves(grads)],
                [np.asarray(s) for s in leaves(stats)],
                [np.asarray(s) for s in leaves(variables['batch_stats'])])


def training_loss(model, variables, batch, dropout_seed):
    """The loss of one forward pass in training mode, dropout masks drawn
    from `dropout_seed` with the book's 'rbg' keys (as the Trainer's: a
    threefry key's bit generation takes half a minute to compile here)."""
    X, y = batch

    @jax.jit
    def loss(variables, key):
        Y_hat, _ = model.apply(variables, X, training=True,
                               mutable=['batch_stats'],
                               rngs={'dropout': key})
        return model.loss(Y_hat, y)
    key = jax.random.key(dropout_seed, impl=d2l._KEY_IMPL)
    return float(loss(variables, key))


def two_training_outputs(layer, X):
    """A layer's output for X, twice, in training mode, dropout masks drawn
    from two keys."""
    variables = layer.init(jax.random.key(0, impl=d2l._KEY_IMPL), X,
                           training=False)
    return [np.asarray(layer.apply(
        variables, X, training=True, mutable=['batch_stats'],
        rngs={'dropout': jax.random.key(seed, impl=d2l._KEY_IMPL)})[0])
        for seed in (1, 2)]
