//! Real-browser test of the `/` page: headless Chromium driven through
//! chromedriver's W3C WebDriver HTTP API (plain JSON over `TcpStream`, no
//! WebDriver crate), against the real binary on a loopback port.
//!
//! Needs Debian's `chromium` and `chromium-driver` (plus `fonts-dejavu-core`
//! for readable screenshots). When they are missing the test FAILS; set
//! `HITCOUNTER_SKIP_BROWSER=1` to skip it on purpose. `HITCOUNTER_CHROMIUM` and
//! `HITCOUNTER_CHROMEDRIVER` override the binaries found on `PATH`.
//!
//! Screenshots go to `target/browser-screenshots/` (relative to the crate root):
//! `home.png` (1200x900), `phone.png` (390x844), full-page variants
//! `home-full.png` / `phone-full.png`, `home-dark.png` (prefers-color-scheme: dark),
//! `home-options.png` (badge options set), `empty.png` (no counters yet) and
//! `generator-logo.png` and `generator-logo-social.png` (badges with the
//! GitHub logo).
//! The WebDriver client itself is `support/browser.rs`.

use crate::support;
use support::browser::*;
use support::*;

use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[test]
fn browser_home_page_in_headless_chromium() {
    let t0 = Instant::now();
    let Some(tools) = Driver::tools() else { return }; // fail fast when the browser is not installed
    let srv = Server::start();
    let origin = format!("http://{}", srv.addr);

    // Seed some counters; wait until the running server sees them.
    let seeded = [("example.com/x", 42), ("github.com/octo/hello-world", 1234), ("blog.example.org/post", 7)];
    for (url, count) in seeded {
        admin_set(&srv.db, url, count);
    }
    for (url, count) in seeded {
        // Admin writes show up within 2 s by contract.
        let shown = shows_within(&srv, url, count, Duration::from_secs(5));
        assert!(shown, "server never reported {count} for {url}: {}", peek(&srv, url));
    }
    let home = srv.get("/");
    assert_eq!(home.status, 200, "GET / -> {}: {}", home.status, home.text());
    assert!(
        home.header("content-type").is_some_and(|c| c.starts_with("text/html")),
        "GET / content-type: {:?}",
        home.header("content-type")
    );
    // The top table is rendered from the DB; give it the same 2 s grace.
    let top_ok = eventually(Duration::from_secs(5), || srv.get("/").text().contains("github.com"));
    assert!(top_ok, "top sites table never listed github.com:\n{}", srv.get("/").text());

    let d = Driver::start(tools);
    d.set_window(1200, 900);
    d.goto(&format!("{origin}/"));

    // The template was filled in, and both assets loaded from this server only.
    let body_origin = d.js("return document.body.getAttribute('data-origin');", json!([]));
    assert_eq!(body_origin, json!(origin), "data-origin");
    d.assert_styled_and_self_contained(&origin);

    // Generator: type a URL, the preview loads (relative /nocount/ src), the snippets follow.
    let target = "https://github.com/octo/hello-world";
    let e = enc_component(target);
    assert_eq!(e, "https%3A%2F%2Fgithub.com%2Focto%2Fhello-world");
    // No URL yet: the badge counts the embedding page from its Referer, and
    // the HTML snippet asks browsers to send the page's full address.
    let no_url =
        format!(r#"<img src="{origin}/count/tag.svg" alt="Hits" referrerpolicy="no-referrer-when-downgrade">"#);
    d.wait_prop("#snippet-html", "textContent", "the Referer-only snippet", |t| t == no_url);
    d.click("#url");
    d.type_into("#url", target);
    let want_src = format!("nocount/tag.svg?url={e}");
    wait_preview(&d, &want_src, "the badge preview to load");
    let html_count = format!(r#"<img src="{origin}/count/tag.svg?url={e}" alt="Hits">"#);
    let md_count = format!("![Hits]({origin}/count/tag.svg?url={e})");
    assert_eq!(d.text_of("#snippet-html"), html_count);
    assert_eq!(d.text_of("#snippet-md"), md_count);

    // Display-only switch: /count/ <-> /nocount/ in both snippets.
    assert_eq!(d.js("return document.getElementById('counting').checked;", json!([])), json!(true));
    d.click("#counting");
    let html_nocount = html_count.replace("/count/tag.svg", "/nocount/tag.svg");
    let md_nocount = md_count.replace("/count/tag.svg", "/nocount/tag.svg");
    d.wait_prop("#snippet-html", "textContent", "the display-only HTML snippet", |t| t == html_nocount);
    assert_eq!(d.text_of("#snippet-md"), md_nocount);
    d.click("#counting");
    d.wait_prop("#snippet-html", "textContent", "the counting HTML snippet again", |t| t == html_count);
    assert_eq!(d.text_of("#snippet-md"), md_count);

    // Copy buttons give visible feedback.
    d.click("#copy-html");
    d.wait_text("#copy-html", "\"Copied\" feedback on #copy-html", |t| t.contains("Copied"));
    d.click("#copy-md");
    d.wait_text("#copy-md", "\"Copied\" feedback on #copy-md", |t| t.contains("Copied"));
    assert_eq!(d.text_of("#snippet-url"), format!("{origin}/count/tag.svg?url={e}"));

    badge_options(&d, &srv, &origin, &e);

    // Look-up: button click, then Enter; a fresh URL reads 0; a 4xx shows the server's text.
    d.click("#lookup-url");
    d.type_into("#lookup-url", "example.com/x");
    d.click("#lookup-btn");
    let shown = d.wait_text("#lookup-result", "the look-up to show 42", |t| t.contains("42"));
    assert!(shown.contains("42 views"), "look-up result: {shown:?}");
    // The result links to the page's history.
    let history = d.js(
        "var a = document.getElementById('lookup-stats'); return a ? [a.getAttribute('href'), a.textContent] : null;",
        json!([]),
    );
    assert_eq!(history, json!(["stats?url=example.com%2Fx", "history"]), "#lookup-stats");

    d.clear("#lookup-url");
    d.type_into("#lookup-url", &format!("https://github.com/octo/hello-world{ENTER}"));
    d.wait_text("#lookup-result", "the look-up (Enter) to show 1,234", |t| t.contains("1,234 views"));

    d.clear("#lookup-url");
    d.type_into("#lookup-url", "never-seen.example.net/page");
    d.click("#lookup-btn");
    d.wait_text("#lookup-result", "the look-up to show 0", |t| t.contains("0 views"));

    let long_url = format!("example.com/{}", "a".repeat(2100));
    let server_says = srv.get(&format!("/nocount?url={}", enc(&long_url)));
    assert!((400..500).contains(&server_says.status), "long url -> {}", server_says.status);
    d.js("document.getElementById('lookup-url').value = arguments[0]; return true;", json!([long_url]));
    d.click("#lookup-btn");
    let err = server_says.text().trim().to_string();
    d.wait_js(
        "the look-up to show the server's error text",
        "var r = document.getElementById('lookup-result'); return {cls: r.className, text: r.textContent};",
        json!([]),
        |v| v["cls"].as_str().is_some_and(|c| c.contains("is-error")) && v["text"] == json!(err),
    );
    // Leave a pleasant result on screen for the screenshots.
    d.clear("#lookup-url");
    d.type_into("#lookup-url", "example.com/x");
    d.click("#lookup-btn");
    d.wait_text("#lookup-result", "the look-up to show 42 again", |t| t.contains("42 views"));

    // The preview and the look-ups never counted.
    assert_eq!(srv.get(&format!("/nocount?url={e}")).text().trim(), "1234");
    assert_eq!(srv.get("/nocount?url=example.com%2Fx").text().trim(), "42");

    // Top sites table.
    let top = d.text_of("#top-sites");
    assert!(top.contains("github.com") && top.contains("example.com"), "top sites: {top:?}");

    // No console errors, except the 4xx we provoked on purpose above.
    let severe: Vec<String> = d
        .severe_console()
        .into_iter()
        .filter(|m| !(m.contains("/nocount?url=example.com%2Faaaa") && m.contains("Failed to load resource")))
        .map(|m| m.chars().take(300).collect())
        .collect();
    assert!(severe.is_empty(), "console errors: {severe:#?}");

    // Screenshots: desktop, then phone (no horizontal scrolling allowed).
    d.screenshot("home.png");
    d.full_page_screenshot("home-full.png");

    // Dark colour scheme (prefers-color-scheme).
    d.dark_screenshot("home-dark.png");
    d.set_window(390, 844);
    d.assert_no_sideways_scroll();
    d.screenshot("phone.png");
    d.full_page_screenshot("phone-full.png");

    // `/?url=…&style=…` pre-fills the generator, options included (the same names as the badge).
    d.set_window(1200, 900);
    d.goto(&format!("{origin}/?url=example.com%2Fx&style=plastic&label=&color=blue&labelColor=%23abc&abbreviate=true"));
    expect_query(
        &d,
        &origin,
        "url=example.com%2Fx&style=plastic&label=&color=blue&labelColor=aabbcc&abbreviate=true",
        "options pre-filled from the address",
    );

    // Empty database: the "no hits yet" note replaces the table.
    let empty = Server::start();
    d.set_window(1200, 900);
    d.goto(&format!("http://{}/", empty.addr));
    let shown = d.js(
        "var n = document.getElementById('top-empty'); return getComputedStyle(n).display !== 'none' && n.offsetHeight > 0;",
        json!([]),
    );
    assert_eq!(shown, json!(true), "empty top-sites note not visible");
    assert_eq!(d.js("return document.querySelectorAll('#top-sites tbody tr').length;", json!([])), json!(0));
    d.screenshot("empty.png");

    eprintln!("browser test took {:?}", t0.elapsed());
}

#[test]
fn browser_generator_offers_logos_styles_and_views() {
    let Some(tools) = Driver::tools() else { return };
    let srv = Server::start();
    let origin = format!("http://{}", srv.addr);
    let d = Driver::start(tools);
    d.set_window(1200, 900);
    d.goto(&format!("{origin}/"));
    let offered = d.js(
        "return ['style', 'view'].map(function (id) {
             return Array.prototype.map.call(document.getElementById(id).options, function (o) { return o.value; });
         });",
        json!([]),
    );
    assert_eq!(
        offered,
        json!([
            ["flat", "flat-square", "plastic", "for-the-badge", "social", "pixel"],
            ["total", "today", "today-total", "visitors"]
        ])
    );
    d.type_into("#url", "github.com/octo/hello-world");
    let e = enc_component("github.com/octo/hello-world");
    d.type_into("#logo", "github");
    let plain = expect_query(&d, &origin, &format!("url={e}&logo=github"), "a logo");
    assert!(plain["w"].as_u64() > Some(62), "wider than the 62 px badge without a logo: {plain}");
    d.screenshot("generator-logo.png");
    choose(&d, "#style", "social");
    let q = format!("url={e}&style=social&logo=github");
    let social = expect_query(&d, &origin, &q, "social with a logo");
    assert_eq!(social["h"], json!(20), "{social}");
    let svg = srv.get(&format!("/nocount/tag.svg?{q}")).text();
    assert!(svg.contains("<image") && svg.contains(">Hits<"), "{svg}");
    d.screenshot("generator-logo-social.png");
    choose(&d, "#logo-color", "white");
    expect_query(&d, &origin, &format!("{q}&logoColor=white"), "a logo colour");

    choose(&d, "#style", "pixel");
    let src = format!("{origin}/count/tag.svg?url={e}&style=pixel&logo=github&logoColor=white");
    // (a pixel shows no logo, but the form keeps what was chosen)
    d.wait_prop("#snippet-html", "textContent", "the pixel snippet", |t| {
        t == format!(r#"<img src="{src}" alt="" width="1" height="1">"#)
    });
    choose(&d, "#view", "visitors");
    d.wait_prop("#snippet-url", "textContent", "view=visitors", |t| t.contains("&view=visitors"));
}

/// The preview `<img>` once it shows `src`: `{w, h}` natural size.
fn wait_preview(d: &Driver, src: &str, what: &str) -> Value {
    d.wait_js(
        what,
        "var i = document.getElementById('preview');
         return {src: i.getAttribute('src') || '', complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                 hidden: i.hidden};",
        json!([]),
        |v| {
            v["src"] == json!(src)
                && v["complete"] == json!(true)
                && v["w"].as_u64().unwrap_or(0) > 0
                && v["hidden"] == json!(false)
        },
    )
}

/// Picks `value` in a `<select>` the way a user does: by clicking its option.
fn choose(d: &Driver, select: &str, value: &str) {
    d.click(&format!("{select} option[value='{value}']"));
    let now = d.js("return document.querySelector(arguments[0]).value;", json!([select]));
    assert_eq!(now, json!(value), "{select} did not take {value:?}");
}

/// Waits until the preview and the three snippets all use `query` (after `?`),
/// the preview through `/nocount/`, the snippets through `/count/`.
fn expect_query(d: &Driver, origin: &str, query: &str, what: &str) -> Value {
    let src = format!("{origin}/count/tag.svg?{query}");
    d.wait_prop("#snippet-url", "textContent", what, |t| t == src);
    assert_eq!(d.text_of("#snippet-html"), format!(r#"<img src="{src}" alt="Hits">"#), "{what}: HTML");
    assert_eq!(d.text_of("#snippet-md"), format!("![Hits]({src})"), "{what}: Markdown");
    wait_preview(d, &format!("nocount/tag.svg?{query}"), &format!("{what}: the preview"))
}

/// Generator options: style, label, colours (named and custom), view and
/// abbreviate reach the preview and both snippets, only when not the default,
/// and the server draws what the preview asked for.
fn badge_options(d: &Driver, srv: &Server, origin: &str, e: &str) {
    // Defaults: nothing but the URL, and no "Reset" link.
    assert_eq!(
        d.js(
            "return ['style','label','color','label-color','view'].map(function (id) {
                 return document.getElementById(id).value; }).concat([
                 document.getElementById('abbreviate').checked, document.getElementById('options-reset').hidden]);",
            json!([])
        ),
        json!(["flat", "hits", "", "", "total", false, true]),
        "option defaults"
    );

    choose(d, "#style", "for-the-badge");
    d.clear("#label");
    d.type_into("#label", "views");
    choose(d, "#color", "red");
    let q = format!("url={e}&style=for-the-badge&label=views&color=red");
    let img = expect_query(d, origin, &q, "style + label + color in the snippets");
    // for-the-badge badges are 28 px high (flat ones 20): the server got the style.
    assert_eq!(img["h"], json!(28), "for-the-badge preview: {img}");
    let badge = srv.get(&format!("/nocount/tag.svg?{q}"));
    assert_eq!(badge.status, 200, "{}", badge.text());
    let svg = badge.text();
    assert!(svg.contains("VIEWS") && svg.contains("#e05d44"), "for-the-badge / label / red badge:\n{svg}");
    // The swatch next to the colour list shows the named colour.
    assert_eq!(d.js("return document.getElementById('color-custom').value;", json!([])), json!("#e05d44"));
    assert_eq!(d.js("return document.getElementById('options-reset').hidden;", json!([])), json!(false));

    // A custom label colour from the colour picker (six hex digits, no '#'),
    // today / total, abbreviated.
    d.js(
        "var p = document.getElementById('label-color-custom'); p.value = '#123456';
         p.dispatchEvent(new Event('input', {bubbles: true})); return true;",
        json!([]),
    );
    assert_eq!(d.js("return document.getElementById('label-color').value;", json!([])), json!("custom"));
    choose(d, "#view", "today-total");
    d.click("#abbreviate");
    let q2 = format!("{q}&labelColor=123456&view=today-total&abbreviate=true");
    expect_query(d, origin, &q2, "custom label colour, view and abbreviate");
    let svg = srv.get(&format!("/nocount/tag.svg?{q2}")).text();
    // (for-the-badge upper-cases the text, so compare without case)
    assert!(
        svg.contains("#123456") && svg.to_lowercase().contains("0 / 1.2k"),
        "today-total abbreviated badge:\n{svg}"
    );
    d.screenshot("home-options.png");

    // Display-only switch keeps the options.
    d.click("#counting");
    let want = format!("{origin}/nocount/tag.svg?{q2}");
    d.wait_prop("#snippet-url", "textContent", "display-only snippet with options", |t| t == want);
    d.click("#counting");

    // An empty label (number only) is not the default, so it is sent.
    choose(d, "#style", "flat");
    choose(d, "#view", "total");
    d.click("#abbreviate");
    choose(d, "#color", "");
    choose(d, "#label-color", "");
    d.clear("#label");
    expect_query(d, origin, &format!("url={e}&label="), "an empty label");

    // Reset puts everything back: the snippets are the plain ones again.
    choose(d, "#style", "plastic");
    expect_query(d, origin, &format!("url={e}&style=plastic&label="), "plastic, empty label");
    d.click("#options-reset");
    expect_query(d, origin, &format!("url={e}"), "defaults after Reset");
    assert_eq!(d.js("return document.getElementById('label').value;", json!([])), json!("hits"));
    assert_eq!(d.js("return document.getElementById('options-reset').hidden;", json!([])), json!(true));
}
