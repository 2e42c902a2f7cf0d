"""Measured values in the prose ({glue}`name`, recorded by d2l.glue): found
in the prose, collected by merge, shown by render (one text, or one per
framework following the tabs), refused with file and line when no cell
records them, written into each framework's executed notebook, and kept
by the translated edition.

The "executed" notebooks here are the split ones with outputs written in,
as d2l_local.shared.glue shows them (its own suite checks that it does);
one test runs a real kernel through the execute stage.
"""
import textwrap

import nbformat
import pytest

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS, glue, i18n, messages
from bookbuild.cli import Layout
from bookbuild.editions import edition_of, render_edition
from bookbuild.execute import execute_notebook
from bookbuild.merge import merge_chapter
from bookbuild.render import RenderError, render_book
from bookbuild.source import ChapterError, read_chapter
from bookbuild.split import split_chapter
from chapter_fixture import FRONT_MATTER, code, tab_group
from d2l_local import GLUE_MIME

ACCURACY = {'pytorch': '0.891', 'mxnet': '0.887', 'jax': '0.890',
            'tensorflow': '0.885'}

CHAPTER = FRONT_MATTER + textwrap.dedent("""
    # Values

    The model has {glue}`params` parameters.

    """) + tab_group({fw: f"d2l.glue('val_acc', {ACCURACY[fw]}, '.3f')"
                      for fw in FRAMEWORKS}) + textwrap.dedent("""
    +++

    After training it reaches a validation accuracy of
    {glue}`val_acc`, and ``{glue}`val_acc` `` is how the prose asks for it.

    ```python
    print('{glue}`val_acc`')  # code in prose is left alone
    ```

    """) + code(None, "d2l.glue('params', 758226, ',')") + textwrap.dedent("""
    +++

    ## Exercises

    1. Is {glue}`params` few?
    +++ {"tags": ["answer"]}

    Yes: {glue}`params` is a fifteenth of ResNet-18's.

    +++
    """)


def glue_output(name, text, value=None):
    """What d2l.glue shows: one output of the book's own type."""
    return nbformat.v4.new_output('display_data', data={
        GLUE_MIME: {'name': name, 'text': text, 'value': value}})


def recorded(source, framework):
    """The outputs a code cell of the fixture 'ran' to: its glue call's."""
    if "'val_acc'" in source:
        return [nbformat.v4.new_output('stream', name='stdout',
                                       text=f'trained on {framework}\n'),
                glue_output('val_acc', ACCURACY[framework],
                            float(ACCURACY[framework]))]
    if "'params'" in source:
        return [glue_output('params', '758,226', 758226)]
    return []


def write_chapter(root, text=CHAPTER, outputs=recorded):
    """Split the chapter and write its 'executed' notebooks; returns the
    Layout and {framework: executed notebook}."""
    chapter = root / 'chapters' / 'values.md'
    chapter.parent.mkdir(parents=True, exist_ok=True)
    chapter.write_text(text)
    layout = Layout(root / 'build', root)
    executed = {}
    for fw, path in split_chapter(chapter, layout.notebooks).items():
        nb = nbformat.read(path, as_version=4)
        for count, cell in enumerate(
                [c for c in nb.cells if c.cell_type == 'code'], 1):
            cell.outputs = outputs(cell.source, fw)
            cell.execution_count = count
        nb.metadata['d2l_book']['run'] = {'mode': 'smoke', 'seconds': 1.0}
        executed[fw] = layout.executed / path.name
        executed[fw].parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, executed[fw])
    return layout, executed


def line_of(text, fragment, nth=1):
    """The 1-based line of the `nth` line of `text` holding `fragment`."""
    lines = [number for number, line in enumerate(text.splitlines(), 1)
             if fragment in line]
    return lines[nth - 1]


@pytest.fixture
def book(tmp_path):
    layout, executed = write_chapter(tmp_path)
    merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                  layout.merged / 'values.ipynb')
    render_book([layout.merged / 'values.ipynb'], layout.html, layout.root,
                layout.executed)
    return layout


def page_html(layout, language=None):
    folder = layout.html / language if language else layout.html
    return (folder / 'values.html').read_text(encoding='utf-8')


