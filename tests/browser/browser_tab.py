"""What the browser tests share: a tab that records its requests and
console errors, the sizes of a phone and a desktop, and questions asked of
a rendered page (its tab groups, formulas, images, answers). The
`context` and `tab` fixtures that open such a tab are in conftest.py."""
import pathlib

STORAGE_KEY = 'd2l-book-framework'
PHONE = {'width': 375, 'height': 812}
DESKTOP = {'width': 1280, 'height': 900}


class Watched:
    """A browser tab that records every request and every console error."""

    def __init__(self, context):
        self.page = context.new_page()
        self.requests, self.errors = [], []
        self.page.on('request', lambda request: self.requests.append(request.url))
        self.page.on('console', lambda message: message.type == 'error'
                     and self.errors.append(message.text))
        self.page.on('pageerror', lambda error: self.errors.append(str(error)))

    def open(self, path):
        self.page.goto(pathlib.Path(path).as_uri())
        self.page.wait_for_load_state('load')
        return self.page

    def remote_requests(self):
        """Every request that left the machine (the book works offline)."""
        return [url for url in self.requests
                if not url.startswith(('file://', 'data:'))]


def untypeset_formulas(page):
    """How many `.math` spans KaTeX left as source."""
    return page.eval_on_selector_all(
        '.math', 'els => els.filter(e => !e.querySelector(".katex")).length')


def broken_images(page):
    """The (shortened) sources of the images that did not load."""
    return page.evaluate(
        'Array.from(document.images).filter(i => !(i.complete && '
        'i.naturalWidth > 0)).map(i => i.src.slice(-80))')


def selected_frameworks(page):
    """The framework each tab group shows, by its selected tab."""
    return page.eval_on_selector_all(
        '[data-tab-group]',
        'groups => groups.map(g => g.querySelector('
        '":scope > .tab-list > [aria-selected=true]").dataset.framework)')


def visible_panel_frameworks(page):
    # checkVisibility, not offsetParent: a folded answer hides its content
    # with content-visibility, which leaves offsetParent set
    return page.eval_on_selector_all(
        '[data-tab-group] > [role=tabpanel]',
        'panels => panels.filter(p => p.checkVisibility())'
        '.map(p => p.dataset.framework)')


def open_answers(page):
    """Unfold every worked answer (natively: no script needed), so the tab
    groups inside them show too."""
    for summary in page.locator('details.answer > summary').all():
        summary.click()


def pages(rendered_page):
    """Every page of the book beside `rendered_page`: the index and every
    chapter, the translated editions (html/vi/...) included."""
    folder = pathlib.Path(rendered_page).parent
    found = sorted(folder.glob('*.html')) + sorted(folder.glob('*/*.html'))
    assert found, f'no pages beside {rendered_page}'
    return found
