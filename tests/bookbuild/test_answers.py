"""Worked answers: how a chapter marks them (bookbuild.source), how they
reach the notebooks (split, merge) and the page (bookbuild.answers)."""
import re

import jupytext
import nbformat
import pytest

from bookbuild import FRAMEWORKS
from bookbuild.render.book import render_chapter
from bookbuild.source import ChapterError, parse_chapter_text
from bookbuild.split import chapter_notebook
from answer_fixture import ANSWER, answer_chapter_text, make_answer_book

def parse(text):
    return parse_chapter_text(text, 'chapters/answered.md')


def line_of(text, fragment, nth=1):
    lines = [i for i, line in enumerate(text.splitlines(), 1)
             if fragment in line]
    return lines[nth - 1]


# ---------------------------------------------------------------- source

def test_answers_are_found_and_numbered_after_their_exercise():
    text = answer_chapter_text()
    chapter = parse(text)
    answers = chapter.answers()
    assert sorted(answers) == [1, 2]
    first = answers[1]
    assert [c.kind for c in first] == ['markdown'] + ['code'] * 4 + [
        'markdown', 'code', 'markdown']
    assert first[0].source.startswith('Rayleigh')
    assert first[0].tags == ['answer'] and first[0].line == line_of(
        text, 'Rayleigh')
    assert [c.framework for c in first if c.kind == 'code'] == [
        *FRAMEWORKS, None]
    assert first[-1].source == 'What the numbers show.'
    assert [c.source for c in answers[2]] == ['Yes.']
    # The exercises themselves, and the chapter's own code, are no answer.
    outside = [c for c in chapter.cells if c.answer is None]
    assert [c.source.splitlines()[-1] for c in outside
            if c.kind == 'markdown'] == [
        'First some code.', '    1. And the sea?', '2. Is two prime?',
        '3. An exercise left to the reader.']
    assert len(chapter.tab_groups()) == 2


def test_jupytext_reads_the_same_tags_and_writes_the_chapter_back_unchanged():
    text = answer_chapter_text()
    notebook = jupytext.reads(text, fmt='md:myst')
    ours = parse(text)
    assert [c.cell_type for c in notebook.cells] == [c.kind for c in ours.cells]
    assert [c.metadata.get('tags', []) for c in notebook.cells] == [
        c.tags for c in ours.cells]
    again = jupytext.writes(notebook, fmt='md:myst')
    assert again.split('\n---\n', 1)[1] == text.split('\n---\n', 1)[1]


# Each case: how the chapter is broken, where the error must point (the
# nth line holding `fragment`, plus `offset`), and what it must say.
BROKEN = {
    'never closed': (
        lambda t: t.replace('Yes.\n\n+++\n', 'Yes.\n'),
        ANSWER.strip(), 2, 0, 'is never closed'),
    'runs into a heading': (
        lambda t: t.replace('Yes.\n\n+++\n', 'Yes.\n\n## More\n'),
        '## More', 1, 0, 'runs into this heading'),
    'answer tag outside an answer': (
        lambda t: t.replace(':tags: [jax]', ':tags: [answer, jax]'),
        ':tags: [answer, jax]', 1, 0, 'not inside an answer'),
    'untagged code in an answer': (
        lambda t: t.replace(':tags: [answer]\n', ''),
        "print('shared answer')", 1, -2, 'is not tagged answer'),
    'unknown markdown tag': (
        lambda t: t.replace(ANSWER + '\nYes.',
                            '+++ {"tags": ["anwser"]}\n\nYes.'),
        'anwser', 1, 0, "unknown tag 'anwser'"),
    'metadata not JSON': (
        lambda t: t.replace(ANSWER + '\nYes.',
                            "+++ {'tags': ['answer']}\n\nYes."),
        "+++ {'tags'", 1, 0, 'is not JSON'),
    # Jupytext drops a +++ right after code: the answer would run on.
    'ends with code': (
        lambda t: t.replace('\nWhat the numbers show.\n', ''),
        '+++', 2, 0, 'ends with a code cell'),
    'no exercise above': (
        lambda t: t.replace('2. Is two prime?', 'Is two prime?'),
        ANSWER.strip(), 2, 0, 'must follow its exercise'),
    'marker followed by code': (
        lambda t: t.replace(ANSWER + '\nRayleigh scattering, measured in '
                            'every framework:\n', ANSWER),
        ANSWER.strip(), 1, 0, 'not followed by prose'),
}


