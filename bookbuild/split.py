"""Stage 1, split: one chapter file -> one notebook per framework.

A framework's notebook holds the prose, the shared code cells and that
framework's cells, with the framework's kernel in its metadata, so it opens in
Jupyter on the right kernel and runs with Run All. Figures become attachments
of their markdown cells, so a downloaded notebook shows them too; an SVG
diagram travels with its PNG twin (see bookbuild/jupyter/pngtwin.py).
"""
import base64
import copy
import mimetypes
import pathlib
import re

import nbformat

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS, answers
from bookbuild.files import write_notebook_atomically
from bookbuild.i18n.furniture import gettext as _
from bookbuild.jupyter import pngtwin
from bookbuild.jupyter.kernels import kernelspec
from bookbuild.source import ChapterError, read_chapter

IMAGE_LINK = re.compile(r'!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)\)')


def notebook_name(chapter_name, framework):
    return f'{chapter_name}-{framework}.ipynb'


def _markdown_cell(cell, chapter):
    """A markdown cell whose local images are attachments."""
    attachments = {}

    def attach(match):
        target = match['target']
        if '://' in target or target.startswith('attachment:'):
            return match.group(0)
        image = chapter.path.parent / target
        if not image.is_file():
            raise ChapterError(chapter.path, cell.line,
                               f'image {target!r} not found (looked for '
                               f'{image})')
        mime = mimetypes.guess_type(image.name)[0] or \
            'application/octet-stream'
        bundle = {mime: base64.b64encode(image.read_bytes()).decode('ascii')}
        if mime == 'image/svg+xml':
            # JupyterLab draws an attachment by its first type and not as
            # SVG; nbformat writes the types sorted, so the PNG twin comes
            # first.
            try:
                twin = pngtwin.check_twin(image)
            except pngtwin.TwinError as e:
                raise ChapterError(chapter.path, cell.line, str(e)) from e
            bundle['image/png'] = base64.b64encode(
                twin.read_bytes()).decode('ascii')
        attachments[image.name] = dict(sorted(bundle.items()))
        return f'![{match["alt"]}](attachment:{image.name})'

    source = IMAGE_LINK.sub(attach, cell.source)
    nb_cell = nbformat.v4.new_markdown_cell(source)
    if attachments:
        nb_cell['attachments'] = attachments
    nb_cell.metadata['d2l_book'] = {'line': cell.line}
    return answers.mark_notebook_cell(nb_cell, cell, heading=True)


def _code_cell(cell, index):
    nb_cell = nbformat.v4.new_code_cell(cell.source)
    if cell.tags:
        nb_cell.metadata['tags'] = list(cell.tags)
    # `index` is the cell's position among all the chapter's code cells:
    # merge uses it to put outputs back in place.
    nb_cell.metadata['d2l_book'] = {'line': cell.line,
                                    'code_line': cell.code_line,
                                    'index': index,
                                    'framework': cell.framework}
    return answers.mark_notebook_cell(nb_cell, cell)


def framework_note(chapter, framework):
    """A line under the title saying whose tabs this notebook holds (only
    the book's JupyterLab labels the code cells themselves), in the
    language being rendered (bookbuild.i18n.furniture)."""
    label = FRAMEWORK_LABELS[framework]
    cell = nbformat.v4.new_markdown_cell(_(
        '*The {label} notebook of this chapter: its shared code and the '
        '{label} tab of every tab group, on the kernel "{kernel}". '
        'Generated from `{source}`; edit the chapter, not this file.*'
    ).format(label=label, kernel=kernelspec(framework)['display_name'],
             source=f'chapters/{chapter.path.name}'))
    cell.metadata['d2l_book'] = {'framework_note': framework}
    return cell


def chapter_notebook(chapter, framework):
    """The nbformat notebook of one chapter for one framework."""
    if framework not in FRAMEWORKS:
        raise ValueError(f'unknown framework {framework!r}; choose one of '
                         f'{", ".join(FRAMEWORKS)}')
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = kernelspec(framework)
    nb.metadata['language_info'] = {'name': 'python'}
    nb.metadata['d2l_book'] = {'chapter': chapter.name,
                               'title': chapter.title,
                               'framework': framework,
                               'source': str(chapter.path)}
    code_index = 0
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            nb.cells.append(_markdown_cell(cell, chapter))
            if len(nb.cells) == 1:
                nb.cells.append(framework_note(chapter, framework))
            continue
        if cell.framework in (None, framework):
            nb.cells.append(_code_cell(cell, code_index))
        code_index += 1
    return nb


def carry_outputs(executed, fresh, cell_metadata=False):
    """Give the code cells of `fresh` (a notebook just split) the outputs
    and execution counts of `executed` (an earlier run), and with
    `cell_metadata` their metadata too, provided the two hold the same
    code cells in the same order. Returns False, changing nothing, where
    the code differs: those outputs are not this code's."""
    ran = [c for c in executed.cells if c.cell_type == 'code']
    code = [c for c in fresh.cells if c.cell_type == 'code']
    if [c.source for c in ran] != [c.source for c in code]:
        return False
    for cell, done in zip(code, ran):
        cell.outputs = done.outputs
        cell.execution_count = done.execution_count
        if cell_metadata:
            cell.metadata = copy.deepcopy(done.metadata)
    return True


def split_chapter(chapter_path, out_dir, frameworks=FRAMEWORKS):
    """Write `<out_dir>/<chapter>-<framework>.ipynb` for each framework and
    return their paths. Reads and checks the whole chapter before writing."""
    chapter = read_chapter(chapter_path)
    notebooks = {fw: chapter_notebook(chapter, fw) for fw in frameworks}
    out_dir = pathlib.Path(out_dir)
    paths = {}
    for fw, nb in notebooks.items():
        paths[fw] = write_notebook_atomically(
            nb, out_dir / notebook_name(chapter.name, fw))
    return paths
