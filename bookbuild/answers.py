"""Worked answers to a chapter's exercises: in the notebooks and on the page.

The chapter marks an answer as Jupytext writes markdown metadata: a line
`+++ {"tags": ["answer"]}` right after the exercise (a numbered list item),
then the answer's prose and its code cells (tagged `[answer, <framework>]`
or `[answer]`), up to the next plain `+++`. `bookbuild.source` finds them
and numbers each answer after its exercise (`Cell.answer`).

In a notebook an answer opens with a heading, so a learner sees where it
starts; its cells run like the chapter's. On the page the answer's cells
become one collapsed <details> block under the exercise (opened for
printing by book.js and book.css).
"""
import html

from bookbuild.i18n.furniture import N_
from bookbuild.i18n.furniture import gettext as _

LABEL = N_('Answer to exercise {number}')


def label(number):
    return _(LABEL).format(number=number)


def mark_notebook_cell(nb_cell, cell, heading=False):
    """Record in a notebook cell which answer the chapter's `cell` is part
    of; with `heading`, an answer's first cell also opens with its label."""
    if cell.answer is None:
        return nb_cell
    nb_cell.metadata.setdefault('d2l_book', {})['answer'] = cell.answer
    if cell.kind == 'markdown' and 'answer' in cell.tags:
        nb_cell.metadata['tags'] = list(cell.tags)
        if heading:
            nb_cell.source = f'#### {label(cell.answer)}\n\n{nb_cell.source}'
    return nb_cell


def cell_answer(nb_cell):
    return nb_cell.metadata.get('d2l_book', {}).get('answer')


def runs(nb_cells):
    """The cells in order, cut into runs: (exercise number, cells) for an
    answer, (None, cells) for what lies between answers."""
    result = []
    for nb_cell in nb_cells:
        number = cell_answer(nb_cell)
        if result and result[-1][0] == number:
            result[-1][1].append(nb_cell)
        else:
            result.append((number, [nb_cell]))
    return result


def details_html(number, inner_html):
    """An answer on the page: collapsed until its summary is clicked (or
    activated with Enter or Space: a <summary> is focusable by default)."""
    text = html.escape(label(number))
    return (f'<details class="answer" id="answer-{number}" '
            f'data-exercise="{number}">\n<summary>{text}</summary>\n'
            f'<div class="answer-body">\n{inner_html}\n</div>\n</details>')


def render_with_answers(nb_cells, render_cells):
    """The page body: `render_cells(cells) -> html` renders each run, and
    each answer's html is wrapped in its <details>."""
    parts = []
    for number, cells in runs(nb_cells):
        inner = render_cells(cells)
        parts.append(inner if number is None else details_html(number, inner))
    return '\n'.join(part for part in parts if part)
