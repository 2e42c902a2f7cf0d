"""What d2l_local.tensorflow's Trainer costs over a hand-written Keras loop.

Both train the same small CNN (LeNet-sized, with BatchNorm) from the same
seed for 200 steps of 128 real Fashion-MNIST images at 28x28, then evaluate
one validation batch, fed by the same tf.data pipeline. Each run starts from a
fresh model, optimizer and tf.function, so both pay for tracing once. Runs
alternate between the two, and the best of each counts (the CPU may be
shared; the CPU time of each run is reported too, as a steadier check).

    PYTHONPATH=. python bench/tensorflow_trainer_overhead.py
"""
import contextlib
import gc
import io
import os
import pathlib
import sys
import time

os.environ['D2L_MODE'] = 'full'  # no caps: the data below is cut by hand
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from report import examples_per_second, print_comparison  # noqa: E402

from d2l_local import shared  # noqa: E402
from d2l_local import tensorflow as d2l  # noqa: E402

import tensorflow as tf  # noqa: E402

STEPS, BATCH, REPEATS = 200, 128, 6
L = tf.keras.layers


def make_net():
    def bn():
        return L.BatchNormalization(momentum=0.9, epsilon=1e-5)
    return tf.keras.Sequential([
        L.Conv2D(8, 5, padding='same'), bn(), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(16, 5), bn(), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Dense(64), L.ReLU(), L.Dense(10)])


class Data(d2l.DataModule):
    """STEPS full batches of training images and one validation batch."""

    def __init__(self, batch_size=BATCH):
        super().__init__()
        self.save_hyperparameters()
        mode = shared.RUN_MODES['full']
        images, labels = shared.fashion_mnist_arrays(True, mode)
        n = STEPS * batch_size
        self.train = images[:n, :, :, None], labels[:n]
        images, labels = shared.fashion_mnist_arrays(False, mode)
        self.val = images[:batch_size, :, :, None], labels[:batch_size]

    def get_dataloader(self, train):
        return self.get_tensorloader(self.train if train else self.val, train)


class SmallCNN(d2l.Classifier):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = make_net()


def with_trainer():
    d2l.set_seed(0)
    model, data = SmallCNN(), Data()
    trainer = d2l.Trainer(max_epochs=1)
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, data)
    assert trainer.train_batch_idx == STEPS


def hand_written():
    d2l.set_seed(0)
    net, data = make_net(), Data()
    net.build((None, 28, 28, 1))
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    optimizer.build(net.trainable_variables)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(X, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, net(X, training=True))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    @tf.function
    def eval_step(X, y):
        logits = net(X, training=False)
        correct = tf.argmax(logits, axis=1, output_type=tf.int32) == y
        return loss_fn(y, logits), tf.reduce_mean(tf.cast(correct, tf.float32))

    losses = [train_step(X, y) for X, y in data.train_dataloader()]
    val = [eval_step(X, y) for X, y in data.val_dataloader()]
    assert len(losses) == STEPS
    float(tf.reduce_mean(losses)), float(val[-1][1])  # wait for the results


def main():
    examples = STEPS * BATCH
    hand_written()  # warm up: first-use costs of TF and the data files
    best = {with_trainer: [0.0, 0.0], hand_written: [0.0, 0.0]}
    for repeat in range(REPEATS):
        # Alternate which goes first; collect the previous run's garbage
        # (graphs, iterators) so that it is not charged to the next one.
        for run in list(best)[::1 if repeat % 2 == 0 else -1]:
            gc.collect()
            # Wall clock (what report.py compares) and, as a check that is
            # robust to other processes on a shared CPU, this process's CPU
            # time for the same run.
            cpu = time.process_time()
            wall_eps = examples_per_second(run, examples, 1)
            cpu_eps = examples / (time.process_time() - cpu)
            best[run] = [max(best[run][0], wall_eps),
                         max(best[run][1], cpu_eps)]
    (trainer_eps, trainer_cpu), (hand_eps, hand_cpu) = best.values()
    device = 'GPU' if d2l.num_gpus() else 'CPU'
    print_comparison('tensorflow', trainer_eps, hand_eps,
                     f'{device}, {STEPS} steps x {BATCH} at 28x28 + 1 val '
                     f'batch, fresh model and tracing per run, best of '
                     f'{REPEATS}; per CPU-second: ratio '
                     f'{trainer_cpu / hand_cpu:.3f}')


if __name__ == '__main__':
    main()
