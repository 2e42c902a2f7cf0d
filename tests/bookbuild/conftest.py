"""Fixtures of the build suites: a small chapter and fast fake kernels.

The fake kernels are the tooling environment's own Python under the four
framework kernel names, so the pipeline runs end to end in seconds.
"""
import json
import pathlib
import sys

import pytest

from bookbuild import FRAMEWORKS
from chapter_fixture import fixture_chapter_text

# Tests must pass offline: the guard shared by every suite fails a test
# that opens a network connection (tests/network_guard.py).
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1]))
import network_guard  # noqa: E402
from network_guard import refuse_network  # noqa: E402,F401 (autouse)

network_guard.install()


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