@pytest.mark.parametrize('case', BROKEN)
def test_bad_answers_name_file_and_line(case):
    broken, fragment, nth, offset, message = BROKEN[case]
    text = broken(answer_chapter_text())
    assert text != answer_chapter_text()
    with pytest.raises(ChapterError) as error:
        parse(text)
    assert message in str(error.value)
    assert str(error.value).startswith(
        f'chapters/answered.md:{line_of(text, fragment, nth) + offset}: ')


def test_answer_opened_inside_an_answer():
    text = answer_chapter_text().replace('\nWhat the numbers show.\n\n+++\n',
                                         '\nWhat the numbers show.\n')
    with pytest.raises(ChapterError, match='is still open'):
        parse(text)


def exercise_numbers(chapter):
    """The top-level numbered items of the prose under '## Exercises'
    (answers left out), up to the next section."""
    numbers, inside = [], False
    for cell in chapter.cells:
        if cell.kind != 'markdown' or cell.answer is not None:
            continue
        for text in cell.source.splitlines():
            if text.startswith('## '):
                inside = text.strip() == '## Exercises'
            match = inside and re.match(r'(\d+)[.)]\s', text)
            if match:
                numbers.append(int(match[1]))
    return numbers


def test_the_real_chapters_answer_every_exercise():
    from chapter_fixture import ROOT
    chapters = sorted((ROOT / 'chapters').glob('*.md'))
    assert chapters
    for path in chapters:
        chapter = parse_chapter_text(path.read_text(), path)
        numbers = exercise_numbers(chapter)
        assert sorted(chapter.answers()) == numbers, path.name


# ---------------------------------------------------------------- notebooks

def test_notebooks_carry_the_answers_under_a_heading(tmp_path):
    chapter = parse(answer_chapter_text())
    for fw in FRAMEWORKS:
        nb = chapter_notebook(chapter, fw)
        answer_cells = [c for c in nb.cells
                        if c.metadata['d2l_book'].get('answer') == 1]
        opener = answer_cells[0]
        assert opener.source.startswith('#### Answer to exercise 1\n\n'
                                        'Rayleigh')
        assert opener.metadata['tags'] == ['answer']
        code_cells = [c for c in answer_cells if c.cell_type == 'code']
        assert [c.metadata['tags'] for c in code_cells] == [
            ['answer', fw], ['answer']]
        second = [c for c in nb.cells
                  if c.metadata['d2l_book'].get('answer') == 2]
        assert [c.source for c in second] == ['#### Answer to exercise 2\n\n'
                                              'Yes.']


# ---------------------------------------------------------------- the page

def render_answer_chapter(tmp_path):
    """The page of the answer chapter (split notebooks stand in for
    executed ones: no outputs)."""
    book = make_answer_book(tmp_path)
    return render_chapter(nbformat.read(book['merged_paths'][0], as_version=4),
                          book['source_root'], book['notebooks_dir'])


def test_each_answer_is_one_collapsed_details_under_its_exercise(tmp_path):
    page = render_answer_chapter(tmp_path).html
    blocks = re.findall(r'<details class="answer"[^>]*>.*?</details>', page,
                        re.S)
    assert len(blocks) == 2
    first, second = blocks
    assert re.search(r'<details class="answer" id="answer-1" '
                     r'data-exercise="1">\n<summary>Answer to exercise 1'
                     r'</summary>', first)
    assert ' open' not in first.split('>', 1)[0]  # collapsed
    # The whole answer is inside: prose, the tab group, the shared cell,
    # the closing prose; the next exercise is not.
    assert 'Rayleigh scattering' in first
    assert first.count('<div class="tab-group"') == 1
    assert re.findall(r'data-framework="(\w+)">', first)[:4] == list(FRAMEWORKS)
    assert 'shared answer' in first and 'What the numbers show.' in first
    assert 'Is two prime' not in first
    assert '<summary>Answer to exercise 2</summary>' in second
    # The exercise list goes on with its own numbers after each answer.
    after_first = page[page.index(first) + len(first):]
    assert re.match(r'\s*<ol start="2">\s*<li>Is two prime\?', after_first)
    assert page.index('Why is the sky blue?') < page.index(first)
    # The chapter's own tab group stays outside any answer.
    assert page.index('<div class="tab-group"') < page.index('<details class')


def test_the_notebook_heading_is_not_repeated_on_the_page(tmp_path):
    page = render_answer_chapter(tmp_path).html
    assert page.count('Answer to exercise 1') == 1