# ---------------------------------------------------------------- the prose

def test_references_are_found_in_prose_with_their_lines_not_in_code():
    source = textwrap.dedent("""\
        The count is {glue}`params`, and
        the accuracy {glue}`val_acc`; `` {glue}`not_this` `` is code.

        ```python
        x = '{glue}`nor_this`'
        ```

        ```{note} A remark
        A note is prose: {glue}`in_a_note`.
        ```
        Misspelt: {glue:text}`val_acc:.2f` and {ref}`a target`.""")
    found = [(r.role, r.name, r.line) for r in glue.find_references(source)]
    assert found == [('glue', 'params', 0), ('glue', 'val_acc', 1),
                     ('glue', 'in_a_note', 8),
                     ('glue:text', 'val_acc:.2f', 10)]


def test_substitution_fills_known_names_and_leaves_the_rest():
    source = ('Reaches {glue}`val_acc` of {glue}`unknown`; '
              '``{glue}`val_acc` `` stays code.')
    assert glue.substitute(source, {'val_acc': '0.891'}) == (
        'Reaches 0.891 of {glue}`unknown`; ``{glue}`val_acc` `` stays code.')
    # A recorded text is text, not markup, in the notebook's Markdown.
    assert glue.substitute('{glue}`x`', {'x': '2*3_4'}) == r'2\*3\_4'


def test_same_values_are_plain_text_and_different_ones_follow_the_tabs():
    frameworks = list(FRAMEWORKS)
    same = {fw: '758,226' for fw in frameworks}
    assert glue.role_html('glue', 'params', {'params': same},
                          frameworks) == '758,226'
    html = glue.role_html('glue', 'val_acc', {'val_acc': dict(ACCURACY)},
                          frameworks)
    assert html.startswith('<span class="glue" data-glue="val_acc" ')
    spans = [(fw, ACCURACY[fw]) for fw in frameworks]
    for fw, text in spans:
        assert (f'<span class="glue-value" data-framework="{fw}">{text}'
                f'<span class="glue-label"> ({FRAMEWORK_LABELS[fw]})</span>'
                '</span>') in html
    # in the book's order, whatever order they were recorded in
    assert [html.index(f'data-framework="{fw}"') for fw in frameworks] == \
        sorted(html.index(f'data-framework="{fw}"') for fw in frameworks)
    assert 'title="PyTorch: 0.891; MXNet: 0.887; JAX: 0.890; ' \
        'TensorFlow: 0.885"' in html
    # Only the frameworks that ran count: one of them alone is plain text.
    assert glue.role_html('glue', 'val_acc', {'val_acc': dict(ACCURACY)},
                          ['jax']) == '0.890'


# ---------------------------------------------------------------- merge

def test_merge_collects_every_framework_s_values(book):
    merged = nbformat.read(book.merged / 'values.ipynb', as_version=4)
    assert merged.metadata.d2l_book.glue == {
        'val_acc': ACCURACY, 'params': {fw: '758,226' for fw in FRAMEWORKS}}


def test_a_name_no_cell_records_stops_merge_at_its_file_and_line(tmp_path):
    text = CHAPTER.replace('validation accuracy of\n{glue}`val_acc`',
                           'validation accuracy of\n{glue}`val_accuracy`')
    layout, executed = write_chapter(tmp_path, text)
    with pytest.raises(ChapterError) as error:
        merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                      layout.merged / 'values.ipynb')
    line = line_of(text, '{glue}`val_accuracy`')
    assert str(error.value).startswith(
        f'{layout.root / "chapters" / "values.md"}:{line}: '
        '{glue}`val_accuracy`: no code cell records \'val_accuracy\'')
    assert 'recorded here: params, val_acc' in str(error.value)
    assert not (layout.merged / 'values.ipynb').exists()


