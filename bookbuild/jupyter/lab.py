"""The book's JupyterLab: chapters open as notebooks, each framework's cells
carry its name, and `make lab` starts it with the options that need.

A double-click opens a file in its type's default viewer, and JupyterLab's
default viewer for Markdown is the text editor. The book's JupyterLab (the
tooling environment's) gets Jupytext's notebook as the default viewer for
Markdown, through a settings override inside that environment, so a user's
own settings in their home are left alone. JupyterLab reads
`<prefix>/share/jupyter/lab/settings/overrides.d/*.json` (its app settings
directory) as defaults a user can still change.

JupyterLab shows a cell's tags only in its property inspector. The
jupyterlab-celltagsclasses extension (in the tooling lock) gives a cell with
tag `jax` the CSS class `cell-tag-jax`, and a style sheet of the book's,
served as JupyterLab's custom CSS, writes the framework's name under the
cell's prompt. The style sheet lives in the tooling environment too, and is
served after a user's own `~/.jupyter/custom/custom.css`, which wins.

    python -m bookbuild.jupyter.lab settings --prefix .venv/tooling
    python -m bookbuild.jupyter.lab start --prefix .venv/tooling --notebook-dir .
"""
import argparse
import json
import os
import pathlib
import sys

from bookbuild import FRAMEWORK_LABELS
from bookbuild.files import write_if_changed

# The plugin and factory names are JupyterLab's and jupyterlab-jupytext's.
DOCMANAGER = '@jupyterlab/docmanager-extension:plugin'
JUPYTEXT_NOTEBOOK = 'Jupytext Notebook'
OVERRIDES = {
    DOCMANAGER: {'defaultViewers': {
        'markdown': JUPYTEXT_NOTEBOOK, 'myst': JUPYTEXT_NOTEBOOK}},
    # The book works offline: no asking to fetch news from the web.
    '@jupyterlab/apputils-extension:notification': {
        'fetchNews': 'false', 'checkForUpdates': False},
}
FILE_NAME = 'd2l-book.json'
CONTENTS_MANAGER = 'bookbuild.jupyter.labcontents.BookContentsManager'
# jupyterlab-celltagsclasses names a tag's class so.
TAG_CLASS_PREFIX = 'cell-tag-'
# Under the prompt's "[3]:", in the prompt's column: the label never covers
# code, and it is there before the cell has run. The column is widened, in
# notebooks that have framework cells only, so that "TensorFlow" fits.
LABEL_STYLE = """\
/* The framework a cell belongs to: written by bookbuild/jupyter/lab.py. */
.jp-Notebook:has({cells}) {{
  --jp-cell-prompt-width: 84px;
}}
{selectors} {{
  display: block;
  width: fit-content;
  margin: 4px 0 0 auto;
  padding: 0 4px;
  border: 1px solid var(--jp-border-color1);
  border-radius: 3px;
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size0);
  line-height: 1.6;
  white-space: nowrap;
}}
"""


def settings_dir(prefix):
    """JupyterLab's app settings directory of the environment at `prefix`."""
    return pathlib.Path(prefix) / 'share' / 'jupyter' / 'lab' / 'settings'


def custom_css_dir(prefix):
    """Where the environment at `prefix` keeps the book's custom CSS."""
    return pathlib.Path(prefix) / 'share' / 'jupyter' / 'lab' / 'd2l-custom'


def write_settings(app_settings_dir):
    """Write the override into `app_settings_dir`; True if it changed."""
    return write_if_changed(
        json.dumps(OVERRIDES, indent=2) + '\n',
        pathlib.Path(app_settings_dir) / 'overrides.d' / FILE_NAME)


def label_selector(framework):
    return (f'.jp-CodeCell.{TAG_CLASS_PREFIX}{framework} '
            '.jp-InputPrompt::after')


def framework_labels_css(labels=FRAMEWORK_LABELS):
    """The style sheet that names each framework under its cells' prompt."""
    for framework, label in labels.items():
        if not framework.isidentifier() or '"' in label or '\\' in label:
            raise ValueError(f'framework {framework!r} ({label!r}) cannot be '
                             'written as a CSS class and string')
    cells = ', '.join(f'.{TAG_CLASS_PREFIX}{fw}' for fw in labels)
    selectors = ',\n'.join(label_selector(fw) for fw in labels)
    css = LABEL_STYLE.format(cells=cells, selectors=selectors)
    css += ''.join(f'{label_selector(fw)} {{ content: "{label}"; }}\n'
                   for fw, label in labels.items())
    return css


def write_custom_css(css_dir):
    """Write the labels' style sheet as `css_dir`/custom.css; True if it
    changed."""
    return write_if_changed(framework_labels_css(),
                            pathlib.Path(css_dir) / 'custom.css')


def server_options(css_dir, config_dir=None):
    """JupyterLab's command-line options for the book: the contents manager
    (bookbuild/jupyter/labcontents.py) and the custom CSS, the user's own (in
    `config_dir`, Jupyter's config directory by default) first."""
    if config_dir is None:
        from jupyter_core.paths import jupyter_config_dir
        config_dir = jupyter_config_dir()
    custom_paths = [os.path.join(config_dir, 'custom'),
                    str(pathlib.Path(css_dir).resolve())]
    options = [f'--ServerApp.contents_manager_class={CONTENTS_MANAGER}',
               '--LabApp.custom_css=True',
               '--ServerApp.tornado_settings=' +
               json.dumps({'static_custom_path': custom_paths})]
    if hasattr(os, 'getuid') and os.getuid() == 0:
        # Containers and these machines run as root; JupyterLab refuses
        # root unless told.
        options.append('--allow-root')
    return options


def prepare(prefix):
    """Write the settings override and the style sheet into the environment
    at `prefix`; print what changed."""
    if write_settings(settings_dir(prefix)):
        print('JupyterLab opens Markdown chapters as notebooks (settings in '
              f'{settings_dir(prefix)}/overrides.d)')
    if write_custom_css(custom_css_dir(prefix)):
        print("JupyterLab names each framework's cells (style sheet in "
              f'{custom_css_dir(prefix)})')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bookbuild.jupyter.lab',
                                     description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    for name, help in (('settings', 'write the settings and the style sheet'),
                       ('start', 'write them and start JupyterLab')):
        cmd = sub.add_parser(name, help=help)
        cmd.add_argument('--prefix', required=True,
                         help='the environment JupyterLab runs from (tooling)')
        if name == 'start':
            cmd.add_argument('--notebook-dir', default='.',
                             help='the folder JupyterLab shows')
    args = parser.parse_args(argv)
    prepare(args.prefix)
    if args.command == 'start':
        command = [sys.executable, '-m', 'jupyterlab',
                   f'--notebook-dir={args.notebook_dir}',
                   *server_options(custom_css_dir(args.prefix))]
        sys.stdout.flush()
        os.execv(sys.executable, command)
    return 0


if __name__ == '__main__':
    sys.exit(main())
