// hitcounter home page: badge generator, count look-up, top-sites empty state.
// Vanilla JS, no libraries, no network access beyond this server.
//
// Stable element ids (used by tests/browser.rs):
//   #url            generator input (the page to count)
//   #counting       checkbox: checked = "count views" (/count/tag.svg),
//                   unchecked = "display only" (/nocount/tag.svg)
//   #preview        <img>, src = relative /nocount/tag.svg?url=ENC (never adds a view)
//   #snippet-html   <code>, textContent = <img src="ORIGIN/count/tag.svg?url=ENC" alt="Hits">
//   #snippet-md     <code>, textContent = ![Hits](ORIGIN/count/tag.svg?url=ENC)
//   #snippet-url    <code>, textContent = ORIGIN/count/tag.svg?url=ENC
//   #copy-html, #copy-md, #copy-url   copy buttons; text becomes "Copied!"
//                   (class is-copied) on success, "Press Ctrl+C" if copying failed
//   #lookup-url, #lookup-btn, #lookup-result   look-up box (GET /nocount?url=ENC)
//   #top-sites      the top-sites table (rows rendered by the server)
(function () {
  'use strict';

  var PREVIEW_DELAY_MS = 250;
  var FEEDBACK_MS = 2000;

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

  // ---------------------------------------------------------------- generator
  var urlInput = $('url');
  var counting = $('counting');
  var countingDesc = $('counting-desc');
  var preview = $('preview');
  var previewNote = $('preview-note');
  var snippetHtml = $('snippet-html');
  var snippetMd = $('snippet-md');
  var snippetUrl = $('snippet-url');
  var snippetHint = $('snippet-hint');
  var previewTimer = null;
  var previewSeq = 0;

  function currentUrl() { return urlInput.value.trim(); }

  function badgeUrl(base, url) {
    var path = base + (counting.checked ? '/count/tag.svg' : '/nocount/tag.svg');
    return url ? path + '?url=' + encodeParam(url) : path;
  }

  function updateSnippets() {
    var url = currentUrl();
    var src = badgeUrl(ORIGIN, url);
    snippetHtml.textContent = '<img src="' + src + '" alt="Hits">';
    snippetMd.textContent = '![Hits](' + src + ')';
    snippetUrl.textContent = src;
    countingDesc.innerHTML = counting.checked
      ? 'Every load of the badge adds a view (<code>/count/tag.svg</code>).'
      : 'Display only: shows the count without adding a view (<code>/nocount/tag.svg</code>).';
    snippetHint.textContent = url
      ? 'Paste it into your page or README.'
      : 'Without a URL the badge counts the page that embeds it, from the Referer header. ' +
        'GitHub READMEs send no Referer, so give the URL there.';
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
    var src = '/nocount/tag.svg?url=' + encodeParam(url);
    preview.onload = function () {
      if (seq !== previewSeq) return;
      preview.hidden = false;
      previewNote.hidden = true;
    };
    preview.onerror = function () {
      if (seq !== previewSeq) return;
      preview.hidden = true;
      showPreviewNote('No badge for this URL.', true);
      // Ask the server why (the same request as text, still without counting).
      fetch('/nocount?url=' + encodeParam(url), { cache: 'no-store', credentials: 'same-origin' })
        .then(function (r) { return r.text(); })
        .then(function (t) {
          if (seq === previewSeq && t.trim()) showPreviewNote('No badge for this URL: ' + t.trim(), true);
        })
        .catch(function () {});
    };
    preview.setAttribute('src', src);
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(updatePreview, PREVIEW_DELAY_MS);
  }

  function onUrlInput() {
    updateSnippets();
    schedulePreview();
  }

  urlInput.addEventListener('input', onUrlInput);
  urlInput.addEventListener('change', onUrlInput);
  counting.addEventListener('change', updateSnippets);

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
    status.textContent = ok ? 'Copied to the clipboard.' : 'Copy failed; the snippet is selected, press Ctrl+C.';
    if (!ok) selectContents(target);
    btn._hcTimer = setTimeout(function () {
      btn.textContent = 'Copy';
      btn.classList.remove('is-copied', 'is-failed');
    }, FEEDBACK_MS);
  }

  [$('copy-html'), $('copy-md'), $('copy-url')].forEach(function (btn) {
    btn.addEventListener('click', function () {
      var target = $(btn.getAttribute('data-target'));
      copyText(target.textContent).then(function (ok) { feedback(btn, ok, target); });
    });
  });

  // ------------------------------------------------------------------ look-up
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
    forLine.textContent = 'for ' + url;
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
    fetch('/nocount?url=' + encodeParam(url), { cache: 'no-store', credentials: 'same-origin' })
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

  // -------------------------------------------------------------- top sites
  (function () {
    var body = $('top-body');
    var rows = body.querySelectorAll('tr');
    if (rows.length === 0) {
      body.textContent = '';
      body.parentNode.parentNode.classList.add('is-empty');
    }
    Array.prototype.forEach.call(body.querySelectorAll('td:last-child'), function (td) {
      td.textContent = formatCount(td.textContent.trim());
    });
    var n = (document.body.getAttribute('data-top-n') || '').trim();
    if (n === '0') {
      $('top-section').hidden = true;
      $('top-section').parentNode.classList.add('single');
    }
  })();

  // -------------------------------------------------------------------- init
  // /?url=... pre-fills the generator and the look-up box.
  var params = new URLSearchParams(location.search);
  var pre = params.get('url');
  if (pre) {
    urlInput.value = pre;
    lookupInput.value = pre;
  }
  updateSnippets();
  updatePreview();
})();
