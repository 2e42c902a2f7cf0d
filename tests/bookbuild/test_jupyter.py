"""The chapters in Jupyter: kernels, JupyterLab settings, the skipping
extension and Jupytext's round trip (the browser suite drives a real
JupyterLab; these check the parts one by one, in seconds)."""
import asyncio
import json
import pathlib
import shutil
import sys

import jupytext
import pytest

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.jupyter import kernels, lab
from bookbuild.source import read_chapter
from bookbuild.split import chapter_notebook
from chapter_fixture import ROOT
from d2l_local import jupyter as d2l_jupyter

CHAPTERS = sorted((ROOT / 'chapters').glob('*.md'))


@pytest.mark.parametrize('path', CHAPTERS, ids=lambda p: p.stem)
def test_chapters_name_a_d2l_kernel_exactly_as_registered(path):
    spec = jupytext.read(path, fmt='md:myst').metadata['kernelspec']
    assert spec in [kernels.kernelspec(fw) for fw in FRAMEWORKS], path
    chapter = read_chapter(path)
    for fw in FRAMEWORKS:
        nb_spec = chapter_notebook(chapter, fw).metadata['kernelspec']
        registered = kernels.kernel_json(fw, '/x/python')
        assert nb_spec['display_name'] == registered['display_name']
        assert nb_spec['name'] == f'd2l-{fw}'


def test_kernel_install_writes_once_and_knows_its_framework(tmp_path):
    python = pathlib.Path(sys.executable)
    assert kernels.install('mxnet', python, tmp_path,
                           {'LD_LIBRARY_PATH': '/lib/x'})
    assert not kernels.install('mxnet', python, tmp_path,
                               {'LD_LIBRARY_PATH': '/lib/x'})
    spec = json.loads((tmp_path / 'share/jupyter/kernels/d2l-mxnet/'
                       'kernel.json').read_text())
    assert spec['display_name'] == 'Python 3 (d2l MXNet)'
    assert spec['env'] == {'D2L_FRAMEWORK': 'mxnet',
                           'LD_LIBRARY_PATH': '/lib/x'}
    assert spec['argv'][0] == str(python.absolute())
    assert '--ext=d2l_local.jupyter' in spec['argv']
    assert (tmp_path / 'share/jupyter/kernels/d2l-mxnet/'
            'logo-64x64.png').is_file()
    with pytest.raises(FileNotFoundError, match='no Python for the jax'):
        kernels.install('jax', tmp_path / 'no-python', tmp_path)


def test_lab_settings_make_markdown_open_as_a_jupytext_notebook(tmp_path):
    assert lab.main(['settings', '--prefix', str(tmp_path)]) == 0
    path = lab.settings_dir(tmp_path) / 'overrides.d' / lab.FILE_NAME
    viewers = json.loads(path.read_text())[
        '@jupyterlab/docmanager-extension:plugin']['defaultViewers']
    assert viewers['markdown'] == 'Jupytext Notebook'
    assert not lab.write_settings(lab.settings_dir(tmp_path))


def test_lab_settings_write_a_label_for_each_framework(tmp_path):
    assert lab.main(['settings', '--prefix', str(tmp_path)]) == 0
    css = (lab.custom_css_dir(tmp_path) / 'custom.css').read_text()
    for fw, label in FRAMEWORK_LABELS.items():
        assert (f'.jp-CodeCell.cell-tag-{fw} .jp-InputPrompt::after '
                f'{{ content: "{label}"; }}') in css
    # Widened only where a notebook has framework cells.
    assert css.count('--jp-cell-prompt-width') == 1
    assert ':has(.cell-tag-pytorch, .cell-tag-mxnet, .cell-tag-jax, ' \
        '.cell-tag-tensorflow)' in css
    assert not lab.write_custom_css(lab.custom_css_dir(tmp_path))


def test_a_label_that_would_break_the_style_sheet_is_refused():
    with pytest.raises(ValueError, match="'jax'.*CSS"):
        lab.framework_labels_css({'jax': 'JAX "Flax"'})
    with pytest.raises(ValueError, match="'my-fw'"):
        lab.framework_labels_css({'my-fw': 'Mine'})


