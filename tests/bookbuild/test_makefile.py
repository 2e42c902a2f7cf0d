"""The Makefile's choices, read from `make -n` (which runs nothing): which
environments and kernels an accelerator selects, and the refusals."""
import re
import shutil
import subprocess

import pytest

from chapter_fixture import ROOT


def make(*args):
    assert shutil.which('make'), 'make is needed (.ci/run installs it)'
    return subprocess.run(['make', '-n', '--no-print-directory', *args],
                          cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_cuda_builds_the_gpu_environment_of_each_framework_html_runs():
    # -B: plan every step, as on a fresh clone.
    plan = make('-B', 'env-book', 'ACCEL=cuda', 'FRAMEWORKS_BUILD=mxnet,jax')
    assert plan.returncode == 0, plan.stderr
    for fw in ('mxnet', 'jax'):
        assert f'-r requirements/{fw}-cuda.txt' in plan.stdout
        assert f'python={ROOT}/.venv/{fw}-cuda/bin/python' in plan.stdout
    assert 'pytorch' not in plan.stdout and 'tensorflow' not in plan.stdout
    # Only MXNet's kernel needs the path to its CUDA libraries.
    kernels = plan.stdout.split('python=')[1:]
    mxnet = next(k for k in kernels if 'kernels install mxnet' in k)
    jax = next(k for k in kernels if 'kernels install jax' in k)
    assert 'LD_LIBRARY_PATH' in mxnet and 'LD_LIBRARY_PATH' not in jax


def test_cpu_builds_the_cpu_environments():
    plan = make('-B', 'env-book', 'ACCEL=cpu')
    assert plan.returncode == 0, plan.stderr
    for fw in ('pytorch', 'mxnet', 'jax', 'tensorflow'):
        assert f'-r requirements/{fw}.txt' in plan.stdout
    assert '-cuda' not in plan.stdout


def test_the_book_sets_up_node_and_the_npm_packages_it_ships():
    # MiniSearch (the pages' search) comes from npm: `make html` needs it.
    plan = make('-B', 'env-book', 'ACCEL=cpu')
    assert plan.returncode == 0, plan.stderr
    assert 'echo nodejs npm' in plan.stdout
    assert 'cp requirements/package.json requirements/package-lock.json' \
        in plan.stdout
    assert 'npm ci' in plan.stdout


@pytest.mark.parametrize('args, message', [
    (('ACCEL=tpu',), 'ACCEL=tpu: choose cpu or cuda'),
    (('FRAMEWORKS_BUILD=pytorch,caffe',),
     "FRAMEWORKS_BUILD names 'caffe': choose from"),
])
def test_a_wrong_choice_is_refused_by_name(args, message):
    result = make('html', *args)
    assert result.returncode == 2 and message in result.stderr


def test_check_locks_is_a_command_of_its_own_and_not_part_of_make_test():
    plan = make('check-locks')
    assert plan.returncode == 0, plan.stderr
    assert 'tools/check_locks.py' in plan.stdout
    for target in ('test', 'test-build'):
        plan = make(target)
        assert plan.returncode == 0, plan.stderr
        assert 'check_locks' not in plan.stdout


def test_assemble_needs_only_the_tooling_environment():
    # -B: plan every step, as on a fresh clone.
    plan = make('-B', 'assemble', 'RUNS=runs/a runs/b', 'MODE=full')
    assert plan.returncode == 0, plan.stderr
    assert '-m bookbuild assemble runs/a runs/b --build-dir build ' \
        '--mode full' in plan.stdout
    assert '-r requirements/tooling.txt' in plan.stdout
    for fw in ('pytorch', 'mxnet', 'jax', 'tensorflow'):
        assert f'requirements/{fw}' not in plan.stdout
    assert 'kernels install' not in plan.stdout


def test_the_smoke_book_is_four_framework_builds_assembled():
    plan = make('test-browser')
    assert plan.returncode == 0, plan.stderr
    assert '-m bookbuild execute --mode smoke --build-dir build/smoke/$fw ' \
        '--frameworks $fw' in plan.stdout
    assert '-m bookbuild assemble --mode smoke --build-dir build/smoke ' + \
        ' '.join(f'build/smoke/{fw}' for fw in
                 ('pytorch', 'mxnet', 'jax', 'tensorflow')) in plan.stdout
    assert 'bookbuild html' not in plan.stdout


def test_make_test_runs_every_test_file():
    """A test file no suite of `make test` names never runs in CI: each
    tests/**/test_*.py is named by the plan of `make test` (`-B`: as on a
    fresh clone), itself or through its folder, or per framework."""
    plan = make('-B', 'test').stdout
    frameworks = ('pytorch', 'mxnet', 'jax', 'tensorflow')
    unnamed = []
    for path in sorted((ROOT / 'tests').rglob('test_*.py')):
        relative = path.relative_to(ROOT).as_posix()
        names = {relative, relative.rsplit('/', 1)[0]}
        stem = path.stem.removeprefix('test_')
        if stem in frameworks:
            names.add(relative.replace(stem, '$fw'))
        if not any(f'{name} ' in plan or f'{name}\n' in plan
                   or f'{name}.py' in plan for name in names):
            unnamed.append(relative)
    assert unnamed == []


# A stand-in for Python 3.11: `-m venv DIR` makes DIR/bin/python (itself),
# `-m pip ...` installs nothing, `-c ...` (the site-packages path) prints
# a folder beside it.
FAKE_PYTHON = '''#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin" "$3/site" && cp "$0" "$3/bin/python" && touch "$3/fresh"
elif [ "$1" = -c ]; then
  echo "$(dirname "$(dirname "$0")")/site"
fi
'''


def test_rebuilding_the_tooling_keeps_the_kernels_registered_in_it(tmp_path):
    """A newer tooling lock rebuilds the environment from nothing, but the
    kernels registered in it (the build's and `make lab`'s) stay: a target
    that needs only the tooling (translations, notebooks, pdf) would
    otherwise leave `python -m bookbuild execute` without kernels."""
    python = tmp_path / 'python3.11'
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    venv = tmp_path / 'venv'
    kernel = venv / 'tooling' / 'share' / 'jupyter' / 'kernels' / 'd2l-jax'
    kernel.mkdir(parents=True)
    (kernel / 'kernel.json').write_text('{"argv": ["jax"]}')
    (venv / 'tooling' / 'stale').write_text('from the old lock')
    result = subprocess.run(
        ['make', '--no-print-directory', f'VENV={venv}',
         f'PYTHON={python}', f'{venv}/tooling/.installed'],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (venv / 'tooling' / 'fresh').exists()
    assert not (venv / 'tooling' / 'stale').exists()
    assert (kernel / 'kernel.json').read_text() == '{"argv": ["jax"]}'
    assert (venv / 'tooling' / '.installed').exists()
    assert not (venv / '.kernels-tooling').exists()


def test_the_environments_build_side_by_side_and_apt_get_one_at_a_time():
    plan = make('-B', 'env', 'ACCEL=cpu')
    assert plan.returncode == 0, plan.stderr
    submake = plan.stdout.splitlines()[0]
    assert '-Otarget env-parts' in submake and re.search(r' -j([2-9]|\d\d)',
                                                         submake), submake
    # Both Debian targets run apt-get, which holds dpkg's lock: the test
    # packages wait for the book's, even under -j.
    for debs in ('.debs-test', '.debs-pdf'):
        alone = make('-B', f'.venv/{debs}')
        assert alone.returncode == 0, alone.stderr
        book, rest = alone.stdout.split('touch .venv/.debs-book')
        assert 'libjs-katex' in book and 'apt-get install' in book
        assert 'apt-get install' in rest and 'libjs-katex' not in rest
