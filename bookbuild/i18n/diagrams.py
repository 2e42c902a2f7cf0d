"""The words inside the chapters' SVG diagrams: found for the catalogs
(`make translations`), put back translated for a language's edition.

A diagram's labels are the text nodes of its <text> and <tspan> elements.
Those with a lower-case word of three letters or more are prose ("layer f",
"concatenate: channels add up"); symbols, names and formulas ("x + f(x)",
"DenseNet", "2k") stay as drawn. The file is edited as text, node by node,
so a translated diagram differs from the English one by its words only.
"""
import dataclasses
import html
import pathlib
import re

TEXT_ELEMENT = re.compile(r'<text\b[^>]*>.*?</text>', re.S)
# A text node inside a <text> element: after its start tag, or after a
# <tspan> (a subscript, say) opens or closes.
TEXT_NODE = re.compile(r'(>)([^<]+)(?=<)')
PROSE_WORD = re.compile(r'(?<![A-Za-z])[a-z]{3,}(?![A-Za-z])')
# ![alt](img/x.svg "title") in a chapter's Markdown.
SVG_IMAGE = re.compile(r'!\[[^\]]*\]\(\s*<?([^)\s>]+\.svg)>?')
# Characters XML 1.0 forbids: one in a label would leave the whole drawing
# unreadable.
XML_FORBIDDEN = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


@dataclasses.dataclass(frozen=True)
class DiagramText:
    text: str
    line: int          # 1-based line of the text node in the SVG file
    element: str       # the whole <text> element's words, for context


def is_prose(text):
    return bool(PROSE_WORD.search(text))


def plain(fragment):
    return html.unescape(re.sub(r'<[^>]*>', '', fragment))


def diagram_texts(svg):
    """The translatable labels of an SVG document (its text), in order."""
    found = []
    for element in TEXT_ELEMENT.finditer(svg):
        whole = ' '.join(plain(element.group(0)).split())
        for node in TEXT_NODE.finditer(element.group(0)):
            text = html.unescape(node.group(2)).strip()
            if is_prose(text):
                start = element.start() + node.start(2)
                found.append(DiagramText(text, svg.count('\n', 0, start) + 1,
                                         whole))
    return found


def translate_svg(svg, lookup):
    """The SVG document with each label that `lookup` translates replaced
    (`lookup(text)` returns the translation or None for English).

    A label is text: escaped, so that whatever a catalog holds cannot add
    an element or attribute (the catalog's checks refuse such a label
    before it gets here, bookbuild.i18n.catalogs.Translator)."""
    def node(match):
        raw = match.group(2)
        text = html.unescape(raw).strip()
        translation = lookup(text) if is_prose(text) else None
        if not translation or XML_FORBIDDEN.search(translation):
            return match.group(0)
        lead = raw[:len(raw) - len(raw.lstrip())]
        trail = raw[len(raw.rstrip()):]
        return (match.group(1) + lead + html.escape(translation, quote=False)
                + trail)
    return TEXT_ELEMENT.sub(lambda e: TEXT_NODE.sub(node, e.group(0)), svg)


def chapter_diagrams(chapter):
    """{src as written: path} of the SVG images a chapter's prose shows, in
    order of first use; images that are not files are the renderer's to
    report."""
    found = {}
    for cell in chapter.cells:
        if cell.kind != 'markdown':
            continue
        for src in SVG_IMAGE.findall(cell.source):
            relative = pathlib.PurePosixPath(src)
            if '://' in src or src.startswith('data:') or \
                    relative.is_absolute() or '..' in relative.parts:
                continue
            path = pathlib.Path(chapter.path).parent / src
            if path.is_file():
                found.setdefault(src, path)
    return found
