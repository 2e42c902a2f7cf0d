"""PyTorch's training step on the CPU in its default layout (NCHW) and in
channels-last (NHWC), the layout d2l_local's Trainer uses there.

    .venv/pytorch/bin/python bench/pytorch_layout.py [--steps 5] [--rounds 3]
        [--models densenet32,densenet96,bc-naive,bc-efficient]

The models are bench/throughput.py's: the chapters' own, built from their
cells. For each one, a batch of 128 random images at the model's size and
one copy of the model per layout (the same weights); the layouts take
turns, `--steps` training steps (forward, loss, backward, SGD) each per
round, so that the machine's load falls on both alike. It prints each
layout's median step over all its steps, the examples per second, and how
many times faster channels-last is.
"""
import argparse
import copy
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'bench'))

import torch  # noqa: E402

from throughput import BATCH, MODELS, build_model  # noqa: E402

LAYOUTS = {'NCHW': torch.contiguous_format,
           'channels-last': torch.channels_last}


def step_seconds(model, X, y, steps):
    """Seconds of each of `steps` training steps of `model` on (X, y)."""
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = model.loss(model(X), y)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        times.append(time.perf_counter() - start)
    return times


def compare(model_name, steps, rounds):
    """{layout: median seconds per step} for one model."""
    _, model, side = build_model('pytorch', model_name)
    torch.manual_seed(0)
    X = torch.rand(BATCH, 1, side, side)
    y = torch.randint(0, 10, (BATCH,))
    model(X)  # lazy layers take their shapes
    models, batches = {}, {}
    for layout, memory_format in LAYOUTS.items():
        models[layout] = copy.deepcopy(model).to(memory_format=memory_format)
        batches[layout] = X.contiguous(memory_format=memory_format)
        step_seconds(models[layout], batches[layout], y, 2)  # warm-up
    times = {layout: [] for layout in LAYOUTS}
    for _ in range(rounds):
        for layout in LAYOUTS:
            times[layout] += step_seconds(models[layout], batches[layout], y,
                                          steps)
    return {layout: statistics.median(t) for layout, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args(argv)
    print(f'PyTorch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'batch {BATCH}, median of {args.steps * args.rounds} steps per '
          'layout')
    print('| model | NCHW ms (ex/s) | channels-last ms (ex/s) | speed-up |')
    print('| --- | ---: | ---: | ---: |')
    for name in args.models.split(','):
        if name not in MODELS:
            parser.error(f'--models: {name!r} is not one of {", ".join(MODELS)}')
        median = compare(name, args.steps, args.rounds)
        cells = [f'{1e3 * median[layout]:,.1f} ({BATCH / median[layout]:,.0f})'
                 for layout in LAYOUTS]
        print(f'| {name} | {cells[0]} | {cells[1]} | '
              f'{median["NCHW"] / median["channels-last"]:.2f}x |', flush=True)


if __name__ == '__main__':
    main()
