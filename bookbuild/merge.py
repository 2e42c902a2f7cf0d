"""Stage 3, merge: the executed notebooks go back into one document.

The result is one notebook in the chapter's source order: every markdown
cell once, every code cell once, with the outputs of each framework that ran
it kept in `cell.metadata['d2l_book']['outputs'][framework]`, and the values
the cells recorded for the prose (d2l.glue) in
`metadata['d2l_book']['glue'][name][framework]` (see bookbuild.glue).
"""
import nbformat

from bookbuild import answers, glue
from bookbuild.errors import BookError
from bookbuild.files import write_notebook_atomically
from bookbuild.source import chapter_description, read_chapter
from bookbuild.split import carry_outputs, chapter_notebook, notebook_name


class MergeError(BookError, RuntimeError):
    pass


def merge_chapter(chapter_path, executed_paths, out_path):
    """`executed_paths` maps framework -> executed notebook of the chapter."""
    chapter = read_chapter(chapter_path)
    # The split notebook of any framework has all the prose; build the
    # merged one from the chapter itself so the order is the source order.
    merged = nbformat.v4.new_notebook()
    merged.metadata['d2l_book'] = {
        'chapter': chapter.name, 'title': chapter.title,
        'description': chapter_description(chapter)[0],
        'source': str(chapter.path), 'frameworks': list(executed_paths),
        'runs': {}}
    outputs = {}  # code index -> {framework: outputs}
    notebooks = {}
    for framework, path in executed_paths.items():
        executed = nbformat.read(path, as_version=4)
        notebooks[framework] = executed
        expected = chapter_notebook(chapter, framework)
        if not carry_outputs(executed, expected):
            raise MergeError(
                f'{path}: its code cells differ from {chapter.path} for '
                f'{framework}: it is stale; execute the chapter again')
        for cell in expected.cells:
            if cell.cell_type == 'code':
                index = cell.metadata['d2l_book']['index']
                outputs.setdefault(index, {})[framework] = cell.outputs
        run = dict(executed.metadata['d2l_book'].get('run', {}))
        run['notebook'] = notebook_name(chapter.name, framework)
        merged.metadata['d2l_book']['runs'][framework] = run
    # Every reference in the prose must have a value from every framework
    # that ran, before anything is written.
    values = glue.chapter_values(notebooks, chapter.path)
    glue.check_references(chapter, values, list(executed_paths))
    merged.metadata['d2l_book']['glue'] = values

    code_index = 0
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            nb_cell = nbformat.v4.new_markdown_cell(cell.source)
            nb_cell.metadata['d2l_book'] = {'line': cell.line}
        else:
            nb_cell = nbformat.v4.new_code_cell(cell.source)
            if cell.tags:
                nb_cell.metadata['tags'] = list(cell.tags)
            nb_cell.metadata['d2l_book'] = {
                'framework': cell.framework, 'line': cell.line,
                'outputs': outputs.get(code_index, {})}
            code_index += 1
        merged.cells.append(answers.mark_notebook_cell(nb_cell, cell))
    return write_notebook_atomically(merged, out_path)
