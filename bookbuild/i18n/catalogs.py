"""Message catalogs: gettext templates from the English book, one `.po`
catalog per language and domain, read and written with Babel.

    locales/templates/<chapter>.pot        a chapter's prose (messages) and
                                           its diagrams' labels (diagrams)
    locales/templates/book.pot             the page furniture: the strings the
                                           build itself writes (banner, tabs,
                                           downloads, answers), marked _() or
                                           N_() in bookbuild/**/*.py
    locales/<lang>/LC_MESSAGES/<domain>.po what a translator edits

`update_catalogs` is `make translations`: it rewrites the templates from
the English sources and merges them into every language's catalogs with
Babel's update (a changed message keeps its old translation flagged fuzzy,
a new one is untranslated, a removed one becomes obsolete). Only
translated, non-fuzzy messages whose placeholders match are ever shown.

furniture translates the furniture while a page is rendered.
"""
import dataclasses
import datetime
import io
import pathlib
import re
import string

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import (PoFileError, generate_po, normalize,
                                   read_po, unescape)

from bookbuild.errors import LocatedError
from bookbuild.i18n import diagrams, messages
from bookbuild.files import display_path, write_atomically
from bookbuild.source import chapter_description

FURNITURE = 'book'
# The comment a diagram's label carries in a catalog (a message's kind).
DIAGRAM_TEXT = 'diagram text'
PROJECT = 'Dive into DenseNet'
# bookbuild, whose modules (in its rooms too) mark the furniture's strings
PACKAGE = pathlib.Path(__file__).resolve().parents[1]
KEYWORDS = {'_': None, 'N_': None}
# The page's words defined outside the build: what each run mode means
# (the run banner), beside the modes that d2l_local and the build share.
FURNITURE_BESIDE = ('d2l_local/run_modes.py',)
WIDTH = 76


class CatalogError(LocatedError, ValueError):
    """A catalog that cannot be read, with its file and line."""


# ---------------------------------------------------------------- files

def templates_dir(locales):
    return pathlib.Path(locales) / 'templates'


def catalog_path(locales, language, domain):
    return pathlib.Path(locales) / language / 'LC_MESSAGES' / f'{domain}.po'


def languages(locales):
    """The languages that have catalogs, in a stable order."""
    locales = pathlib.Path(locales)
    if not locales.is_dir():
        return []
    return sorted(p.name for p in locales.iterdir()
                  if (p / 'LC_MESSAGES').is_dir())


def read_catalog(path, language=None):
    """A .po (or .pot) file as a Babel Catalog; a malformed one raises
    CatalogError naming the file and line."""
    path = pathlib.Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CatalogError(path, 0, f'cannot read the catalog ({e})') from e
    check_strings(data, path)
    try:
        catalog = read_po(io.BytesIO(data), locale=language,
                          domain=path.stem, abort_invalid=True)
    except PoFileError as e:
        # Babel counts PoFileError's lines from 0.
        raise CatalogError(path, e.lineno + 1, f'malformed catalog: '
                           f'{str(e).rsplit(" on ", 1)[0]} '
                           f'({e.line.strip()!r})') from e
    except (ValueError, UnicodeDecodeError) as e:
        raise CatalogError(path, 1, f'malformed catalog: {e}') from e
    read_previous_ids(data.decode('utf-8'), catalog)
    return catalog