def test_a_name_one_framework_does_not_record_names_that_framework(tmp_path):
    def without_jax(source, framework):
        return [] if framework == 'jax' and "'val_acc'" in source else \
            recorded(source, framework)
    layout, executed = write_chapter(tmp_path, outputs=without_jax)
    with pytest.raises(ChapterError, match=r'values\.md:\d+: \{glue\}`val_acc`'
                       r' has no JAX value: only the PyTorch, MXNet, '
                       r'TensorFlow cells record it'):
        merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                      layout.merged / 'values.ipynb')
    # A build of the other three frameworks has what it needs.
    del executed['jax']
    merged = merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                           layout.merged / 'values.ipynb')
    assert 'jax' not in nbformat.read(merged, as_version=4) \
        .metadata.d2l_book.glue['val_acc']


def test_a_value_recorded_twice_and_a_misspelt_role_are_refused(tmp_path):
    def twice(source, framework):
        outputs = recorded(source, framework)
        return outputs + outputs[-1:] if "'params'" in source else outputs
    layout, executed = write_chapter(tmp_path, outputs=twice)
    with pytest.raises(ChapterError, match="'params' is recorded a second "
                       'time in the PyTorch run'):
        merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                      layout.merged / 'values.ipynb')
    text = CHAPTER.replace('has {glue}`params`', 'has {glue:text}`params`')
    layout, executed = write_chapter(tmp_path / 'other', text)
    with pytest.raises(ChapterError, match=r':\d+: \{glue:text\}`params`: '
                       r'this book takes \{glue\}`name` only'):
        merge_chapter(layout.root / 'chapters' / 'values.md', executed,
                      layout.merged / 'values.ipynb')


# ---------------------------------------------------------------- render

def test_the_page_shows_the_values_and_not_the_records(book):
    html = page_html(book)
    assert 'The model has 758,226 parameters.' in html
    assert 'Yes: 758,226 is a fifteenth' in html  # inside a worked answer
    assert html.count('<span class="glue" data-glue="val_acc"') == 1
    for fw in FRAMEWORKS:
        assert f'data-framework="{fw}">{ACCURACY[fw]}<span' in html
    # code in prose stays code
    assert '<code>{glue}`val_acc` </code>' in html
    # a record is no output: the shared cell that only records shows none
    assert GLUE_MIME not in html and 'output-text' not in html
    # the four training cells' printed lines show, the shared cell's none
    assert html.count('class="cell-output"') == 4
    assert 'trained on pytorch' in html


def test_a_reference_render_cannot_resolve_names_file_and_line(book):
    merged = book.merged / 'values.ipynb'
    nb = nbformat.read(merged, as_version=4)
    del nb.metadata.d2l_book.glue['params']
    nbformat.write(nb, merged)
    with pytest.raises(RenderError) as error:
        render_book([merged], book.html, book.root, book.executed)
    line = line_of(CHAPTER, '{glue}`params`')
    assert str(error.value).startswith(
        f'chapters/values.md:{line}: {{glue}}`params`: no code cell records')


def test_a_reference_on_a_later_line_of_a_paragraph_is_named_there(book):
    merged = book.merged / 'values.ipynb'
    nb = nbformat.read(merged, as_version=4)
    del nb.metadata.d2l_book.glue['val_acc']
    nbformat.write(nb, merged)
    with pytest.raises(RenderError, match=r'^chapters/values\.md:'
                       rf'{line_of(CHAPTER, "{glue}`val_acc`, and")}: '):
        render_book([merged], book.html, book.root, book.executed)


def test_records_do_not_make_a_shared_cell_s_outputs_differ():
    from bookbuild.render_cells import comparable
    printed = nbformat.v4.new_output('stream', name='stdout', text='done\n')
    assert comparable([printed, glue_output('seconds', '1.2')]) == \
        comparable([printed, glue_output('seconds', '3.4')]) == \
        comparable([printed])


# ---------------------------------------------------------------- notebooks

@pytest.fixture
def executed_jax(tmp_path, fake_kernels, library):
    """The fixture chapter's JAX notebook run through the execute stage on
    a real (fake) kernel, whose cells display what d2l.glue displays."""
    def record(name, text):
        bundle = {GLUE_MIME: {'name': name, 'text': text, 'value': None}}
        return ('from IPython.display import display\n'
                f'display({bundle!r}, raw=True)')
    text = CHAPTER
    for fw in FRAMEWORKS:
        text = text.replace(f"d2l.glue('val_acc', {ACCURACY[fw]}, '.3f')",
                            record('val_acc', ACCURACY[fw]))
    text = text.replace("d2l.glue('params', 758226, ',')",
                        record('params', '758,226'))
    chapter = tmp_path / 'chapters' / 'values.md'
    chapter.parent.mkdir()
    chapter.write_text(text)
    split = split_chapter(chapter, tmp_path / 'nb', ['jax'])['jax']
    lib, lock = library

    def run():
        return execute_notebook(
            split, tmp_path / 'executed' / split.name, 'smoke',
            lock_file=lock, library_dir=lib, cache_dir=tmp_path / 'cache',
            cell_timeout=60)
    return split, run


