"""The lock files: how tools/lock.py writes them, that each GPU lock differs
from its CPU twin by the accelerator alone, and that PyPI has a wheel for
every pin a GPU runner will install."""
import concurrent.futures
import json
import re
import urllib.request

import pytest
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from bookbuild import FRAMEWORKS
from bookbuild.envfile import lock_pins
from chapter_fixture import ROOT
from tools import cuda_library_path, lock

REQUIREMENTS = ROOT / 'requirements'
# Packages that exist only to drive an NVIDIA GPU: CUDA libraries and their
# loaders, the JAX CUDA plugin, PyTorch's GPU compiler.
ACCELERATOR_ONLY = re.compile(r'^(nvidia-|cuda-|jax-cuda\d+-|triton$)')
PYPI_SIMPLE = 'https://pypi.org/simple/{}/'


def versions(lock_file):
    return {lock.pin_name(p): p.split('==', 1)[1] for p in lock_pins(lock_file)}


# CPU environments first: a GPU lock is resolved against its CPU twin.
ENVIRONMENTS = sorted(('tooling', 'd2l-reference') + FRAMEWORKS) + \
    sorted(f'{fw}-cuda' for fw in FRAMEWORKS)


def test_every_environment_has_a_lock_file():
    assert lock.environments() == ENVIRONMENTS
    for env in lock.environments():
        assert (REQUIREMENTS / f'{env}.txt').is_file(), env


@pytest.mark.parametrize('env', ENVIRONMENTS)
def test_lock_files_pin_everything_their_inputs_name(env):
    pins = versions(REQUIREMENTS / f'{env}.txt')
    assert all('==' in p for p in lock_pins(REQUIREMENTS / f'{env}.txt'))
    for name in lock.named_packages(REQUIREMENTS / f'{env}.in'):
        assert name in pins, f'{env}.txt does not pin {name}'
    for line in (REQUIREMENTS / f'{env}.in').read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if '==' in line:
            name, version = line.split('==')
            assert pins[canonicalize_name(name.split('[')[0])] == version, line


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_a_gpu_lock_differs_from_its_cpu_twin_by_the_accelerator_only(
        framework):
    cpu = versions(REQUIREMENTS / f'{framework}.txt')
    gpu = versions(REQUIREMENTS / f'{framework}-cuda.txt')
    swapped = lock.named_packages(REQUIREMENTS / f'{framework}-cuda.in',
                                  pinned_only=True)
    for name, version in cpu.items():
        if name in gpu:
            assert gpu[name] == version.split('+')[0] or name in swapped, \
                f'{framework}-cuda.txt pins {name}=={gpu[name]}, ' \
                f'{framework}.txt {version}'
    only_cpu = sorted(set(cpu) - set(gpu))
    only_gpu = sorted(set(gpu) - set(cpu))
    # The CPU build of the framework is swapped for its GPU build...
    assert len(only_cpu) <= 1 and all(
        re.search(r'cpu$|^mxnet$', n) for n in only_cpu), only_cpu
    # ...and everything added drives the GPU or is named on purpose.
    extra = [n for n in only_gpu
             if not ACCELERATOR_ONLY.match(n) and n not in swapped]
    assert not extra, f'{framework}-cuda.txt adds {extra}'
    assert any(n.startswith('nvidia-') for n in only_gpu)


def test_a_report_becomes_sorted_pins_without_pips_tools(tmp_path):
    report = {'install': [
        {'metadata': {'name': 'Jinja2', 'version': '3.1.6'}},
        {'metadata': {'name': 'setuptools', 'version': '80.0'}},
        {'metadata': {'name': 'absl_py', 'version': '2.5.1'}},
        {'metadata': {'name': 'torch', 'version': '2.13.0'}}]}
    pins = lock.pins_from_report(report)
    assert pins == ['absl_py==2.5.1', 'Jinja2==3.1.6', 'torch==2.13.0']
    text = lock.lock_text('pytorch-cuda', pins)
    assert text.startswith('# Lock file of the pytorch-cuda environment')
    written = tmp_path / 'pytorch-cuda.txt'
    written.write_text(text)
    assert lock_pins(written) == pins


def test_the_twin_constraints_drop_what_the_gpu_input_pins_itself(
        tmp_path):
    twin = tmp_path / 'pytorch.txt'
    twin.write_text('# header\nnumpy==2.4.6\ntorch==2.13.0+cpu\nTyping_'
                    'Extensions==4.15.0\n')
    gpu_in = tmp_path / 'pytorch-cuda.in'
    gpu_in.write_text('# CUDA\ntorch==2.13.0  # from PyPI\nnumpy\n'
                      'tensorflow[and-cuda]==2.21.0\n')
    pinned = lock.named_packages(gpu_in, pinned_only=True)
    assert pinned == {'torch', 'tensorflow'}
    assert lock.twin_constraints(twin, pinned) == [
        'numpy==2.4.6', 'Typing_Extensions==4.15.0']


def test_a_malformed_input_line_is_named(tmp_path):
    bad = tmp_path / 'x.in'
    bad.write_text('# fine\nnumpy\n!torch\n')
    with pytest.raises(lock.LockError, match=r'x\.in:3:'):
        lock.named_packages(bad)


def test_the_cuda_library_path_lists_nvidia_wheels_first(tmp_path):
    for lib in ('cudnn', 'cublas'):
        (tmp_path / 'nvidia' / lib / 'lib').mkdir(parents=True)
    (tmp_path / 'nvidia' / 'cublas' / 'include').mkdir()
    path = cuda_library_path.library_path(tmp_path, current='/opt/x:')
    assert path.split(':') == [str(tmp_path / 'nvidia' / 'cublas' / 'lib'),
                               str(tmp_path / 'nvidia' / 'cudnn' / 'lib'),
                               '/opt/x']
    assert cuda_library_path.library_path(tmp_path / 'none',
                                          current='/opt/x') == '/opt/x'


def wheels_on_pypi(name):
    request = urllib.request.Request(
        PYPI_SIMPLE.format(name),
        headers={'Accept': 'application/vnd.pypi.simple.v1+json'})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)['files']
    return [f['filename'] for f in files if f['filename'].endswith('.whl')
            and not f.get('yanked')]


def installable(pin, tags):
    """None if PyPI has a wheel of `pin` for this platform, else why not."""
    name, version = pin.split('==')
    for filename in wheels_on_pypi(canonicalize_name(name)):
        _, wheel_version, _, wheel_tags = parse_wheel_filename(filename)
        if str(wheel_version) == version and wheel_tags & tags:
            return None
    return f'{pin}: no wheel on PyPI for CPython 3.11 on Linux x86_64'


def test_pypi_has_a_wheel_for_every_pin_of_the_gpu_locks():
    """What the GPU runners install (CI reaches PyPI; the GPU wheels are not
    on this machine's local indexes, so this asks PyPI itself)."""
    tags = frozenset(sys_tags())
    pins = sorted({p for fw in FRAMEWORKS
                   for p in lock_pins(REQUIREMENTS / f'{fw}-cuda.txt')})
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        problems = [p for p in pool.map(lambda p: installable(p, tags), pins)
                    if p]
    assert not problems, '\n'.join(problems)
