"""Citations: `chapters/references.bib` and the {cite} roles of the prose.

    ... concatenates them {cite:p}`huang2017densely`.   -> (Huang et al., 2017)
    {cite:t}`pleiss2017memory` showed ...              -> Pleiss et al. (2017)

{cite} is {cite:p}; several keys are separated by commas. Each citation is
an author-year link to its entry in the references section at the end of
the chapter's page, which lists the works the chapter cites, sorted by
author and year, each formatted by pybtex (its `unsrt` style, HTML
backend) from the BibTeX entry. Two works of the same authors and year
are told apart as 2016a, 2016b, by title.
"""
import dataclasses
import difflib
import pathlib
from html import escape

from pybtex.backends.html import Backend as HtmlBackend
from pybtex.database import parse_file
from pybtex.plugin import find_plugin
from pybtex.richtext import Text

from bookbuild.crossref import chapter_roles
from bookbuild.i18n.furniture import gettext as _
from bookbuild.source import ChapterError

FILE_NAME = 'references.bib'
ROLES = ('cite', 'cite:p', 'cite:t')
STYLE = 'unsrt'


class CitationError(ChapterError):
    """A citation the build cannot resolve, or a bibliography it cannot
    read, with the file and line."""


@dataclasses.dataclass
class Work:
    key: str
    authors: tuple   # their last names: ('Huang', 'Liu', ...)
    year: str        # "2017", "2016a"
    html: str        # the entry as pybtex formats it

    @property
    def names(self):
        """"Huang et al.", "Ioffe and Szegedy", in the page's language
        (asked each time: one bibliography serves every edition)."""
        return author_names(self.authors)


def last_name(person):
    """"van der Maaten", "Huang": the name a citation shows."""
    return ' '.join(name.render_as('text') for name in
                    person.rich_prelast_names + person.rich_last_names)


def authors(entry):
    people = entry.persons.get('author') or entry.persons.get('editor') or []
    return tuple(last_name(p) for p in people) or (
        entry.fields.get('title', entry.key),)


def shown(names):
    """What of the authors a citation shows, in any language: all of one
    or two, else the first (et al.)."""
    return names if len(names) <= 2 else (names[0], ...)


def author_names(names):
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return _('{first} and {second}').format(first=names[0],
                                                second=names[1])
    return _('{first} et al.').format(first=names[0])


class Bibliography:
    """The works of one .bib file, by key."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        try:
            data = parse_file(str(self.path), 'bibtex')
        except Exception as e:      # pybtex raises its own kinds
            raise CitationError(self.path, getattr(e, 'lineno', 0) or 0,
                                f'cannot read the bibliography: {e}') \
                from None
        style = find_plugin('pybtex.style.formatting', STYLE)()
        backend = HtmlBackend()
        formatted = {e.key: e.text.render(backend)
                     for e in style.format_entries(data.entries.values())}
        entries = data.entries
        # Authors and year as a citation shows them ("He et al."), then a
        # letter where they are not enough.
        plain = {key: (shown(authors(e)), e.fields.get('year', 'n.d.'))
                 for key, e in entries.items()}
        same = {}
        for key in sorted(entries, key=lambda k: entries[k].fields
                          .get('title', '').lower()):
            same.setdefault(plain[key], []).append(key)
        self.works = {}
        for (_names, year), keys in same.items():
            for i, key in enumerate(keys):
                suffix = 'abcdefghijklmnopqrstuvwxyz'[i] if len(keys) > 1 \
                    else ''
                self.works[key] = Work(key, authors(entries[key]),
                                       year + suffix,
                                       formatted[key])

    def work(self, key):
        """The Work of `key`; ValueError naming close keys if unknown."""
        if key in self.works:
            return self.works[key]
        close = difflib.get_close_matches(key, self.works, n=3)
        hint = (f'did you mean {" or ".join(map(repr, close))}?' if close
                else f'{len(self.works)} entries there')
        raise ValueError(f'unknown citation key {key!r}: {self.path} has no '
                         f'such entry ({hint})')


_READ = {}


def bibliography_of(chapters_dir):
    """The Bibliography of chapters_dir/references.bib (read once per
    build and content), or None where there is none."""
    path = pathlib.Path(chapters_dir) / FILE_NAME
    if not path.is_file():
        return None
    stamp = (path.resolve(), path.read_bytes())
    if stamp not in _READ:
        _READ.clear()
        _READ[stamp] = Bibliography(path)
    return _READ[stamp]


def anchor(key):
    return f'bib-{key}'


def citation_html(role, content, bibliography, cited):
    """The HTML of a {cite} role; the keys go into `cited` (a list, in
    order of first citation). ValueError with the reason when a key is
    unknown."""
    keys = [k.strip() for k in content.split(',') if k.strip()]
    if not keys:
        raise ValueError(f'{{{role}}} names no citation key')
    if bibliography is None:
        raise ValueError(f'{{{role}}}`{content}`: there is no {FILE_NAME} '
                         'beside the chapters to cite from')
    works = [bibliography.work(key) for key in keys]
    for key in keys:
        if key not in cited:
            cited.append(key)

    def link(work, text):
        return (f'<a class="citation" href="#{escape(anchor(work.key))}">'
                f'{escape(text)}</a>')
    if role == 'cite:t':
        return ', '.join(link(w, f'{w.names} ({w.year})') for w in works)
    return '(' + '; '.join(link(w, f'{w.names}, {w.year}')
                           for w in works) + ')'


def references_html(bibliography, cited):
    """The chapter's references section: the works it cites, sorted by
    author and year; '' when it cites none."""
    if not cited:
        return ''
    works = sorted((bibliography.works[key] for key in cited),
                   key=lambda w: ([a.lower() for a in w.authors], w.year))
    items = ''.join(f'<li id="{escape(anchor(w.key))}" class="reference-entry">'
                    f'{w.html}</li>\n' for w in works)
    title = escape(_('References'))
    return (f'<section class="bibliography" aria-label="{title}">\n'
            f'<h2 id="references">{title}</h2>\n'
            f'<ol class="references">\n{items}</ol>\n</section>\n')


def check_citations(chapter, bibliography):
    """Every {cite} of a chapter (a bookbuild.source.Chapter) names an
    entry of `bibliography`, else CitationError at its line."""
    for role, content, line in chapter_roles(chapter):
        if role in ROLES:
            try:
                citation_html(role, content, bibliography, [])
            except ValueError as e:
                raise CitationError(chapter.path, line, str(e)) from None
