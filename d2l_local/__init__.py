"""A small library in the style of the `d2l` package, one module per framework.

Import the one for your framework, e.g. `from d2l_local import torch as d2l`.
This package imports no framework itself: each environment has only one.
"""
FRAMEWORKS = ('pytorch', 'mxnet', 'jax', 'tensorflow')
# How the book names each framework (tab titles, kernel names, skip notes).
LABELS = {'pytorch': 'PyTorch', 'mxnet': 'MXNet', 'jax': 'JAX',
          'tensorflow': 'TensorFlow'}
# The module of each framework, by the name the chapters use for its tab.
MODULES = {'pytorch': 'torch', 'mxnet': 'mxnet', 'jax': 'jax',
           'tensorflow': 'tensorflow'}


def tagged_frameworks(tags):
    """The frameworks a cell's tags name, in order (the build refuses a
    cell with more than one)."""
    return [tag for tag in tags or () if tag in FRAMEWORKS]


def cell_framework(tags):
    """The framework a code cell belongs to, by its tags; None for a cell
    shared by all. The build (bookbuild.source) and the kernels' skipping
    of other frameworks' cells (d2l_local.jupyter) both ask this."""
    found = tagged_frameworks(tags)
    return found[0] if found else None


# The output type a cell's recorded value travels in (d2l_local.shared.glue);
# the build reads it back from the executed notebooks (bookbuild.glue).
GLUE_MIME = 'application/vnd.d2l-book.glue+json'