def read_previous_ids(text, catalog):
    """The `#| msgid` lines (the English a fuzzy translation was made
    from), which Babel's reader skips: kept, so that the next update still
    shows the translator what changed."""
    previous, found = [], {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith('#| '):
            body = line[3:].strip()
            if body.startswith('msgid '):
                previous = [body[len('msgid '):].strip()]
            elif body.startswith('"') and previous:
                previous.append(body)
        elif line.startswith('msgid ') and previous:
            found[number] = ''.join(unescape(part) for part in previous)
            previous = []
        elif not line.startswith('#'):
            previous = []
    for message in catalog:
        if message.lineno in found:
            message.previous_id = [found[message.lineno]]
        # Babel also keeps them as translator comments ('| msgid ...'),
        # which would be written back as '# | ' lines for good once a
        # translator clears the fuzzy flag by hand and leaves them.
        message.user_comments = [c for c in message.user_comments
                                 if not (c == '|' or c.startswith('| '))]


QUOTED = re.compile(r'^(?:#~\s*)?(?:msgid|msgstr|msgctxt|msgid_plural|'
                    r'msgstr\[\d+\])?\s*"(?:[^"\\]|\\.)*"\s*$')


def check_strings(data, path):
    """Babel reads an unterminated string as if it were closed, which
    would hide a translator's typo: every string line must close."""
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b'\n') + 1
        raise CatalogError(path, line, 'not UTF-8 text') from e
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if '"' in stripped and not stripped.startswith(('#', '#~')) \
                or stripped.startswith('#~') and '"' in stripped:
            if not QUOTED.match(stripped):
                raise CatalogError(path, number, 'malformed catalog: a '
                                   f'string is not closed ({stripped!r})')


def write_catalog(catalog, path):
    """Write a catalog wrapped like msgmerge's output (so a PO editor's
    save changes little), with the previous English of each fuzzy message
    as `#| msgid` lines, so a translator sees what changed.

    Babel (2.18) writes a long previous msgid as one wrapped comment that
    GNU gettext and PO editors reject; those lines are written here."""
    messages_in_order = iter(list(catalog))
    lines = []
    for line in generate_po(catalog, width=WIDTH, include_previous=False):
        if line.startswith('msgid '):
            message = next(messages_in_order)
            if message.id and message.fuzzy and message.previous_id:
                previous = normalize(message.previous_id[0], prefix='#| ',
                                     width=WIDTH)
                lines.append(f'#| msgid {previous}\n')
        lines.append(line)
    return write_atomically(''.join(lines).encode(catalog.charset), path)


# ---------------------------------------------------------------- templates

HEADER = '''\
# {domain}: {what} of "Dive into DenseNet".
# Made by `make translations` from the English book; translate the msgstr
# lines (any PO editor will do), and keep math, `code`, link targets and
# {{roles}} as they are. See locales/README.md.
#'''


def new_catalog(domain, language=None):
    what = ('the page furniture' if domain == FURNITURE
            else f'the prose of chapters/{domain}.md')
    return Catalog(header_comment=HEADER.format(domain=domain, what=what),
                   locale=language, domain=domain, project=PROJECT,
                   version='1', msgid_bugs_address='',
                   copyright_holder='', fuzzy=False,
                   creation_date=datetime.datetime(2026, 1, 1,
                                                   tzinfo=datetime.timezone.utc))


def chapter_template(chapter, root):
    """The gettext template of one chapter (bookbuild.source.Chapter): its
    prose, then its diagrams' labels."""
    template = new_catalog(chapter.name)
    where = display_path(chapter.path, root)
    entries = [(message.text, (where, message.line), [message.kind])
               for message in messages.chapter_messages(chapter)]
    for path, label in chapter_diagram_texts(chapter):
        comments = [DIAGRAM_TEXT]
        if label.element != label.text:
            comments.append(f'part of: {label.element}')
        entries.append((label.text, (display_path(path, root), label.line),
                        comments))
    for text, location, comments in entries:
        existing = template.get(text)
        if existing is not None:
            existing.locations.append(location)
        else:
            template.add(text, locations=[location], auto_comments=comments)
    return template


def chapter_diagram_texts(chapter):
    """(svg path, DiagramText) of the labels in the chapter's diagrams."""
    for path in diagrams.chapter_diagrams(chapter).values():
        for label in diagrams.diagram_texts(path.read_text(encoding='utf-8')):
            yield path, label


