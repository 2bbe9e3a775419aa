// hitcounter pages: the `/` page (badge generator, count look-up, top-sites
// empty state) and the `/stats` page (copy buttons, current range).
// Vanilla JS, no libraries, no network access beyond this server. Every part
// checks that its elements exist, so one script serves both pages, and both
// pages work without it (except the generator, which needs it).
//
// Stable element ids on `/` (used by tests/browser.rs):
//   #url            generator input (the page to count)
//   #counting       checkbox: checked = "count views" (/count/tag.svg),
//                   unchecked = "display only" (/nocount/tag.svg)
//   #style          <select>: flat (default) | flat-square | plastic | for-the-badge
//                   | social | pixel (a 1x1 transparent image that only counts)
//   #label          text input, default "hits" (empty = number only)
//   #color          <select>: "" (default, brightgreen) | shields name | "custom"
//   #color-custom   <input type=color>; picking a colour selects "custom"
//   #label-color    <select>: "" (default, grey) | shields name | "custom"
//   #label-color-custom   <input type=color>, as #color-custom
//   #view           <select>: total (default) | today | today-total | visitors
//   #logo           text input: a simple-icons name (or a data: URI); "" = none
//   #logo-color     <select>: "" (default: the brand's or shields' choice) | colour name
//   #abbreviate     checkbox (abbreviate=true)
//   #options-reset  puts every option back to its default
//   #preview        <img>, src = relative /nocount/tag.svg?QUERY (never adds a view)
//   #snippet-html   <code>, textContent = <img src="ORIGIN/count/tag.svg?QUERY" alt="Hits">
//                   (style=pixel: alt="" width="1" height="1", an invisible counter)
//                   (plus referrerpolicy="no-referrer-when-downgrade" when there is no url)
//   #snippet-md     <code>, textContent = ![Hits](ORIGIN/count/tag.svg?QUERY)
//   #snippet-url    <code>, textContent = ORIGIN/count/tag.svg?QUERY
//     QUERY = url=ENC, then only the options that differ from their defaults, in
//     this order: style=S, label=ENC, color=C, labelColor=C, view=V, abbreviate=true,
//     logo=ENC, logoColor=C (logoColor only with a logo).
//     Named colours are sent by name (color=red), custom ones as six hex digits
//     without "#" (color=ff8800). The preview uses exactly the same QUERY.
//   #copy-html, #copy-md, #copy-url   copy buttons; text becomes "Copied!"
//                   (class is-copied) on success, "Press Ctrl+C" if copying failed
//   #lookup-url, #lookup-btn, #lookup-result   look-up box (GET /nocount?url=ENC);
//   #lookup-stats   in a successful result: link "history" to /stats?url=ENC
//   #top-sites      the top-sites table (rows rendered by the server)
// `/?url=U&style=…` pre-fills the generator (same parameter names as the badge).
//
// On `/stats`: any button[data-copy] copies the textContent of the element
// whose id it names; the range links get aria-current for the shown range.
(function () {
  'use strict';

  var PREVIEW_DELAY_MS = 250;
  var FEEDBACK_MS = 2000;
  var PREVIEW_SCALE = 1.4;

  // shields' named colours, as the server resolves them (for the swatches).
  var NAMED = {
    brightgreen: '#44cc11', green: '#97ca00', yellowgreen: '#a4a61d', yellow: '#dfb317',
    orange: '#fe7d37', red: '#e05d44', blue: '#007ec6', grey: '#555555', lightgrey: '#9f9f9f'
  };
  var DEFAULTS = { style: 'flat', label: 'hits', view: 'total', color: 'brightgreen', labelColor: 'grey' };

  function $(id) { return document.getElementById(id); }

  // The public origin the server told us (already unescaped by the DOM).
  function publicOrigin() {
    var o = (document.body.getAttribute('data-origin') || '').trim();
    if (!o || o.indexOf('{{') !== -1) {
      // Template not filled in (page opened as a file during development).
      o = (location.origin && location.origin !== 'null') ? location.origin : 'https://counter.example.com';
    }
    return o.replace(/\/+$/, '');
  }

  // Encode once, like encodeURIComponent, plus !'()* so the value is also safe
  // inside a Markdown link target. The server decodes it exactly once.
  function encodeParam(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function formatCount(text) {
    var n = Number(text);
    if (/^\d+$/.test(text) && Number.isSafeInteger(n)) {
      return n.toLocaleString('en-US');
    }
    return text;
  }

  var ORIGIN = publicOrigin();

  // --------------------------------------------------------------------- copy
  function legacyCopy(text) {
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'sr-only';
    document.body.appendChild(ta);
    var ok = false;
    try {
      ta.select();
      ta.setSelectionRange(0, text.length);
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    return ok;
  }

  function selectContents(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(text); }
      );
    }
    return Promise.resolve(legacyCopy(text));
  }

  function feedback(btn, ok, target) {
    var status = $('copy-status');
    clearTimeout(btn._hcTimer);
    btn.classList.toggle('is-copied', ok);
    btn.classList.toggle('is-failed', !ok);
    btn.textContent = ok ? 'Copied!' : 'Press Ctrl+C';
    if (status) {
      status.textContent = ok ? 'Copied to the clipboard.' : 'Copy failed; the snippet is selected, press Ctrl+C.';
    }
    if (!ok) selectContents(target);
    btn._hcTimer = setTimeout(function () {
      btn.textContent = 'Copy';
      btn.classList.remove('is-copied', 'is-failed');
    }, FEEDBACK_MS);
  }

  // Buttons name their snippet with data-target (`/`) or data-copy (`/stats`).
  Array.prototype.forEach.call(document.querySelectorAll('button[data-target], button[data-copy]'), function (btn) {
    var target = $(btn.getAttribute('data-target') || btn.getAttribute('data-copy'));
    if (!target) return;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      copyText(target.textContent).then(function (ok) { feedback(btn, ok, target); });
    });
  });

  // ---------------------------------------------------------------- generator
  function initGenerator() {
    var urlInput = $('url');
    var counting = $('counting');
    var countingDesc = $('counting-desc');
    var preview = $('preview');
    var previewNote = $('preview-note');
    var snippetHtml = $('snippet-html');
    var snippetMd = $('snippet-md');
    var snippetUrl = $('snippet-url');
    var snippetHint = $('snippet-hint');
    var styleSel = $('style');
    var labelInput = $('label');
    var colorSel = $('color');
    var colorPick = $('color-custom');
    var labelColorSel = $('label-color');
    var labelColorPick = $('label-color-custom');
    var viewSel = $('view');
    var abbreviate = $('abbreviate');
    var logoInput = $('logo');
    var logoColorSel = $('logo-color');
    var resetBtn = $('options-reset');
    var previewTimer = null;
    var previewSeq = 0;

    function currentUrl() { return urlInput.value.trim(); }

    // A colour parameter value, or "" for the default.
    function colorParam(sel, pick, dflt) {
      var v = sel.value;
      if (v === 'custom') {
        var hex = (pick.value || '').replace(/^#/, '').toLowerCase();
        if (!/^[0-9a-f]{6}$/.test(hex) || hex === NAMED[dflt].slice(1)) return '';
        return hex;
      }
      return v === dflt ? '' : v;
    }

    // The badge options that differ from the defaults, as query pairs.
    function optionPairs() {
      var q = [];
      if (styleSel.value !== DEFAULTS.style) q.push('style=' + encodeParam(styleSel.value));
      if (labelInput.value !== DEFAULTS.label) q.push('label=' + encodeParam(labelInput.value));
      var c = colorParam(colorSel, colorPick, DEFAULTS.color);
      if (c) q.push('color=' + encodeParam(c));
      var lc = colorParam(labelColorSel, labelColorPick, DEFAULTS.labelColor);
      if (lc) q.push('labelColor=' + encodeParam(lc));
      if (viewSel.value !== DEFAULTS.view) q.push('view=' + encodeParam(viewSel.value));
      if (abbreviate.checked) q.push('abbreviate=true');
      var logo = logoInput.value.trim();
      if (logo) {
        q.push('logo=' + encodeParam(logo));
        if (logoColorSel.value) q.push('logoColor=' + encodeParam(logoColorSel.value));
      }
      return q;
    }

    function badgeQuery(url) {
      var q = url ? ['url=' + encodeParam(url)] : [];
      q = q.concat(optionPairs());
      return q.length ? '?' + q.join('&') : '';
    }

    function badgeUrl(base, url) {
      var path = base + (counting.checked ? '/count/tag.svg' : '/nocount/tag.svg');
      return path + badgeQuery(url);
    }

    function updateSnippets() {
      var url = currentUrl();
      var src = badgeUrl(ORIGIN, url);
      // Without a URL the badge counts the page from its Referer, and browsers
      // send another site only the origin unless the image asks for more.
      var policy = url ? '' : ' referrerpolicy="no-referrer-when-downgrade"';
      var pixel = styleSel.value === 'pixel';
      var img = pixel ? ' alt="" width="1" height="1"' : ' alt="Hits"';
      snippetHtml.textContent = '<img src="' + src + '"' + img + policy + '>';
      snippetMd.textContent = '![Hits](' + src + ')';
      snippetUrl.textContent = src;
      countingDesc.innerHTML = counting.checked
        ? 'Every load of the badge adds a view (<code>/count/tag.svg</code>).'
        : 'Display only: shows the count without adding a view (<code>/nocount/tag.svg</code>).';
      snippetHint.textContent = url
        ? 'Paste it into your page or README.'
        : 'Without a URL the HTML badge counts the page that embeds it (its full address, from the Referer ' +
          'header that referrerpolicy asks for). Markdown images and GitHub READMEs send no usable Referer: ' +
          'give the URL there.';
      resetBtn.hidden = optionPairs().length === 0;
    }

    function showPreviewNote(text, isError) {
      previewNote.textContent = text;
      previewNote.classList.toggle('is-error', !!isError);
      previewNote.hidden = false;
    }

    function updatePreview() {
      var url = currentUrl();
      var seq = ++previewSeq;
      if (!url) {
        preview.hidden = true;
        preview.removeAttribute('src');
        showPreviewNote('Type a URL to see its badge.', false);
        return;
      }
      var src = 'nocount/tag.svg' + badgeQuery(url);
      preview.onload = function () {
        if (seq !== previewSeq) return;
        if (preview.naturalWidth > 0) {
          preview.style.width = Math.round(preview.naturalWidth * PREVIEW_SCALE) + 'px';
        }
        preview.hidden = false;
        previewNote.hidden = true;
        if (styleSel.value === 'pixel') {
          showPreviewNote('Invisible: a 1\u00d71 transparent image that counts the page.', false);
        }
      };
      preview.onerror = function () {
        if (seq !== previewSeq) return;
        preview.hidden = true;
        showPreviewNote('No badge for these settings.', true);
        // Ask the server why (the same request; its error answer is one line of text).
        fetch(src, { cache: 'no-store', credentials: 'same-origin' })
          .then(function (r) { return r.ok ? '' : r.text(); })
          .then(function (t) {
            if (seq === previewSeq && t.trim()) showPreviewNote('No badge: ' + t.trim(), true);
          })
          .catch(function () {});
      };
      preview.setAttribute('src', src);
    }

    function schedulePreview() {
      clearTimeout(previewTimer);
      previewTimer = setTimeout(updatePreview, PREVIEW_DELAY_MS);
    }

    function onChange() {
      updateSnippets();
      schedulePreview();
    }

    // The swatch next to a colour <select> shows the chosen colour; picking
    // one there switches the <select> to "custom".
    function wireColor(sel, pick, dflt) {
      function syncSwatch() {
        var name = sel.value || dflt;
        if (NAMED[name]) pick.value = NAMED[name];
      }
      sel.addEventListener('change', function () {
        syncSwatch();
        onChange();
      });
      function picked() {
        sel.value = 'custom';
        onChange();
      }
      pick.addEventListener('input', picked);
      pick.addEventListener('change', picked);
      return syncSwatch;
    }

    var syncColor = wireColor(colorSel, colorPick, DEFAULTS.color);
    var syncLabelColor = wireColor(labelColorSel, labelColorPick, DEFAULTS.labelColor);

    urlInput.addEventListener('input', onChange);
    urlInput.addEventListener('change', onChange);
    labelInput.addEventListener('input', onChange);
    labelInput.addEventListener('change', onChange);
    logoInput.addEventListener('input', onChange);
    logoInput.addEventListener('change', onChange);
    logoColorSel.addEventListener('change', onChange);
    counting.addEventListener('change', updateSnippets);
    [styleSel, viewSel, abbreviate].forEach(function (el) {
      el.addEventListener('change', onChange);
    });

    // A colour from the query string: a known name, or hex (with or without #).
    function setColor(sel, pick, value) {
      var v = (value || '').trim().toLowerCase().replace(/^#/, '');
      var aliases = { gray: 'grey', lightgray: 'lightgrey', success: 'brightgreen', important: 'orange',
        critical: 'red', informational: 'blue', inactive: 'lightgrey' };
      v = aliases[v] || v;
      if (/^[0-9a-f]{3}$/.test(v)) v = v.replace(/(.)/g, '$1$1');
      var option = Array.prototype.some.call(sel.options, function (o) { return o.value === v && v !== 'custom'; });
      if (option) {
        sel.value = v;
      } else if (NAMED[v] && sel.options[0].value === '') {
        sel.value = ''; // the default colour, by name
      } else if (/^[0-9a-f]{6}$/.test(v)) {
        sel.value = 'custom';
        pick.value = '#' + v;
      }
    }

    function selectIfKnown(sel, value) {
      if (value && Array.prototype.some.call(sel.options, function (o) { return o.value === value; })) {
        sel.value = value;
      }
    }

    resetBtn.addEventListener('click', function () {
      styleSel.value = DEFAULTS.style;
      labelInput.value = DEFAULTS.label;
      colorSel.value = '';
      labelColorSel.value = '';
      viewSel.value = DEFAULTS.view;
      abbreviate.checked = false;
      logoInput.value = '';
      logoColorSel.value = '';
      syncColor();
      syncLabelColor();
      onChange();
    });

    // /?url=...&style=... pre-fills the generator (and the look-up box).
    var params = new URLSearchParams(location.search);
    var pre = params.get('url');
    if (pre) {
      urlInput.value = pre;
      if ($('lookup-url')) $('lookup-url').value = pre;
    }
    selectIfKnown(styleSel, params.get('style'));
    selectIfKnown(viewSel, params.get('view'));
    if (params.has('label')) labelInput.value = params.get('label').slice(0, 64);
    if (params.get('abbreviate') === 'true') abbreviate.checked = true;
    if (params.has('logo')) logoInput.value = params.get('logo');
    selectIfKnown(logoColorSel, params.get('logoColor'));
    if (params.has('color')) setColor(colorSel, colorPick, params.get('color'));
    if (params.has('labelColor')) setColor(labelColorSel, labelColorPick, params.get('labelColor'));
    // Forms keep their state across reloads; make the swatches agree with it.
    syncColor();
    syncLabelColor();
    updateSnippets();
    updatePreview();
  }

  // ------------------------------------------------------------------ look-up
  function initLookup() {
    var lookupForm = $('lookup-form');
    var lookupInput = $('lookup-url');
    var lookupResult = $('lookup-result');
    var lookupSeq = 0;

    function showLookupError(text) {
      lookupResult.className = 'lookup-result is-error';
      lookupResult.textContent = text;
    }

    function showLookupCount(count, url) {
      lookupResult.className = 'lookup-result is-ok';
      lookupResult.textContent = '';
      var big = document.createElement('div');
      big.className = 'count';
      big.textContent = formatCount(count);
      var unit = document.createElement('small');
      unit.textContent = count === '1' ? ' view' : ' views';
      big.appendChild(unit);
      var forLine = document.createElement('div');
      forLine.className = 'for';
      var forText = document.createElement('span');
      forText.textContent = 'for ' + url;
      var history = document.createElement('a');
      history.id = 'lookup-stats';
      history.className = 'history-link';
      history.href = 'stats?url=' + encodeParam(url);
      history.textContent = 'history';
      forLine.appendChild(forText);
      forLine.appendChild(document.createTextNode(' \u00b7 '));
      forLine.appendChild(history);
      lookupResult.appendChild(big);
      lookupResult.appendChild(forLine);
    }

    function lookup(ev) {
      if (ev) ev.preventDefault();
      var url = lookupInput.value.trim();
      var seq = ++lookupSeq;
      if (!url) {
        showLookupError('Type a URL or site first.');
        lookupInput.focus();
        return;
      }
      lookupResult.className = 'lookup-result is-loading';
      lookupResult.textContent = 'Looking up\u2026';
      fetch('nocount?url=' + encodeParam(url), { cache: 'no-store', credentials: 'same-origin' })
        .then(function (res) {
          return res.text().then(function (body) {
            if (seq !== lookupSeq) return;
            body = body.trim();
            if (res.ok && /^\d+$/.test(body)) {
              showLookupCount(body, url);
            } else if (!res.ok) {
              showLookupError(body || ('The server answered ' + res.status + '.'));
            } else {
              showLookupError('Unexpected answer from the server.');
            }
          });
        })
        .catch(function () {
          if (seq === lookupSeq) showLookupError('Could not reach the server.');
        });
    }

    lookupForm.addEventListener('submit', lookup);
  }

  // -------------------------------------------------------------- top sites
  function initTopTable(body) {
    var rows = body.querySelectorAll('tr');
    if (rows.length === 0) {
      body.textContent = '';
      body.parentNode.parentNode.classList.add('is-empty');
    }
    Array.prototype.forEach.call(body.querySelectorAll('td:last-child'), function (td) {
      td.textContent = formatCount(td.textContent.trim());
    });
  }

  function initTopSites() {
    initTopTable($('top-body'));
    if ($('pages-body')) initTopTable($('pages-body'));
    var sites = (document.body.getAttribute('data-top-n') || '').trim();
    var pages = (document.body.getAttribute('data-pages-n') || '').trim();
    if (pages === '0' && $('pages-part')) $('pages-part').hidden = true;
    if (sites === '0') {
      $('top-title').hidden = true;
      $('top-sites').parentNode.hidden = true;
    }
    if (sites === '0' && (pages === '0' || pages === '')) {
      $('top-section').hidden = true;
      $('top-section').parentNode.classList.add('single');
    }
  }

  // ----------------------------------------------------------------- /stats
  function initStats() {
    var nav = $('range');
    var days = (nav.getAttribute('data-days') || '').trim();
    Array.prototype.forEach.call(nav.querySelectorAll('a[data-n]'), function (a) {
      if (a.getAttribute('data-n') === days) a.setAttribute('aria-current', 'page');
    });
  }

  if ($('url') && $('snippet-html')) initGenerator();
  if ($('lookup-form')) initLookup();
  if ($('top-body')) initTopSites();
  if ($('range')) initStats();
})();
