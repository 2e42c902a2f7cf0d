"""Let MXNet's CPU operators use every core.

Unless OMP_NUM_THREADS is set, MXNet 1.9 runs its operators (oneDNN's
convolutions included) on half the processors OpenMP reports: it assumes
that every x86 core runs two hyper-threads (`OpenMP::OpenMP` and
`GetRecommendedOMPThreadCount` in MXNet's src/engine/openmp.cc). On a
machine whose cores have one thread each, such as the 2-core machine that
builds this book, that leaves half of it idle: a training step of a small
CNN took 1.9x as long on one core as with OMP_NUM_THREADS=2.

MXNet reads the variable once, while `import mxnet` loads the library, so
it has to be in the environment before that: the d2l MXNet kernel sets it
when it starts (d2l_local.jupyter) and `d2l_local.mxnet` before it imports
MXNet. Standard library only: the kernels load it in every environment.
"""
import os
import pathlib
import sys
import warnings

SYSFS_CPUS = pathlib.Path('/sys/devices/system/cpu')


def usable_processors():
    """The logical processors this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # no affinity call (macOS): all of them
        return list(range(os.cpu_count() or 1))


def physical_cores(processors=None, sysfs=SYSFS_CPUS):
    """How many physical cores the given logical processors (default: this
    process's) sit on, from Linux's topology files; without them, one core
    per processor."""
    processors = usable_processors() if processors is None else processors
    cores = set()
    for cpu in processors:
        topology = pathlib.Path(sysfs) / f'cpu{cpu}' / 'topology'
        try:
            cores.add(((topology / 'physical_package_id').read_text().strip(),
                       (topology / 'core_id').read_text().strip()))
        except OSError:
            return len(processors)
    return len(cores) or 1


def mxnet_default_threads():
    """How many threads MXNet 1.9 computes on when OMP_NUM_THREADS is unset:
    half this process's processors, at least one."""
    return max(len(usable_processors()) // 2, 1)


def give_mxnet_every_core(environ=os.environ, modules=sys.modules):
    """Set OMP_NUM_THREADS to the number of physical cores, unless it is
    set already, before MXNet loads. If MXNet has loaded without it, it is
    too late to change: warn when MXNet took fewer cores than there are."""
    if environ.get('OMP_NUM_THREADS', '').strip():
        return
    cores = physical_cores()
    if 'mxnet' in modules:
        taken = mxnet_default_threads()
        if taken < cores:
            warnings.warn(
                f'MXNet was imported before OMP_NUM_THREADS was set, so its '
                f'operators run on {taken} of the {cores} cores of this '
                f'machine; set OMP_NUM_THREADS={cores} before Python starts '
                '(the d2l MXNet kernel does), or import d2l_local.mxnet '
                'before mxnet', RuntimeWarning, stacklevel=3)
        return
    environ['OMP_NUM_THREADS'] = str(cores)
