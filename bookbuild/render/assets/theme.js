/* The book's colour theme, applied before the page is drawn (this script
 * sits in <head>), so a dark page never flashes light.
 *
 * Until the reader chooses, the page follows the system's setting
 * (prefers-color-scheme); the header's toggle then switches between light
 * and dark, and the choice is kept in localStorage, like the framework
 * tab's, so it holds across pages and reloads. The <html> element's
 * data-theme says which theme shows; book.css keys its colours on it.
 */
(function () {
  'use strict';

  var STORAGE_KEY = 'd2l-book-theme';
  var root = document.documentElement;
  var system = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

  function storedTheme() {
    try {
      var theme = window.localStorage.getItem(STORAGE_KEY);
      return theme === 'dark' || theme === 'light' ? theme : null;
    } catch (error) {
      return null;  // storage disabled: the system's setting it is
    }
  }

  function currentTheme() {
    return storedTheme() || (system && system.matches ? 'dark' : 'light');
  }

  function toggles() {
    return document.querySelectorAll('.theme-toggle');
  }

  function apply(theme) {
    root.setAttribute('data-theme', theme);
    Array.prototype.forEach.call(toggles(), function (button) {
      button.setAttribute('aria-pressed', theme === 'dark' ? 'true' : 'false');
    });
  }

  function choose(theme) {
    try {
      window.localStorage.setItem(STORAGE_KEY, theme);
    } catch (error) {
      // Storage disabled: the choice holds on this page only.
    }
    apply(theme);
  }

  apply(currentTheme());

  function setUpToggle() {
    Array.prototype.forEach.call(toggles(), function (button) {
      button.addEventListener('click', function () {
        choose(root.getAttribute('data-theme') === 'dark' ? 'light' : 'dark');
      });
    });
    apply(currentTheme());
  }

  // The system's setting changed and the reader has chosen nothing: follow.
  if (system && system.addEventListener) {
    system.addEventListener('change', function () {
      if (!storedTheme()) {
        apply(currentTheme());
      }
    });
  }
  // Another page of the book changed the choice: follow it.
  window.addEventListener('storage', function (event) {
    if (event.key === STORAGE_KEY) {
      apply(currentTheme());
    }
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setUpToggle);
  } else {
    setUpToggle();
  }
}());
