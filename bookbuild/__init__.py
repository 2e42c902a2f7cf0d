"""The book's build: split -> execute -> merge -> render.

Each stage is a function from files to files that can be run and tested alone;
`python -m bookbuild` runs them in order (see bookbuild/cli.py).
"""
# One list of frameworks and their names for the library and the build.
from d2l_local import FRAMEWORKS, LABELS as FRAMEWORK_LABELS

KERNELS = {fw: f'd2l-{fw}' for fw in FRAMEWORKS}
