"""The lock files: how tools/lock.py writes them, that each GPU lock differs
from its CPU twin by the accelerator alone, and how tools/check_locks.py
(`make check-locks`) judges PyPI's answers on the GPU locks' wheels."""
import io
import json
import re
import socket
import urllib.error

import pytest
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name

from bookbuild import FRAMEWORKS
from bookbuild.envfile import lock_pins
from chapter_fixture import ROOT
from tools import check_locks, cuda_library_path, lock

REQUIREMENTS = ROOT / 'requirements'
# Packages that exist only to drive an NVIDIA GPU: CUDA libraries and their
# loaders, the JAX CUDA plugin, PyTorch's GPU compiler.
ACCELERATOR_ONLY = re.compile(r'^(nvidia-|cuda-|jax-cuda\d+-|triton$)')


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


# tools/check_locks.py asks PyPI (`make check-locks`, not a test: the tests
# pass offline); what it decides from PyPI's answers is tested here on
# answers made up for the purpose.

def simple_project(*filenames, yanked=()):
    return {'files': [{'filename': f, 'yanked': f in yanked}
                      for f in filenames]}


def test_a_pin_needs_a_wheel_of_its_version_for_this_platform():
    tags = frozenset(sys_tags())
    pin = 'torch==2.13.0'
    assert check_locks.missing_wheel(pin, tags, simple_project(
        'torch-2.13.0-py3-none-any.whl')) is None
    for project in (simple_project('torch-2.12.0-py3-none-any.whl',
                                   'torch-2.13.0.tar.gz'),
                    simple_project('torch-2.13.0-cp311-cp311-win_amd64.whl'),
                    simple_project('torch-2.13.0-py3-none-any.whl',
                                   yanked={'torch-2.13.0-py3-none-any.whl'})):
        assert check_locks.missing_wheel(pin, tags, project) == \
            'torch==2.13.0: no wheel on PyPI for CPython 3.11 on Linux x86_64'
    assert check_locks.missing_wheel(pin, tags, None) == \
        "torch==2.13.0: no project 'torch' on PyPI"


class Answers:
    """urlopen's stand-in: each call takes the next answer (an exception
    to raise, or a JSON document) and records the pause before it."""

    def __init__(self, *answers):
        self.answers, self.urls, self.pauses = list(answers), [], []

    def open(self, request, timeout):
        self.urls.append(request.full_url)
        assert request.get_header('Accept') == check_locks.SIMPLE_JSON
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return io.BytesIO(json.dumps(answer).encode())

    def fetch(self, url, tries=check_locks.TRIES):
        return check_locks.fetch_json(url, open_url=self.open,
                                      sleep=self.pauses.append, tries=tries)


def name_resolution_failure():
    return urllib.error.URLError(socket.gaierror(
        -3, 'Temporary failure in name resolution'))


def http_error(code, reason):
    return urllib.error.HTTPError('https://pypi.org/simple/x/', code, reason,
                                  {}, None)


def test_a_failed_request_is_tried_again_after_a_growing_pause():
    answers = Answers(name_resolution_failure(), TimeoutError('timed out'),
                      http_error(503, 'Service Unavailable'),
                      simple_project('x-1-py3-none-any.whl'))
    assert answers.fetch('https://pypi.org/simple/x/') == \
        simple_project('x-1-py3-none-any.whl')
    assert answers.pauses == [2.0, 4.0, 8.0]
    assert len(answers.urls) == 4


def test_pypi_out_of_reach_is_said_in_one_line_with_its_own_status():
    answers = Answers(*[name_resolution_failure()] * check_locks.TRIES)
    with pytest.raises(check_locks.RegistryUnreachable) as info:
        answers.fetch('https://pypi.org/simple/x/')
    assert str(info.value) == (
        'https://pypi.org/simple/x/: [Errno -3] Temporary failure in name '
        'resolution (tried 5 times)')
    assert len(answers.pauses) == check_locks.TRIES - 1

    out, err = io.StringIO(), io.StringIO()
    status = check_locks.main(
        [], fetch=lambda url: Answers(name_resolution_failure()).fetch(
            url, tries=1), out=out, err=err)
    assert status == check_locks.UNREACHABLE == 3
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'error: cannot reach PyPI, so the GPU locks were not checked: '
        'https://pypi.org/simple/')
    assert 'Temporary failure in name resolution' in lines[0]
    assert out.getvalue() == ''


def test_a_refusal_or_a_missing_project_is_not_tried_again():
    answers = Answers(http_error(403, 'Forbidden'))
    with pytest.raises(check_locks.RegistryUnreachable, match='HTTP 403'):
        answers.fetch('https://pypi.org/simple/x/')
    assert answers.pauses == []
    assert Answers(http_error(404, 'Not Found')).fetch(
        'https://pypi.org/simple/x/') is None


def test_check_locks_names_every_pin_without_a_wheel():
    versions = {}
    for pin in check_locks.gpu_pins():
        name, version = pin.split('==')
        versions.setdefault(canonicalize_name(name), []).append(version)
    assert len(versions) > 50 and 'torch' in versions

    def fetch(url):
        name = url.rstrip('/').rsplit('/', 1)[1]
        if name == 'torch':
            return simple_project(*(f'torch-{v}.tar.gz'
                                    for v in versions[name]))
        return simple_project(*(f"{name.replace('-', '_')}-{v}-py3-none-"
                                'any.whl' for v in versions[name]))

    out, err = io.StringIO(), io.StringIO()
    assert check_locks.main([], fetch=fetch, out=out, err=err) == 1
    torch = versions['torch'][0]
    assert err.getvalue().splitlines() == [
        f'torch=={torch}: no wheel on PyPI for CPython 3.11 on Linux x86_64',
        f'error: 1 of the {len(check_locks.gpu_pins())} pins of the GPU '
        'locks have no wheel a GPU runner can install']

    def all_there(url):
        name = url.rstrip('/').rsplit('/', 1)[1]
        return simple_project(*(f"{name.replace('-', '_')}-{v}-py3-none-"
                                'any.whl' for v in versions[name]))

    out, err = io.StringIO(), io.StringIO()
    assert check_locks.main([], fetch=all_there, out=out, err=err) == 0
    assert out.getvalue() == (f'PyPI has a wheel for each of the '
                              f'{len(check_locks.gpu_pins())} pins of the '
                              'GPU locks\n') and err.getvalue() == ''
