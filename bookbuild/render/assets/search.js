/* The book's search: the box in the page header finds words in the prose,
 * headings, code and outputs of every chapter of the edition being read.
 *
 * The documents come from the edition's search-index.js (written at build
 * time by bookbuild/render/search.py), loaded with a <script> tag on the
 * reader's first query, as is MiniSearch (static/minisearch.js, vendored
 * from npm): both work from file://, and no request leaves the machine.
 *
 * Terms are normalised the same way when indexed and when asked for:
 * lower case, diacritics dropped (NFD, combining marks removed, đ -> d),
 * so "tang truong" finds "tăng trưởng". A result links to its section, or
 * to its tab group with `framework`, which selects that tab (book.js
 * remembers it); `highlight` names the terms to mark on the page, `q` the
 * query as typed: a word typed with its diacritics marks only itself
 * ("tăng" marks no "tầng"), one typed without marks every spelling.
 *
 * Also loaded by the build's tests under Node, where it exports its pure
 * functions instead of starting.
 */
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module === 'object' && module.exports) {
    module.exports = api;
  } else {
    root.D2LSearch = api;
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', api.start);
    } else {
      api.start();
    }
  }
}(this, function () {
  'use strict';

  var MAX_RESULTS = 20;
  var SNIPPET_WORDS = 14;
  // A word is a run of letters, digits and marks: code splits at dots and
  // underscores too, so `nn.Dense` is found by `dense`.
  var WORD = /[\p{L}\p{N}\p{M}]+/gu;
  var SEPARATORS = /[^\p{L}\p{N}\p{M}]+/u;
  var HAS_WORD = /[\p{L}\p{N}]/u;
  var FIELDS = ['t', 'x', 'c', 'o'];

  function normalise(term) {
    return term.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()
      .replace(/đ/g, 'd');
  }

  function tokenize(text) {
    return text.split(SEPARATORS).filter(function (word) { return word; });
  }

  function createIndex(MiniSearch, data) {
    var search = new MiniSearch({
      fields: FIELDS,
      idField: 'id',
      tokenize: tokenize,
      processTerm: function (term) { return normalise(term); },
      searchOptions: {
        boost: {t: 3, x: 1.5, c: 1, o: 0.5},
        combineWith: 'AND',
        prefix: function (term, index, terms) { return index === terms.length - 1; },
        // One typo in a long word; never in a short one: without its
        // diacritics, a Vietnamese syllable is one letter from many others.
        fuzzy: function (term) { return term.length > 6 ? 1 : false; }
      }
    });
    search.addAll(data.documents.map(function (doc, id) {
      return {id: id, t: doc.t, x: doc.x || '', c: doc.c || '', o: doc.o || ''};
    }));
    return search;
  }

  function normalisedWords(text) {
    return ' ' + tokenize(text || '').map(normalise).join(' ') + ' ';
  }

  /* Whether the document holds the query's words in a row (the last one
     may be the start of a word, as the search takes it). */
  function holdsPhrase(doc, phrase) {
    if (doc.words === undefined) {
      Object.defineProperty(doc, 'words', {
        value: FIELDS.map(function (field) { return normalisedWords(doc[field]); }).join('|')
      });
    }
    return doc.words.indexOf(phrase) >= 0;
  }

  /* Results, best first: {doc, score, terms} with the document of the
     index and the (normalised) terms of it that matched. A document that
     has the query's words as a phrase ranks above those that only have
     them apart. */
  function find(search, data, query) {
    var words = tokenize(query).map(normalise);
    if (!words.length) {
      return [];
    }
    var phrase = ' ' + words.join(' ');
    return search.search(query).map(function (hit) {
      var doc = data.documents[hit.id];
      var score = words.length > 1 && holdsPhrase(doc, phrase) ? hit.score * 3 : hit.score;
      return {doc: doc, score: score, terms: hit.terms,
              match: matcher(hit.terms, query)};
    }).sort(function (a, b) { return b.score - a.score; }).slice(0, MAX_RESULTS);
  }

  function lower(word) {
    return word.normalize('NFC').toLowerCase();
  }

  /* What to mark: the (normalised) terms that matched; among them, those
     the reader typed with diacritics must be spelled as typed. */
  function matcher(terms, query) {
    var exact = {};
    tokenize(query || '').forEach(function (word) {
      var folded = normalise(word);
      if (folded !== word.toLowerCase()) {
        exact[folded] = lower(word);
      }
    });
    return {terms: terms, exact: exact,
            words: tokenize(query || '').map(normalise)};
  }

  function isHit(word, match) {
    var folded = normalise(word);
    if (match.terms.indexOf(folded) < 0) {
      return false;
    }
    return !Object.prototype.hasOwnProperty.call(match.exact, folded)
      || match.exact[folded] === lower(word);
  }

  /* Where the query's words stand in a row in `words` (the last may be
     the start of a word), or -1. */
  function phraseAt(words, match) {
    var starts = phraseStarts(words, match);
    return starts.length ? starts[0] : -1;
  }

  /* Every place the query's words stand in a row in `words`
     ({folded, hit}), each a hit (spelled as typed, where typed with
     diacritics). */
  function phraseStarts(words, match) {
    var query = match.words;
    var starts = [];
    if (query.length < 2) { return starts; }
    for (var i = 0; i + query.length <= words.length; i++) {
      var all = query.every(function (word, j) {
        var found = words[i + j];
        return found.hit && (j === query.length - 1
          ? found.folded.indexOf(word) === 0 : found.folded === word);
      });
      if (all) { starts.push(i); }
    }
    return starts;
  }

  function wordsOf(text, match) {
    var words = [];
    var found;
    WORD.lastIndex = 0;
    while ((found = WORD.exec(text)) !== null) {
      words.push({start: found.index, end: found.index + found[0].length,
                  hit: isHit(found[0], match), folded: normalise(found[0])});
    }
    return words;
  }

  /* Pieces of `text` around the query's phrase, else its first hit:
     [{text, hit}], at most SNIPPET_WORDS words, with '…' where text was
     cut. */
  function snippet(text, match) {
    var words = wordsOf(text, match);
    var first = phraseAt(words, match);
    for (var i = 0; first < 0 && i < words.length; i++) {
      if (words[i].hit) { first = i; }
    }
    first = Math.max(first, 0);
    var from = Math.max(0, first - 4);
    var to = Math.min(words.length, from + SNIPPET_WORDS);
    if (!words.length) {
      return [{text: text.slice(0, 120), hit: false}];
    }
    var pieces = [];
    var position = words[from].start;
    if (from > 0) { pieces.push({text: '… ', hit: false}); }
    for (var w = from; w < to; w++) {
      if (words[w].start > position) {
        pieces.push({text: text.slice(position, words[w].start), hit: false});
      }
      pieces.push({text: text.slice(words[w].start, words[w].end), hit: words[w].hit});
      position = words[w].end;
    }
    if (to < words.length) { pieces.push({text: ' …', hit: false}); }
    return pieces;
  }

  /* The field of a document to quote: the first that holds a hit. */
  function quotedField(doc, match) {
    var fields = ['x', 'c', 'o', 't'];
    for (var i = 0; i < fields.length; i++) {
      var text = doc[fields[i]] || '';
      var found = (text.match(WORD) || []).some(function (word) { return isHit(word, match); });
      if (found) { return text; }
    }
    return doc.x || doc.c || doc.o || '';
  }

  function targetHref(data, result, query) {
    var doc = result.doc;
    var params = 'highlight=' + encodeURIComponent(result.terms.join(' '))
      + '&q=' + encodeURIComponent(query);
    if (doc.f) {
      params += '&framework=' + encodeURIComponent(doc.f);
    }
    return data.pages[doc.p].name + '?' + params + '#' + encodeURIComponent(doc.a);
  }

  /* ---------------------------------------------------------- the box */

  var state = {loading: null, search: null, data: null};

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(script);
    });
  }

  function loadIndex(box) {
    if (!state.loading) {
      state.loading = Promise.all([
        loadScript(box.dataset.index), loadScript(box.dataset.library)
      ]).then(function () {
        state.data = window.D2L_SEARCH_INDEX;
        state.search = createIndex(window.MiniSearch, state.data);
      });
    }
    return state.loading;
  }

  function piecesInto(element, pieces) {
    pieces.forEach(function (piece) {
      if (piece.hit) {
        var mark = document.createElement('mark');
        mark.textContent = piece.text;
        element.appendChild(mark);
      } else {
        element.appendChild(document.createTextNode(piece.text));
      }
    });
  }

  function showResults(box, list, query) {
    var results = find(state.search, state.data, query);
    list.textContent = '';
    if (!tokenize(query).length) {
      list.hidden = true;
      return;
    }
    list.hidden = false;
    if (!results.length) {
      var none = document.createElement('li');
      none.className = 'search-none';
      none.textContent = box.dataset.noResults;
      list.appendChild(none);
      return;
    }
    results.forEach(function (result) {
      var doc = result.doc;
      var item = document.createElement('li');
      var link = document.createElement('a');
      link.href = targetHref(state.data, result, query);
      link.className = 'search-result';
      if (doc.f) { link.dataset.framework = doc.f; }
      var where = document.createElement('span');
      where.className = 'search-where';
      piecesInto(where, [{text: state.data.pages[doc.p].title + ' › ', hit: false}]
        .concat(snippet(doc.t, result.match)));
      if (doc.f !== undefined) {
        var label = doc.f ? state.data.frameworks[doc.f] || doc.f : '';
        where.appendChild(document.createTextNode(' · ' + box.dataset.codeLabel
          + (label ? ' (' + label + ')' : '')));
      }
      var quote = document.createElement('span');
      quote.className = 'search-snippet';
      piecesInto(quote, snippet(quotedField(doc, result.match), result.match));
      link.appendChild(where);
      link.appendChild(quote);
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  function setUpBox(box) {
    var input = box.querySelector('input[type="search"]');
    var list = box.querySelector('.search-results');
    var pending = null;
    function update() {
      loadIndex(box).then(function () { showResults(box, list, input.value); },
        function (error) {
          list.hidden = false;
          list.textContent = '';
          var item = document.createElement('li');
          item.className = 'search-none';
          item.textContent = String(error.message);
          list.appendChild(item);
        });
    }
    input.addEventListener('focus', function () { loadIndex(box).catch(function () {}); });
    input.addEventListener('input', function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(update, 120);
    });
    input.addEventListener('keydown', function (event) {
      if (event.key === 'Enter') {
        window.clearTimeout(pending);
        loadIndex(box).then(function () {
          showResults(box, list, input.value);
          var first = list.querySelector('a');
          if (first) { window.location.href = first.href; }
        });
        event.preventDefault();
      } else if (event.key === 'Escape') {
        list.hidden = true;
      } else if (event.key === 'ArrowDown') {
        var first = list.querySelector('a');
        if (first) { first.focus(); event.preventDefault(); }
      }
    });
    list.addEventListener('keydown', function (event) {
      var links = Array.prototype.slice.call(list.querySelectorAll('a'));
      var index = links.indexOf(document.activeElement);
      if (index < 0) { return; }
      if (event.key === 'ArrowDown' && index + 1 < links.length) {
        links[index + 1].focus(); event.preventDefault();
      } else if (event.key === 'ArrowUp') {
        (index ? links[index - 1] : input).focus(); event.preventDefault();
      } else if (event.key === 'Escape') {
        list.hidden = true; input.focus();
      }
    });
    document.addEventListener('click', function (event) {
      if (!box.contains(event.target)) { list.hidden = true; }
    });
    box.hidden = false;
  }

  /* ---------------------------------------------------------- the target */

  var UNMARKED = 'script, style, svg, .katex, .math, mark, .tab-list, button, input';

  /* Marks the words of <main> that `match` takes (see isHit): where the
     page has the query's words in a row, only those phrases. */
  function highlightTerms(match) {
    var main = document.querySelector('main');
    if (!main || !match.terms.length) { return; }
    var walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentElement;
        return parent && !parent.closest(UNMARKED) && HAS_WORD.test(node.data)
          ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      }
    });
    var nodes = [];
    while (walker.nextNode()) {
      var words = wordsOf(walker.currentNode.data, match);
      nodes.push({node: walker.currentNode, words: words,
                  phrases: phraseStarts(words, match)});
    }
    var phrased = nodes.some(function (item) { return item.phrases.length; });
    nodes.forEach(function (item) {
      var node = item.node;
      var text = node.data;
      var marked = item.words.map(function (word) { return !phrased && word.hit; });
      item.phrases.forEach(function (start) {
        for (var j = 0; j < match.words.length; j++) { marked[start + j] = true; }
      });
      var pieces = [];
      var position = 0;
      item.words.forEach(function (word, i) {
        if (marked[i]) {
          pieces.push({text: text.slice(position, word.start), hit: false});
          pieces.push({text: text.slice(word.start, word.end), hit: true});
          position = word.end;
        }
      });
      if (!pieces.length) { return; }
      pieces.push({text: text.slice(position), hit: false});
      var fragment = document.createDocumentFragment();
      pieces.forEach(function (piece) {
        if (piece.hit) {
          var mark = document.createElement('mark');
          mark.className = 'search-hit';
          mark.textContent = piece.text;
          fragment.appendChild(mark);
        } else if (piece.text) {
          fragment.appendChild(document.createTextNode(piece.text));
        }
      });
      node.parentNode.replaceChild(fragment, node);
    });
  }

  /* Arrived from a result: select the framework's tab of the target tab
     group (book.js switches every group and remembers the choice), mark
     the terms and bring the first mark of the target into view. */
  function showTarget() {
    var params = new URLSearchParams(window.location.search);
    var terms = (params.get('highlight') || '').split(' ').filter(Boolean);
    var framework = params.get('framework');
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (framework && target) {
      var tab = target.querySelector('[role="tab"][data-framework="' + framework + '"]');
      if (tab) { tab.click(); }
    }
    var query = params.get('q') || '';
    highlightTerms(matcher(terms, query));
    var box = document.querySelector('.book-search input[type="search"]');
    if (box && query) { box.value = query; }
    if (!target) { return; }
    var scope = target.querySelector('[role="tabpanel"].active') || target;
    var mark = scope.querySelector('mark.search-hit');
    var marks = Array.prototype.slice.call(document.querySelectorAll('mark.search-hit'));
    if (!mark && target.matches('h1, h2, h3, h4')) {
      // A section: the first mark after its heading.
      mark = marks.filter(function (m) {
        return target.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING;
      })[0];
    }
    (mark || target).scrollIntoView({block: 'center'});
  }

  function start() {
    document.querySelectorAll('.book-search').forEach(setUpBox);
    if (window.location.search) {
      showTarget();
    }
  }

  return {normalise: normalise, tokenize: tokenize, createIndex: createIndex,
          find: find, matcher: matcher, isHit: isHit, snippet: snippet,
          targetHref: targetHref, start: start};
}));
