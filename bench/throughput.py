"""Training throughput of the chapters' models in all four frameworks.

    .venv/tooling/bin/python bench/throughput.py [--quick] [--steps 20]
        [--repeats 3] [--models densenet32,densenet96,bc-naive,bc-efficient]
        [--frameworks pytorch,mxnet,jax,tensorflow]
    .venv/<framework>/bin/python bench/throughput.py --framework <framework> ...
    .venv/tooling/bin/python bench/throughput.py --estimate   # full mode's time
    .venv/tooling/bin/python bench/throughput.py --without-cpu-choices

Run by any Python, it runs itself once per framework and model, in that
framework's environment (`.venv/<framework>/bin/python ... --framework <fw>`),
and prints one table. Each run builds the chapter's own model from the
chapter's cells (tests/chapters/chapter_code.py) and trains it with the
chapter's own `d2l.Trainer` on Fashion-MNIST (cut to `steps` batches of 128,
resized per batch as the chapter does) for 1 + `repeats` epochs: the first
epoch is the warm-up (compilation: the jitted step in JAX, the tf.function in
TensorFlow, the hybridized graph in MXNet), each further epoch one repetition.
An epoch's time is the Trainer's own (`trainer.history`), which includes
validation, here as many batches of the test set as the epoch trains. The
bench times each validation pass and reports training and validation
separately: the book's epoch lines count both (the quick build validates
10,000 images per 12,000 trained), and the frameworks differ more in
training than in validating.

The models: `densenet32`/`densenet96`: chapters/densenet.md's DenseNet at
32x32 (the quick build's size) and 96x96 (the text's); `bc-naive`,
`bc-efficient`: chapters/densenet-memory.md's DenseNet-BC-16 (k=12), the
quick build's, at 32x32, naive and memory-efficient.

FLOPs per training image (forward + backward) are counted once, with
PyTorch's `torch.utils.flop_counter.FlopCounterMode` on the PyTorch model, and
checked against a count by hand of the convolutions and the dense layer (the
shapes each one sees, 2 FLOPs a multiply-add, backward twice the forward
except the first convolution's gradient with respect to the image, which
nothing needs). The memory-efficient model's recomputation is not counted:
its GFLOP/s is the useful work per second, comparable with the naive one.
The peak is a large float32 matrix product in the same environment (the
precision all four tabs train in).

`--without-cpu-choices` adds, after each framework's row, a row of the same
model trained with d2l_local's CPU choice for that framework undone
(`CPU_CHOICES`): what each choice gains, measured in the same run.

`--estimate` measures a few training steps of the DenseNet at full mode's
image size in each framework and prints the time full mode would take (the
build runs it before `make html MODE=full` on a CPU).
"""
import argparse
import contextlib
import json
import math
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMEWORKS = ('pytorch', 'mxnet', 'jax', 'tensorflow')
MODELS = ('densenet32', 'densenet96', 'bc-naive', 'bc-efficient')
BATCH = 128
RESULT = 'THROUGHPUT-RESULT '  # the line a worker prints its figures on
# The checkout whose chapters and d2l_local the workers run (--library):
# another one measures its code with this bench, e.g. a `before` figure.
LIBRARY = pathlib.Path(os.environ.get('THROUGHPUT_LIBRARY', ROOT)).resolve()


# What d2l_local chooses on a CPU for speed, per framework, named by what
# the bench's row says when the choice is undone. TensorFlow's defaults
# are kept as they are.
CPU_CHOICES = {
    'pytorch': 'NCHW',                   # channels-last images and weights
    'mxnet': 'half the cores',           # OMP_NUM_THREADS set to the cores
    'jax': 'YNNPACK convolutions',       # convolutions left to XLA
}


# --------------------------------------------------------------------------
# The worker: one framework, one model, in this framework's environment
# --------------------------------------------------------------------------

