"""Naive vs memory-efficient DenseNet-BC: peak memory, bytes kept for the
backward pass and time of one training step, in this environment's framework.

    .venv/<framework>/bin/python bench/memory_efficient.py [--batch 16]
        [--side 64] [--blocks 6,12,24,16] [--framework pytorch]

The model is the chapter's own (chapters/densenet-memory.md, cells run up to
`DenseNetBC`), measured with `d2l.measure_training_step`, in the order naive,
efficient, efficient, naive so that neither variant always goes first; each
variant's figures are the median of its runs. Prints one table and the
efficient/naive ratios against the chapter's targets: kept <= 0.25x,
peak <= 0.6x, time <= 1.35x. On a shared CPU the times swing by tens of
percent: rerun on an idle machine before quoting them.
"""
import argparse
import importlib
import os
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / 'tests' / 'chapters')]

TARGETS = {'kept': 0.25, 'peak': 0.6, 'time': 1.35}
FRAMEWORKS = ('pytorch', 'mxnet', 'jax', 'tensorflow')


def this_framework():
    """$D2L_FRAMEWORK, else the name of the environment running us."""
    name = os.environ.get('D2L_FRAMEWORK') or pathlib.Path(sys.prefix).name
    if name not in FRAMEWORKS:
        sys.exit(f'{__file__}: run me with .venv/<framework>/bin/python or set '
                 f'D2L_FRAMEWORK to one of {", ".join(FRAMEWORKS)}')
    return name


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--framework', default=None)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--side', type=int, default=64)
    p.add_argument('--blocks', default='6,12,24,16',
                   help='layers per dense block (default: DenseNet-121)')
    p.add_argument('--repeats', type=int, default=3)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    framework = args.framework or this_framework()
    os.environ['D2L_FRAMEWORK'] = framework
    from chapter_code import chapter_namespace
    from d2l_local.shared import StepMemory, step_memory_table
    chapter = chapter_namespace(framework, 'densenet-memory',
                                until='DenseNetBC')
    d2l, DenseNetBC = chapter['d2l'], chapter['DenseNetBC']
    blocks = tuple(int(b) for b in args.blocks.split(','))
    batch = importlib.import_module(f'memory_{framework}').batch(
        (args.batch, 3, args.side, args.side), 10)
    runs = {'naive': [], 'memory-efficient': []}
    for label in ('naive', 'memory-efficient', 'memory-efficient', 'naive'):
        model = DenseNetBC(blocks, num_classes=10,
                           memory_efficient=label != 'naive')
        runs[label].append(d2l.measure_training_step(
            model, batch, label=label, repeats=args.repeats))
    rows = []
    for label, measured in runs.items():
        rows.append(StepMemory(
            label,
            int(statistics.median(m.peak_bytes for m in measured)),
            measured[0].kept_bytes,
            statistics.median(m.seconds for m in measured),
            measured[0].peak_source, measured[0].kept_source))
    naive, efficient = rows
    print(f'{framework}: DenseNet-BC {blocks}, batch {args.batch} of '
          f'3x{args.side}x{args.side}, one training step '
          f'(runs: naive, efficient, efficient, naive)')
    print(step_memory_table(rows))
    ratios = {'kept': efficient.kept_bytes / naive.kept_bytes,
              'peak': efficient.peak_bytes / naive.peak_bytes,
              'time': efficient.seconds / naive.seconds}
    for what, ratio in ratios.items():
        verdict = ('met' if ratio <= TARGETS[what]
                   else f'MISSED by {ratio / TARGETS[what]:.2f}x')
        print(f'{what:5} {ratio:.2f}x (target <= {TARGETS[what]}x): {verdict}')


if __name__ == '__main__':
    main()
