/* Reading the book: a copy button on every code block, and the book's
 * table of contents folded on a narrow screen.
 *
 * Copy: each code block (.cell .highlight) gets a button that puts its
 * code on the clipboard: the code only, as the reader sees it in the
 * selected tab (the buttons of the hidden tabs are hidden with them), no
 * output. Its labels come from the page (<body data-label-copy...>), so a
 * translated edition has them in its language.
 *
 * Contents: the book's table of contents is a <details>, open in the page
 * (and without this script); on a phone-width screen it starts folded.
 */
(function () {
  'use strict';

  var NARROW = '(max-width: 63.999rem)';  // book.css's sidebar breakpoint

  /* ---------------------------------------------------------- copy */

  function label(name, fallback) {
    return document.body.getAttribute('data-label-' + name) || fallback;
  }

  /* The clipboard API where the page may use it, else a selected
     textarea and the copy command. */
  function writeClipboard(text) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text).catch(function () {
        return copyBySelection(text);
      });
    }
    return copyBySelection(text);
  }

  function copyBySelection(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      var done = false;
      try {
        done = document.execCommand('copy');
      } catch (error) {
        done = false;
      }
      document.body.removeChild(area);
      if (done) {
        resolve();
      } else {
        reject(new Error('copy refused'));
      }
    });
  }

  function codeOf(block) {
    var pre = block.querySelector('pre');
    return pre ? pre.textContent.replace(/\n$/, '') : '';
  }

  function addCopyButton(block) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-button';
    button.textContent = label('copy', 'Copy');
    button.title = label('copy-title', 'Copy this code');
    var reset = null;
    button.addEventListener('click', function () {
      writeClipboard(codeOf(block)).then(function () {
        button.textContent = label('copied', 'Copied');
        button.classList.add('copied');
        window.clearTimeout(reset);
        reset = window.setTimeout(function () {
          button.textContent = label('copy', 'Copy');
          button.classList.remove('copied');
        }, 2000);
      }, function () {
        button.textContent = label('copy', 'Copy');
      });
    });
    block.classList.add('has-copy-button');
    block.insertBefore(button, block.firstChild);
  }

  function setUpCopyButtons() {
    document.querySelectorAll('.cell > .highlight').forEach(addCopyButton);
  }

  /* ---------------------------------------------------------- contents */

  function setUpContents() {
    var details = document.querySelector('#book-toc > details');
    if (details && window.matchMedia && window.matchMedia(NARROW).matches) {
      details.open = false;
    }
  }

  function start() {
    setUpCopyButtons();
    setUpContents();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
