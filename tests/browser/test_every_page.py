"""What every page of the book must do, not only the chapter under test:
each HTML file beside `rendered_page` (the index and every chapter, in
every edition) loads without console errors or remote requests, typesets
its math, loads its images and fits a phone's width with its answers
unfolded."""
from browser_tab import (PHONE, Watched, broken_images, open_answers, pages,
                         untypeset_formulas)


def test_every_page_loads_cleanly_and_offline(browser, rendered_page):
    context = browser.new_context(viewport=PHONE)
    try:
        for path in pages(rendered_page):
            tab = Watched(context)
            page = tab.open(path)
            open_answers(page)
            assert tab.errors == [], f'{path.name}: {tab.errors}'
            remote = tab.remote_requests()
            assert remote == [], f'{path.name} fetched {remote}'
            assert page.locator('.katex-error').count() == 0, path.name
            untypeset = untypeset_formulas(page)
            assert untypeset == 0, f'{path.name}: {untypeset} formulas raw'
            broken = broken_images(page)
            assert broken == [], f'{path.name}: broken images {broken}'
            width = page.evaluate('document.scrollingElement.scrollWidth')
            assert width <= PHONE['width'] + 1, \
                f'{path.name} is {width} px wide on a {PHONE["width"]} px phone'
            tab.page.close()
    finally:
        context.close()
