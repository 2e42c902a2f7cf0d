"""Numbered figures, equations and sections, and the references to them.

A chapter labels what it wants to point at, as MyST writes it:

    (fig-dense-block)=
    ![caption](img/densenet-block.svg)       a figure (an image alone in
                                              its paragraph) under a target
    $$ y = f(x) $$ (eq-dense-layer)          a display equation
    (sec-transition)=
    ## Transition Layers                     a section under a target

and its prose refers to them: {numref}`fig-dense-block` ("Fig. 1.2"),
{numref}`Figure %s <fig-dense-block>` (a template: %s is the number),
{eq}`eq-dense-layer` ("(1.3)"), {ref}`the transition <sec-transition>`.

Numbers are per chapter, the chapter's number first: its place in the
book's order (bookbuild.order). Every figure is numbered, labelled or not,
as the page numbers its captions; equations and sections are numbered
where labelled (sections by their place among the chapter's h2 and h3).
The labels are read from the English chapter files, so a reference to
another chapter resolves whichever chapters this build renders, and a
translated edition shows the same numbers.
"""
import dataclasses
import difflib
import re
from html import escape

from bookbuild import myst
from bookbuild.i18n.furniture import N_
from bookbuild.i18n.furniture import gettext as _
from bookbuild.source import ChapterError, read_chapter

ROLES = ('numref', 'eq', 'ref')
# The text a reference without its own shows, by what it points at.
DEFAULT_TEXT = {
    'figure': N_('Fig. {number}'),
    'equation': N_('Eq. ({number})'),
    'section': N_('Section {number}'),
}
EXPLICIT = re.compile(r'(?P<text>.*?)\s*<(?P<label>[^<>]+)>\s*$', re.S)


class CrossReferenceError(ChapterError):
    """A label or a reference the build cannot use, with the chapter's
    file and line."""


@dataclasses.dataclass(frozen=True)
class Target:
    label: str
    kind: str        # figure, equation or section
    chapter: str     # the chapter's name: its page is <chapter>.html
    number: str      # "2.3"
    path: object     # where it is labelled, for errors
    line: int


class Book:
    """Every label of the book's chapters, numbered."""

    def __init__(self, targets=None, chapters=None):
        self.targets = targets or {}             # label -> Target
        self.chapters = chapters or {}           # name -> its number

    @classmethod
    def of(cls, chapter_paths):
        """The labels of `chapter_paths` (in the book's order); a label
        given twice raises CrossReferenceError at the second one."""
        book = cls()
        for number, path in enumerate(chapter_paths, 1):
            chapter = read_chapter(path)
            book.chapters[chapter.name] = number
            for target in chapter_targets(chapter, number):
                first = book.targets.get(target.label)
                if first is not None:
                    raise CrossReferenceError(
                        target.path, target.line,
                        f'the label {target.label!r} is given twice (first '
                        f'at {first.path}:{first.line}): give each figure, '
                        'equation and section its own')
                book.targets[target.label] = target
        return book

    def number(self, label):
        target = self.targets.get(label)
        return target.number if target else None

    def resolve(self, role, content, chapter):
        """(href, text) of a reference written on `chapter`'s page;
        ValueError with the reason when it cannot be shown."""
        match = EXPLICIT.match(content)
        text, label = ((match['text'], match['label'].strip()) if match
                       else ('', content.strip()))
        target = self.targets.get(label)
        if target is None:
            close = difflib.get_close_matches(label, self.targets, n=3)
            hint = (f'did you mean {" or ".join(map(repr, close))}?' if close
                    else f'{len(self.targets)} labels in the book')
            raise ValueError(f'unknown reference {label!r}: no figure, '
                             'equation or section of the book is labelled '
                             f'so ({hint})')
        if role == 'eq' and target.kind != 'equation':
            raise ValueError(f'{{eq}}`{label}` points at a {target.kind}, '
                             'not an equation: use {numref}')
        href = (f'#{label}' if target.chapter == chapter
                else f'{target.chapter}.html#{label}')
        if role == 'eq':
            return href, f'({target.number})'
        if text:
            return href, (text.replace('%s', target.number)
                          .replace('{number}', target.number))
        return href, _(DEFAULT_TEXT[target.kind]).format(number=target.number)

    def reference_html(self, role, content, chapter):
        href, text = self.resolve(role, content, chapter)
        return (f'<a class="reference {escape(role)}" '
                f'href="{escape(href)}">{escape(text)}</a>')


def chapter_targets(chapter, number):
    """The Targets a chapter (bookbuild.source.Chapter) labels, in order,
    numbered as its page numbers them."""
    markdown = myst.parser()
    env = {'slugs': set(), 'headings': []}
    counts = {'figure': 0, 'equation': 0, 'h2': 0, 'h3': 0}
    found = []
    for cell in chapter.cells:
        if cell.kind != 'markdown':
            continue
        tokens = markdown.parse(cell.source, env)
        for i, token in enumerate(tokens):
            line = cell.line + (token.map[0] if token.map else 0)
            label, kind = None, None
            if token.type == 'paragraph_open' and token.meta.get('figure'):
                counts['figure'] += 1
                label, kind = token.meta.get('label'), 'figure'
                local = counts['figure']
            elif token.type in ('math_block_label', 'math_block_eqno'):
                counts['equation'] += 1
                label, kind, local = token.info, 'equation', \
                    counts['equation']
            elif token.type == 'heading_open' and token.tag in ('h2', 'h3'):
                if token.tag == 'h2':
                    counts['h2'] += 1
                    counts['h3'] = 0
                    local = counts['h2']
                else:
                    counts['h3'] += 1
                    local = f'{counts["h2"]}.{counts["h3"]}'
                label, kind = token.meta.get('label'), 'section'
            if label and kind != 'equation':
                # where the (label)= target is written, right above
                line = cell.line + tokens[i - 1].map[0]
            if label:
                found.append(Target(label, kind, chapter.name,
                                    f'{number}.{local}', chapter.path, line))
    return found


def chapter_roles(chapter):
    """(role, content, line) of every role in a chapter's prose, with its
    line in the chapter file."""
    markdown = myst.parser()
    env = {'slugs': set(), 'headings': []}
    for cell in chapter.cells:
        if cell.kind != 'markdown':
            continue
        for token in markdown.parse(cell.source, env):
            for child in token.children or []:
                if child.type == 'myst_role':
                    yield (child.meta.get('name', ''), child.content,
                           cell.line + child.meta.get('line', 0))


def check_references(chapter, book):
    """Every reference of a chapter resolves in `book`, else
    CrossReferenceError at its line: checked before anything executes,
    so that a dangling label stops the build at once."""
    for role, content, line in chapter_roles(chapter):
        if role in ROLES:
            try:
                book.resolve(role, content, chapter.name)
            except ValueError as e:
                raise CrossReferenceError(chapter.path, line, str(e)) \
                    from None
