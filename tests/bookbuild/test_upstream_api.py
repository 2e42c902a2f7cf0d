"""The chapters read like the d2l book: every name they use from `d2l_local`
exists in the released d2l package (1.0.3) with a compatible signature,
framework by framework, except the differences `d2l_local/README.md` lists,
each with a reason.

Upstream's source is read, never imported: from the reference environment
(`make env-reference`) if it is built, else from its wheel, which
`pip download` fetches once from PyPI into build/upstream/.
"""
import pathlib
import re
import sys
import zipfile

import pytest

from bookbuild.source import read_chapter
from upstream_api import chapter_uses, module_api

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = {'pytorch': 'torch', 'mxnet': 'mxnet', 'jax': 'jax',
           'tensorflow': 'tensorflow'}
README = ROOT / 'd2l_local' / 'README.md'
SECTION = '## Differences from d2l 1.0.3'


def upstream_version():
    lock = (ROOT / 'requirements' / 'd2l-reference.txt').read_text()
    return re.search(r'^d2l==(\S+)$', lock, re.M)[1]


@pytest.fixture(scope='module')
def upstream_sources(tmp_path_factory):
    """{module name: source} of the released d2l package."""
    version = upstream_version()
    installed = sorted((ROOT / '.venv' / 'd2l-reference' / 'lib').glob(
        'python*/site-packages/d2l'))
    if installed:
        return {m: (installed[0] / f'{m}.py').read_text()
                for m in MODULES.values()}
    wheel = ROOT / '.venv' / 'upstream' / f'd2l-{version}-py3-none-any.whl'
    assert wheel.is_file(), (
        f'{wheel}: the released d2l {version} is missing; `make env` '
        'downloads it (the tests never fetch anything)')
    with zipfile.ZipFile(wheel) as archive:
        return {m: archive.read(f'd2l/{m}.py').decode()
                for m in MODULES.values()}


def chapter_cells(framework):
    cells = []
    for path in sorted((ROOT / 'chapters').glob('*.md')):
        cells += [c.source for c in read_chapter(path).code_cells(framework)]
    return cells


def differences(framework, upstream_source):
    """{(name, what differs)} of this framework's d2l_local against
    upstream, for what the chapters use."""
    ours_names, ours_methods = module_api(
        (ROOT / 'd2l_local' / f'{MODULES[framework]}.py').read_text()
        + (ROOT / 'd2l_local' / 'shared.py').read_text())
    up_names, up_methods = module_api(upstream_source)
    names, calls = chapter_uses(chapter_cells(framework))
    found = set()
    for name in sorted(names):
        if name not in up_names:
            found.add((name, 'missing upstream'))
        elif ours_names.get(name) and up_names[name] and \
                ours_names[name] != up_names[name]:
            found.add((name, f'signature {ours_names[name]} upstream '
                             f'{up_names[name]}'))
    # Methods the chapters call on the d2l classes they use, wherever in
    # the class hierarchy each side defines them (upstream puts
    # layer_summary on Classifier, d2l_local on Module).
    classes = [c for c in sorted(names) if c in ours_methods]
    for method in sorted(calls):
        ours = {c: ours_methods[c][method] for c in classes
                if method in ours_methods[c] and not method.startswith('_')}
        theirs = {c: up_methods.get(c, {}).get(method) for c in ours}
        if not ours:
            continue
        if not any(theirs.values()):
            found.add((method, 'missing upstream'))
            continue
        for cls in ours:
            if theirs[cls] and theirs[cls] != ours[cls]:
                found.add((method, f'signature {ours[cls]} upstream '
                                   f'{theirs[cls]} ({cls})'))
    return found


def listed_differences():
    """{(framework, name)} from the README's table; 'all' stands for the
    four frameworks."""
    text = README.read_text()
    assert SECTION in text, f'{README}: no section {SECTION!r}'
    table = text.split(SECTION, 1)[1].split('\n## ', 1)[0]
    listed = {}
    for number, line in enumerate(table.splitlines(), 1):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 4 or cells[0] in ('framework', '') or \
                set(cells[0]) <= set('-: '):
            continue
        frameworks = MODULES if cells[0] == 'all' else \
            [f.strip() for f in cells[0].split(',')]
        for framework in frameworks:
            assert framework in MODULES, \
                f'{README}: {SECTION}: unknown framework {framework!r}'
            assert cells[3], f'{README}: {cells[1]} is listed without a reason'
            listed[(framework, cells[1].strip('`'))] = cells[2]
    return listed


@pytest.mark.parametrize('framework', MODULES)
def test_chapters_use_upstream_names_with_upstream_signatures(
        framework, upstream_sources):
    found = {name: what for name, what in
             differences(framework, upstream_sources[MODULES[framework]])}
    listed = {name for fw, name in listed_differences() if fw == framework}
    unlisted = {f'{n}: {w}' for n, w in found.items() if n not in listed}
    assert not unlisted, (
        f'd2l_local ({framework}) differs from d2l {upstream_version()} in '
        f'what the chapters use, and {README.name} does not say why: '
        + '; '.join(sorted(unlisted)))
    stale = listed - set(found)
    assert not stale, (f'{README.name} lists differences of {framework} '
                       f'that no longer exist: {sorted(stale)}')


def test_the_check_sees_an_invented_name_and_a_changed_signature(
        upstream_sources, monkeypatch):
    import upstream_api
    real = chapter_uses
    monkeypatch.setattr(
        sys.modules[__name__], 'chapter_uses',
        lambda cells: (real(cells)[0] | {'no_such_helper'}, real(cells)[1]))
    found = dict(differences('pytorch', upstream_sources['torch']))
    assert found['no_such_helper'] == 'missing upstream'
    changed = upstream_sources['torch'].replace(
        'def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0)',
        'def __init__(self, max_epochs, gpus=0, gradient_clip_val=0)')
    assert changed != upstream_sources['torch']
    found = dict(differences('pytorch', changed))
    assert found['Trainer'].startswith('signature')
    assert upstream_api.module_api  # the parser itself is what is tested
