"""Print the training figures of executed chapters: per framework, the run
mode, device, time per epoch, final validation accuracy and peak memory.

    .venv/tooling/bin/python bench/training_figures.py [EXECUTED_DIR]

EXECUTED_DIR defaults to build/executed (what `make html` writes; the GPU
jobs of .github/workflows/book.yml upload it). The figures are read from what
the Trainers printed in the notebooks: the line that opens each fit
(`run mode: ...; device: ...`) and the summary that closes it (`train loss
..., val acc ...; N epoch(s) in T s (S s/epoch); peak memory M MiB (...)`),
read by d2l_local/training_summary.py, beside the code that writes it.
"""
import pathlib
import re
import sys

import nbformat

from d2l_local.training_summary import read_summaries

DEVICE = re.compile(r'^run mode: .*; device: (?P<device>.*)$', re.M)


def stream_text(nb):
    for cell in nb.cells:
        for output in cell.get('outputs', []):
            if output.get('output_type') == 'stream':
                yield output['text']


def fits(path):
    """One dict per Trainer.fit in an executed notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    run = nb.metadata.get('d2l_book', {})
    devices, rows = [], []
    for text in stream_text(nb):
        devices += [m['device'] for m in DEVICE.finditer(text)]
        for m in read_summaries(text):
            if not m['val_acc']:
                continue  # a regression: no accuracy to report
            rows.append({
                'notebook': path.name, 'framework': run.get('framework', '?'),
                'mode': run.get('run', {}).get('mode', '?'),
                'device': devices[len(rows)] if len(devices) > len(rows)
                else '?',
                'epochs': int(m['epochs']), 'per_epoch': float(m['per_epoch']),
                'val_acc': float(m['val_acc']),
                'peak': f"{m['peak_mib']} MiB ({m['memory_where']})"
                if m['peak_mib'] else '-'})
    return rows


def main(argv):
    folder = pathlib.Path(argv[0] if argv else 'build/executed')
    paths = sorted(folder.glob('*.ipynb'))
    if not paths:
        print(f'error: no executed notebooks in {folder} (run make html)',
              file=sys.stderr)
        return 1
    print(f'{"notebook":28} {"mode":6} {"epochs":>6} {"s/epoch":>8} '
          f'{"val acc":>7}  device; peak memory')
    for path in paths:
        for row in fits(path):
            print(f'{row["notebook"]:28} {row["mode"]:6} {row["epochs"]:>6} '
                  f'{row["per_epoch"]:>8.1f} {row["val_acc"]:>7.3f}  '
                  f'{row["device"]}; {row["peak"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
