"""The 3x3 growth convolutions of the memory chapter's DenseNet-BC-16 (k=12),
one at a time, in MXNet and PyTorch: why MXNet trains that network at about
half the others' speed.

    .venv/tooling/bin/python bench/growth_convolution.py [--repeats 5]
    .venv/<pytorch|mxnet>/bin/python bench/growth_convolution.py --framework <fw>

Run by any Python, it runs itself in the PyTorch and the MXNet environment
and prints one table: for each shape (batch 128, the bottleneck's 48 = 4k
channels in, k out, at the three blocks' sizes, and the same convolution to
16 channels), the median milliseconds of the forward pass and of forward +
backward (both gradients), their GFLOP/s, and, for MXNet, the oneDNN
implementation that ran the forward pass (from oneDNN's own log,
DNNL_VERBOSE=1).
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BATCH, IN_CHANNELS = 128, 48
# (output channels, side): DenseNet-BC-16's growth convolutions (k=12) at
# 32x32, 16x16 and 8x8, and the first one with 16 output channels.
SHAPES = ((12, 32), (12, 16), (12, 8), (16, 32))
RESULT = 'GROWTH-CONV '


def flops(out_channels, side):
    """Forward FLOPs of one 3x3 convolution (2 per multiply-add)."""
    return 2 * BATCH * IN_CHANNELS * out_channels * 9 * side * side


def median_ms(run, repeats):
    for _ in range(2):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def pytorch_steps(out_channels, side):
    import torch
    X = torch.randn(BATCH, IN_CHANNELS, side, side, requires_grad=True)
    W = torch.randn(out_channels, IN_CHANNELS, 3, 3, requires_grad=True)

    def forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(X, W, padding=1)

    def forward_backward():
        torch.nn.functional.conv2d(X, W, padding=1).sum().backward()
    return forward, forward_backward


def mxnet_steps(out_channels, side):
    from d2l_local import omp_threads
    omp_threads.give_mxnet_every_core()
    from mxnet import autograd, np, npx
    npx.set_np()
    X = np.random.normal(size=(BATCH, IN_CHANNELS, side, side))
    W = np.random.normal(size=(out_channels, IN_CHANNELS, 3, 3))
    X.attach_grad()
    W.attach_grad()

    def convolve():
        return npx.convolution(X, W, kernel=(3, 3), pad=(1, 1),
                               num_filter=out_channels, no_bias=True)

    def forward():
        convolve().wait_to_read()

    def forward_backward():
        with autograd.record():
            Y = convolve()
        Y.backward()
        X.grad.wait_to_read()
        W.grad.wait_to_read()
    return forward, forward_backward


def measure(framework, repeats):
    steps = pytorch_steps if framework == 'pytorch' else mxnet_steps
    for out_channels, side in SHAPES:
        forward, forward_backward = steps(out_channels, side)
        print(RESULT + ' '.join(map(str, (
            out_channels, side, median_ms(forward, repeats),
            median_ms(forward_backward, repeats)))), flush=True)


def forward_once():
    """Each shape's forward pass in MXNet, once: what oneDNN's log names."""
    for out_channels, side in SHAPES:
        mxnet_steps(out_channels, side)[0]()


def run_in_environment(framework, *args, env=None):
    """What this script prints when `framework`'s environment runs it."""
    python = ROOT / '.venv' / framework / 'bin' / 'python'
    return subprocess.run(
        [str(python), __file__, '--framework', framework, *args],
        capture_output=True, text=True, check=True, cwd=ROOT, env=env).stdout


def onednn_forward_kernels():
    """(out channels, side) -> the oneDNN implementation of MXNet's forward
    convolution, from a run with oneDNN's log switched on (apart from the
    timed run: the log slows every operation down)."""
    log = run_in_environment('mxnet', '--forward-once', env={
        **os.environ, 'DNNL_VERBOSE': '1', 'MKLDNN_VERBOSE': '1'})
    kernels = {}
    for line in log.splitlines():
        fields = line.split(',')
        if len(fields) > 6 and fields[1] == 'exec' and \
                fields[3] == 'convolution' and 'forward' in fields[5]:
            shape = re.search(r'oc(\d+)_ih(\d+)', line)
            kernels[int(shape[1]), int(shape[2])] = fields[4]
    return kernels


def run_all(repeats):
    rows = {}
    for framework in ('pytorch', 'mxnet'):
        out = run_in_environment(framework, '--repeats', str(repeats))
        for line in out.splitlines():
            if line.startswith(RESULT):
                c, s, fwd, both = line[len(RESULT):].split()
                rows[framework, int(c), int(s)] = (float(fwd), float(both))
    kernels = onednn_forward_kernels()
    print(f'3x3 convolution, batch {BATCH}, {IN_CHANNELS} channels in; '
          f'median of {repeats} runs, ms (GFLOP/s; forward + backward counts '
          '3x the forward)')
    print('| out | side | PyTorch fwd | MXNet fwd | PyTorch fwd+bwd | '
          'MXNet fwd+bwd | MXNet / PyTorch | MXNet\'s oneDNN kernel |')
    print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for c, s in SHAPES:
        f = flops(c, s)
        cells = []
        for i, factor in ((0, 1), (1, 3)):
            for fw in ('pytorch', 'mxnet'):
                ms = rows[fw, c, s][i]
                cells.append(f'{ms:.1f} ({factor * f / ms / 1e6:.0f})')
        ratio = rows['mxnet', c, s][1] / rows['pytorch', c, s][1]
        print(f'| {c} | {s}x{s} | ' + ' | '.join(cells) +
              f' | {ratio:.2f}x | {kernels.get((c, s), "?")} |')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--framework', choices=('pytorch', 'mxnet'))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--forward-once', action='store_true',
                        help=argparse.SUPPRESS)  # MXNet's kernel probe
    args = parser.parse_args()
    if args.forward_once:
        forward_once()
    elif args.framework:
        measure(args.framework, args.repeats)
    else:
        run_all(args.repeats)


if __name__ == '__main__':
    sys.exit(main())
