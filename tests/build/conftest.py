"""Fixtures of the build suites: a small chapter and fast fake kernels.

The fake kernels are the tooling environment's own Python under the four
framework kernel names, so the pipeline runs end to end in seconds.
"""
import json
import pathlib
import sys
import textwrap

import pytest

from bookbuild import FRAMEWORKS

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def code(tag, source):
    opts = f':tags: [{tag}]\n\n' if tag else ''
    return f'```{{code-cell}} ipython3\n{opts}{source}\n```\n'


def tab_group(sources):
    """One cell per framework; `sources` maps framework -> code."""
    return '\n'.join(code(fw, sources[fw]) for fw in FRAMEWORKS)


def fixture_chapter_text():
    group = tab_group({fw: f"NAME = {fw!r}\nprint('hello from', NAME)"
                       for fw in FRAMEWORKS})
    group2 = tab_group({fw: f'print(len(NAME) * {i})'
                        for i, fw in enumerate(FRAMEWORKS, 1)})
    return FRONT_MATTER + textwrap.dedent("""
        # A Small Chapter

        Some prose with math $a^2 + b^2 = c^2$.

        """) + group + textwrap.dedent("""
        +++

        A shared cell runs in every framework:

        """) + code(None, "import os\nprint('mode', os.environ.get('D2L_MODE'))") + \
        '\n+++\n\nAnd a second group.\n\n' + group2


@pytest.fixture
def chapter_file(tmp_path):
    folder = tmp_path / 'chapters'
    folder.mkdir()
    path = folder / 'small.md'
    path.write_text(fixture_chapter_text())
    return path


@pytest.fixture
def fake_kernels(tmp_path, monkeypatch):
    """Kernel specs d2l-<framework> that all start this Python's ipykernel."""
    root = tmp_path / 'jupyter'
    for fw in FRAMEWORKS:
        spec = root / 'kernels' / f'd2l-{fw}'
        spec.mkdir(parents=True)
        (spec / 'kernel.json').write_text(json.dumps({
            'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f',
                     '{connection_file}'],
            'display_name': f'fake {fw}', 'language': 'python'}))
    monkeypatch.setenv('JUPYTER_PATH', str(root))
    return root


@pytest.fixture
def library(tmp_path):
    """A stand-in for d2l_local and a lock file: inputs of the cache key."""
    lib = tmp_path / 'lib'
    lib.mkdir()
    (lib / 'mod.py').write_text('X = 1\n')
    lock = tmp_path / 'lock.txt'
    lock.write_text('numpy==2.0\n')
    return lib, lock


ROOT = pathlib.Path(__file__).resolve().parents[2]
