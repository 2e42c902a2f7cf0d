"""What a Trainer prints of its training, and the reader of it, side by side.

The Trainers print an epoch's figures as a line (`metrics_text`) and end a
fit with a summary line (`summary_line`, with a `memory_line`). The build
reads the summaries back from the executed notebooks (the page's table of
the four tabs' final figures), and so does bench/training_figures.py:
both through `read_summaries`, written here next to the writer so that the
format changes in one place. Standard library only: the build's
environment imports it without numpy or a framework.
"""
import math
import re

SUMMARY = re.compile(
    r'train loss (?P<train_loss>[\d.]+|nan), val loss (?P<val_loss>[\d.]+|nan)'
    r'(?:, val acc (?P<val_acc>[\d.]+|nan))?; (?P<epochs>\d+) epoch\(s\) in '
    r'(?P<seconds>[\d.]+) s \((?P<per_epoch>[\d.]+) s/epoch\)'
    r'(?:; peak memory (?P<peak_mib>[\d,]+) MiB \((?P<memory_where>[^)]*)\))?')


def metrics_text(row):
    """An epoch's losses and accuracy (a row of `trainer.history`); a
    model without an accuracy (a regression) reports none rather than
    nan."""
    text = (f'train loss {row["train_loss"]:.3f}, '
            f'val loss {row["val_loss"]:.3f}')
    if not math.isnan(row['val_acc']):
        text += f', val acc {row["val_acc"]:.3f}'
    return text


def memory_line(peak_bytes, what):
    """The Trainers' summary of memory, one format in every framework."""
    return f'peak memory {peak_bytes / 2**20:,.0f} MiB ({what})'


def summary_line(last, epochs, seconds, memory=None):
    """The line that ends a fit: the last epoch's figures (`last`, a row of
    the history), the epochs and the seconds they took, and `memory` (a
    `memory_line`), if given."""
    return (f'{metrics_text(last)}; '
            f'{epochs} epoch(s) in {seconds:.1f} s '
            f'({seconds / epochs:.1f} s/epoch)'
            + (f'; {memory}' if memory else ''))


def read_summaries(text):
    """The summary lines in `text` (what a cell printed), in order: each a
    dict of its figures as printed (train_loss, val_loss, val_acc, epochs,
    seconds, per_epoch, peak_mib, memory_where), None for what the line
    does not hold (a regression's val_acc, a fit's memory)."""
    return [match.groupdict() for match in SUMMARY.finditer(text)]
