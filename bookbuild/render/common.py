"""What every part of the render stage shares: the error, the page being
built and its counters, HTML escaping, code highlighting, and the pattern of
URLs a browser would fetch by itself."""
import dataclasses
import html
import re

from pygments import highlight
from pygments.formatters import HtmlFormatter

from bookbuild.errors import BookError

# Elements that make the browser fetch something by themselves (as opposed
# to <a href>, which waits for a click), pointing at another host.
AUTOLOADED_REMOTE_URL = re.compile(
    r'<(?:img|script|iframe|link|source|video|audio|embed|object|image|use'
    r'|track|input)\b[^>]*?\b(?:src|href|xlink:href|data|poster|srcset)\s*=\s*'
    r'["\']?\s*((?:[a-z][a-z0-9+.-]*:)?//[^"\'\s>]*)'
    r'|url\(\s*["\']?\s*((?:https?:)?//[^)"\']*)'
    r'|@import\s+["\']?\s*((?:https?:)?//[^"\';]*)', re.I)


# Lines of one stream output a page shows, its first and last ones (the
# build's --max-output-lines; 0 shows all). The executed notebook, which the
# page links for download, keeps every line.
MAX_OUTPUT_LINES = 200


class RenderError(BookError, RuntimeError):
    pass


@dataclasses.dataclass
class ChapterPage:
    name: str                 # file stem: densenet -> densenet.html
    title: str
    source: str               # the chapter's file, as error messages name it
    runs: dict                # framework -> {'mode', 'seconds', ...}
    html: str = ''
    description: str = ''     # one line, under its title on the index
    # (id, html) of its sections (## headings), for the book's contents
    sections: list = dataclasses.field(default_factory=list)
    main: str = ''            # the content, which page_shell frames
    footer: str = ''
    # Files the page links, by path under html_dir -> where they come from.
    files: dict = dataclasses.field(default_factory=dict)


class ChapterContext:
    """What rendering one chapter collects and counts as it goes."""

    def __init__(self, page, chapter_dir, frameworks, lexer,
                 image_sources=None, glue=None,
                 max_output_lines=MAX_OUTPUT_LINES):
        self.page = page
        self.chapter_dir = chapter_dir
        # src -> file to copy instead of chapter_dir/src (an edition's
        # translated diagrams)
        self.image_sources = image_sources or {}
        self.frameworks = frameworks      # those that ran in this build
        # name -> framework -> text: the values cells recorded for the
        # prose (bookbuild.glue), collected by merge.
        self.glue = glue or {}
        self.lexer = lexer
        self.max_output_lines = max_output_lines
        self.line = 0                     # source line of the current cell
        self.counters = {}
        # The book's labels and numbers (bookbuild.crossref.Book), this
        # chapter's number in it, the works it may cite
        # (bookbuild.bibliography) and those it has cited, in order.
        self.book = None
        self.chapter_number = None
        self.bibliography = None
        self.cited = []

    def next_number(self, kind):
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]

    def number(self, kind):
        """The next number of a `kind` of thing, "2.3" in the book's
        third chapter."""
        number = self.next_number(kind)
        if self.chapter_number is None:
            return str(number)
        return f'{self.chapter_number}.{number}'

    def error(self, message, line=None):
        return RenderError(f'{self.page.source}:{line or self.line}: {message}')


def highlight_code(source, lexer):
    formatter = HtmlFormatter(cssclass='highlight', wrapcode=True)
    return highlight(source.rstrip('\n') + '\n', lexer, formatter)



def esc(text):
    return html.escape(str(text), quote=True)