def prose(nb):
    return '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')


def test_the_executed_notebook_reads_its_framework_s_values(executed_jax):
    split, run = executed_jax
    for cached in (False, True):  # a fresh run, then the cache
        result = run()
        assert result['cached'] is cached
        nb = nbformat.read(result['path'], as_version=4)
        text = prose(nb)
        assert 'The model has 758,226 parameters.' in text
        assert 'accuracy of\n0.890, and ``{glue}`val_acc` `` is how' in text
        assert 'Yes: 758,226 is a fifteenth' in text
        assert "print('{glue}`val_acc`')" in text  # code stays code
        cached_nb = nbformat.read(next(split.parent.parent.glob(
            'cache/*.ipynb')), as_version=4)
        assert '{glue}`params`' in prose(cached_nb)
    # the split notebook, which a learner runs, keeps the references
    assert 'The model has {glue}`params` parameters.' in \
        prose(nbformat.read(split, as_version=4))


# ---------------------------------------------------------------- editions

def vietnamese(msgid):
    if 'fifteenth' in msgid:  # a translation that drops a value
        return 'Có: bằng một phần mười lăm của ResNet-18.'
    return f'VI {msgid}'


def test_the_edition_keeps_references_and_fills_them_in(book):
    chapter = read_chapter(book.root / 'chapters' / 'values.md')
    i18n.update_catalogs([chapter], book.root, book.locales, ['vi'])
    path = i18n.catalog_path(book.locales, 'vi', 'values')
    catalog = i18n.read_catalog(path, 'vi')
    ids = [m.id for m in catalog if m.id]
    assert 'The model has {glue}`params` parameters.' in ids
    for message in catalog:
        if message.id:
            message.string = vietnamese(message.id)
    i18n.write_catalog(catalog, path)

    pages, translators = render_edition(
        'vi', [book.merged / 'values.ipynb'], book.executed, book.root,
        book.locales, book.editions, book.html, ['en', 'vi'])
    html = page_html(book, 'vi')
    assert 'VI The model has 758,226 parameters.' in html
    assert html.count('<span class="glue" data-glue="val_acc"') == 1
    # The translation that lost its value is not shown, and is named.
    assert translators['values'].coverage.broken == 1
    assert translators['values'].problems == [(
        'Yes: {glue}`params` is a fifteenth of ResNet-18\'s.',
        "loses the value '{glue}`params`'")]
    assert 'awaiting-translation" lang="en">Yes: 758,226 is' in html
    # Each Vietnamese download holds its framework's values.
    for fw in FRAMEWORKS:
        nb = nbformat.read(book.html / 'vi' / 'notebooks' / f'values-{fw}.ipynb',
                           as_version=4)
        text = prose(nb)
        assert 'VI The model has 758,226 parameters.' in text
        assert f'VI After training it reaches a validation accuracy of ' \
            f'{ACCURACY[fw]}' in text
        assert '{glue}`params`' not in text


def test_a_translation_must_keep_each_value():
    source = 'It has {glue}`params` weights and {ref}`a figure <fig>`.'
    assert messages.placeholder_problems(
        source, 'Nó có {glue}`params` trọng số và {ref}`hình <fig>`.') == []
    assert messages.placeholder_problems(
        source, 'Nó có 758,226 trọng số và {ref}`hình <fig>`.') == \
        ["loses the value '{glue}`params`'"]
    assert messages.placeholder_problems(
        source, 'Nó có {glue}`param` trọng số và {ref}`hình <fig>`.') == [
        "loses the value '{glue}`params`'",
        "has a value '{glue}`param`' its source does not have"]
