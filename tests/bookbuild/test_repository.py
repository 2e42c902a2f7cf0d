"""Checks that keep the repository's descriptions in step with each other."""
import ast
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
