"""What does d2l_local.Trainer cost over a hand-written PyTorch loop?

Both train the same small CNN (LeNet with BatchNorm) on the same real
Fashion-MNIST tensors for the same number of steps (batch 128, 28x28), each
epoch followed by the same validation pass, and report examples/s. The
hand-written loop is what a PyTorch user writes: shuffle by index, forward,
backward, step, keep the running loss on the device, evaluate under no_grad.

    PYTHONPATH=. python bench/pytorch_trainer_overhead.py  # in the torch env
"""
import argparse
import contextlib
import io
import math
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
os.environ['D2L_MODE'] = 'full'  # no caps: the benchmark picks its own sizes

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from d2l_local import torch as d2l  # noqa: E402
from report import examples_per_second, print_comparison  # noqa: E402

BATCH_SIZE = 128


def lenet_bn():
    return nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5, padding=2), nn.LazyBatchNorm2d(),
        nn.ReLU(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(),
        nn.ReLU(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.LazyLinear(120), nn.ReLU(), nn.LazyLinear(10))


class LeNetBN(d2l.Classifier):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = lenet_bn()


def load(steps, val_batches):
    data = d2l.FashionMNIST(batch_size=BATCH_SIZE)
    X, y = data.train.tensors
    n = steps * BATCH_SIZE
    data.train = torch.utils.data.TensorDataset(X[:n], y[:n])
    Xv, yv = data.val.tensors
    m = val_batches * BATCH_SIZE
    data.val = torch.utils.data.TensorDataset(Xv[:m], yv[:m])
    return data


def with_trainer(data):
    torch.manual_seed(0)
    model = LeNetBN(lr=0.1)
    trainer = d2l.Trainer(max_epochs=1)
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, data)
    return trainer.history[-1]['val_acc']


def by_hand(data):
    torch.manual_seed(0)
    net = lenet_bn()
    X, y = data.train.tensors
    Xv, yv = data.val.tensors
    net.eval()
    with torch.no_grad():
        net(X[:1])  # materialise the lazy layers
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    net.train()
    total = torch.zeros(())
    order = torch.randperm(len(y), generator=generator)
    for start in range(0, len(y), BATCH_SIZE):
        idx = order[start:start + BATCH_SIZE]
        loss = F.cross_entropy(net(X[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
    net.eval()
    val_loss, correct = torch.zeros(()), torch.zeros(())
    with torch.no_grad():
        for start in range(0, len(yv), BATCH_SIZE):
            batch = slice(start, start + BATCH_SIZE)
            out, target = net(Xv[batch]), yv[batch]
            val_loss += F.cross_entropy(out, target, reduction='sum')
            correct += (out.argmax(1) == target).sum()
    return [(v / n).item() for v, n in ((total, len(y)), (val_loss, len(yv)),
                                        (correct, len(yv)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--val-batches', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads (default: torch\'s own choice); '
                        '1 gives steadier numbers on a busy machine')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load(args.steps, args.val_batches)
    examples = args.steps * BATCH_SIZE
    with_trainer(data)  # warm-up: allocator, kernels, data in cache
    by_hand(data)
    # Interleaved, best of each: the machine may be shared, and a slow spell
    # should not land on one side only. CPU time (all threads) is measured
    # too: it is what other processes cannot inflate much.
    wall = {'trainer': 0.0, 'hand': 0.0}
    cpu = {'trainer': math.inf, 'hand': math.inf}
    for _ in range(args.repeats):
        for name, run in (('trainer', with_trainer), ('hand', by_hand)):
            start = time.process_time()
            eps = examples_per_second(lambda: run(data), examples, repeats=1)
            cpu[name] = min(cpu[name], time.process_time() - start)
            wall[name] = max(wall[name], eps)
    print_comparison('pytorch', wall['trainer'], wall['hand'],
                     f'{args.steps} steps x {BATCH_SIZE}, 28x28, CPU, '
                     f'{torch.get_num_threads()} threads, best of '
                     f'{args.repeats}; CPU-time overhead '
                     f'{cpu["trainer"] / cpu["hand"] - 1:+.1%}')


if __name__ == '__main__':
    main()