def furniture_template(root):
    """The template of what the build writes on every page: the strings
    bookbuild's modules mark with _() or N_()."""
    template = new_catalog(FURNITURE)
    root = pathlib.Path(root).resolve()
    beside = [PACKAGE.parent / name for name in FURNITURE_BESIDE]
    for path in sorted(PACKAGE.rglob('*.py')) + [p for p in beside
                                                 if p.is_file()]:
        for line, text, comments, context in extract_from_file(
                'python', path, keywords=KEYWORDS,
                comment_tags=('Translators:',)):
            where = (path.relative_to(root).as_posix()
                     if path.is_relative_to(root) else path.name, line)
            if text in template:
                template[text].locations.append(where)
            else:
                template.add(text, locations=[where],
                             auto_comments=comments, context=context,
                             flags=['python-format'] if '{' in text else [])
    return template


def update_catalogs(chapters, root, locales, new_languages=()):
    """Write the templates and merge them into each language's catalogs
    (and start catalogs for `new_languages`). Returns the paths written."""
    written = []
    templates = {chapter.name: chapter_template(chapter, root)
                 for chapter in chapters}
    templates[FURNITURE] = furniture_template(root)
    for domain, template in templates.items():
        written.append(write_catalog(
            template, templates_dir(locales) / f'{domain}.pot'))
    for language in sorted(set(languages(locales)) | set(new_languages)):
        for domain, template in templates.items():
            path = catalog_path(locales, language, domain)
            catalog = (read_catalog(path, language) if path.is_file()
                       else new_catalog(domain, language))
            # Babel's update forgets the previous msgid of a message that
            # was fuzzy already; the translator still needs it.
            previous = {m.id: m.previous_id for m in catalog
                        if m.id and m.fuzzy and m.previous_id}
            catalog.update(template)
            for message in catalog:
                if message.fuzzy and not message.previous_id and \
                        message.id in previous:
                    message.previous_id = previous[message.id]
            written.append(write_catalog(catalog, path))
    return written


# ---------------------------------------------------------------- use

@dataclasses.dataclass
class Coverage:
    total: int = 0
    translated: int = 0
    fuzzy: int = 0
    broken: int = 0       # translated, but losing math, code or a link

    @property
    def untranslated(self):
        return self.total - self.translated - self.fuzzy - self.broken

    @property
    def percent(self):
        return 100.0 * self.translated / self.total if self.total else 100.0

    def describe(self):
        parts = [f'{self.translated}/{self.total} messages translated '
                 f'({self.percent:.0f}%)']
        for name in ('fuzzy', 'untranslated', 'broken'):
            if getattr(self, name):
                parts.append(f'{getattr(self, name)} {name}')
        return ', '.join(parts)


class Translator:
    """Looks messages up in one catalog: the translation when it is
    finished and keeps its source's placeholders and markup, else None.
    Counts what it is asked, as the coverage of the page it translates."""

    def __init__(self, catalog, path=None, format_fields=False):
        self.catalog = catalog
        self.path = path
        # The furniture's strings are str.format templates: their {fields}
        # must survive too.
        self.format_fields = format_fields
        self.coverage = Coverage()
        self.problems = []    # (msgid, problem) of broken translations
        self._seen = set()
        self._refused = set()

    def usable(self, msgid):
        message = self.catalog.get(msgid) if self.catalog else None
        if message is None or not message.string:
            return None, 'untranslated'
        if message.fuzzy:
            return None, 'fuzzy'
        problems = translation_problems(msgid, message.string,
                                        self.format_fields)
        if problems:
            return None, problems
        if msgid in self._refused:
            return None, 'broken'
        return message.string, 'translated'

    def lookup(self, msgid):
        """The usable translation or None, counting nothing."""
        return self.usable(msgid)[0]

    def __call__(self, msgid):
        text, state = self.usable(msgid)
        if msgid not in self._seen:
            self._seen.add(msgid)
            self.coverage.total += 1
            if isinstance(state, list):
                self.coverage.broken += 1
                self.problems.extend((msgid, p) for p in state)
            elif state != 'untranslated':
                setattr(self.coverage, state,
                        getattr(self.coverage, state) + 1)
        return text

    def refuse(self, msgid, problem):
        """A translation that passed the checks but cannot stand in its
        place on the page (bookbuild.i18n.messages.translate_markdown): broken
        from now on."""
        if msgid in self._refused:
            return
        self._refused.add(msgid)
        if msgid in self._seen and self.usable(msgid)[1] == 'broken':
            self.coverage.translated -= 1
            self.coverage.broken += 1
        self.problems.append((msgid, problem))

    def where(self, msgid, root=None):
        """'catalog:line' of a message, for a report (the catalog relative
        to `root` where it lies inside)."""
        message = self.catalog.get(msgid) if self.catalog else None
        line = message.lineno if message is not None else 0
        path = display_path(self.path, root) if root else self.path
        return f'{path}:{line}'


