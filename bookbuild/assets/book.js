/* The book's pages in the browser: framework tabs, answers and math.
 *
 * Tabs: every group on a page switches together, matched by framework name
 * (data-framework), never by position; the choice is kept in localStorage,
 * so it holds across reloads and pages (all file:// pages share it).
 * Without this script every panel stays visible under its framework's name.
 *
 * Values: a number in the prose that the frameworks measured differently
 * (.glue, one .glue-value per framework) shows the selected tab's.
 *
 * Answers: worked answers are folded <details>; printing opens them.
 *
 * Editions: the language switch takes the reader to the same section of
 * the same chapter in the other language (headings keep their ids across
 * editions); the framework choice is shared, since the key is.
 *
 * Math: the page holds TeX in .math elements; KaTeX (bundled, local)
 * typesets it. No request leaves the page.
 */
(function () {
  'use strict';

  var STORAGE_KEY = 'd2l-book-framework';

  function storedFramework() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null;  // storage disabled: the default framework it is
    }
  }

  function storeFramework(framework) {
    try {
      window.localStorage.setItem(STORAGE_KEY, framework);
    } catch (error) {
      // Storage disabled: the choice still holds on this page.
    }
  }

  function groups() {
    return Array.prototype.slice.call(
      document.querySelectorAll('[data-tab-group]'));
  }

  function tabsOf(group) {
    return Array.prototype.slice.call(
      group.querySelectorAll(':scope > .tab-list > [role="tab"]'));
  }

  function panelsOf(group) {
    return Array.prototype.slice.call(
      group.querySelectorAll(':scope > [role="tabpanel"]'));
  }

  function glueValues() {
    return Array.prototype.slice.call(document.querySelectorAll('.glue'));
  }

  function valuesOf(glue) {
    return Array.prototype.slice.call(
      glue.querySelectorAll(':scope > .glue-value'));
  }

  /* Show the value `framework` measured; a value without one keeps
     showing what it showed. */
  function showValue(glue, framework) {
    var values = valuesOf(glue);
    if (!values.some(function (value) { return value.dataset.framework === framework; })) {
      return;
    }
    values.forEach(function (value) {
      value.classList.toggle('active', value.dataset.framework === framework);
    });
  }

  function chooserButtons() {
    return Array.prototype.slice.call(
      document.querySelectorAll('.framework-chooser [data-framework]'));
  }

  /* Show `framework` in one group; false when the group has no such tab
     (it then keeps showing what it showed). */
  function showInGroup(group, framework) {
    var tabs = tabsOf(group);
    if (!tabs.some(function (tab) { return tab.dataset.framework === framework; })) {
      return false;
    }
    tabs.forEach(function (tab) {
      var selected = tab.dataset.framework === framework;
      tab.setAttribute('aria-selected', selected ? 'true' : 'false');
      tab.tabIndex = selected ? 0 : -1;
    });
    panelsOf(group).forEach(function (panel) {
      panel.classList.toggle('active', panel.dataset.framework === framework);
    });
    return true;
  }

  /* Switch every group on the page. Panels above `anchor` change height
     when they switch; the page scrolls so `anchor` (the tab the reader
     used) stays where it was on the screen. */
  function showFramework(framework, anchor) {
    var before = anchor ? anchor.getBoundingClientRect().top : 0;
    groups().forEach(function (group) { showInGroup(group, framework); });
    glueValues().forEach(function (glue) { showValue(glue, framework); });
    chooserButtons().forEach(function (button) {
      var pressed = button.dataset.framework === framework;
      button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
    });
    document.documentElement.setAttribute('data-framework', framework);
    if (anchor) {
      window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    }
  }

  function choose(framework, anchor) {
    storeFramework(framework);
    showFramework(framework, anchor);
  }

  function knownFrameworks() {
    var names = {};
    groups().forEach(function (group) {
      tabsOf(group).forEach(function (tab) { names[tab.dataset.framework] = true; });
    });
    chooserButtons().forEach(function (button) { names[button.dataset.framework] = true; });
    glueValues().forEach(function (glue) {
      valuesOf(glue).forEach(function (value) { names[value.dataset.framework] = true; });
    });
    return names;
  }

  /* The stored choice, or the first framework the page offers. */
  function initialFramework() {
    var stored = storedFramework();
    if (stored && knownFrameworks()[stored]) {
      return stored;
    }
    var first = document.querySelector('[data-tab-group] [role="tab"], .framework-chooser [data-framework], .glue > .glue-value');
    return first ? first.dataset.framework : null;
  }

  var KEY_MOVES = {ArrowRight: 1, ArrowLeft: -1, Home: 'first', End: 'last'};

  /* ARIA tabs pattern: arrows, Home and End move and select; the group
     is one Tab stop (roving tabindex). */
  function onTabKey(event, tabs, index) {
    var move = KEY_MOVES[event.key];
    if (move === undefined) {
      return;
    }
    event.preventDefault();
    var next = move === 'first' ? 0 : move === 'last' ? tabs.length - 1
      : (index + move + tabs.length) % tabs.length;
    var target = tabs[next];
    choose(target.dataset.framework, target);
    target.focus();
  }

  function enhanceGroup(group) {
    var tabs = tabsOf(group);
    if (!tabs.length) {
      return;
    }
    tabs.forEach(function (tab, index) {
      tab.addEventListener('click', function () { choose(tab.dataset.framework, tab); });
      tab.addEventListener('keydown', function (event) { onTabKey(event, tabs, index); });
    });
    // Before any choice applies, a group shows its first tab.
    showInGroup(group, tabs[0].dataset.framework);
    group.classList.add('tabs-ready');
  }

  function setUpTabs() {
    groups().forEach(enhanceGroup);
    glueValues().forEach(function (glue) {
      var values = valuesOf(glue);
      if (values.length) {
        showValue(glue, values[0].dataset.framework);
        glue.classList.add('glue-ready');
      }
    });
    chooserButtons().forEach(function (button) {
      button.addEventListener('click', function () { choose(button.dataset.framework, null); });
    });
    var framework = initialFramework();
    if (framework) {
      showFramework(framework, null);
    }
    // Another tab or window of the book changed the choice: follow it.
    window.addEventListener('storage', function (event) {
      if (event.key === STORAGE_KEY && event.newValue) {
        showFramework(event.newValue, null);
      }
    });
    // Back/forward restores a page from memory as it was: re-apply.
    window.addEventListener('pageshow', function (event) {
      var stored = storedFramework();
      if (event.persisted && stored) {
        showFramework(stored, null);
      }
    });
  }

  /* ---------------------------------------------------------- math */

  var macros = {};  // shared, so a \gdef in one formula serves the next

  function stripDelimiters(tex) {
    var match = /^\\[\(\[]([\s\S]*)\\[\)\]]$/.exec(tex);
    return match ? match[1] : tex;
  }

  function typesetMath() {
    if (!window.katex) {
      return;  // the TeX source stays on the page, readable
    }
    document.querySelectorAll('.math').forEach(function (element) {
      var tex = stripDelimiters(element.textContent.trim());
      try {
        window.katex.render(tex, element, {
          displayMode: element.classList.contains('math-display'),
          throwOnError: false,
          macros: macros
        });
      } catch (error) {
        element.classList.add('math-error');
        element.title = String(error);
      }
    });
    // LaTeX that code printed (text/latex outputs) is found by delimiters.
    if (window.renderMathInElement) {
      document.querySelectorAll('.output-latex').forEach(function (element) {
        window.renderMathInElement(element, {
          delimiters: [
            {left: '$$', right: '$$', display: true},
            {left: '\\[', right: '\\]', display: true},
            {left: '$', right: '$', display: false},
            {left: '\\(', right: '\\)', display: false}
          ],
          throwOnError: false,
          macros: macros
        });
      });
    }
  }

  /* Inline formulas KaTeX cannot break (a \left...\right group, say) may
     be wider than a phone's column: those scroll inside themselves. */
  function markWideMath() {
    document.querySelectorAll('.math-inline').forEach(function (element) {
      element.classList.remove('math-wide');
      var column = element.parentElement.clientWidth;
      if (column && element.getBoundingClientRect().width > column) {
        element.classList.add('math-wide');
      }
    });
  }

  /* ---------------------------------------------------------- editions */

  /* The id of the section the reader is in: the last heading (or answer)
     whose top is above a fifth of the window's height. */
  function currentSection() {
    var marks = document.querySelectorAll(
      'main h1[id], main h2[id], main h3[id], main h4[id], main details.answer[id]');
    var limit = window.innerHeight / 5;
    var found = null;
    Array.prototype.forEach.call(marks, function (mark) {
      var box = mark.getBoundingClientRect();
      if (box.height > 0 && box.top <= limit) {
        found = mark.id;
      }
    });
    return found;
  }

  /* A link to a worked answer (or into one) unfolds it: the language
     switch lands there when the reader was reading that answer. */
  function openTargetAnswer() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === 'DETAILS' && node.classList.contains('answer')) {
        node.open = true;
      }
    }
    if (target && target.scrollIntoView) {
      target.scrollIntoView();
    }
  }

  function setUpLanguageSwitch() {
    document.querySelectorAll('[data-language-switch]').forEach(function (link) {
      link.addEventListener('click', function () {
        var section = currentSection();
        var base = link.getAttribute('href').split('#')[0];
        link.setAttribute('href', section ? base + '#' + section : base);
      });
    });
  }

  /* ---------------------------------------------------------- answers */

  /* Printing shows every worked answer: the folded ones are opened just
     before printing and folded again afterwards. */
  function setUpAnswers() {
    var openedForPrint = [];
    window.addEventListener('beforeprint', function () {
      document.querySelectorAll('details.answer:not([open])').forEach(function (details) {
        details.open = true;
        openedForPrint.push(details);
      });
    });
    window.addEventListener('afterprint', function () {
      openedForPrint.forEach(function (details) { details.open = false; });
      openedForPrint = [];
    });
  }

  function start() {
    setUpTabs();
    setUpAnswers();
    setUpLanguageSwitch();
    typesetMath();
    if (window.location.hash) {
      openTargetAnswer();  // after typesetting, which moves things
    }
    window.addEventListener('hashchange', openTargetAnswer);
    markWideMath();
    var pending = null;
    window.addEventListener('resize', function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(markWideMath, 150);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
