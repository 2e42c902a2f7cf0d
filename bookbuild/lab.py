"""JupyterLab settings that make the chapters open as notebooks.

A double-click opens a file in its type's default viewer, and JupyterLab's
default viewer for Markdown is the text editor. The book's JupyterLab (the
tooling environment's) gets Jupytext's notebook as the default viewer for
Markdown, through a settings override inside that environment, so a user's
own settings in their home are left alone:

    python -m bookbuild.lab settings --prefix .venv/tooling

JupyterLab reads `<prefix>/share/jupyter/lab/settings/overrides.d/*.json`
(its app settings directory) as defaults a user can still change.
"""
import argparse
import json
import pathlib
import sys

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


def settings_dir(prefix):
    """JupyterLab's app settings directory of the environment at `prefix`."""
    return pathlib.Path(prefix) / 'share' / 'jupyter' / 'lab' / 'settings'


def write_settings(app_settings_dir):
    """Write the override into `app_settings_dir`; True if it changed."""
    path = pathlib.Path(app_settings_dir) / 'overrides.d' / FILE_NAME
    text = json.dumps(OVERRIDES, indent=2) + '\n'
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix('.tmp')
    tmp.write_text(text)
    tmp.replace(path)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m bookbuild.lab',
                                     description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    cmd = sub.add_parser('settings', help='write the settings override')
    cmd.add_argument('--prefix', required=True,
                     help="the environment JupyterLab runs from (tooling)")
    args = parser.parse_args(argv)
    if write_settings(settings_dir(args.prefix)):
        print('JupyterLab opens Markdown chapters as notebooks (settings in '
              f'{settings_dir(args.prefix)}/overrides.d)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
