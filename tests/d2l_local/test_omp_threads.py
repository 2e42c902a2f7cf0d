"""d2l_local.omp_threads: MXNet gets every physical core (standard library
only, so this runs in the tooling environment)."""
import os
import subprocess
import sys
import warnings

import pytest

from d2l_local import omp_threads


def fake_sysfs(root, cores_of_processors):
    """A /sys/devices/system/cpu with processor i on core cores[i]."""
    for cpu, (package, core) in enumerate(cores_of_processors):
        topology = root / f'cpu{cpu}' / 'topology'
        topology.mkdir(parents=True)
        (topology / 'physical_package_id').write_text(f'{package}\n')
        (topology / 'core_id').write_text(f'{core}\n')
    return root


@pytest.mark.parametrize('layout, processors, cores', [
    ([(0, 0), (0, 1)], [0, 1], 2),                   # 2 cores, 1 thread each
    ([(0, 0), (0, 0), (0, 1), (0, 1)], [0, 1, 2, 3], 2),  # hyper-threaded
    ([(0, 0), (0, 0), (0, 1), (0, 1)], [0, 2], 2),   # one thread of each core
    ([(0, 0), (1, 0)], [0, 1], 2),                   # same core id, 2 sockets
    ([(0, 0), (0, 0)], [1], 1),
])
def test_physical_cores_counts_cores_not_threads(tmp_path, layout,
                                                 processors, cores):
    sysfs = fake_sysfs(tmp_path, layout)
    assert omp_threads.physical_cores(processors, sysfs) == cores


def test_without_topology_each_processor_counts_as_a_core(tmp_path):
    assert omp_threads.physical_cores([0, 1, 2], tmp_path) == 3


def test_sets_the_physical_cores_before_mxnet_loads(monkeypatch):
    monkeypatch.setattr(omp_threads, 'physical_cores', lambda: 6)
    environ = {}
    omp_threads.give_mxnet_every_core(environ, modules={})
    assert environ == {'OMP_NUM_THREADS': '6'}


def test_a_count_the_user_set_stands(monkeypatch):
    monkeypatch.setattr(omp_threads, 'physical_cores', lambda: 6)
    environ = {'OMP_NUM_THREADS': '3'}
    omp_threads.give_mxnet_every_core(environ, modules={})
    assert environ == {'OMP_NUM_THREADS': '3'}


@pytest.mark.parametrize('processors, cores, warned', [
    (2, 2, True),    # no hyper-threading: MXNet took 1 of 2
    (4, 2, False),   # hyper-threaded: halving gives the cores
    (1, 1, False),
])
def test_after_mxnet_loaded_it_warns_when_cores_were_lost(
        monkeypatch, processors, cores, warned):
    monkeypatch.setattr(omp_threads, 'physical_cores', lambda: cores)
    monkeypatch.setattr(omp_threads, 'usable_processors',
                        lambda: list(range(processors)))
    environ = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        omp_threads.give_mxnet_every_core(environ, modules={'mxnet': object()})
    assert environ == {}  # too late to change: MXNet has read it
    messages = [str(w.message) for w in caught]
    if warned:
        assert len(messages) == 1
        assert (f'run on {processors // 2} of the {cores} cores' in messages[0]
                and f'OMP_NUM_THREADS={cores}' in messages[0])
    else:
        assert messages == []


def test_the_mxnet_kernel_sets_it_at_start():
    """The d2l MXNet kernel's extension sets the count before any cell
    runs; another framework's kernel leaves the environment alone."""
    script = (
        'import os\n'
        'from d2l_local import jupyter\n'
        'class Shell:\n'
        '    input_transformers_cleanup = []\n'
        'jupyter.load_ipython_extension(Shell())\n'
        'print(os.environ.get("OMP_NUM_THREADS"))\n')
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    env['PYTHONPATH'] = root
    seen = {}
    for framework in ('mxnet', 'jax'):
        env['D2L_FRAMEWORK'] = framework
        seen[framework] = subprocess.run(
            [sys.executable, '-c', script], env=env, check=True,
            capture_output=True, text=True).stdout.strip()
    assert seen == {'mxnet': str(omp_threads.physical_cores()), 'jax': 'None'}
