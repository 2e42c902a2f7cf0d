"""The DenseNet chapter as a learner runs it: in a real JupyterLab.

JupyterLab runs from the tooling environment on 127.0.0.1 (a free port, a
token) over a copy of the chapter, with the d2l kernels and the settings
override registered as the Makefile does, but into temporary folders. The
test double-clicks the chapter in the file browser, picks a kernel in
JupyterLab's kernel dialog, runs all cells in smoke mode, saves, and checks
the page and the file; and it opens a notebook split writes and, where
$D2L_EXECUTED_DIR names the smoke build's executed notebooks (make
test-browser), an executed one: untrusted, they show their figures.
Screenshots land in build/screenshots/.
"""
import contextlib
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bookbuild import FRAMEWORK_LABELS
from bookbuild.jupyter import kernels, lab
from bookbuild.source import read_chapter
from bookbuild.split import split_chapter
from d2l_local import GLUE_MIME
from d2l_local.training_summary import read_summaries

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTER = ROOT / 'chapters' / 'densenet.md'
SCREENSHOTS = ROOT / 'build' / 'screenshots'
TOKEN = 'd2l-browser-test'
# Run All of the chapter in smoke mode: JAX takes about a minute on 2 cores.
RUN_ALL_SECONDS = 420
# What each framework prints of the chapter's claims.
SHAPE_23 = {'pytorch': 'torch.Size([4, 23, 8, 8])', 'jax': '(4, 8, 8, 23)'}
FRAMEWORKS_RUN = ('jax', 'pytorch')


def framework_python(framework):
    return ROOT / '.venv' / framework / 'bin' / 'python'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab_server(tmp_path_factory):
    missing = [fw for fw in FRAMEWORKS_RUN
               if not framework_python(fw).is_file()]
    if missing:
        pytest.skip(f'no environment for {", ".join(missing)} (make env)')
    tmp = tmp_path_factory.mktemp('lab')
    book = tmp / 'book'
    shutil.copytree(ROOT / 'chapters', book / 'chapters')
    split_chapter(CHAPTER, book / 'notebooks', ['jax'])
    executed = os.environ.get('D2L_EXECUTED_DIR')
    if executed and (pathlib.Path(executed) / 'densenet-jax.ipynb').is_file():
        shutil.copy(pathlib.Path(executed) / 'densenet-jax.ipynb',
                    book / 'notebooks' / 'densenet-jax-executed.ipynb')
    prefix = tmp / 'prefix'
    for fw in FRAMEWORKS_RUN:
        kernels.install(fw, framework_python(fw), prefix)
    settings = tmp / 'app-settings'
    lab.write_settings(settings)
    lab.write_custom_css(tmp / 'custom-css')
    port = free_port()
    env = dict(os.environ,
               JUPYTER_PATH=str(prefix / 'share' / 'jupyter'),
               JUPYTER_CONFIG_DIR=str(tmp / 'config'),
               # Its own trust database too: notebooks open untrusted.
               JUPYTER_DATA_DIR=str(tmp / 'data'),
               JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / 'user-settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / 'workspaces'),
               PYTHONPATH=str(ROOT), D2L_MODE='smoke')
    command = [sys.executable, '-m', 'jupyterlab', '--no-browser',
               '--ip=127.0.0.1', f'--port={port}', '--port-retries=0',
               f'--IdentityProvider.token={TOKEN}',
               f'--ServerApp.root_dir={book}',
               f'--LabApp.app_settings_dir={settings}',
               '--LabApp.expose_app_in_browser=True',
               *lab.server_options(tmp / 'custom-css',
                                   config_dir=env['JUPYTER_CONFIG_DIR'])]
    log = open(tmp / 'jupyterlab.log', 'w')
    server = subprocess.Popen(command, env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=book)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f'{base}/api/status?token={TOKEN}',
                                       timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail('JupyterLab did not start:\n' +
                                (tmp / 'jupyterlab.log').read_text()[-3000:])
                time.sleep(0.5)
        yield {'base': base, 'book': book, 'log': tmp / 'jupyterlab.log'}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope='module')
def lab_page(lab_server, browser):
    context = browser.new_context(viewport={'width': 1400, 'height': 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f'{lab_server["base"]}/lab?token={TOKEN}')
    page.wait_for_selector('.jp-DirListing-item', timeout=90_000)
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f'jupyterlab-{name}.png'))


def listing_item(page, name):
    return page.locator('.jp-DirListing-item').filter(
        has=page.locator('.jp-DirListing-itemText',
                         has_text=re.compile(f'^{re.escape(name)}$')))


def notebook_tab_dirty(page):
    return page.locator('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty').count() > 0


