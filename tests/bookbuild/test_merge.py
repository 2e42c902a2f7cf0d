"""Stage 3: the executed notebooks go back into one document."""
import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild.execute import execute_notebook
from bookbuild.merge import MergeError, merge_chapter
from bookbuild.split import split_chapter


@pytest.fixture
def executed(chapter_file, tmp_path, fake_kernels, library):
    lib, lock = library
    paths = {}
    for fw, nb_path in split_chapter(chapter_file, tmp_path / 'nb').items():
        paths[fw] = execute_notebook(
            nb_path, tmp_path / 'executed' / nb_path.name, 'smoke',
            lock_file=lock, library_dir=lib, cache_dir=tmp_path / 'cache',
            cell_timeout=60)['path']
    return paths


def test_outputs_go_under_their_own_framework(chapter_file, executed,
                                              tmp_path):
    merged = nbformat.read(merge_chapter(chapter_file, executed,
                                         tmp_path / 'merged.ipynb'),
                           as_version=4)
    meta = merged.metadata.d2l_book
    assert meta.chapter == 'small' and meta.frameworks == list(FRAMEWORKS)
    assert set(meta.runs) == set(FRAMEWORKS)
    assert all(run.mode == 'smoke' for run in meta.runs.values())
    code = [c for c in merged.cells if c.cell_type == 'code']
    # source order: 4 framework cells, 1 shared, 4 framework cells
    assert [c.metadata.d2l_book.framework for c in code] == \
        list(FRAMEWORKS) + [None] + list(FRAMEWORKS)
    for cell in code[:4]:
        fw = cell.metadata.d2l_book.framework
        outputs = cell.metadata.d2l_book.outputs
        assert list(outputs) == [fw]
        assert outputs[fw][0]['text'] == f'hello from {fw}\n'
    shared = code[4].metadata.d2l_book.outputs
    assert set(shared) == set(FRAMEWORKS)
    assert all(o[0]['text'] == 'mode smoke\n' for o in shared.values())
    # prose appears once, in order
    prose = [c.source for c in merged.cells if c.cell_type == 'markdown']
    assert prose[0].startswith('# A Small Chapter') and len(prose) == 3


def test_stale_executed_notebook_is_refused(chapter_file, executed, tmp_path):
    chapter_file.write_text(chapter_file.read_text().replace(
        "print(len(NAME) * 2)", "print(len(NAME) * 20)"))
    with pytest.raises(MergeError, match='stale'):
        merge_chapter(chapter_file, executed, tmp_path / 'merged.ipynb')
    assert not (tmp_path / 'merged.ipynb').exists()
