"""The book's build: split -> execute -> merge -> render.

Each stage is a function from files to files that can be run and tested alone;
`python -m bookbuild` runs them in order (see bookbuild/cli.py).
"""
FRAMEWORKS = ('pytorch', 'mxnet', 'jax', 'tensorflow')
FRAMEWORK_LABELS = {'pytorch': 'PyTorch', 'mxnet': 'MXNet', 'jax': 'JAX',
                    'tensorflow': 'TensorFlow'}
KERNELS = {fw: f'd2l-{fw}' for fw in FRAMEWORKS}
