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
# The output type a cell's recorded value travels in (d2l_local.shared.glue);
# the build reads it back from the executed notebooks (bookbuild.glue).
GLUE_MIME = 'application/vnd.d2l-book.glue+json'
