"""A chapter as the English build leaves it, with no kernel started: split,
each notebook's code cells given outputs written in, merged. For the build's
suites and the browser's, which test what comes after execution."""
import nbformat

from bookbuild import FRAMEWORKS, glue
from bookbuild.merge import merge_chapter
from bookbuild.split import split_chapter


def run_without_kernels(layout, chapter, frameworks=FRAMEWORKS,
                        output=lambda framework: f'ran on {framework}\n'):
    """Split `chapter` (a path under layout.root) for `frameworks`, write
    `output(framework)` into every code cell and a value for every {glue}
    reference of the prose into the first one (as d2l.glue would record
    it), mark the run smoke, and merge. Returns the merged notebook's
    path."""
    executed = {}
    for fw, path in split_chapter(chapter, layout.notebooks,
                                  frameworks).items():
        nb = nbformat.read(path, as_version=4)
        names = dict.fromkeys(ref.name for cell in nb.cells
                              if cell.cell_type == 'markdown'
                              for ref in glue.find_references(cell.source))
        for count, cell in enumerate(
                [c for c in nb.cells if c.cell_type == 'code'], 1):
            cell.outputs = [nbformat.v4.new_output(
                'stream', name='stdout', text=output(fw))]
            if count == 1:
                cell.outputs += [nbformat.v4.new_output(
                    'display_data', data={glue.GLUE_MIME: {
                        'name': name, 'text': f'{name} on {fw}',
                        'value': 1}}) for name in names]
            cell.execution_count = count
        nb.metadata['d2l_book']['run'] = {'mode': 'smoke', 'seconds': 1.0}
        executed[fw] = layout.executed / path.name
        executed[fw].parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed[fw])
    merged = layout.merged / f'{chapter.stem}.ipynb'
    merge_chapter(chapter, executed, merged)
    return merged
