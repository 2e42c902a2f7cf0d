"""Run a chapter's cells for one framework in this process (for the suites
that run inside a framework's environment)."""
import ast
import contextlib
import io
import os
import pathlib

from bookbuild.source import read_chapter
from d2l_local import omp_threads

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Where the smoke build of the chapters is, build/smoke by default. Each
# framework executes in a build directory of its own, as the workflow's
# framework jobs do: `make test-browser` and test_assemble.py assemble the
# book from the four.
SMOKE_DIR = pathlib.Path(os.environ.get('D2L_SMOKE_DIR',
                                        ROOT / 'build' / 'smoke'))
FRAMEWORKS = ('pytorch', 'mxnet', 'jax', 'tensorflow')


def framework_under_test():
    """$D2L_FRAMEWORK: the framework whose environment runs the suite."""
    name = os.environ.get('D2L_FRAMEWORK')
    if name not in FRAMEWORKS:
        raise RuntimeError('run this suite in a framework environment with '
                           'D2L_FRAMEWORK=<pytorch|mxnet|jax|tensorflow> '
                           '(make test-d2l does)')
    return name


def defined_names(source):
    """The names a cell's top-level statements bind (def, class, =)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target])
            names.update(n.id for t in targets for n in ast.walk(t)
                         if isinstance(n, ast.Name))
    return names


def chapter_namespace(framework, chapter='densenet', skip_tags=('train',),
                      until=None, then=()):
    """The names the chapter's `framework` cells define, in smoke mode, the
    cells tagged with any of `skip_tags` left out; with `until`, no cell
    after the one that defines that name runs, except the later cells that
    define a name in `then` (a model defined further on, without the
    measurements in between)."""
    os.environ['D2L_MODE'] = 'smoke'
    if framework == 'mxnet':
        # The chapter's first cell imports MXNet, which takes its thread
        # count as it loads, before d2l_local.mxnet could set it.
        omp_threads.give_mxnet_every_core()
    # Framework environments have no PyYAML: the build checks the front
    # matter.
    source = read_chapter(ROOT / 'chapters' / f'{chapter}.md',
                          check_front_matter=False)
    namespace = {'__name__': '__chapter__'}
    for cell in source.code_cells(framework):
        if set(cell.tags) & set(skip_tags):
            continue
        if (until is not None and until in namespace
                and not defined_names(cell.source) & set(then)):
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f'{source.path}:{cell.code_line}',
                             'exec'), namespace)
        except Exception as e:
            raise AssertionError(f'{source.path}:{cell.code_line}: the '
                                 f'{framework} cell {cell.first_line!r} '
                                 f'failed: {e!r}') from e
        if until is not None and until in namespace and not then:
            break
    for name in (until, *then):
        if name is not None and name not in namespace:
            raise AssertionError(f'{source.path}: no {framework} cell '
                                 f'defines {name!r}')
    return namespace