def wait_for_kernel_idle(page, display_name, timeout=120):
    """Until the notebook's toolbar names the kernel and it is idle."""
    page.wait_for_function(
        """(name) => {
            const panel = window.jupyterapp.shell.currentWidget;
            const ctx = panel && panel.sessionContext;
            return ctx && ctx.kernelDisplayName === name &&
                   ctx.kernelDisplayStatus === 'idle';
        }""", arg=display_name, timeout=timeout * 1000)


def pick_kernel(page, display_name):
    """Through JupyterLab's kernel dialog, as a learner does."""
    page.locator('.jp-NotebookPanel-toolbar .jp-KernelName').first.click()
    dialog = page.locator('.jp-Dialog')
    dialog.wait_for()
    dialog.locator('select').select_option(label=display_name)
    dialog.locator('.jp-Dialog-button.jp-mod-accept').click()
    dialog.wait_for(state='detached')
    wait_for_kernel_idle(page, display_name)


def run_all_and_wait(page):
    """Run All; returns how many times a figure was updated in place (the
    progress board redrawing during fit), counted from the kernel's
    messages as JupyterLab receives them."""
    page.evaluate(
        """() => {
            window.d2lUpdates = 0;
            const kernel = window.jupyterapp.shell.currentWidget
                .sessionContext.session.kernel;
            kernel.iopubMessage.connect((_, msg) => {
                if (msg.header.msg_type === 'update_display_data')
                    window.d2lUpdates += 1;
            });
        }""")
    page.evaluate("window.jupyterapp.commands.execute("
                  "'notebook:run-all-cells')")
    # Every code cell has run once Run All is through: it has an execution
    # count and the kernel is idle again.
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const cells = panel.content.widgets.filter(
                c => c.model.type === 'code');
            return panel.sessionContext.kernelDisplayStatus === 'idle' &&
                cells.every(c => c.model.executionCount !== null &&
                                 c.model.executionState !== 'running');
        }""", timeout=RUN_ALL_SECONDS * 1000, polling=1000)
    return page.evaluate('window.d2lUpdates')


def cell_outputs(page):
    """Each code cell's tags and the text of its outputs, from the model."""
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code').map(c => ({
                tags: c.model.getMetadata('tags') || [],
                outputs: c.model.outputs.toJSON()}))""")


def markdown_sources(page):
    """The source of each markdown cell of the notebook on screen."""
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'markdown')
            .map(c => c.model.sharedModel.getSource())""")


def notebook_text(page):
    """What the notebook on screen shows, as text."""
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.node.innerText")


def output_text(output):
    if output['output_type'] == 'stream':
        return ''.join(output['text'])
    if output['output_type'] == 'error':
        return f'{output["ename"]}: {output["evalue"]}'
    return ''.join(output.get('data', {}).get('text/plain', ''))


def rendered_images(page):
    """The diagrams (markdown images) and the plots (outputs) on screen,
    each with its natural width once scrolled into view and loaded."""
    return page.evaluate(
        """async () => {
            const out = {diagrams: [], plots: []};
            const panel = window.jupyterapp.shell.currentWidget;
            for (const cell of panel.content.widgets) {
                await panel.content.scrollToItem(
                    panel.content.widgets.indexOf(cell));
                for (const img of cell.node.querySelectorAll(
                        '.jp-MarkdownOutput img')) {
                    if (!img.complete) await img.decode().catch(() => {});
                    out.diagrams.push({alt: img.alt, width: img.naturalWidth});
                }
                for (const node of cell.node.querySelectorAll(
                        '.jp-OutputArea-output img, .jp-OutputArea-output svg')) {
                    const box = node.getBoundingClientRect();
                    out.plots.push({tag: node.tagName, width: box.width,
                                    height: box.height});
                }
            }
            return out;
        }""")


def scroll_to_cell(page, needle_js):
    """Scroll to the first cell for which the JS predicate (of a cell
    widget `c`) holds."""
    page.evaluate(
        f"""async () => {{
            const nb = window.jupyterapp.shell.currentWidget.content;
            const i = nb.widgets.findIndex(c => {needle_js});
            if (i >= 0) await nb.scrollToItem(i, 'start');
        }}""")
    time.sleep(1)


def save(page):
    page.keyboard.press('Control+s')
    page.wait_for_function(
        """() => !window.jupyterapp.shell.currentWidget.context.model.dirty""")
    time.sleep(1)  # the contents manager has written the file