def undo_cpu_choice(framework):
    """Train as if d2l_local had not made its CPU choice for `framework`;
    called before the chapter's cells import the framework."""
    # A choice renamed in d2l_local must fail here, not silently measure
    # the choice twice.
    if framework == 'pytorch':
        import torch
        from d2l_local import torch as d2l
        assert callable(d2l._memory_format), 'd2l_local.torch changed'
        d2l._memory_format = lambda device: torch.contiguous_format
    elif framework == 'mxnet':
        # Set before MXNet loads, d2l_local then leaves it as it is.
        from d2l_local import omp_threads
        os.environ['OMP_NUM_THREADS'] = str(
            omp_threads.mxnet_default_threads())
    elif framework == 'jax':
        from d2l_local import jax as d2l
        d2l._CPU_COMPILER_OPTIONS.pop('xla_cpu_experimental_ynn_fusion_type')


def chapter_train_settings(chapter='densenet'):
    """(epochs, image side, batch size) of the chapter's first training cell:
    the figures full mode runs, read where the chapter states them."""
    sys.path.insert(0, str(LIBRARY))
    from bookbuild.source import read_chapter
    source = read_chapter(LIBRARY / 'chapters' / f'{chapter}.md',
                          check_front_matter=False)
    for cell in source.code_cells('pytorch'):
        if 'train' in cell.tags and 'trainer.fit' in cell.source:
            epochs = re.search(r'max_epochs=(\d+)', cell.source)
            side = re.search(r'resize=\((\d+),', cell.source)
            batch = re.search(r'batch_size=(\d+)', cell.source)
            return int(epochs[1]), int(side[1]), int(batch[1])
    raise RuntimeError(f'chapters/{chapter}.md: no training cell with '
                       'trainer.fit')


def build_model(framework, model_name):
    """(d2l module, a fresh model, image side) from the chapter's cells."""
    sys.path[:0] = [str(LIBRARY), str(LIBRARY / 'tests' / 'chapters')]
    from chapter_code import chapter_namespace
    if model_name.startswith('densenet'):
        # The cells up to the model's class and the one that gives it its
        # layers (Flax: `setup`), without the measurements in between.
        ns = chapter_namespace(framework, 'densenet', until='DenseNet',
                               then=('setup' if framework == 'jax'
                                     else '__init__',))
        side = int(model_name[len('densenet'):])
        make = lambda: ns['DenseNet'](lr=0.01)
    else:
        ns = chapter_namespace(framework, 'densenet-memory',
                               until='DenseNetBC',
                               then=('bc_layers_per_block', 'DenseNetBCSmall'))
        side = 32
        efficient = model_name == 'bc-efficient'
        make = lambda: ns['DenseNetBCSmall'](
            depth=16, growth_rate=12, num_classes=10,
            memory_efficient=efficient, lr=0.1)
    # chapter_namespace runs the cells in smoke mode; the bench measures
    # whole batches with no cap on the image size.
    os.environ['D2L_MODE'] = 'full'
    return ns['d2l'], make(), side


def fashion_mnist_cut(d2l, side, train_batches, val_batches=None):
    """The chapter's FashionMNIST at `side`, cut to whole batches (as many
    validation batches as training ones unless told)."""
    if val_batches is None:
        val_batches = train_batches
    data = d2l.FashionMNIST(batch_size=BATCH, resize=(side, side))
    data.train = tuple(a[:train_batches * BATCH] for a in data.train)
    data.val = tuple(a[:val_batches * BATCH] for a in data.val)
    return data


