"""The book's build: split -> execute -> merge -> render, then each edition.

The stages (cli, split, execute, merge, editions, assemble) sit here, each a
function from files to files, run in order by `python -m bookbuild` (cli.py).
render/ draws the HTML pages; i18n/ holds the catalogs and translates prose,
diagrams and the page's own words; jupyter/ registers the kernels and sets
up JupyterLab. The ground floor (source, toc, glue, crossref,
bibliography, answers, myst, files, progress, envfile, errors, machine) is
what stages and rooms share; no module imports one above it.
"""
# One list of frameworks and their names for the library and the build.
from d2l_local import FRAMEWORKS, LABELS as FRAMEWORK_LABELS

KERNELS = {fw: f'd2l-{fw}' for fw in FRAMEWORKS}
