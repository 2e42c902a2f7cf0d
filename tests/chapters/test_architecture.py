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