def measure_training(framework, model_name, steps, repeats):
    """The chapter's Trainer on `steps` batches for 1 + `repeats` epochs:
    seconds (wall clock and CPU) of the warm-up epoch and of each later one,
    and of each epoch's validation (`steps` batches) within them."""
    import io
    d2l, model, side = build_model(framework, model_name)
    d2l.set_seed(0)
    data = fashion_mnist_cut(d2l, side, steps)
    trainer = d2l.Trainer(max_epochs=1 + repeats, num_gpus=0)
    with contextlib.redirect_stdout(io.StringIO()), \
            cpu_seconds_per_epoch() as cpu_seconds, \
            validation_seconds(type(trainer)) as (val_s, val_cpu_s):
        trainer.fit(model, data)
    seconds = [row['seconds'] for row in trainer.history]
    return {'framework': framework, 'model': model_name, 'side': side,
            'steps': steps, 'batch': BATCH, 'warmup_epoch_s': seconds[0],
            'epoch_s': seconds[1:], 'warmup_epoch_cpu_s': cpu_seconds[0],
            'epoch_cpu_s': cpu_seconds[1:], 'val_images': len(data.val[0]),
            'val_s': val_s, 'val_cpu_s': val_cpu_s}


@contextlib.contextmanager
def validation_seconds(trainer_class):
    """The wall-clock and CPU seconds of each validation pass of a
    framework's Trainer (`_validate`, which returns its metrics on the host:
    the pass has finished when it returns); none where the Trainer has no
    such method, and the epochs then count their validation."""
    wall, cpu = [], []
    validate = getattr(trainer_class, '_validate', None)
    if validate is None:  # another checkout's Trainer (--library)
        yield wall, cpu
        return

    def timed_validate(self, *args, **kwargs):
        start, start_cpu = time.perf_counter(), time.process_time()
        metrics = validate(self, *args, **kwargs)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        return metrics

    trainer_class._validate = timed_validate
    try:
        yield wall, cpu
    finally:
        trainer_class._validate = validate


@contextlib.contextmanager
def cpu_seconds_per_epoch():
    """The process's CPU seconds (all its threads) of each epoch the
    Trainer logs: on a machine shared with other work, steadier than the
    wall clock, which counts the time others hold the cores."""
    from d2l_local import shared
    cls = shared.TrainingLog
    init, end_epoch = cls.__init__, cls.end_epoch
    marks = []

    def timed_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        marks[:] = [time.process_time()]

    def timed_end_epoch(self, *args, **kwargs):
        marks.append(time.process_time())
        return end_epoch(self, *args, **kwargs)

    seconds = []
    cls.__init__, cls.end_epoch = timed_init, timed_end_epoch
    try:
        yield seconds
    finally:
        cls.__init__, cls.end_epoch = init, end_epoch
        seconds[:] = [b - a for a, b in zip(marks, marks[1:])]


def matmul_peak(framework, n=2048, repeats=5):
    """GFLOP/s of the best of `repeats` float32 n x n matrix products."""
    import numpy as onp
    a = onp.random.default_rng(0).standard_normal((n, n), dtype=onp.float32)
    if framework == 'pytorch':
        import torch
        x = torch.from_numpy(a)
        run = lambda: torch.mm(x, x)
    elif framework == 'mxnet':
        from mxnet import np as mnp
        x = mnp.array(a)
        run = lambda: mnp.dot(x, x).wait_to_read()
    elif framework == 'jax':
        import jax
        import jax.numpy as jnp
        x = jnp.asarray(a)
        dot = jax.jit(jnp.dot)
        run = lambda: dot(x, x).block_until_ready()
    else:
        import tensorflow as tf
        x = tf.constant(a)
        run = lambda: tf.linalg.matmul(x, x).numpy()
    run()
    best, best_cpu = math.inf, math.inf
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return 2 * n ** 3 / best / 1e9, 2 * n ** 3 / best_cpu / 1e9


