"""What machine produced a framework's outputs, without naming it: the
CPU model and core count or the GPU, the accelerator kind, and the
framework's version. Recorded in each run record at execute time, shown
per framework in the page's run banner; no hostname, user or path."""
import os
import pathlib
import re
import shutil
import subprocess

from bookbuild.envfile import lock_pins

# The packages whose pinned versions say which framework ran (the kernel's
# environment is built from the lock file that keys the cache).
FRAMEWORK_PACKAGES = {
    'pytorch': re.compile(r'torch'),
    'mxnet': re.compile(r'mxnet(-cu\d+)?'),
    'jax': re.compile(r'jax|flax'),
    'tensorflow': re.compile(r'tensorflow(-cpu)?|keras'),
}


def cpu_model(cpuinfo=pathlib.Path('/proc/cpuinfo')):
    try:
        text = pathlib.Path(cpuinfo).read_text(errors='replace')
    except OSError:
        return None
    match = re.search(r'^model name\s*:\s*(.+)$', text, re.MULTILINE)
    return match[1].strip() if match else None


def gpu_names():
    """The GPUs nvidia-smi lists, by name (no serial numbers or UUIDs)."""
    smi = shutil.which('nvidia-smi')
    if not smi:
        return []
    try:
        result = subprocess.run(
            [smi, '--query-gpu=name', '--format=csv,noheader'],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines()
            if line.strip()]


def framework_versions(framework, lock_file):
    """['torch 2.13.0', ...]: the framework's pins in its lock file."""
    packages = FRAMEWORK_PACKAGES[framework]
    versions = []
    for pin in lock_pins(lock_file):
        name, _, version = pin.partition('==')
        # PEP 503 names: tensorflow_cpu and tensorflow-cpu are one package.
        if packages.fullmatch(re.sub(r'[-_.]+', '-', name.strip().lower())):
            versions.append(f'{name.strip()} {version.split(";")[0].strip()}')
    return versions


def machine_facts(framework, accel, lock_file):
    """The run record's `machine`: facts about where the kernel ran."""
    facts = {'accelerator': accel, 'cpu': cpu_model(),
             'cores': os.cpu_count(),
             'framework': framework_versions(framework, lock_file)}
    if accel != 'cpu':
        facts['gpus'] = gpu_names()
    return facts
