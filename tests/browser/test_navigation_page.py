"""The book around its pages, in Chromium: the table of contents and the
previous/next links on every page of every edition, the copy button, the
dark theme, the contrast of code and output in both themes, long output
lines, and all of it offline."""
import pathlib
import re
import urllib.parse

import pytest

from browser_tab import DESKTOP, PHONE, Watched, pages

THEME_KEY = 'd2l-book-theme'
# The WCAG 2 contrast ratio of text against the background it is drawn on
# (the nearest ancestor's opaque background), for each element's own text.
CONTRAST = """(selector) => {
  function rgb(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    const parts = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: parts[0], g: parts[1], b: parts[2],
            a: parts.length > 3 ? parts[3] : 1};
  }
  function luminance(c) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                       : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(element) {
    for (let node = element; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  }
  const found = [];
  for (const element of document.querySelectorAll(selector)) {
    const own = Array.from(element.childNodes).some(
      n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !element.checkVisibility()) continue;
    const fg = luminance(rgb(getComputedStyle(element).color));
    const bg = luminance(background(element));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    found.push({ratio: ratio, text: element.textContent.trim().slice(0, 40),
                cls: element.className});
  }
  return found;
}"""


def chapter_pages(folder):
    return sorted(p for p in folder.glob('*.html') if p.name != 'index.html')


def editions(rendered_page):
    """Each edition's folder: the English one and its translations."""
    folder = pathlib.Path(rendered_page).parent
    return [folder] + sorted(p.parent for p in folder.glob('*/index.html'))


def target_of(page_path, href):
    """The file and fragment an href on `page_path` leads to."""
    parsed = urllib.parse.urlparse(href)
    assert parsed.scheme in ('', 'file'), f'{page_path.name}: {href} leaves the book'
    path = pathlib.Path(urllib.parse.unquote(parsed.path)) if parsed.scheme \
        else (page_path.parent / parsed.path).resolve()
    return path, parsed.fragment


def book_toc(page):
    return page.eval_on_selector_all(
        '#book-toc a', 'links => links.map(a => ({href: a.href, text: '
        'a.textContent.trim(), current: a.getAttribute("aria-current"), '
        'chapter: !!a.closest(".book-toc-chapter") && '
        'a.parentElement.classList.contains("book-toc-chapter")}))')


def page_link(page, rel):
    link = page.locator(f'.page-links a[rel={rel}]')
    return link.get_attribute('href') if link.count() else None


def test_every_page_shows_the_books_contents_with_itself_marked(context, rendered_page):
    for folder in editions(rendered_page):
        chapters = chapter_pages(folder)
        for path in [folder / 'index.html'] + chapters:
            page = Watched(context).open(path)
            links = book_toc(page)
            targets = [target_of(path, link['href']) for link in links]
            for (target, fragment), link in zip(targets, links):
                # every link stays in this edition and lands somewhere
                assert target.parent == folder, (path, link)
                assert target.is_file(), (path, link)
                if fragment:
                    assert f'id="{fragment}"' in target.read_text(), \
                        (path, link)
            chapter_links = [target for (target, fragment), link
                             in zip(targets, links) if link['chapter']]
            assert sorted(chapter_links) == chapters, path
            current = [target for (target, _), link in zip(targets, links)
                       if link['current'] == 'page']
            assert current == [path], f'{path}: marked {current}'
            # a chapter's entry names it as its page's heading does
            for target, link in zip(chapter_links, [
                    link for link in links if link['chapter']]):
                if target == path:
                    assert link['text'] == page.locator('h1').first \
                        .inner_text().strip()
            page.close()


def test_previous_and_next_walk_the_book_in_its_order(context, rendered_page):
    for folder in editions(rendered_page):
        path, walked = folder / 'index.html', []
        page = Watched(context).open(path)
        order = [target_of(path, link['href'])[0]
                 for link in book_toc(page) if link['chapter']]
        assert sorted(order) == chapter_pages(folder)
        assert page_link(page, 'prev') is None
        while True:
            walked.append(path)
            forward = page_link(page, 'next')
            if forward is None:
                break
            following = target_of(path, forward)[0]
            assert following.is_file(), f'{path.name}: next {forward}'
            page = Watched(context).open(following)
            back = page_link(page, 'prev')
            assert back and target_of(following, back)[0] == path
            path = following
        assert walked == [folder / 'index.html'] + order, folder


def test_the_contents_fold_on_a_phone(browser, rendered_page):
    context = browser.new_context(viewport=PHONE)
    try:
        page = Watched(context).open(rendered_page)
        details = page.locator('#book-toc > details')
        assert details.evaluate('d => d.open') is False
        assert page.locator('#book-toc .book-toc-chapter a').first.is_visible() \
            is False
        page.locator('#book-toc summary').click()
        assert page.locator('#book-toc .book-toc-chapter a').first.is_visible()
    finally:
        context.close()


def test_the_index_gives_each_chapter_one_line(context, rendered_page):
    for folder in editions(rendered_page):
        page = Watched(context).open(folder / 'index.html')
        items = page.locator('.chapter-list > li')
        assert items.count() == len(chapter_pages(folder))
        lines = page.locator('.chapter-list .chapter-description')
        assert lines.count() == items.count()
        assert all(len(text.split()) >= 4 for text in lines.all_inner_texts())