def flops_per_image(model_name):
    """(FlopCounterMode's count, the count by hand) of one training image's
    forward and backward pass through the PyTorch model."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    d2l, model, side = build_model('pytorch', model_name.replace(
        'bc-efficient', 'bc-naive'))
    X = torch.zeros(BATCH, 1, side, side)
    y = torch.zeros(BATCH, dtype=torch.long)
    forward = []

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            cin = module.in_channels // module.groups
            macs = output.numel() * cin * k
        else:  # Linear
            macs = output.numel() * module.in_features
        forward.append(2 * macs)

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    model.train()
    with FlopCounterMode(display=False) as counter:
        model.loss(model(X), y).backward()
    for h in hooks:
        h.remove()
    # Backward: the gradients of the input and of the weights, each as
    # costly as the forward; the first layer's input is the image.
    by_hand = 3 * sum(forward) - forward[0]
    return counter.get_total_flops() / BATCH, by_hand / BATCH


def worker(args):
    os.environ['D2L_FRAMEWORK'] = args.framework
    if args.undo_cpu_choice:
        undo_cpu_choice(args.framework)
    if args.estimate:
        # The DenseNet at full mode's image size, a few steps.
        epochs, side, batch = chapter_train_settings()
        result = measure_training(args.framework, f'densenet{side}',
                                  args.steps, args.repeats)
        result.update(workload(epochs))
    elif args.flops:
        counted, by_hand = flops_per_image(args.models[0])
        result = {'model': args.models[0], 'flops': counted,
                  'flops_by_hand': by_hand}
    elif args.peak:
        wall, cpu = matmul_peak(args.framework)
        result = {'framework': args.framework, 'peak_gflops': wall,
                  'peak_gflops_per_cpu_s': cpu}
    else:
        result = measure_training(args.framework, args.models[0], args.steps,
                                  args.repeats)
    print(RESULT + json.dumps(result), flush=True)


def workload(epochs):
    """Full mode's run of the chapter: epochs and examples per epoch, from
    d2l_local's run modes and the data files."""
    from d2l_local import shared
    mode = shared.RUN_MODES['full']
    train = len(shared.load_fashion_mnist(True)[1])
    val = len(shared.load_fashion_mnist(False)[1])
    return {'epochs': mode.cap_epochs(epochs),
            'train_examples': mode.cap_examples(train, True),
            'val_examples': mode.cap_examples(val, False)}


# --------------------------------------------------------------------------
# The driver: every framework and model, one subprocess each
# --------------------------------------------------------------------------

def run_worker(framework, extra, timeout=1800):
    python = ROOT / '.venv' / framework / 'bin' / 'python'
    cmd = [str(python), str(pathlib.Path(__file__).resolve()),
           '--framework', framework, *extra]
    env = dict(os.environ, D2L_FRAMEWORK=framework,
               THROUGHPUT_LIBRARY=str(LIBRARY), PYTHONPATH=str(LIBRARY))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    raise RuntimeError(f'{" ".join(cmd)} failed (exit {proc.returncode}):\n'
                       f'{proc.stderr[-3000:]}')


def spread(values):
    """(max - min) / median, the repetitions' spread."""
    med = statistics.median(values)
    return (max(values) - min(values)) / med if med else math.nan


def summarise(result, flops, peak, machine_peak=None):
    """The figures of a worker's result: training examples per second (the
    epochs less their validation passes), validation examples per second,
    warm-up (whole epochs), GFLOP/s against the peaks."""
    sys.path.insert(0, str(ROOT))  # the driver's own bookbuild
    from bookbuild.estimate import (training_seconds,
                                    validation_examples_per_second)
    images = result['steps'] * result['batch']
    eps = [images / s for s in training_seconds(result['epoch_s'],
                                                 result.get('val_s'))]
    median_eps = statistics.median(eps)
    median_epoch = statistics.median(result['epoch_s'])
    gflops = median_eps * flops / 1e9 if flops else math.nan
    per_cpu_s = [images / s for s in training_seconds(
        result['epoch_cpu_s'], result.get('val_cpu_s'))]
    per_cpu = statistics.median(per_cpu_s)
    # Per CPU-second, the model's work against the matmul's: the share of
    # the cores' speed the step gets out of the time it holds them.
    gflops_cpu = per_cpu * flops / 1e9 if flops else math.nan
    peak_cpu = peak['peak_gflops_per_cpu_s']
    return {**result, 'examples_per_s': median_eps, 'spread': spread(eps),
            'val_examples_per_s': (validation_examples_per_second(result)
                                   or math.nan),
            'examples_per_cpu_s': per_cpu, 'cpu_spread': spread(per_cpu_s),
            'warmup_s': result['warmup_epoch_s'] - median_epoch,
            'warmup_cpu_s': (result['warmup_epoch_cpu_s'] -
                             statistics.median(result['epoch_cpu_s'])),
            'gflops': gflops, 'peak_gflops': peak['peak_gflops'],
            'of_peak': gflops / peak['peak_gflops'],
            'gflops_per_cpu_s': gflops_cpu, 'peak_gflops_per_cpu_s': peak_cpu,
            'of_peak_cpu': gflops_cpu / peak_cpu,
            # The best matmul of any environment: MXNet's np.dot runs on
            # OpenBLAS, slower than the oneDNN its convolutions use.
            'machine_peak_gflops': machine_peak or peak['peak_gflops'],
            'of_machine_peak': gflops / (machine_peak or
                                         peak['peak_gflops'])}


