"""Resolve requirements/<env>.in into the pinned requirements/<env>.txt.

    python tools/lock.py                  # every environment
    python tools/lock.py pytorch-cuda     # some

pip resolves without installing anything (`pip install --dry-run --report`),
so the GPU environments' multi-gigabyte CUDA wheels can be locked on a machine
without a GPU. An environment named `<framework>-cuda` is resolved the way a
GPU runner installs it, from PyPI alone (`--isolated`: none of this machine's
local wheel folders or pip constraints), and keeps every version that its CPU
twin `<framework>.txt` pins except those of the packages its own .in pins:
the two environments differ by the accelerator and nothing else.
"""
import json
import pathlib
import subprocess
import sys
import tempfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# The tooling environment has the repository on its path.
from bookbuild.envfile import lock_pins
from bookbuild.files import write_atomically

ROOT = pathlib.Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / 'requirements'
CUDA_SUFFIX = '-cuda'
# pip's own tools are not the environment's business.
UNPINNED = {'pip', 'setuptools', 'wheel'}


class LockError(RuntimeError):
    pass


def environments(requirements=REQUIREMENTS):
    """CPU environments first: a -cuda lock is constrained by its twin."""
    names = sorted(p.stem for p in requirements.glob('*.in'))
    return sorted(names, key=lambda n: n.endswith(CUDA_SUFFIX))


def named_packages(in_file, pinned_only=False):
    """Canonical names of the requirements an .in file lists (with
    `pinned_only`, of those it pins to one version)."""
    names = set()
    for number, line in enumerate(pathlib.Path(in_file).read_text()
                                  .splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line or line.startswith('-'):
            continue
        try:
            requirement = Requirement(line)
        except ValueError as e:
            raise LockError(f'{in_file}:{number}: {e}') from None
        if not pinned_only or any(s.operator in ('==', '===')
                                  for s in requirement.specifier):
            names.add(canonicalize_name(requirement.name))
    return names


def pin_name(pin):
    return canonicalize_name(pin.split('==', 1)[0])


def twin_constraints(twin_lock, pinned):
    """The twin's pins, less those of the packages the -cuda .in pins."""
    return [pin for pin in lock_pins(twin_lock)
            if pin_name(pin) not in pinned]


def pins_from_report(report):
    """`name==version` for everything a pip installation report installs."""
    pins = {}
    for item in report['install']:
        meta = item['metadata']
        if canonicalize_name(meta['name']) not in UNPINNED:
            pins[canonicalize_name(meta['name'])] = \
                f"{meta['name']}=={meta['version']}"
    return [pins[k] for k in sorted(pins)]


def lock_text(env, pins):
    how = ('from PyPI alone, for Linux x86_64 and CPython 3.11'
           if env.endswith(CUDA_SUFFIX) else 'with this machine\'s indexes')
    return (f'# Lock file of the {env} environment: written by `make lock` '
            f'(tools/lock.py) from {env}.in,\n# resolved {how}; install with '
            f'--only-binary=:all:\n' + ''.join(f'{p}\n' for p in pins))


def resolve(env, requirements=REQUIREMENTS, python=sys.executable):
    in_file = requirements / f'{env}.in'
    command = [python, '-m', 'pip', 'install', '--dry-run', '--quiet',
               '--ignore-installed', '--only-binary=:all:',
               '--disable-pip-version-check', '-r', str(in_file)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        if env.endswith(CUDA_SUFFIX):
            twin = requirements / f'{env[:-len(CUDA_SUFFIX)]}.txt'
            if not twin.is_file():
                raise LockError(f'{in_file}: its CPU twin {twin} is missing')
            constraints = tmp / 'twin.txt'
            constraints.write_text('\n'.join(
                twin_constraints(
                twin, named_packages(in_file, pinned_only=True))) + '\n')
            command += ['--isolated', '-c', str(constraints)]
        report = tmp / 'report.json'
        command += ['--report', str(report)]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode:
            raise LockError(f'{in_file}: pip could not resolve it:\n'
                            + run.stderr[-3000:])
        return pins_from_report(json.loads(report.read_text()))


def write_lock(env, pins, requirements=REQUIREMENTS):
    write_atomically(lock_text(env, pins), requirements / f'{env}.txt')


def main(argv):
    names = argv or environments()
    unknown = [n for n in names if not (REQUIREMENTS / f'{n}.in').is_file()]
    if unknown:
        print(f'error: no requirements/{unknown[0]}.in; environments are '
              f'{", ".join(environments())}', file=sys.stderr)
        return 2
    for env in names:
        print(f'locking {env}', flush=True)
        try:
            write_lock(env, resolve(env))
        except LockError as e:
            print(f'error: {e}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
