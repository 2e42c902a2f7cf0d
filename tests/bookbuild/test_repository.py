"""Checks that keep the repository's descriptions in step with each other."""
import ast
import contextlib
import importlib.util
import io
import pathlib
import re
import subprocess

import pytest
import yaml

from bookbuild import FRAMEWORKS
from bookbuild.envfile import lock_pins
from chapter_fixture import ROOT

MODULES = {'pytorch': 'torch', 'mxnet': 'mxnet', 'jax': 'jax',
           'tensorflow': 'tensorflow'}


def test_environment_yml_matches_the_lock_files():
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    assert 'python=3.11' in env['dependencies']
    pip = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))
    assert pip == lock_pins(ROOT / 'requirements' / 'tooling.txt'), \
        'run `python -m bookbuild.envfile` after changing requirements/'


def public_names(framework):
    tree = ast.parse((ROOT / 'd2l_local' / f'{MODULES[framework]}.py')
                     .read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '__all__' for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f'd2l_local/{MODULES[framework]}.py has no __all__')


def defined_order(framework):
    """Top-level names in the order the module defines or imports them."""
    tree = ast.parse((ROOT / 'd2l_local' / f'{MODULES[framework]}.py')
                     .read_text())
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.ImportFrom):
            names += [a.asname or a.name for a in node.names]
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def test_the_four_modules_have_the_same_public_names_in_order():
    reference = public_names('pytorch')
    for fw in FRAMEWORKS:
        assert public_names(fw) == reference, fw


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_public_names_are_defined_in_the_order_of_all(framework):
    order = defined_order(framework)
    names = public_names(framework)
    missing = [n for n in names if n not in order]
    assert not missing, f'{framework}: {missing} in __all__ but not defined'
    positions = [order.index(n) for n in names]
    assert positions == sorted(positions), \
        f'{framework}: definitions are not in the order of __all__'


def test_files_import_from_helper_modules_not_from_other_tests():
    """A test file imported by another runs its module-level code twice
    under two names, and its tests' fixtures leak into the importer:
    what tests share lives in a helper module or a conftest.py."""
    found = []
    for path in sorted((ROOT / 'tests').rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module or ''] if isinstance(node, ast.ImportFrom)
                     else [])
            found += [f'{path.relative_to(ROOT)}:{node.lineno}: {name}'
                      for name in names
                      if name.split('.')[-1].startswith('test_')]
    assert found == []


# What the repository's words may name: its text files, not what they
# generate or install (build/, .venv/) nor the translations' prose.
SKIPPED_FOLDERS = {'.git', '.venv', 'build', 'locales', '__pycache__',
                   '.pytest_cache', 'node_modules', '.ipynb_checkpoints'}
TEXT_SUFFIXES = {'.py', '.md', '.yml', '.yaml', '.toml', '.cjs', '.js',
                 '.css', '.in', '.cfg'}


def repository_texts(root=ROOT):
    for path in sorted(root.rglob('*')):
        parts = path.relative_to(root).parts
        if path.is_file() and not SKIPPED_FOLDERS & set(parts) and (
                path.suffix in TEXT_SUFFIXES
                or path.name in ('Makefile', 'run')):
            yield path, path.read_text(encoding='utf-8', errors='replace')


# `make X` quoted as a command, or a line that is a make command (a code
# block's, a docstring's): prose such as "make the tabs alike" is not one.
MAKE_COMMAND = re.compile(r'(?:[`"]|\$ )make ([a-z][\w-]*)'
                          r'|^\s*make ([a-z][\w-]*)\s*(?:$|#|[A-Z_]+=)')


# A file or folder of the repository, as a README names it (not the end
# of another path such as ~/.cache/d2l_local/...).
REPOSITORY_PATH = re.compile(
    r'(?<![\w/.~-])((?:tests|bookbuild|d2l_local|bench|tools|chapters|'
    r'requirements|locales)/[\w./-]*\w)')


def makefile_targets(root=ROOT):
    text = (root / 'Makefile').read_text()
    return set(re.findall(r'^([a-z][\w-]*):', text, re.M))