def label(row):
    """A row's framework, and the CPU choice it was trained without."""
    without = row.get('without_cpu_choice')
    return f'{row["framework"]} ({without})' if without else row['framework']


def table(rows):
    width = max(11, *(len(label(r)) + 2 for r in rows))
    head = (f'{"model":<13}{"framework":<{width}}{"examples/s":>11}{"spread":>8}'
            f'{"ex/CPU-s":>9}{"spread":>8}{"val ex/s":>9}'
            f'{"warm-up s":>10}{"GFLOP/s":>9}{"peak":>7}{"of peak":>8}'
            f'{"of peak/CPU-s":>14}{"of best peak":>13}{"vs best":>8}')
    lines = [head, '-' * len(head)]
    best = {}
    for r in rows:  # the fastest tab as d2l_local trains it
        if not r.get('without_cpu_choice'):
            best[r['model']] = max(best.get(r['model'], 0),
                                   r['examples_per_s'])
    for r in rows:
        lines.append(
            f'{r["model"]:<13}{label(r):<{width}}'
            f'{r["examples_per_s"]:>11,.0f}'
            f'{r["spread"]:>8.0%}{r["examples_per_cpu_s"]:>9,.0f}'
            f'{r["cpu_spread"]:>8.0%}{r["val_examples_per_s"]:>9,.0f}'
            f'{r["warmup_s"]:>10.1f}{r["gflops"]:>9.1f}'
            f'{r["peak_gflops"]:>7.0f}{r["of_peak"]:>8.0%}'
            f'{r["of_peak_cpu"]:>14.0%}{r["of_machine_peak"]:>13.0%}'
            f'{best[r["model"]] / r["examples_per_s"]:>7.2f}x')
    return '\n'.join(lines)


def load_average():
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def estimate_all(frameworks, steps, repeats):
    """One worker per framework in --estimate mode: its measured figures."""
    return {fw: run_worker(fw, ['--estimate', '--steps', str(steps),
                                '--repeats', str(repeats)])
            for fw in frameworks}


