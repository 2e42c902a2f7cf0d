"""The four tabs build the same DenseNet (and, in the memory chapter, the same
DenseNet-BC family): one table, checked in every framework.

Runs inside one framework's environment (`D2L_FRAMEWORK` names it): the
chapter's own cells for that framework are executed in-process, except those
tagged `train`, and the models they define are measured.
"""
import os

import pytest

from chapter_code import chapter_namespace

FRAMEWORK = os.environ.get('D2L_FRAMEWORK')
CHANNELS_LAST = {'pytorch': False, 'mxnet': False, 'jax': True,
                 'tensorflow': True}

# Output shape of each top-level part for one 1x96x96 image, as
# (channels, height, width), and the classifier's (classes,).
DENSENET_SHAPES = [
    (64, 24, 24),    # stem: conv 7x7/2, BN, ReLU, max-pool 3x3/2
    (192, 24, 24),   # dense block 1: 64 + 4 * 32
    (96, 12, 12),    # transition 1
    (224, 12, 12),   # dense block 2: 96 + 128
    (112, 6, 6),     # transition 2
    (240, 6, 6),     # dense block 3
    (120, 3, 3),     # transition 3
    (248, 3, 3),     # dense block 4
    (10,),           # head: BN, ReLU, global average pool, dense
]
DENSENET_PARAMETERS = 758_226
# DenseNet-BC of the paper's Table 1: 3 input channels, 1000 classes.
DENSENET_BC_PARAMETERS = {121: 7_978_856, 169: 14_149_480, 201: 20_013_928,
                          264: 33_337_704}
# DenseNet-BC for 32x32 images (Huang et al., 2017; CIFAR's layout), depth
# 100 and k=12, on one 1x32x32 image: 3 blocks of (100 - 4) / 6 = 16 layers.
DENSENET_BC_SMALL_SHAPES = [
    (24, 32, 32),    # stem: one 3x3 conv, stride 1, 2k channels
    (216, 32, 32),   # dense block 1: 24 + 16 * 12
    (108, 16, 16),   # transition 1: floor(0.5 * 216), 2x2 average pool
    (300, 16, 16),   # dense block 2: 108 + 192
    (150, 8, 8),     # transition 2
    (342, 8, 8),     # dense block 3
    (10,),           # head: BN, ReLU, global average pool, dense
]
# The paper's Table 2 rounds the three-channel count to 0.8M.
DENSENET_BC_100_PARAMETERS = {1: 768_730, 3: 769_162}

if FRAMEWORK not in CHANNELS_LAST:
    raise RuntimeError('run this suite in a framework environment with '
                       'D2L_FRAMEWORK=<pytorch|mxnet|jax|tensorflow> '
                       '(make test-d2l does)')


def framework_shape(chw, batch=1):
    if len(chw) == 1:
        return (batch,) + chw
    c, h, w = chw
    return (batch, h, w, c) if CHANNELS_LAST[FRAMEWORK] else (batch, c, h, w)


@pytest.fixture(scope='module')
def densenet_chapter():
    """The namespace left by the chapter's non-training cells."""
    return chapter_namespace(FRAMEWORK)


def test_densenet_parameter_count(densenet_chapter):
    model = densenet_chapter['DenseNet'](lr=0.01)
    shape = framework_shape((1, 96, 96))
    assert model.count_parameters(shape) == DENSENET_PARAMETERS


def test_densenet_layer_shapes(densenet_chapter, capsys):
    model = densenet_chapter['DenseNet'](lr=0.01)
    rows = model.layer_summary(framework_shape((1, 96, 96)))
    assert [tuple(shape) for _, shape in rows] == \
        [framework_shape(s) for s in DENSENET_SHAPES]
    printed = capsys.readouterr().out
    assert printed.count('output shape') == len(DENSENET_SHAPES)


@pytest.fixture(scope='module')
def memory_chapter():
    """The names of the memory chapter up to its DenseNet-BC."""
    return chapter_namespace(FRAMEWORK, 'densenet-memory', until='DenseNetBC')


@pytest.mark.parametrize('depth', sorted(DENSENET_BC_PARAMETERS))
def test_densenet_bc_parameter_counts(memory_chapter, depth):
    blocks = memory_chapter['DENSENET_CONFIGS'][depth]
    model = memory_chapter['DenseNetBC'](blocks)
    count = model.count_parameters(framework_shape((3, 32, 32)))
    assert count == DENSENET_BC_PARAMETERS[depth]


@pytest.fixture(scope='module')
def small_bc_chapter():
    """The memory chapter's names up to its DenseNet-BC, and its DenseNet-BC
    for small images (without the measurements in between)."""
    return chapter_namespace(FRAMEWORK, 'densenet-memory', until='DenseNetBC',
                             then=('bc_layers_per_block', 'DenseNetBCSmall'))


@pytest.mark.parametrize('channels', sorted(DENSENET_BC_100_PARAMETERS))
def test_densenet_bc_100_parameter_count(small_bc_chapter, channels):
    model = small_bc_chapter['DenseNetBCSmall'](depth=100, growth_rate=12,
                                                num_classes=10)
    count = model.count_parameters(framework_shape((channels, 32, 32)))
    assert count == DENSENET_BC_100_PARAMETERS[channels]


def test_densenet_bc_100_layer_shapes(small_bc_chapter):
    model = small_bc_chapter['DenseNetBCSmall'](depth=100, growth_rate=12,
                                                num_classes=10)
    rows = model.layer_summary(framework_shape((1, 32, 32)))
    assert [tuple(shape) for _, shape in rows] == \
        [framework_shape(s) for s in DENSENET_BC_SMALL_SHAPES]


# DenseNet-BC-16 (2 layers a block, k=12): the channels after the stem,
# each block and each transition, compressed by 0.5 (BC) and not at all (B).
@pytest.mark.parametrize('compression,channels', [
    (0.5, [24, 48, 24, 48, 24, 48]),
    (1.0, [24, 48, 48, 72, 72, 96])])
def test_compression_sets_the_transitions_widths(small_bc_chapter,
                                                  compression, channels):
    model = small_bc_chapter['DenseNetBCSmall'](
        depth=16, growth_rate=12, compression=compression, num_classes=10)
    rows = model.layer_summary(framework_shape((1, 32, 32)))
    sides = [32, 32, 16, 16, 8, 8]
    assert [tuple(shape) for _, shape in rows[:-1]] == \
        [framework_shape((c, s, s)) for c, s in zip(channels, sides)]


@pytest.mark.parametrize('depth', [99, 4])
def test_a_depth_the_recipe_cannot_build_is_refused(small_bc_chapter,
                                                     depth):
    with pytest.raises(ValueError, match=rf'DenseNet-BC-{depth}: .*6n \+ 4'):
        # Flax builds a model's layers only when it first sees an input.
        model = small_bc_chapter['DenseNetBCSmall'](depth=depth)
        model.count_parameters(framework_shape((1, 32, 32)))
