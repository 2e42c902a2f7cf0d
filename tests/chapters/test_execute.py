"""Every chapter runs on every framework (smoke mode), through the build's
own execute stage and the real framework kernels, and its outputs show the
claims its text makes."""

import nbformat
import pytest

from bookbuild import FRAMEWORKS, glue
from bookbuild.cli import Layout
from bookbuild.execute import execute_notebook
from bookbuild.split import split_chapter

from chapter_code import ROOT, SMOKE_DIR


def smoke_layout(framework):
    return Layout(SMOKE_DIR / framework)
CHAPTERS = sorted((ROOT / 'chapters').glob('*.md'))

# What each chapter's printed outputs must show, in every framework.
CLAIMS = {
    'densenet': [
        {'NCHW': '4, 23, 8, 8', 'NHWC': '4, 8, 8, 23'},  # dense block demo
        {'NCHW': '4, 10, 4, 4', 'NHWC': '4, 4, 4, 10'},  # transition demo
        '758,226 trainable parameters',         # the model, same in all tabs
        'run mode: smoke',                      # the trainer says its mode
        'val acc',                              # the final report
        'the dense block needs',                # parameter efficiency
        'ratio:',                               # memory arithmetic
        # The worked answers (exercises 1, 2, 3, 5).
        'avg pooling in the transitions: train loss',
        'max pooling in the transitions: train loss',
        'DenseNet (4 blocks of 4 convs, k=32):      758,226 parameters',
        'ResNet-18 (4 stages of 2 blocks):        11,179,402 parameters',
        'ResNet-18: 11,179,402 parameters',     # each tab's ResNet-18, built
        'one training step, batch of 32 images at 32x32:',
        'DenseNet / ResNet-18 peak memory:',
        'DenseNet / ResNet-18 kept for the backward pass:',
        'weights and gradients: DenseNet 5.8 MiB, ResNet-18 85.3 MiB',
        '138,632 grid points; 384 training and 256 validation rows',
        'dense MLP: 6,659 parameters, validation RMSE',
        'plain MLP: 6,671 parameters, validation RMSE',
    ],
    'densenet-memory': [
        'DenseNet-BC-121:    7,978,856 parameters',  # one config table,
        'DenseNet-BC-169:   14,149,480 parameters',  # the same counts
        'DenseNet-BC-201:   20,013,928 parameters',  # in every tab
        'DenseNet-BC-264:   33,337,704 parameters',
        ' layers: kept ',                       # growth with the block's depth
        'largest gradient difference: ',        # the same function
        'largest BatchNorm running-statistic difference: ',
        'memory-efficient',                     # the trade, as a table
        'ratio ',
        'run mode: smoke',                      # it trains
        'val acc',
    ],
}


def printed(nb):
    text = []
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            text.append(out.get('text', ''))
            text.append(out.get('data', {}).get('text/plain', ''))
    return '\n'.join(text)


@pytest.mark.parametrize('framework', FRAMEWORKS)
@pytest.mark.parametrize('chapter', CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_in_smoke_mode(chapter, framework):
    layout = smoke_layout(framework)
    nb_path = split_chapter(chapter, layout.notebooks, [framework])[framework]
    run = execute_notebook(
        nb_path, layout.executed / nb_path.name, 'smoke',
        lock_file=layout.lock_file(framework), library_dir=layout.library,
        cache_dir=layout.cache, cell_timeout=600, accel=layout.accel)
    nb = nbformat.read(run['path'], as_version=4)
    text = printed(nb)
    layout = 'NHWC' if framework in ('jax', 'tensorflow') else 'NCHW'
    for claim in CLAIMS.get(chapter.stem, []):
        if isinstance(claim, dict):
            claim = claim[layout]
        assert claim in text, f'{chapter.name} on {framework}: no {claim!r}'
    errors = [o for c in nb.cells for o in c.get('outputs', [])
              if o.output_type == 'error' or o.get('name') == 'stderr'
              and 'Traceback' in o.get('text', '')]
    assert not errors
    # The prose of the executed notebook (the page's download) holds this
    # framework's values: d2l.glue recorded every one it refers to.
    unresolved = [f'{{glue}}`{ref.name}`' for cell in nb.cells
                  if cell.cell_type == 'markdown'
                  for ref in glue.find_references(cell.source)]
    assert not unresolved, f'{chapter.name} on {framework}: {unresolved}'
    # The training cell leaves exactly one figure: the final learning curves.
    # (Answers that train draw their own.)
    train = [c for c in nb.cells if 'train' in c.metadata.get('tags', [])
             and 'answer' not in c.metadata.get('tags', [])]
    figures = [o for c in train for o in c.outputs
               if 'image/svg+xml' in o.get('data', {})]
    assert len(figures) == 1
    # The whole chapter runs in smoke mode in under two minutes.
    if not run['cached']:
        assert run['seconds'] < 120, f'{run["seconds"]:.0f} s'
