"""How much d2l_local.Trainer costs over a hand-written MXNet loop.

Both train the same small CNN (a LeNet with BatchNorm) for 200 steps of 128
28x28 Fashion-MNIST images, then evaluate 10 validation batches; each timed
run builds a fresh model (same seed) and hybridizes it once, as a reader's
own script would. The hand-written loop is the lean idiomatic one: Gluon's
loss and Trainer, `autograd.record()`, and no host sync per step (the losses
are summed on the device and read once).

    PYTHONPATH=. .venv/mxnet/bin/python bench/mxnet_trainer_overhead.py
"""
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as onp  # noqa: E402
from mxnet import autograd, gluon, np, npx  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

from d2l_local import mxnet as d2l  # noqa: E402
from d2l_local import shared  # noqa: E402
from report import examples_per_second, print_comparison  # noqa: E402

STEPS, BATCH, VAL_BATCHES, LR, ROUNDS = 200, 128, 10, 0.1, 4
# A run mode of our own: exactly STEPS full batches, no resize.
shared.RUN_MODES['bench'] = shared.RunMode(
    'bench', max_epochs=1, train_examples=STEPS * BATCH,
    val_examples=VAL_BATCHES * BATCH, max_image_size=28)
os.environ['D2L_MODE'] = 'bench'


def lenet_bn():
    net = nn.HybridSequential()
    for channels, padding in ((6, 2), (16, 0)):
        net.add(nn.Conv2D(channels, kernel_size=5, padding=padding),
                nn.BatchNorm(momentum=0.9, epsilon=1e-5),
                nn.Activation('relu'), nn.AvgPool2D(2, strides=2))
    net.add(nn.Dense(120, activation='relu'), nn.Dense(10))
    net.initialize(d2l.init_cnn)
    return net


class LeNetBN(d2l.Classifier):
    def __init__(self, lr=LR):
        super().__init__()
        self.save_hyperparameters()
        self.net = lenet_bn()


data = d2l.FashionMNIST(batch_size=BATCH)
ctx = d2l.try_gpu()
devnull = open(os.devnull, 'w')


def with_trainer():
    d2l.set_seed(0)
    model = LeNetBN()
    stdout, sys.stdout = sys.stdout, devnull  # its per-epoch line
    try:
        d2l.Trainer(max_epochs=1, num_gpus=1).fit(model, data)
    finally:
        sys.stdout = stdout
    npx.waitall()


def hand_written():
    d2l.set_seed(0)
    net = lenet_bn()
    net.collect_params().reset_ctx(ctx)
    net.hybridize(static_alloc=True)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': LR})
    images, labels = data.train
    rng = onp.random.default_rng(0)
    total = np.zeros((), ctx=ctx)
    for idx in onp.split(rng.permutation(len(labels)), STEPS):
        X = np.array(images[idx], ctx=ctx).reshape(-1, 1, 28, 28)
        y = np.array(labels[idx], dtype='int32', ctx=ctx)
        with autograd.record():
            loss = loss_fn(net(X), y)
        loss.backward()
        trainer.step(BATCH)
        total = total + loss.sum()
    correct = np.zeros((), ctx=ctx)
    images, labels = data.val
    for i in range(0, len(labels), BATCH):
        X = np.array(images[i:i + BATCH], ctx=ctx).reshape(-1, 1, 28, 28)
        y = np.array(labels[i:i + BATCH], dtype='int32', ctx=ctx)
        correct = correct + (net(X).argmax(axis=1).astype('int32') == y).sum()
    float(total), float(correct)
    npx.waitall()


def timed(run, cpu_seconds):
    """`run`, also noting the CPU seconds the process (all its threads)
    spent: on a shared machine they measure the work, not the waiting."""
    def wrapper():
        start = time.process_time()
        run()
        cpu_seconds.append(time.process_time() - start)
    return wrapper


if __name__ == '__main__':
    with_trainer(), hand_written()  # warm up: allocations, MKL-DNN kernels
    # Alternate the two, best of ROUNDS each: the machine is shared.
    trainer_eps = hand_eps = 0.0
    trainer_cpu, hand_cpu = [], []
    for _ in range(ROUNDS):
        trainer_eps = max(trainer_eps, examples_per_second(
            timed(with_trainer, trainer_cpu), STEPS * BATCH, repeats=1))
        hand_eps = max(hand_eps, examples_per_second(
            timed(hand_written, hand_cpu), STEPS * BATCH, repeats=1))
    where = 'cpu' if ctx == d2l.cpu() else str(ctx)
    print_comparison('mxnet', trainer_eps, hand_eps,
                     f'{STEPS} steps x {BATCH}, 28x28, LeNet+BN, {where}, '
                     f'hybridized; CPU seconds (min) trainer '
                     f'{min(trainer_cpu):.2f} / hand {min(hand_cpu):.2f} = '
                     f'{min(trainer_cpu) / min(hand_cpu):.3f}')