def copy_of_visible_code(page, framework):
    """Selects `framework` and presses the copy button of the first tab
    group's code; returns (clipboard, code of every panel by framework)."""
    group = page.locator('[data-tab-group]:has(.highlight)').first
    group.locator(f'[role=tab][data-framework={framework}]').click()
    codes = {p.get_attribute('data-framework'):
             p.locator('.highlight pre').first.text_content()
             for p in group.locator(':scope > [role=tabpanel]:has(.highlight)').all()}
    panel = group.locator(f':scope > [role=tabpanel][data-framework={framework}]')
    # the hidden tabs' buttons are hidden with them
    visible = [b.evaluate('b => b.closest("[role=tabpanel]").dataset.framework')
               for b in group.locator('.copy-button').all() if b.is_visible()]
    assert visible and set(visible) == {framework}
    button = panel.locator('.copy-button').first
    button.click()
    page.wait_for_function('b => b.classList.contains("copied")',
                           arg=button.element_handle())
    return page.evaluate('navigator.clipboard.readText()'), codes


def test_the_copy_button_copies_the_visible_tabs_code_only(context, rendered_page):
    context.grant_permissions(['clipboard-read', 'clipboard-write'])
    tab = Watched(context)
    page = tab.open(rendered_page)
    group = page.locator('[data-tab-group]:has(.highlight)').first
    frameworks = [p.get_attribute('data-framework') for p in group.locator(
        ':scope > [role=tabpanel]:has(.highlight)').all()]
    for framework in reversed(frameworks):
        copied, codes = copy_of_visible_code(page, framework)
        assert copied == codes[framework].rstrip('\n')
        assert all(copied != code.rstrip('\n')
                   for fw, code in codes.items() if fw != framework)
        assert not re.match(r'(>>>|In \[|\$ )', copied)
    # every code block, shared or in a tab, has one
    assert page.locator('.cell > .highlight > .copy-button').count() == \
        page.locator('.cell > .highlight').count() > 0
    assert tab.errors == [] and tab.remote_requests() == []


def body_background(page):
    return page.evaluate('getComputedStyle(document.body).backgroundColor')


def test_the_theme_toggle_is_remembered(browser, rendered_page):
    context = browser.new_context(viewport=DESKTOP, color_scheme='light')
    try:
        tab = Watched(context)
        page = tab.open(rendered_page)
        assert page.get_attribute('html', 'data-theme') == 'light'
        light = body_background(page)
        page.locator('.theme-toggle').click()
        assert page.get_attribute('html', 'data-theme') == 'dark'
        assert page.get_attribute('.theme-toggle', 'aria-pressed') == 'true'
        dark = body_background(page)
        assert dark != light
        page.reload()
        assert page.get_attribute('html', 'data-theme') == 'dark'
        assert body_background(page) == dark
        # another page of the book holds it too
        tab.open(pathlib.Path(rendered_page).parent / 'index.html')
        assert body_background(tab.page) == dark
        tab.page.locator('.theme-toggle').click()
        tab.page.reload()
        assert body_background(tab.page) == light
        assert page.evaluate(f'localStorage.getItem("{THEME_KEY}")') == 'light'
        assert tab.errors == [] and tab.remote_requests() == []
    finally:
        context.close()


def test_the_theme_follows_the_system_until_chosen(browser, rendered_page):
    context = browser.new_context(viewport=DESKTOP, color_scheme='dark')
    try:
        page = Watched(context).open(rendered_page)
        assert page.get_attribute('html', 'data-theme') == 'dark'
        dark = body_background(page)
        page.emulate_media(color_scheme='light')
        # the system's change reaches the page as an event
        page.wait_for_function(
            'document.documentElement.dataset.theme === "light"', timeout=5000)
        assert body_background(page) != dark
    finally:
        context.close()


@pytest.mark.parametrize('theme', ['light', 'dark'])
def test_code_and_output_are_readable_in_both_themes(browser, rendered_page, theme):
    context = browser.new_context(viewport=DESKTOP, color_scheme=theme)
    try:
        page = Watched(context).open(rendered_page)
        assert page.get_attribute('html', 'data-theme') == theme
        code = page.evaluate(CONTRAST, '.highlight pre, .highlight pre *')
        output = page.evaluate(CONTRAST, 'pre.output, pre.output *')
        assert len(code) > 10 and output
        poor = [c for c in code + output if c['ratio'] < 4.5]
        assert poor == [], f'{theme}: {poor[:5]}'
    finally:
        context.close()


@pytest.mark.parametrize('viewport', [DESKTOP, PHONE])
def test_a_long_output_line_is_shown_whole(browser, rendered_page, viewport):
    context = browser.new_context(viewport=viewport)
    try:
        page = Watched(context).open(rendered_page)
        for summary in page.locator('details.answer > summary').all():
            summary.click()
        outputs = page.eval_on_selector_all(
            'pre.output', 'els => els.filter(e => e.checkVisibility()).map(e => '
            '({text: e.textContent, scroll: e.scrollWidth, width: e.clientWidth,'
            ' overflow: getComputedStyle(e).overflowX}))')
        # the page has a line wider than its column (a trainer's summary)
        longest = max(len(line) for o in outputs for line in o['text'].split('\n'))
        assert longest > 100
        cut = [o['text'][:60] for o in outputs if o['scroll'] > o['width'] + 1
               and o['overflow'] not in ('auto', 'scroll')]
        assert cut == []
        # and wider than the column, it wraps rather than hides
        hidden = [o['text'][:60] for o in outputs if o['scroll'] > o['width'] + 1]
        assert hidden == []
    finally:
        context.close()