def framework_labels(page):
    """What each code cell shows under its prompt: its tags, the label's
    text (None for no label) and the label's box, from the page."""
    return page.evaluate(
        """() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code').map(c => {
                const prompt = c.node.querySelector('.jp-InputPrompt');
                const style = getComputedStyle(prompt, '::after');
                const box = prompt.getBoundingClientRect();
                const code = c.node.querySelector('.jp-InputArea-editor')
                    .getBoundingClientRect();
                const label = style.content === 'none' ? null
                    : JSON.parse(style.content);
                // The label's width, drawn alone in the label's style,
                // against the room the prompt's column leaves it.
                let needed = 0;
                if (label) {
                    const probe = document.createElement('span');
                    probe.textContent = label;
                    for (const key of ['font', 'padding', 'border',
                                       'whiteSpace', 'letterSpacing'])
                        probe.style[key] = style[key];
                    probe.style.position = 'absolute';
                    document.body.appendChild(probe);
                    needed = probe.getBoundingClientRect().width;
                    probe.remove();
                }
                const own = getComputedStyle(prompt);
                const room = prompt.clientWidth -
                    parseFloat(own.paddingLeft) - parseFloat(own.paddingRight);
                return {tags: c.model.getMetadata('tags') || [], label,
                        shown: style.display !== 'none' &&
                               style.visibility !== 'hidden',
                        fits: needed <= room + 0.5, needed, room,
                        inside_prompt: box.right <= code.left + 1};
            })""")


def check_framework_labels(page, chapter):
    """Each framework's cell names its framework under the prompt, whole,
    beside the code and not over it; a shared cell names none."""
    labels = framework_labels(page)
    sources = chapter.code_cells()
    assert len(labels) == len(sources)
    for label, source in zip(labels, sources):
        expected = FRAMEWORK_LABELS.get(source.framework)
        assert label['label'] == expected, (source.line, label)
        assert label['shown'] and label['inside_prompt'] and label['fits'], \
            (source.line, label)
    assert {label['label'] for label in labels} == \
        {None, *FRAMEWORK_LABELS.values()}


def check_run(page, framework, chapter):
    label = FRAMEWORK_LABELS[framework]
    cells = cell_outputs(page)
    errors = [output_text(o) for c in cells for o in c['outputs']
              if o['output_type'] == 'error' or
              (o['output_type'] == 'stream' and o['name'] == 'stderr')]
    assert not errors, f'{framework}: error output: {errors[:3]}'
    text = '\n'.join(output_text(o) for c in cells for o in c['outputs'])
    assert SHAPE_23[framework] in text
    assert '758,226 trainable parameters' in text
    assert any(s['val_acc'] and s['epochs'] == '1'
               for s in read_summaries(text)), text[-2000:]
    # d2l.glue's records reach the notebook and show nothing: JupyterLab
    # has no renderer for the book's type, and says nothing about it.
    assert any(GLUE_MIME in o.get('data', {}) for c in cells
               for o in c['outputs']), 'no d2l.glue record'
    shown = notebook_text(page)
    assert GLUE_MIME not in shown and 'No renderer' not in shown
    # Every other framework's cell says it was skipped, naming both.
    for cell, source in zip(cells, chapter.code_cells()):
        if source.framework in (None, framework):
            assert not any('[skipped' in output_text(o)
                           for o in cell['outputs']), source.line
            continue
        notes = [output_text(o) for o in cell['outputs']]
        assert notes == [
            f'[skipped: this cell is for {FRAMEWORK_LABELS[source.framework]}'
            f'; this kernel runs {label}]\n'], (source.line, notes)
    # The board updates its figure in place: a cell shows one figure per
    # training it ran (its summary line), however often the board drew.
    for cell, source in zip(cells, chapter.code_cells()):
        figures = sum(1 for o in cell['outputs']
                      if 'image/png' in o.get('data', {}))
        trainings = sum(len(read_summaries(output_text(o)))
                        for o in cell['outputs'])
        assert figures <= max(trainings, 1), (source.line, figures)
    images = rendered_images(page)
    diagrams = {d['alt'][:20]: d['width'] for d in images['diagrams']}
    assert len(diagrams) == 2 and all(w > 100 for w in diagrams.values()), \
        images['diagrams']
    assert any(p['width'] > 150 and p['height'] > 100
               for p in images['plots']), images['plots']


