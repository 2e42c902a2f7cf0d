"""What the build, the tools and the library import is asked for by name in
the `.in` file of the environment they run in, not left to arrive as some
other package's dependency (Babel came only through JupyterLab's): a
dependency dropped upstream would break the book. The imports are read from
the source (ast), so every framework's module is checked here, in the
tooling environment."""
import ast
import importlib.metadata
import importlib.util
import sys

import pytest
from packaging.utils import canonicalize_name

from bookbuild import FRAMEWORKS
from chapter_fixture import ROOT
from tools import lock

REQUIREMENTS = ROOT / 'requirements'
FIRST_PARTY = {'bookbuild', 'd2l_local', 'tools'}
FRAMEWORK_MODULES = {'pytorch': 'torch', 'mxnet': 'mxnet', 'jax': 'jax',
                     'tensorflow': 'tensorflow'}
# Import names whose distribution is named otherwise; the rest are their
# own distribution's name. A framework's environments install its CPU or
# its GPU build.
DISTRIBUTIONS = {
    'yaml': {'pyyaml'}, 'zmq': {'pyzmq'}, 'PIL': {'pillow'},
    'sklearn': {'scikit-learn'}, 'markdown_it': {'markdown-it-py'},
    'tensorflow': {'tensorflow', 'tensorflow-cpu'},
    'mxnet': {'mxnet', 'mxnet-cu117'},
}


def distributions(module):
    return DISTRIBUTIONS.get(module, {canonicalize_name(module)})


def imported_packages(path):
    """Top-level names `path` imports from outside the standard library and
    the repository: at the top, in functions, anywhere."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split('.')[0])
    return {n for n in names
            if n not in sys.stdlib_module_names and n not in FIRST_PARTY}


def framework_environments(framework):
    return [framework, f'{framework}-cuda']


def environments_of(path):
    """The environments a source file of the repository runs in."""
    relative = path.relative_to(ROOT)
    if relative.parts[0] in ('bookbuild', 'tools'):
        return ['tooling']
    for framework, module in FRAMEWORK_MODULES.items():
        if relative.as_posix() == f'd2l_local/{module}.py':
            return framework_environments(framework)
    # shared.py, jupyter.py, __init__.py: every kernel loads them.
    return [env for fw in FRAMEWORKS for env in framework_environments(fw)]


def sources():
    return sorted(p for folder in ('bookbuild', 'tools', 'd2l_local')
                  for p in (ROOT / folder).rglob('*.py'))


def undeclared(path, requested):
    """`path`'s imports that no `.in` of its environments names, as
    messages; `requested` maps an environment to the names its .in lists."""
    problems = []
    for env in environments_of(path):
        for module in sorted(imported_packages(path)):
            if not distributions(module) & requested(env):
                problems.append(
                    f'{path.relative_to(ROOT)} imports {module}, which '
                    f'requirements/{env}.in does not name (as '
                    f'{" or ".join(sorted(distributions(module)))})')
    return problems


def test_every_import_is_named_in_the_in_file_of_its_environment():
    def requested(env):
        return lock.named_packages(REQUIREMENTS / f'{env}.in')
    problems = [p for path in sources() for p in undeclared(path, requested)]
    assert not problems, '\n'.join(problems)


def test_the_check_sees_what_it_must():
    """The files and imports the check reads, and a missing name found."""
    assert environments_of(ROOT / 'd2l_local' / 'torch.py') == \
        ['pytorch', 'pytorch-cuda']
    assert len(environments_of(ROOT / 'd2l_local' / 'shared.py')) == 8
    assert environments_of(ROOT / 'tools' / 'lock.py') == ['tooling']
    assert 'babel' in imported_packages(ROOT / 'bookbuild' / 'i18n' / 'catalogs.py')
    # imported inside a function, still imported
    assert 'yaml' in imported_packages(ROOT / 'bookbuild' / 'source.py')
    assert {'numpy', 'matplotlib', 'IPython'} <= \
        imported_packages(ROOT / 'd2l_local' / 'shared.py')
    assert imported_packages(ROOT / 'd2l_local' / 'torch.py') == {'numpy', 'torch'}

    def without_babel(env):
        return lock.named_packages(REQUIREMENTS / f'{env}.in') - {'babel'}
    assert undeclared(ROOT / 'bookbuild' / 'i18n' / 'catalogs.py', without_babel) == [
        'bookbuild/i18n/catalogs.py imports babel, which requirements/tooling.in does '
        'not name (as babel)']


@pytest.mark.parametrize('module', sorted(
    {m for path in sources() if 'tooling' in environments_of(path)
     for m in imported_packages(path)}))
def test_the_import_names_map_to_their_distributions(module):
    """The tooling environment's metadata confirms the distribution the
    check looks for, for each package the build and the tools import."""
    assert importlib.util.find_spec(module), f'{module} is not installed'
    installed = {canonicalize_name(d) for d in
                 importlib.metadata.packages_distributions().get(module, [])}
    assert installed & distributions(module), (module, installed)