def driver(args):
    print(f'library: {LIBRARY}; load average before: {load_average()} '
          f'({os.cpu_count()} CPUs)', flush=True)
    if args.estimate:
        sys.path.insert(0, str(ROOT))
        from bookbuild.estimate import estimate_lines
        figures = estimate_all(args.frameworks, args.steps, args.repeats)
        print('\n'.join(estimate_lines(figures)))
        return
    flops = {}
    for model in args.models:
        counted, by_hand = (lambda r: (r['flops'], r['flops_by_hand']))(
            run_worker('pytorch', ['--flops', '--models', model]))
        flops[model] = counted
        agree = abs(counted - by_hand) / by_hand
        print(f'{model}: {counted / 1e6:.1f} MFLOP per training image '
              f'(FlopCounterMode), {by_hand / 1e6:.1f} by hand '
              f'({agree:.1%} apart)', flush=True)
        if agree > 0.02:
            print(f'  warning: the counts of {model} differ by more than 2%')
    peaks = {fw: run_worker(fw, ['--peak']) for fw in args.frameworks}
    machine_peak = max(p['peak_gflops'] for p in peaks.values())
    rows = []
    for model in args.models:
        steps = args.steps if not model.endswith('96') else max(
            2, args.steps // 4)
        runs = [(fw, False) for fw in args.frameworks]
        if args.without_cpu_choices:
            runs = [run for fw in args.frameworks for run in
                    [(fw, False)] + [(fw, True)] * (fw in CPU_CHOICES)]
        for fw, undone in runs:
            result = run_worker(fw, ['--models', model, '--steps', str(steps),
                                     '--repeats', str(args.repeats)]
                                + ['--undo-cpu-choice'] * undone)
            if undone:
                result['without_cpu_choice'] = CPU_CHOICES[fw]
            rows.append(summarise(result, flops[model], peaks[fw],
                                  machine_peak))
            r = rows[-1]
            if args.json:  # after every row: a long run may be cut short
                pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))
            gain = (f', {rows[-2]["examples_per_s"] / r["examples_per_s"]:.2f}x'
                    ' with the choice' if undone else '')
            print(f'  {model} {label(r)}: {r["examples_per_s"]:,.0f} '
                  f'examples/s, warm-up {r["warmup_s"]:.1f} s{gain} '
                  f'(load {load_average()})', flush=True)
    print()
    print(f'batch {BATCH}; examples/s: training examples per second, '
          f'median of {args.repeats} epochs less their validation '
          f'(spread: (max - min) / median); ex/CPU-s: per second of the '
          f'process\'s CPU time (all threads); val ex/s: validation '
          f'examples per second (as many batches as training ones); '
          f'warm-up: first epoch minus a later one; peak: float32 '
          f'2048x2048 matmul, GFLOP/s; best peak: the best of the '
          f'environments\' matmuls; '
          f'vs best: the fastest framework\'s examples/s over this one\'s')
    print(table(rows))
    print(f'load average after: {load_average()}')
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--framework', choices=FRAMEWORKS,
                   help='run as the worker of this framework (in its env)')
    p.add_argument('--frameworks', default=','.join(FRAMEWORKS))
    p.add_argument('--models', default=','.join(MODELS))
    p.add_argument('--steps', type=int, default=None,
                   help='training steps per epoch (default 20; 96x96: a '
                   'quarter of it; --quick: 6; --estimate: 3)')
    p.add_argument('--repeats', type=int, default=None,
                   help='measured epochs after the warm-up (default 3; '
                   '--quick, --estimate: 1)')
    p.add_argument('--quick', action='store_true', help='a short run')
    p.add_argument('--estimate', action='store_true',
                   help="full mode's time per framework, from a few steps")
    p.add_argument('--flops', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--peak', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--without-cpu-choices', action='store_true',
                   help="also train each model with d2l_local's CPU choice "
                   'for each framework undone (CPU_CHOICES)')
    p.add_argument('--undo-cpu-choice', action='store_true',
                   help=argparse.SUPPRESS)
    p.add_argument('--json', help='also write the rows to this file')
    p.add_argument('--library', help='the checkout whose chapters and '
                   'd2l_local to measure (default: this one)')
    args = p.parse_args(argv)
    short = args.quick or args.estimate
    if args.steps is None:
        args.steps = 3 if args.estimate else 6 if args.quick else 20
    if args.repeats is None:
        args.repeats = 1 if short else 3
    args.frameworks = args.frameworks.split(',')
    args.models = args.models.split(',')
    for name in args.models:
        if name not in MODELS:
            p.error(f'--models: {name!r} is not one of {", ".join(MODELS)}')
    return args


def main(argv=None):
    global LIBRARY
    args = parse_args(argv)
    if args.library:
        LIBRARY = pathlib.Path(args.library).resolve()
    if args.framework:
        worker(args)
    else:
        driver(args)


if __name__ == '__main__':
    main()
