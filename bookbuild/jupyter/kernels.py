"""The d2l Jupyter kernels: one per framework, named alike everywhere.

A notebook's kernelspec (in a chapter's front matter, in the notebooks split
writes) must match the registered kernel exactly, name and display name, or
JupyterLab rewrites it on opening and the file is marked unsaved. Both come
from `kernelspec()` here; the Makefile registers the kernels with

    python -m bookbuild.jupyter.kernels install FRAMEWORK --python PYTHON --prefix DIR \
        [--env NAME VALUE ...]

which writes `DIR/share/jupyter/kernels/d2l-FRAMEWORK/kernel.json` and prints a
line only when the file changed, so a second `make env` is silent.

A d2l kernel knows its framework ($D2L_FRAMEWORK) and loads the IPython
extension `d2l_local.jupyter`, which skips other frameworks' cells when a
whole chapter runs (see that module).
"""
import argparse
import importlib.util
import json
import pathlib
import shutil
import sys

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS, KERNELS
from bookbuild.files import write_if_changed

EXTENSION = 'd2l_local.jupyter'


def kernelspec(framework):
    """The notebook metadata that selects the framework's kernel."""
    return {'display_name': f'Python 3 (d2l {FRAMEWORK_LABELS[framework]})',
            'language': 'python',
            'name': KERNELS[framework]}


def kernel_json(framework, python, env=None):
    """The kernel.json of the framework's kernel, run by `python`."""
    spec = kernelspec(framework)
    return {
        'argv': [str(python), '-Xfrozen_modules=off', '-m',
                 'ipykernel_launcher', '-f', '{connection_file}',
                 f'--ext={EXTENSION}'],
        'display_name': spec['display_name'],
        'language': spec['language'],
        'env': {'D2L_FRAMEWORK': framework, **(env or {})},
        # ipykernel 7 takes CurveZMQ keys from a kernel manager that offers
        # them, which encrypts the kernel's sockets and keeps it from warning
        # about plain TCP.
        'metadata': {'debugger': True, 'supported_encryption': ['curve']},
        'kernel_protocol_version': '5.5',
    }


def kernel_dir(prefix, framework):
    return (pathlib.Path(prefix) / 'share' / 'jupyter' / 'kernels' /
            KERNELS[framework])


def install(framework, python, prefix, env=None):
    """Write the framework's kernel.json under `prefix`; True if it changed."""
    if framework not in FRAMEWORKS:
        raise ValueError(f'unknown framework {framework!r}; choose one of '
                         f'{", ".join(FRAMEWORKS)}')
    # Absolute, not resolved: a venv's python is a link to the system one.
    python = pathlib.Path(python).absolute()
    if not python.is_file():
        raise FileNotFoundError(f'{python}: no Python for the {framework} '
                                'kernel (build its environment: make env)')
    path = kernel_dir(prefix, framework) / 'kernel.json'
    text = json.dumps(kernel_json(framework, python, env), indent=1) + '\n'
    if not write_if_changed(text, path):
        return False
    copy_logos(path.parent)
    return True


def copy_logos(folder):
    """ipykernel's logos, which the launcher shows, as `ipykernel install`
    copies them (from this Python's ipykernel, if it has one)."""
    spec = importlib.util.find_spec('ipykernel')
    if spec is None or not spec.submodule_search_locations:
        return
    resources = pathlib.Path(spec.submodule_search_locations[0]) / 'resources'
    for logo in sorted(resources.glob('logo-*')):
        shutil.copyfile(logo, pathlib.Path(folder) / logo.name)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bookbuild.jupyter.kernels',
                                     description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    add = sub.add_parser('install', help="register a framework's kernel")
    add.add_argument('framework', choices=FRAMEWORKS)
    add.add_argument('--python', required=True,
                     help="the framework environment's python")
    add.add_argument('--prefix', required=True,
                     help='the environment whose share/jupyter/kernels '
                     'receives the kernel (the tooling one)')
    add.add_argument('--env', nargs=2, action='append', default=[],
                     metavar=('NAME', 'VALUE'),
                     help='an environment variable of the kernel')
    args = parser.parse_args(argv)
    env = {name: value for name, value in args.env if value}
    try:
        changed = install(args.framework, args.python, args.prefix, env)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if changed:
        print(f'registered the Jupyter kernel {KERNELS[args.framework]} '
              f'({args.python})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
