"""environment.yml for conda users, written from the tooling lock file.

conda holds one environment per file, and MXNet's numpy cannot share one with
the others, so the conda file describes the tooling environment (Python 3.11
and the build's pinned packages); `make env PYTHON=<that env's python>` then
builds the four framework environments from requirements/ as usual.
"""
import pathlib
import sys

HEADER = """\
# Conda description of the book's set-up, generated from requirements/tooling.txt
# by `python -m bookbuild.envfile` (a test checks that the two agree).
#   conda env create -f environment.yml && conda activate d2l-book
#   make env PYTHON=$(which python)   # the four framework environments + kernels
name: d2l-book
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def lock_pins(lock_file):
    return [line.strip() for line in pathlib.Path(lock_file).read_text()
            .splitlines() if line.strip() and not line.startswith('#')]


def environment_yml(lock_file):
    return HEADER + ''.join(f'      - {pin}\n' for pin in lock_pins(lock_file))


def main(root=pathlib.Path(__file__).resolve().parent.parent):
    (root / 'environment.yml').write_text(
        environment_yml(root / 'requirements' / 'tooling.txt'))


if __name__ == '__main__':
    sys.exit(main())
