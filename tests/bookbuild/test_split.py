"""Stage 1: reading chapters and splitting them into framework notebooks."""
import base64
import json

import jupytext
import nbformat
import pytest

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.jupyter import pngtwin
from bookbuild.source import ChapterError, parse_chapter_text, read_chapter
from bookbuild.split import carry_outputs, chapter_notebook, split_chapter
from chapter_fixture import (FRONT_MATTER, ROOT, code, fixture_chapter_text,
                             tab_group, tiny_png)


def test_cells_know_their_lines(chapter_file):
    chapter = read_chapter(chapter_file)
    lines = chapter_file.read_text().splitlines()
    for cell in chapter.cells:
        if cell.kind == 'code':
            assert lines[cell.line - 1].startswith('```{code-cell}')
            assert lines[cell.code_line - 1] == cell.source.splitlines()[0]
        else:
            assert lines[cell.line - 1] == cell.source.splitlines()[0]


def test_frameworks_and_groups(chapter_file):
    chapter = read_chapter(chapter_file)
    groups = chapter.tab_groups()
    assert len(groups) == 2
    assert [c.framework for c in groups[0]] == list(FRAMEWORKS)
    shared = [c for c in chapter.code_cells() if c.framework is None]
    assert len(shared) == 1
    assert chapter.title == 'A Small Chapter'


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_split_writes_one_notebook_per_framework(chapter_file, tmp_path,
                                                 framework):
    paths = split_chapter(chapter_file, tmp_path / 'out')
    assert set(paths) == set(FRAMEWORKS)
    nb = nbformat.read(paths[framework], as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == f'd2l-{framework}'
    code = [c for c in nb.cells if c.cell_type == 'code']
    # two framework cells of its own plus the shared one
    assert len(code) == 3
    assert all(c.metadata.d2l_book.framework in (None, framework)
               for c in code)
    assert f"NAME = {framework!r}" in code[0].source
    prose = [c for c in nb.cells if c.cell_type == 'markdown']
    assert prose[0].source.startswith('# A Small Chapter')
    label = FRAMEWORK_LABELS[framework]
    assert prose[1].source.startswith(f'*The {label} notebook of this chapter')
    assert f'(d2l {label})' in prose[1].source


def test_jupytext_reads_the_same_cells(chapter_file):
    """An author opening the chapter in Jupyter (Jupytext) sees our cells."""
    ours = read_chapter(chapter_file)
    theirs = jupytext.read(chapter_file, fmt='md:myst')
    assert [c.cell_type for c in theirs.cells] == [c.kind for c in ours.cells]
    for a, b in zip(theirs.cells, ours.cells):
        assert a.source.strip() == b.source.strip()
        if b.kind == 'code':
            assert a.metadata.get('tags', []) == b.tags


def test_real_chapters_round_trip_through_jupytext():
    """Saving a chapter from Jupyter must not rewrite it."""
    for path in sorted((ROOT / 'chapters').glob('*.md')):
        text = path.read_text()
        again = jupytext.writes(jupytext.reads(text, fmt='md:myst'),
                                fmt='md:myst')
        assert again.strip() == text.strip(), path


def picture_chapter(tmp_path, twin=True):
    folder = tmp_path / 'chapters'
    (folder / 'img').mkdir(parents=True)
    svg = folder / 'img' / 'dot.svg'
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    if twin:
        (folder / 'img' / 'dot.png').write_bytes(pngtwin.with_text_chunk(
            tiny_png(), pngtwin.SOURCE_KEY, pngtwin.svg_digest(svg)))
    path = folder / 'pic.md'
    path.write_text(FRONT_MATTER + '\n# Pic\n\n![A dot](img/dot.svg)\n')
    return path


def test_images_become_attachments_with_a_png_first(tmp_path):
    path = picture_chapter(tmp_path)
    nb = nbformat.read(split_chapter(path, tmp_path / 'out')['jax'],
                       as_version=4)
    cell = nb.cells[0]
    assert '](attachment:dot.svg)' in cell.source
    bundle = cell.attachments['dot.svg']
    # JupyterLab draws the first type of an attachment, and never SVG.
    assert list(bundle) == ['image/png', 'image/svg+xml']
    assert base64.b64decode(bundle['image/png']).startswith(
        pngtwin.PNG_SIGNATURE)
    assert json.loads(nbformat.writes(nb))['cells'][0]['attachments'][
        'dot.svg'].keys() == bundle.keys()


def test_a_missing_or_stale_png_twin_names_the_chapter_and_svg(tmp_path):
    path = picture_chapter(tmp_path, twin=False)
    with pytest.raises(ChapterError, match=r'pic\.md:\d+: .*dot\.svg has no '
                       r'PNG twin dot\.png.*make figures'):
        split_chapter(path, tmp_path / 'out')
    svg = path.parent / 'img' / 'dot.svg'
    (svg.parent / 'dot.png').write_bytes(pngtwin.with_text_chunk(
        tiny_png(), pngtwin.SOURCE_KEY, pngtwin.svg_digest(svg)))
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="2"/>')
    with pytest.raises(ChapterError, match=r'dot\.png was drawn from another '
                       r'version of dot\.svg'):
        split_chapter(path, tmp_path / 'out')


def test_every_chapter_diagram_has_a_current_png_twin():
    svgs = sorted((ROOT / 'chapters').rglob('*.svg'))
    assert svgs, 'the chapters have diagrams'
    for svg in svgs:
        pngtwin.check_twin(svg)


# ------------------------------------------------------------- bad input# ------------------------------------------------------------- bad input

def error_of(text, tmp_path):
    path = tmp_path / 'bad.md'
    path.write_text(text)
    with pytest.raises(ChapterError) as info:
        split_chapter(path, tmp_path / 'out')
    assert not (tmp_path / 'out').exists() or not list(
        (tmp_path / 'out').iterdir()), 'no partial output'
    return str(info.value), text.splitlines()


def test_unknown_tag_names_file_and_line(tmp_path):
    text = fixture_chapter_text().replace(':tags: [mxnet]', ':tags: [mxnett]',
                                          1)
    message, lines = error_of(text, tmp_path)
    line = next(i for i, t in enumerate(lines, 1) if 'mxnett' in t)
    assert f'bad.md:{line}:' in message
    assert "unknown tag 'mxnett'" in message


def test_group_missing_a_framework(tmp_path):
    sources = {fw: 'x = 1' for fw in FRAMEWORKS}
    group = tab_group(sources).replace(code('jax', 'x = 1'), '')
    message, lines = error_of(FRONT_MATTER + '\n# T\n\n' + group, tmp_path)
    assert 'has no cell for jax' in message
    first = next(i for i, t in enumerate(lines, 1) if t.startswith('```{code'))
    assert f'bad.md:{first}:' in message


@pytest.mark.parametrize('front_matter, line, problem', [
    ('jupytext: [unclosed', 2, "the front matter is not valid YAML: expected "
     "',' or ']', but got '<stream end>' (column 20), while parsing a flow "
     "sequence started at line 2, column 11"),
    ('jupytext:\n  format_name: myst\n kernelspec: x', 4,
     "the front matter is not valid YAML: expected <block end>, but found "
     "'<block mapping start>' (column 2), while parsing a block mapping "
     "started at line 2, column 1"),
    ('- jupytext', 2, 'the front matter must be YAML "key: value" lines such '
     'as "jupytext:" and "kernelspec:", not a list'),
])
def test_malformed_front_matter_stops_at_the_line_of_the_yaml_error(
        tmp_path, front_matter, line, problem):
    text = f'---\n{front_matter}\n---\n\n# T\n\nSome prose.\n'
    message, _ = error_of(text, tmp_path)
    assert message == f'{tmp_path / "bad.md"}:{line}: {problem}'


def test_the_fixture_front_matter_with_an_unclosed_list_is_refused(tmp_path):
    text = fixture_chapter_text().replace('format_name: myst',
                                          'format_name: [myst', 1)
    message, lines = error_of(text, tmp_path)
    line = next(i for i, t in enumerate(lines, 1) if '[myst' in t)
    assert message.startswith(f'{tmp_path / "bad.md"}:{line + 1}: the front '
                              'matter is not valid YAML: ')
    assert f'flow sequence started at line {line}' in message


@pytest.mark.parametrize('text, line', [
    ('', 1),
    ('\n\n', 1),
    (FRONT_MATTER, FRONT_MATTER.count('\n') + 1),
    (FRONT_MATTER + '\nProse without a heading.\n\n## A section\n',
     FRONT_MATTER.count('\n') + 1),
    ('#No space\n\n```\n# a comment in code\n```\n', 1),
])
def test_a_chapter_without_a_title_is_refused(tmp_path, text, line):
    message, _ = error_of(text, tmp_path)
    assert message == (f'{tmp_path / "bad.md"}:{line}: the chapter has no '
                       'title: start its prose with a "# Title" heading')


def test_unclosed_code_cell(tmp_path):
    text = FRONT_MATTER + '\n# T\n\n```{code-cell} ipython3\nx = 1\n'
    message, lines = error_of(text, tmp_path)
    assert 'never closed' in message
    assert f'bad.md:{len(lines) - 1}:' in message


def test_outputs_are_carried_only_onto_the_same_code(chapter_file):
    """One function for the three stages that reuse outputs (the cache,
    the merge, a translated edition): a fresh split gets an earlier run's
    outputs where its code cells are the same, and nothing where they
    differ."""
    chapter = read_chapter(chapter_file)
    executed = chapter_notebook(chapter, 'jax')
    code = [c for c in executed.cells if c.cell_type == 'code']
    for number, cell in enumerate(code, 1):
        cell.outputs = [nbformat.v4.new_output(
            'stream', name='stdout', text=f'output {number}\n')]
        cell.execution_count = number
        cell.metadata['ran'] = number
    # Prose may change: outputs belong to code.
    executed.cells[0].source += '\nA new sentence.'

    fresh = chapter_notebook(chapter, 'jax')
    assert carry_outputs(executed, fresh)
    carried = [c for c in fresh.cells if c.cell_type == 'code']
    assert [c.outputs[0].text for c in carried] == [
        f'output {n}\n' for n in range(1, len(code) + 1)]
    assert [c.execution_count for c in carried] == list(
        range(1, len(code) + 1))
    assert all('ran' not in c.metadata for c in carried)
    assert 'A new sentence' not in fresh.cells[0].source

    with_metadata = chapter_notebook(chapter, 'jax')
    assert carry_outputs(executed, with_metadata, cell_metadata=True)
    assert [c.metadata['ran'] for c in with_metadata.cells
            if c.cell_type == 'code'] == list(range(1, len(code) + 1))

    code[-1].source += '\nprint(2)'
    stale = chapter_notebook(chapter, 'jax')
    assert not carry_outputs(executed, stale)
    assert all(c.outputs == [] for c in stale.cells if c.cell_type == 'code')


def test_malformed_code_cell_opening(tmp_path):
    text = FRONT_MATTER + '\n# T\n\n```{code-cell ipython3\nx = 1\n```\n'
    message, _ = error_of(text, tmp_path)
    assert 'malformed code cell opening' in message


def test_two_frameworks_on_one_cell(tmp_path):
    text = FRONT_MATTER + '\n' + code('pytorch, jax', 'x = 1')
    message, _ = error_of(text, tmp_path)
    assert 'belongs to one framework' in message


def test_fenced_prose_code_is_not_a_cell():
    text = FRONT_MATTER + '\n# T\n\n````md\n```{code-cell} ipython3\nx\n```\n````\n'
    chapter = parse_chapter_text(text, 'x.md')
    assert [c.kind for c in chapter.cells] == ['markdown']
