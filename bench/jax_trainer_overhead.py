"""What d2l_local.jax.Trainer costs over a hand-written JAX training loop.

Both train the same small CNN (LeNet with BatchNorm) for 200 steps of 128
28x28 Fashion-MNIST images and then evaluate 10 batches, with one jitted
train step (value_and_grad, optax SGD, new BatchNorm statistics) and one
jitted eval step, reading the numbers back once at the end. Both compile
through JAX's persistent compilation cache, filled by a warm-up run, so the
timings compare the loops rather than XLA's compiler.

    PYTHONPATH=. .venv/jax/bin/python bench/jax_trainer_overhead.py
"""
import contextlib
import io
import os
import pathlib
import sys
import tempfile
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from report import examples_per_second, print_comparison  # noqa: E402

from d2l_local import jax as d2l  # noqa: E402
from d2l_local import shared  # noqa: E402

STEPS, BATCH, VAL_BATCHES, ROUNDS = 200, 128, 10, 7
MODE = shared.RunMode('bench', max_epochs=1, train_examples=STEPS * BATCH,
                      val_examples=VAL_BATCHES * BATCH, max_image_size=28)

BatchNorm = partial(nn.BatchNorm, momentum=0.9, epsilon=1e-5)


class CNN(nn.Module):
    """LeNet with BatchNorm, NHWC."""

    @nn.compact
    def __call__(self, X, training=False):
        for features, padding in ((6, 2), (16, 0)):
            X = nn.Conv(features, (5, 5), padding=padding)(X)
            X = nn.relu(BatchNorm(use_running_average=not training)(X))
            X = nn.avg_pool(X, (2, 2), strides=(2, 2))
        X = nn.relu(nn.Dense(120)(X.reshape((X.shape[0], -1))))
        return nn.Dense(10)(X)


class Model(d2l.Classifier):
    lr: float = 0.1

    def setup(self):
        self.net = [CNN()]


class TrainState(train_state.TrainState):
    batch_stats: dict


def hand_written(images, labels, val_images, val_labels, seed=0):
    """The loop a JAX user writes: a fresh model, 200 steps, an evaluation."""
    model = CNN()
    variables = jax.jit(model.init, static_argnames='training')(
        jax.random.key(seed, impl='rbg'), jnp.zeros((1, 28, 28, 1)))
    state = TrainState.create(apply_fn=model.apply,
                              params=variables['params'],
                              batch_stats=variables['batch_stats'],
                              tx=optax.sgd(0.1))

    @partial(jax.jit, donate_argnums=0)
    def train_step(state, X, y):
        def loss_fn(params):
            logits, updates = state.apply_fn(
                {'params': params, 'batch_stats': state.batch_stats}, X,
                training=True, mutable=['batch_stats'])
            loss = optax.softmax_cross_entropy_with_integer_labels(
                logits, y).mean()
            return loss, updates
        (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params)
        return state.apply_gradients(
            grads=grads, batch_stats=updates['batch_stats']), loss

    @jax.jit
    def eval_step(state, X, y):
        logits = state.apply_fn({'params': state.params,
                                 'batch_stats': state.batch_stats}, X)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits,
                                                               y).mean()
        return loss, (logits.argmax(-1) == y).mean()

    rng = np.random.default_rng(seed)
    losses = []
    for idx in np.array_split(rng.permutation(len(labels)), STEPS):
        X = jax.device_put(images[idx][..., None])
        state, loss = train_step(state, X, jax.device_put(labels[idx]))
        losses.append(loss)
    metrics = []
    for start in range(0, len(val_labels), BATCH):
        X = jax.device_put(val_images[start:start + BATCH][..., None])
        metrics.append(eval_step(state, X, jax.device_put(
            val_labels[start:start + BATCH])))
    losses, metrics = jax.device_get((losses, metrics))
    return np.mean(losses), np.mean(metrics, axis=0)


def with_trainer(data):
    model = Model(lr=0.1)
    trainer = d2l.Trainer(max_epochs=1)
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, data)
    return trainer.history[-1]


def main():
    shared.RUN_MODES['bench'] = MODE
    os.environ['D2L_MODE'] = 'bench'
    # Compile once (warm-up), then load from the cache: same for both.
    jax.config.update('jax_compilation_cache_dir',
                      tempfile.mkdtemp(prefix='jax-bench-cache-'))
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)
    jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)

    d2l.set_seed(0)
    data = d2l.FashionMNIST(batch_size=BATCH)
    assert len(data.train_dataloader()) == STEPS
    arrays = (*data.train, *data.val)
    num_examples = STEPS * BATCH

    with_trainer(data)  # warm-up: compile and cache
    hand_written(*arrays)
    best = {'trainer': (0.0, 0.0), 'hand': (0.0, 0.0)}
    runs = {'trainer': lambda: with_trainer(data),
            'hand': lambda: hand_written(*arrays)}
    # Interleaved rounds, best of each: the machine's load only ever slows a
    # run down. CPU time (all threads) is reported too: on a shared machine
    # it is steadier than wall-clock time.
    for _ in range(ROUNDS):
        for name, run in runs.items():
            cpu = time.process_time()
            eps = examples_per_second(run, num_examples, repeats=1)
            cpu_eps = num_examples / (time.process_time() - cpu)
            best[name] = tuple(map(max, best[name], (eps, cpu_eps)))
    (trainer_eps, trainer_cpu), (hand_eps, hand_cpu) = (best['trainer'],
                                                        best['hand'])
    print_comparison('jax', trainer_eps, hand_eps,
                     detail=f'CPU-time overhead {hand_cpu / trainer_cpu - 1:+.1%}'
                            f' | {STEPS} steps of {BATCH}, 28x28, LeNet+BN, '
                            f'{jax.devices()[0].platform}')


if __name__ == '__main__':
    main()
