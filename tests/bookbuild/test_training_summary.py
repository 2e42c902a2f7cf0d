"""The Trainers' summary line (d2l_local/training_summary.py) is read back
by the reader written beside it: what the page's table of final figures and
bench/training_figures.py see is what the Trainer printed."""
import math
import pathlib

from d2l_local.training_summary import (memory_line, metrics_text,
                                        read_summaries, summary_line)

ROW = {'train_loss': 0.36149, 'val_loss': 0.4871, 'val_acc': 0.83125}


def test_a_summary_reads_back_as_printed():
    line = summary_line(ROW, 4, 70.04, memory_line(1081 * 2**20 + 5,
                                                   'tensors on GPU cuda:0'))
    assert line == ('train loss 0.361, val loss 0.487, val acc 0.831; '
                    '4 epoch(s) in 70.0 s (17.5 s/epoch); peak memory '
                    '1,081 MiB (tensors on GPU cuda:0)')
    assert read_summaries(f'run mode: quick\n{line}\n') == [{
        'train_loss': '0.361', 'val_loss': '0.487', 'val_acc': '0.831',
        'epochs': '4', 'seconds': '70.0', 'per_epoch': '17.5',
        'peak_mib': '1,081', 'memory_where': 'tensors on GPU cuda:0'}]


def test_what_a_summary_lacks_reads_back_as_none():
    regression = dict(ROW, val_acc=math.nan)
    line = summary_line(regression, 1, 3.0)
    assert 'val acc' not in line and 'nan' not in line
    (found,) = read_summaries(line)
    assert found['val_acc'] is None and found['peak_mib'] is None
    assert (found['train_loss'], found['epochs'], found['per_epoch']) == (
        '0.361', '1', '3.0')


def test_epoch_lines_are_not_summaries():
    epoch = f'epoch 1/2: {metrics_text(ROW)} (3.0 s, 33 examples/s)'
    summaries = [summary_line(ROW, 2, 9.0), summary_line(ROW, 2, 5.0)]
    text = '\n'.join([epoch, summaries[0], epoch, summaries[1]])
    assert [s['seconds'] for s in read_summaries(text)] == ['9.0', '5.0']


def test_no_other_reader_of_the_summary():
    """A second pattern for the summary would go on matching the old
    format after the writer changes: every reader uses read_summaries."""
    root = pathlib.Path(__file__).resolve().parents[2]
    pattern = 'epoch' + r'\(s\)'  # as a regular expression writes it
    readers = sorted(
        str(path.relative_to(root)) for folder in (
            'bookbuild', 'd2l_local', 'bench', 'tests', 'tools')
        for path in (root / folder).rglob('*.py')
        if pattern in path.read_text(encoding='utf-8'))
    assert readers == ['d2l_local/training_summary.py']