def environments(root=ROOT):
    """.venv/NAME for each lock file (the Makefile's pattern rule) and each
    folder the Makefile makes there itself (node, upstream, stamps)."""
    text = (root / 'Makefile').read_text()
    return ({p.stem for p in (root / 'requirements').glob('*.txt')}
            | set(re.findall(r'\$\(VENV\)/([\w.-]+)', text)) - {'%'})


def stale_references(root=ROOT):
    """`make X` with no target X, `python -m bookbuild X` with no
    subcommand X, `python -m bookbuild.M` with no module M, .venv/X with
    no environment X (or an old .venv-X, or a Python outside .venv/), a
    design document that is not in the repository, and a path a README
    names that is not there."""
    from bookbuild import cli
    targets, envs = makefile_targets(root), environments(root)
    found = []
    for path, text in repository_texts(root):
        if path == pathlib.Path(__file__).resolve():
            continue  # its examples of stale words
        where = path.relative_to(root)
        for number, line in enumerate(text.splitlines(), 1):
            for target in [a or b for a, b in MAKE_COMMAND.findall(line)]:
                if target not in targets:
                    found.append(f'{where}:{number}: make {target}')
            for command in re.findall(r'-m bookbuild ([a-z][\w-]*)', line):
                if not is_subcommand(cli, command):
                    found.append(f'{where}:{number}: bookbuild {command}')
            for module in re.findall(r'-m (bookbuild(?:\.\w+)+)', line):
                if importlib.util.find_spec(module) is None:
                    found.append(f'{where}:{number}: {module}')
            for env in re.findall(r'\.venv/([\w.-]*\w)(?![\w.*-])', line):
                if env not in envs and not env.isupper():
                    found.append(f'{where}:{number}: .venv/{env}')
            found += [f'{where}:{number}: .venv-{name}'
                      for name in re.findall(r'\.venv-(\w+)', line)]
            # A Python of an environment the Makefile does not make.
            found += [f'{where}:{number}: {python}' for python in
                      re.findall(r'(?<![\w.$)}/-])(/[\w./-]+/bin/python\S*)',
                                 line)
                      if not python.startswith('/usr/')]
            found += [f'{where}:{number}: {name}' for name in
                      re.findall(r'\b(DESIGN\.md|BOOK\.md)', line)
                      if not (root / name).is_file()]
            if path.suffix == '.md':  # a reader follows these by hand
                found += [f'{where}:{number}: {name}' for name in
                          REPOSITORY_PATH.findall(line)
                          if not (root / name).exists()
                          and not re.search(r'[A-Z]{2,}', name)]
    return found


def is_subcommand(cli, command):
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            cli.parse_args([command])
    except SystemExit:
        return False
    return True


def test_no_stale_command_environment_or_document_is_named():
    assert stale_references() == []


def test_the_stale_check_finds_each_kind(tmp_path):
    """Mutation: a copy of the Makefile and a file naming a dropped make
    target, subcommand, module, environment and design document."""
    (tmp_path / 'requirements').mkdir()
    (tmp_path / 'requirements' / 'jax.txt').write_text('')
    (tmp_path / 'Makefile').write_text(
        'html:\n\ttrue\n$(VENV)/node/.installed:\n\ttrue\n')
    (tmp_path / 'notes.md').write_text(
        'Run `make html`, then `make book`.\n'
        '    python -m bookbuild html  # then python -m bookbuild render\n'
        'python -m bookbuild.jupyter.kernels install, '
        'python -m bookbuild.kernels\n'
        '.venv/jax/bin/python, .venv/node, .venv/book/bin/python, '
        '.venv-jax/bin/python\n'
        'as DESIGN.md says\n'
        '    make lock\n'
        'seeds that make the tabs alike; .venv/X for each lock file\n'
        'see tests/old/test_x.py and chapters/NAME.md\n'
        '/tmp/venvs/jax/bin/python and /usr/bin/python3\n')
    assert stale_references(tmp_path) == [
        'notes.md:1: make book', 'notes.md:2: bookbuild render',
        'notes.md:3: bookbuild.kernels', 'notes.md:4: .venv/book',
        'notes.md:4: .venv-jax', 'notes.md:5: DESIGN.md',
        'notes.md:6: make lock', 'notes.md:8: tests/old/test_x.py',
        'notes.md:9: /tmp/venvs/jax/bin/python']
