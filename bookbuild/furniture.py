"""The page furniture's language: the strings the build writes on a page
(banner, tab and download labels, answer summaries) are English in the
code, marked `_()` where used or `N_()` where defined, so `make
translations` finds them (bookbuild.i18n); while a language's pages are
rendered they come from its `book.po` catalog (`translating`).

Kept apart from bookbuild.i18n so the render modules can import it without
importing the catalogs' tooling.
"""
import contextlib
import contextvars
import re

FORMAT_FIELD = re.compile(r'\{(\w*)\}')

_FURNITURE = contextvars.ContextVar('furniture', default=None)


def N_(text):
    """Marks a string for the furniture template where it is defined; it
    is translated where it is used, with gettext."""
    return text


def gettext(text):
    catalog = _FURNITURE.get()
    if catalog is None:
        return text
    message = catalog.get(text)
    if message is None or not message.string or message.fuzzy:
        return text
    # A translation that lost a {field} would break .format(): English it is
    # (the i18n tests name such a message).
    if sorted(FORMAT_FIELD.findall(message.string)) != \
            sorted(FORMAT_FIELD.findall(text)):
        return text
    return message.string


@contextlib.contextmanager
def translating(catalog):
    """Within the block, gettext answers from `catalog` (None: English)."""
    token = _FURNITURE.set(catalog)
    try:
        yield
    finally:
        _FURNITURE.reset(token)