@pytest.mark.parametrize('uid', [0, 1000])
def test_lab_start_runs_jupyterlab_with_the_books_options(tmp_path, uid,
                                                          monkeypatch):
    started = []
    monkeypatch.setattr(lab.os, 'getuid', lambda: uid)
    monkeypatch.setattr(lab.os, 'execv',
                        lambda path, argv: started.append(argv))
    monkeypatch.setenv('JUPYTER_CONFIG_DIR', str(tmp_path / 'home-config'))
    lab.main(['start', '--prefix', str(tmp_path), '--notebook-dir', '/book'])
    [argv] = started
    assert argv[:3] == [sys.executable, '-m', 'jupyterlab']
    assert '--notebook-dir=/book' in argv
    assert f'--ServerApp.contents_manager_class={lab.CONTENTS_MANAGER}' \
        in argv
    assert '--LabApp.custom_css=True' in argv
    [tornado] = [a for a in argv if a.startswith('--ServerApp.tornado_')]
    # The user's own custom.css first: it wins over the book's.
    assert json.loads(tornado.split('=', 1)[1]) == {'static_custom_path': [
        str(tmp_path / 'home-config' / 'custom'),
        str(lab.custom_css_dir(tmp_path).resolve())]}
    assert ('--allow-root' in argv) == (uid == 0)
    assert (lab.custom_css_dir(tmp_path) / 'custom.css').is_file()


def test_the_makefile_registers_kernels_and_starts_lab_with_bookbuild():
    makefile = (ROOT / 'Makefile').read_text()
    assert '-m bookbuild.jupyter.kernels install $*' in makefile
    assert '-m bookbuild.jupyter.lab start' in makefile


def test_skip_note_names_both_frameworks():
    assert d2l_jupyter.skip_note('mxnet', 'pytorch') == (
        '[skipped: this cell is for MXNet; this kernel runs PyTorch]')
    assert d2l_jupyter.cell_framework(['train', 'jax']) == 'jax'
    assert d2l_jupyter.cell_framework(['answer']) is None


def test_the_build_and_the_kernels_ask_one_function_for_a_cells_framework():
    """The build splits a chapter by the framework of each cell and a d2l
    kernel skips another framework's cell: both by d2l_local's answer, so
    they cannot disagree."""
    import d2l_local
    from bookbuild import source
    assert d2l_jupyter.cell_framework is d2l_local.cell_framework
    assert source.cell_framework is d2l_local.cell_framework
    for tags, framework in ((['train', 'jax'], 'jax'), (['answer'], None),
                            ([], None), (None, None),
                            (['hide-output', 'mxnet'], 'mxnet')):
        assert d2l_local.cell_framework(tags) == framework
        cell = source.Cell('code', 'x = 1', 1, tags=list(tags or []))
        assert cell.framework == framework


def test_an_unknown_kernel_framework_is_named(monkeypatch):
    monkeypatch.setenv('D2L_FRAMEWORK', 'torch')
    with pytest.raises(RuntimeError, match="D2L_FRAMEWORK='torch'"):
        d2l_jupyter.kernel_framework()


