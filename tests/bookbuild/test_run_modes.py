"""One definition of the run modes (d2l_local/run_modes.py), read by the
build's command line, the page's run banner and d2l_local."""
import ast
import pathlib

from bookbuild import cli
from bookbuild.render.page import run_banner
from d2l_local import run_modes

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = run_modes.RunMode('tiny', 1, 10, 10, 8,
                         'a made-up mode of this test')


def test_a_mode_added_in_one_place_reaches_the_cli_and_the_page(monkeypatch):
    monkeypatch.setitem(run_modes.RUN_MODES, 'tiny', TINY)
    assert cli.parse_args(['html', '--mode', 'tiny']).mode == 'tiny'
    monkeypatch.setenv('D2L_MODE', 'tiny')
    assert cli.default_mode() == 'tiny'
    banner = run_banner({'jax': {'mode': 'tiny', 'seconds': 3}}, ['jax'])
    assert '<em>Tiny</em>: a made-up mode of this test.' in banner


def test_an_unknown_mode_is_refused_by_the_build(monkeypatch):
    monkeypatch.setenv('D2L_MODE', 'tiny')
    try:
        cli.default_mode()
    except cli.BuildError as e:
        assert str(e) == ("D2L_MODE='tiny' is not a run mode; choose one of "
                          'full, quick, smoke')
    else:
        raise AssertionError('D2L_MODE=tiny was accepted')


def test_nothing_else_defines_the_modes():
    """d2l_local.shared (numpy: not importable here) takes the modes from
    the one module; the build and the page name no mode of their own."""
    shared = ast.parse((ROOT / 'd2l_local' / 'shared.py').read_text())
    defined = {n.name for n in ast.walk(shared)
               if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert not defined & {'RunMode', 'run_mode'}
    assert any(isinstance(n, ast.ImportFrom) and n.module ==
               'd2l_local.run_modes' and {'RUN_MODES', 'run_mode'} <=
               {a.name for a in n.names} for n in shared.body)
    for path in ('bookbuild/cli.py', 'bookbuild/render/page.py'):
        text = (ROOT / path).read_text()
        assert "'smoke'" not in text and 'MODE_MEANINGS' not in text, path