def translation_problems(msgid, translation, format_fields=False):
    """Why a finished translation cannot be shown, as sentences."""
    problems = messages.placeholder_problems(msgid, translation)
    if format_fields:
        problems = format_field_problems(msgid, translation) + problems
    return problems


def template_fields(text):
    """The fields of a str.format template as (name, spec, conversion);
    ValueError for a template str.format cannot read."""
    return [(name, spec, conversion) for _, name, spec, conversion
            in string.Formatter().parse(text) if name is not None]


def format_field_problems(source, translation):
    """A furniture translation is filled with str.format: it may use its
    source's {fields}, each plain. `{mode:>999999999}` would make a page of
    a gigabyte, `{mode.__class__}` shows what it should not, and a lone
    brace stops the build."""
    try:
        fields = template_fields(translation)
    except ValueError as e:
        return [f'is not a str.format template ({e}): write {{{{ and }}}} '
                'for a brace']
    odd = [name + (f'!{conversion}' if conversion else '')
           + (f':{spec}' if spec else '')
           for name, spec, conversion in fields
           if spec or conversion or not re.fullmatch(r'\w+', name)]
    if odd:
        return [f'has the field {{{odd[0]}}}: only plain fields like '
                '{name} may be used']
    want = sorted(name for name, _, _ in template_fields(source))
    have = sorted(name for name, _, _ in fields)
    if want == have:
        return []
    return [f'has the fields {{{"}, {".join(have)}}} where its source has '
            f'{{{"}, {".join(want)}}}']


def catalog_problems(catalog, path, format_fields=False):
    """'file:line: ...' for each finished translation in `catalog` that
    loses or changes a placeholder of its source, or adds markup."""
    found = []
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        for problem in translation_problems(message.id, message.string,
                                            format_fields):
            found.append(f'{path}:{message.lineno}: the translation of '
                         f'{shorten(message.id)} {problem}')
    return found


def to_translate(catalog, path):
    """'file:line: fuzzy|untranslated: ...' for each message a translator
    has to look at, in the catalog's order."""
    found = []
    for message in catalog:
        if message.id and (message.fuzzy or not message.string):
            state = 'fuzzy' if message.string else 'untranslated'
            found.append(f'{path}:{message.lineno}: {state}: '
                         f'{shorten(message.id)}')
    return found


def shorten(text, width=60):
    return repr(text if len(text) <= width else text[:width - 3] + '...')


def chapter_coverage(chapter, catalog, path=None):
    """The coverage of a chapter's messages in a catalog (None: none),
    each translation tried in its place, as the edition puts it."""
    translator = Translator(catalog, path)
    description, _line = chapter_description(chapter)
    if description:
        translator(description)
    for cell in chapter.cells:
        if cell.kind == 'markdown':
            messages.translate_markdown(cell.source, translator, '',
                                        chapter.path, cell.line,
                                        refuse=translator.refuse)
    for _, label in chapter_diagram_texts(chapter):
        translator(label.text)
    return translator