def test_the_chapter_runs_whole_on_two_kernels(lab_server, lab_page):
    page = lab_page
    chapter = read_chapter(CHAPTER)
    on_disk = lab_server['book'] / 'chapters' / 'densenet.md'
    original = on_disk.read_text()
    listing_item(page, 'chapters').dblclick()
    listing_item(page, 'densenet.md').dblclick()
    # A notebook, not the text editor: double-click follows the override.
    page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell')
    wait_for_kernel_idle(page, kernels.kernelspec('pytorch')['display_name'])
    time.sleep(2)  # any metadata update from the kernel has landed
    screenshot(page, 'opened')
    assert not notebook_tab_dirty(page), 'opening marked the chapter unsaved'
    check_framework_labels(page, chapter)
    scroll_to_cell(page, "(c.model.getMetadata('tags') || [])"
                   ".includes('mxnet')")
    screenshot(page, 'framework-labels')

    for framework in FRAMEWORKS_RUN:
        spec = kernels.kernelspec(framework)
        pick_kernel(page, spec['display_name'])
        start = time.monotonic()
        updates = run_all_and_wait(page)
        seconds = time.monotonic() - start
        print(f'Run All on {spec["name"]}: {seconds:.0f} s, {updates} '
              'figure updates in place')
        # Every training (the chapter's and the answers') redraws its board.
        assert updates >= 3, updates
        screenshot(page, f'{framework}-run-all')
        scroll_to_cell(page, "c.model.type === 'code' && JSON.stringify("
                       "c.model.outputs.toJSON()).includes('[skipped')")
        screenshot(page, f'{framework}-skip-notes')
        scroll_to_cell(page, "c.model.sharedModel.getSource()"
                       ".includes('trainer.fit(model, data)')")
        screenshot(page, f'{framework}-training')
        check_run(page, framework, chapter)
        save(page)
        # Nothing edited, nothing changed: not even the kernel this session
        # picked (the chapter keeps the one every reader starts on).
        assert on_disk.read_text() == original, framework


def open_from_root(page, *names):
    page.locator('.jp-BreadCrumbs-home').first.click()
    for name in names:
        listing_item(page, name).dblclick()
    page.wait_for_function(
        """(name) => {
            const panel = window.jupyterapp.shell.currentWidget;
            return panel && panel.context && panel.context.path.endsWith(name)
                && panel.content && panel.content.widgets.length > 0;
        }""", arg=names[-1])


def figures_on_screen(page):
    """Natural widths of the markdown images and of the output images."""
    return page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            const out = {diagrams: [], plots: [], svgs: 0};
            for (let i = 0; i < panel.content.widgets.length; i++) {
                await panel.content.scrollToItem(i);
                const node = panel.content.widgets[i].node;
                for (const img of node.querySelectorAll(
                        '.jp-MarkdownOutput img')) {
                    await img.decode().catch(() => {});
                    out.diagrams.push(img.naturalWidth);
                }
                for (const img of node.querySelectorAll(
                        '.jp-OutputArea-output.jp-RenderedImage img')) {
                    await img.decode().catch(() => {});
                    out.plots.push(img.naturalWidth);
                }
                out.svgs += node.querySelectorAll(
                    '.jp-OutputArea-output.jp-RenderedSVG svg').length;
            }
            return out;
        }""")


def check_opened_notebook(page, name):
    wait_for_kernel_idle(page, kernels.kernelspec('jax')['display_name'])
    time.sleep(2)
    screenshot(page, name.replace('.ipynb', ''))
    assert not notebook_tab_dirty(page), f'opening marked {name} unsaved'
    assert not page.evaluate(
        "window.jupyterapp.shell.currentWidget.content.widgets"
        ".every(c => c.model.trusted)"), f'{name} should open untrusted'
    figures = figures_on_screen(page)
    assert len(figures['diagrams']) == 2 and min(figures['diagrams']) > 100, \
        figures
    return figures


def test_a_generated_notebook_opens_clean_with_its_diagrams(lab_server,
                                                            lab_page):
    open_from_root(lab_page, 'notebooks', 'densenet-jax.ipynb')
    check_opened_notebook(lab_page, 'densenet-jax.ipynb')
    # Not executed, it keeps the prose's references to measured values:
    # the role, then the name the cell records, in code font.
    assert any('{glue}`num_parameters`' in source
               for source in markdown_sources(lab_page))
    assert lab_page.locator('.jp-MarkdownOutput code',
                            has_text='num_parameters').count() >= 1


def test_an_executed_notebook_shows_its_plots_untrusted(lab_server,
                                                        lab_page):
    name = 'densenet-jax-executed.ipynb'
    if not (lab_server['book'] / 'notebooks' / name).is_file():
        pytest.skip('no executed notebook: D2L_EXECUTED_DIR names the '
                    "smoke build's executed/ (make test-browser sets it)")
    open_from_root(lab_page, 'notebooks', name)
    figures = check_opened_notebook(lab_page, name)
    # Untrusted, JupyterLab draws no SVG output: the PNG beside it shows.
    assert figures['plots'] and min(figures['plots']) > 100, figures
    assert figures['svgs'] == 0, figures
    # Its prose holds the values its run measured, not references.
    prose = '\n'.join(markdown_sources(lab_page))
    assert '{glue}' not in prose
    assert 'The parameter count is the same in every tab,\n758,226' in prose
