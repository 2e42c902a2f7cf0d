"""The package's rooms (bookbuild/__init__.py): the pipeline's stages use
the rooms, the rooms use the ground floor, and no import runs back up."""
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'bookbuild'
STAGES = {'__main__', 'cli', 'split', 'execute', 'merge', 'editions',
          'assemble'}
ROOMS = {'render', 'i18n', 'jupyter'}


def bookbuild_imports(path):
    """The bookbuild modules a file imports, as dotted names below
    bookbuild ('render.book', 'glue', ...)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split('.')[0] == 'bookbuild':
            base = node.module.split('.')[1:]
            for alias in node.names:
                dotted = '.'.join(base + [alias.name])
                names.add(dotted if (PACKAGE / dotted.replace('.', '/')).with_suffix('.py').exists()
                          or (PACKAGE / dotted.replace('.', '/')).is_dir()
                          else '.'.join(base))
        elif isinstance(node, ast.Import):
            names |= {'.'.join(a.name.split('.')[1:]) for a in node.names
                      if a.name.split('.')[0] == 'bookbuild'}
    return {n for n in names if n}


def module_name(path):
    return '.'.join(path.relative_to(PACKAGE).with_suffix('').parts)


def violations(paths):
    found = []
    for path in paths:
        here = module_name(path)
        room = here.split('.')[0] if '.' in here else None
        for name in sorted(bookbuild_imports(path)):
            top = name.split('.')[0]
            if top in STAGES and here.split('.')[0] not in STAGES:
                found.append(f'{here} imports the stage {name}')
            elif room and top in ROOMS and top != room and \
                    (room, top) != ('render', 'i18n'):
                found.append(f'{here} imports {name} from another room')
            elif room is None and here not in STAGES and top in ROOMS \
                    and name != 'i18n.furniture':
                found.append(f'{here} (ground floor) imports {name}')
    return found


def test_no_import_runs_back_up():
    assert violations(sorted(PACKAGE.rglob('*.py'))) == []


def test_the_check_sees_an_import_back_up(tmp_path):
    """Mutation: the catalogs' messages parsing prose with the renderer, as
    they did before bookbuild.myst, is refused."""
    messages = PACKAGE / 'i18n' / 'messages.py'
    source = messages.read_text(encoding='utf-8').replace(
        'from bookbuild.myst import ADMONITIONS\n',
        'from bookbuild.render.markdown import ADMONITIONS\n')
    assert 'bookbuild.render.markdown' in source
    copy = PACKAGE / 'i18n' / '_mutant_messages.py'
    try:
        copy.write_text(source, encoding='utf-8')
        assert violations([copy]) == [
            'i18n._mutant_messages imports render.markdown from another room']
    finally:
        copy.unlink()


def test_the_rooms_import_nothing_when_entered():
    """A room's __init__ holds its docstring only: importing one module
    of a room (the furniture's gettext, say) loads no other, and Babel is
    imported only by the catalogs."""
    for room in ROOMS:
        tree = ast.parse((PACKAGE / room / '__init__.py').read_text())
        assert [type(n).__name__ for n in tree.body] == ['Expr'], room
    babel = [module_name(p) for p in sorted(PACKAGE.rglob('*.py'))
             if 'babel' in imported_packages(p)]
    assert babel == ['i18n.catalogs']


def imported_packages(path):
    tree = ast.parse(path.read_text(encoding='utf-8'))
    return {name.split('.')[0] for node in ast.walk(tree)
            for name in ([a.name for a in node.names]
                         if isinstance(node, ast.Import) else
                         [node.module or ''] if isinstance(node, ast.ImportFrom)
                         else [])}


def test_what_the_build_reads_from_d2l_local_needs_no_framework():
    """The build's environment has no numpy and no framework, and the
    framework environments have no bookbuild: a d2l_local module that the
    build imports (the run modes, a cell's framework, the Trainer's summary
    line) imports the standard library only."""
    read = set()
    for path in PACKAGE.rglob('*.py'):
        for name in imported_modules(path):
            if name.split('.')[0] == 'd2l_local':
                read.add(name)
    assert {'d2l_local', 'd2l_local.run_modes',
            'd2l_local.training_summary'} <= read
    for name in sorted(read):
        path = ROOT / (name.replace('.', '/') + '.py')
        if not path.exists():
            path = ROOT / name.replace('.', '/') / '__init__.py'
        outside = {m for m in imported_modules(path) if m.split('.')[0]
                   not in sys.stdlib_module_names | {'d2l_local'}}
        assert outside == set(), name


def imported_modules(path):
    """The modules a file imports, by their full names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names
