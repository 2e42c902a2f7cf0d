"""Where JAX's training step of the chapter's DenseNet spends its time.

    .venv/jax/bin/python bench/jax_step_profile.py [--side 32] [--steps 10]
    .venv/jax/bin/python bench/jax_step_profile.py --without-weight-gradients

Builds the chapter's JAX DenseNet from its cells (as bench/throughput.py
does), compiles the Trainer's own jitted step (d2l_local's compiler
options), times `--steps` steps of batch 128, then traces the same steps
with `jax.profiler` and prints, per step:

- the wall-clock time of a step, untraced and traced;
- the operations' summed time, grouped by kind (XLA's fusion names without
  their numbers: `convolution`, `transpose_copy_fusion`, `wrapped_iota`...);
  XLA:CPU splits an operation into tasks that run on both cores, so the sum
  can exceed the wall clock;
- the busy time: how long at least one operation was running. What is left
  of the step's wall clock is the executor's own work between operations.

`--without-weight-gradients` measures the step with every convolution's
kernel behind `lax.stop_gradient`: the step no longer computes the
gradients of the convolution weights (it trains nothing useful), so the
difference from the plain step is what those gradients cost. Nothing is
traced in that mode.
"""
import argparse
import collections
import contextlib
import glob
import gzip
import io
import json
import pathlib
import re
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'bench')]


def kernels_without_gradients():
    """Make every convolution Flax builds treat its kernel as a constant."""
    from jax import lax
    convolve = lax.conv_general_dilated

    def constant_kernel(lhs, rhs, *args, **kwargs):
        return convolve(lhs, lax.stop_gradient(rhs), *args, **kwargs)
    lax.conv_general_dilated = constant_kernel  # Flax looks it up per call


def trainer_and_batches(side, steps):
    import throughput
    d2l, model, _ = throughput.build_model('jax', f'densenet{side}')
    d2l.set_seed(0)
    data = throughput.fashion_mnist_cut(d2l, side, steps, val_batches=1)
    trainer = d2l.Trainer(max_epochs=1, num_gpus=0)
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, data)  # compiles the step, one epoch
    return trainer, list(data.train_dataloader())


def run_steps(trainer, batches):
    import jax
    state = trainer.state
    start = time.perf_counter()
    for batch in batches:
        state, loss = trainer.train_step(state, batch)
    jax.block_until_ready(loss)
    trainer.state = state
    return (time.perf_counter() - start) / len(batches)


def traced_operations(trainer, batches):
    """(seconds per traced step, [(name, start µs, duration µs)])."""
    import jax
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir):
            seconds = run_steps(trainer, batches)
        trace, = glob.glob(f'{trace_dir}/**/*.trace.json.gz', recursive=True)
        events = json.load(gzip.open(trace))['traceEvents']
    ops = [(e['name'], e['ts'], e['dur']) for e in events
           if e.get('ph') == 'X' and is_operation(e['name'])]
    return seconds, ops


def is_operation(name):
    """An XLA operation's event, not Python's, the executor's or jit's."""
    return not (name.startswith('$') or 'ThunkExecutor' in name
                or 'PjitFunction' in name or name.startswith('Thunk'))


def busy_microseconds(ops):
    """How long at least one operation ran: the union of their intervals."""
    busy, end = 0.0, -1.0
    for _, start, duration in sorted(ops, key=lambda op: op[1]):
        stop = start + duration
        if start > end:
            busy += duration
        elif stop > end:
            busy += stop - end
        end = max(end, stop)
    return busy


def kind(name):
    return re.sub(r'\.\d+$', '', name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--side', type=int, default=32)
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--top', type=int, default=15)
    parser.add_argument('--without-weight-gradients', action='store_true')
    args = parser.parse_args(argv)
    if args.without_weight_gradients:
        kernels_without_gradients()
    trainer, batches = trainer_and_batches(args.side, args.steps)
    run_steps(trainer, batches)  # warm
    plain = run_steps(trainer, batches)
    label = ('without the weight gradients' if args.without_weight_gradients
             else 'the training step')
    print(f'{label}: {plain * 1000:.1f} ms per step of {len(batches[0][1])} '
          f'at {args.side}x{args.side} ({len(batches[0][1]) / plain:,.0f} '
          'examples/s)')
    if args.without_weight_gradients:
        return
    seconds, ops = traced_operations(trainer, batches)
    if not ops:
        # An XLA:CPU that stops naming its operations in the trace
        # (XLA_FLAGS=--xla_cpu_enable_xprof_traceme=true may bring them back).
        print('no XLA operations in the trace')
        return
    steps = len(batches)
    by_kind = collections.Counter()
    for name, _, duration in ops:
        by_kind[kind(name)] += duration
    total = sum(by_kind.values())
    busy = busy_microseconds(ops)
    print(f'traced: {seconds * 1000:.1f} ms per step; operations '
          f'{total / steps / 1000:.1f} ms summed over both cores, some '
          f'running {busy / steps / 1000:.1f} ms of the step '
          f'({len(ops) / steps:,.0f} tasks per step)')
    for name, duration in by_kind.most_common(args.top):
        print(f'{duration / steps / 1000:8.1f} ms {duration / total:6.1%}  '
              f'{name}')


if __name__ == '__main__':
    main()