def test_a_d2l_kernel_skips_other_frameworks_cells(tmp_path, monkeypatch):
    """A kernel registered as the Makefile does (here on the tooling
    Python), sent execute requests with tags as JupyterLab sends them."""
    jupyter_client = pytest.importorskip('jupyter_client')
    kernels.install('jax', sys.executable, tmp_path)
    monkeypatch.setenv('JUPYTER_PATH', str(tmp_path / 'share' / 'jupyter'))
    monkeypatch.setenv('PYTHONPATH', str(ROOT))
    km = jupyter_client.KernelManager(kernel_name='d2l-jax')
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)

        def run(code, tags):
            msg = kc.session.msg('execute_request', {
                'code': code, 'silent': False, 'store_history': True,
                'user_expressions': {}, 'allow_stdin': False,
                'stop_on_error': True}, metadata={'tags': tags})
            kc.shell_channel.send(msg)
            out = []
            while True:
                reply = kc.get_iopub_msg(timeout=30)
                if reply['parent_header'].get('msg_id') != \
                        msg['header']['msg_id']:
                    continue
                kind, content = reply['msg_type'], reply['content']
                if kind == 'stream':
                    out.append(content['text'])
                elif kind == 'error':
                    out.append(f'error {content["ename"]}')
                elif kind == 'status' and \
                        content['execution_state'] == 'idle':
                    return ''.join(out)

        assert run('import no_such_torch', ['pytorch']) == (
            '[skipped: this cell is for PyTorch; this kernel runs JAX]\n')
        assert run('%%time\nimport no_such_mxnet', ['mxnet', 'train']) == (
            '[skipped: this cell is for MXNet; this kernel runs JAX]\n')
        assert run('import os; print(os.environ["D2L_FRAMEWORK"])',
                   ['jax']) == 'jax\n'
        assert run('print(6 * 7)', []) == '42\n'
        assert run('import no_such_module', []) == 'error ModuleNotFoundError'
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize('path', CHAPTERS, ids=lambda p: p.stem)
def test_the_labs_contents_manager_saves_a_chapter_unchanged(path, tmp_path,
                                                              monkeypatch):
    """Open and save as JupyterLab does: it adds the kernel's language_info
    and writes the session's kernelspec (another framework's, keys in its
    own order). The file stays byte for byte the same, and what was read
    already had the language_info (so JupyterLab found nothing to change,
    and nothing unsaved)."""
    from bookbuild.jupyter import labcontents
    kernels.install('pytorch', sys.executable, tmp_path / 'prefix')
    monkeypatch.setenv('JUPYTER_PATH',
                       str(tmp_path / 'prefix' / 'share' / 'jupyter'))
    (tmp_path / 'book').mkdir()
    shutil.copy(path, tmp_path / 'book' / path.name)
    manager = labcontents.BookContentsManager(
        root_dir=str(tmp_path / 'book'))

    async def open_and_save():
        model = await manager.get(path.name, content=True, type='notebook')
        nb = model['content']
        read_info = dict(nb['metadata'].get('language_info', {}))
        # The session runs on JAX; JupyterLab's key order.
        nb['metadata']['kernelspec'] = {
            'name': 'd2l-jax', 'language': 'python',
            'display_name': kernels.kernelspec('jax')['display_name']}
        await manager.save({'type': 'notebook', 'format': 'json',
                            'content': nb}, path.name)
        return read_info

    read_info = asyncio.run(open_and_save())
    assert (tmp_path / 'book' / path.name).read_bytes() == path.read_bytes()

    async def edit_title_and_save():
        model = await manager.get(path.name, content=True, type='notebook')
        nb = model['content']
        title = nb['cells'][0]
        title['source'] = title['source'].replace('\n', ' (edited)\n', 1)
        await manager.save({'type': 'notebook', 'format': 'json',
                            'content': nb}, path.name)

    asyncio.run(edit_title_and_save())
    before = path.read_text().splitlines()
    after = (tmp_path / 'book' / path.name).read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1, changed
    assert changed[0][1] == changed[0][0] + ' (edited)'
    assert read_info == labcontents.kernel_language_info('d2l-pytorch')
    assert read_info['version'] == sys.version.split()[0]
    assert read_info['name'] == 'python'


def test_language_info_is_filled_only_where_missing_or_bare():
    from bookbuild.jupyter import labcontents
    labcontents.kernel_language_info.__defaults__[0]['d2l-x'] = {
        'name': 'python', 'version': '3.11.9'}
    meta = {'kernelspec': {'name': 'd2l-x'}, 'language_info': {
        'name': 'python'}}
    assert labcontents.fill_language_info(meta)
    assert meta['language_info']['version'] == '3.11.9'
    kept = {'kernelspec': {'name': 'd2l-x'}, 'language_info': {
        'name': 'python', 'version': '3.10.0'}}
    assert not labcontents.fill_language_info(kept)
    assert not labcontents.fill_language_info({'kernelspec': {
        'name': 'no-such-kernel-anywhere'}})
