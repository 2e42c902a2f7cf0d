"""The page furniture's language: the strings the build writes on a page
(banner, tab and download labels, answer summaries) are English in the
code, marked `_()` where used or `N_()` where defined, so `make
translations` finds them (bookbuild.i18n.catalogs, in every module of
bookbuild); while a language's pages are rendered they come from its
`book.po` catalog (`translating`).

Kept apart from the catalogs so the render modules can import it without
importing Babel.
"""
import contextlib
import contextvars

_FURNITURE = contextvars.ContextVar('furniture', default=None)


def N_(text):
    """Marks a string for the furniture template where it is defined; it
    is translated where it is used, with gettext."""
    return text


def gettext(text):
    lookup = _FURNITURE.get()
    if lookup is None:
        return text
    return lookup(text) or text


@contextlib.contextmanager
def translating(lookup):
    """Within the block, gettext answers from `lookup(msgid)` (the usable
    translation or None: English; None for `lookup`: English throughout).
    bookbuild.i18n.catalogs.Translator.lookup checks each translation: its
    {fields} are those of the English, and it adds no markup."""
    token = _FURNITURE.set(lookup)
    try:
        yield
    finally:
        _FURNITURE.reset(token)
