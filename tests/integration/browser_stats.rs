//! The `/stats?url=…` page in a real browser: a counter with ten days of
//! history, written straight into the SQLite file while the server is not
//! running, then the page in headless Chromium: key, total and today, the
//! server-rendered bar chart, the range links, the JSON / chart-image links,
//! the embed snippet, and the way back to `/` (and from `/`'s look-up to
//! here).
//!
//! Same requirements and switches as `browser.rs` (see
//! `support/browser.rs`). Screenshots in `target/browser-screenshots/`:
//! `stats.png` (1200x900), `stats-full.png`, `stats-7.png` (days=7),
//! `stats-dark.png`, `stats-phone.png` (390x844), `stats-phone-full.png`.

use crate::support;
use support::browser::*;
use support::*;

use chrono::{Duration as Days, Utc};
use serde_json::{json, Value};
use std::time::Instant;

const KEY: &str = "github.com/octo-org/hello-world-project";
/// Hits per day, today first (index = days ago). Nine of the ten days have hits.
const HISTORY: [u64; 10] = [5, 12, 0, 30, 8, 21, 3, 17, 9, 1];
/// The counter's total: the history plus older views.
const TOTAL: u64 = 1234;

/// Writes the counter and its per-day rows straight into the database (the
/// real schema, created by the binary). The server must not be running.
fn seed(db: &std::path::Path) {
    let conn = create_db(db);
    let now = Utc::now();
    let secs = now.timestamp();
    let today = now.date_naive();
    let days: Vec<_> = HISTORY
        .iter()
        .enumerate()
        .filter(|(_, hits)| **hits > 0)
        .map(|(ago, hits)| (today - Days::days(ago as i64), *hits))
        .collect();
    insert_counter(&conn, KEY, TOTAL, secs - 40 * 86_400, &days);
    // A second, quiet counter: its page must not show the first one's data.
    insert_counter(&conn, "example.com/quiet", 7, secs, &[]);
}

/// Hit-carrying days among the last `n`.
fn days_with_hits(n: usize) -> usize {
    HISTORY.iter().take(n).filter(|h| **h > 0).count()
}

/// What the chart shows: its `<svg>` count, its on-screen width, the number of
/// bars (rects narrower than a quarter of the chart: not the background), and
/// the bars with a height.
fn chart_facts(d: &Driver) -> Value {
    d.js(
        "var svgs = document.querySelectorAll('#stats-chart svg');
         if (svgs.length === 0) return {svgs: 0};
         var svg = svgs[0], vb = svg.viewBox.baseVal, box = svg.getBoundingClientRect();
         var rects = Array.prototype.filter.call(svg.querySelectorAll('rect'), function (r) {
           var b = r.getBBox(); return !vb || vb.width === 0 || b.width < vb.width / 4;
         });
         return {svgs: svgs.length, width: box.width, height: box.height, vbw: vb ? vb.width : 0,
                 bars: rects.length,
                 tall: rects.filter(function (r) { return r.getBBox().height > 0.5; }).length};",
        json!([]),
    )
}

/// `{url, days}` of a link's query string, decoded by the browser.
fn link_query(d: &Driver, css: &str) -> Value {
    d.js(
        "var a = document.querySelector(arguments[0]); if (!a) return null;
         var u = new URL(a.href);
         return {path: u.pathname, origin: u.origin, url: u.searchParams.get('url'), days: u.searchParams.get('days')};",
        json!([css]),
    )
}

fn wait_loaded(d: &Driver, what: &str) {
    d.wait_js(what, "return document.readyState;", json!([]), |v| v == "complete");
}

#[test]
fn browser_stats_page_in_headless_chromium() {
    let t0 = Instant::now();
    let Some(tools) = Driver::tools() else { return }; // fail fast when the browser is not installed
    let dir = tempdir();
    seed(&dir.path().join("hitcounter.db"));
    let srv = Server::start_with(Opts { dir: Some(dir), ..Opts::default() });
    let origin = format!("http://{}", srv.addr);
    let e = enc_component(KEY);

    // Over plain HTTP first: the template is filled in and the page needs no script.
    let page = srv.get(&format!("/stats?url={e}"));
    assert_eq!(page.status, 200, "GET /stats -> {}: {}", page.status, page.text());
    assert!(
        page.header("content-type").is_some_and(|c| c.starts_with("text/html")),
        "content-type {:?}",
        page.header("content-type")
    );
    let html = page.text();
    assert!(!html.contains("{{"), "unfilled placeholder in /stats:\n{html}");
    assert!(html.contains("<svg"), "the chart is not in the HTML itself");
    let lower = html.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap_or(0)];
        assert!(tag.contains(" src="), "inline script on /stats: {tag}");
    }
    // The JSON the page links to agrees with the seed.
    let j = srv.get(&format!("/nocount/stats.json?url={e}&days=10"));
    assert_eq!(j.status, 200, "stats.json: {}", j.text());
    let v: Value = serde_json::from_slice(&j.body).expect("stats.json is JSON");
    assert_eq!(v["url"], json!(KEY));
    assert_eq!(v["total"], json!(TOTAL));
    assert_eq!(v["today"], json!(HISTORY[0]));
    let hits: Vec<u64> = v["days"].as_array().expect("days").iter().map(|d| d["hits"].as_u64().unwrap()).collect();
    let mut oldest_first = HISTORY.to_vec();
    oldest_first.reverse();
    assert_eq!(hits, oldest_first, "stats.json days: {v}");
    assert_eq!(v["days"][9]["date"], json!(Utc::now().date_naive().format("%Y-%m-%d").to_string()));

    let d = Driver::start(tools);
    d.set_window(1200, 900);
    d.goto(&format!("{origin}/stats?url={e}"));
    wait_loaded(&d, "/stats to load");

    // Styled by /assets/style.css; nothing loaded from elsewhere.
    d.assert_styled_and_self_contained(&origin);

    // Key, total and today.
    assert_eq!(d.text_of("#stats-key").trim(), KEY);
    assert_eq!(d.text_of("#stats-total").trim(), "1,234");
    assert_eq!(d.text_of("#stats-today").trim(), HISTORY[0].to_string());
    let title = d.js("return document.title;", json!([]));
    assert!(title.as_str().is_some_and(|t| t.contains(KEY)), "title {title}");

    // The chart: one inline <svg>, as wide as its card, one bar per day (30 by default).
    let c = chart_facts(&d);
    assert_eq!(c["svgs"], json!(1), "chart: {c}");
    assert!(c["bars"].as_u64().unwrap_or(0) >= days_with_hits(10) as u64, "too few bars: {c}");
    assert_eq!(c["tall"], json!(days_with_hits(10)), "bars with a height: {c}");
    let card_w = d.js("return document.getElementById('stats-chart').getBoundingClientRect().width;", json!([]));
    let (w, cw) = (c["width"].as_f64().unwrap_or(0.0), card_w.as_f64().unwrap_or(0.0));
    assert!(w > 900.0 && (w - cw).abs() < 2.0, "chart not as wide as its card: {c}, card {cw}");
    assert!(c["height"].as_f64().unwrap_or(0.0) > 150.0, "chart squashed: {c}");
    assert!(d.text_of(".chart-range").contains("30 days"));

    // Range links: 7 / 30 / 90 / 365 days, the current one marked.
    for n in ["7", "30", "90", "365"] {
        let q = link_query(&d, &format!("#range a[data-n='{n}']"));
        assert_eq!(q, json!({"path": "/stats", "origin": origin, "url": KEY, "days": n}), "range link {n}");
    }
    assert_eq!(
        d.js("return document.querySelector('#range a[aria-current]').getAttribute('data-n');", json!([])),
        json!("30")
    );

    // Raw JSON link (fetched from the page), chart image link (loaded as an image).
    assert_eq!(
        link_query(&d, "#stats-json"),
        json!({"path": "/nocount/stats.json", "origin": origin, "url": KEY, "days": "30"})
    );
    let q = link_query(&d, "#stats-graph");
    assert_eq!((&q["path"], &q["url"]), (&json!("/nocount/graph.svg"), &json!(KEY)), "graph link {q}");
    let fetched = d.wait_js(
        "the JSON link to answer",
        "var done = window.__hcJson; if (done) return done;
         window.__hcJson = 'pending';
         fetch(document.getElementById('stats-json').href).then(function (r) { return r.json(); })
           .then(function (j) { window.__hcJson = {total: j.total, today: j.today, n: j.days.length}; })
           .catch(function (e) { window.__hcJson = {error: String(e)}; });
         return null;",
        json!([]),
        |v| v.is_object(),
    );
    assert_eq!(fetched, json!({"total": TOTAL, "today": HISTORY[0], "n": 30}), "JSON via the link");
    d.wait_js(
        "the chart image link to load as an image",
        "var i = window.__hcImg; if (!i) { i = window.__hcImg = new Image();
           i.src = document.getElementById('stats-graph').href; }
         return i.complete ? i.naturalWidth : 0;",
        json!([]),
        |v| v.as_u64().unwrap_or(0) > 0,
    );

    // Embed snippet: absolute, display-only graph URL; copy button works.
    let embed = d.text_of("#embed-html");
    let src = embed.split('"').nth(1).unwrap_or("").to_string();
    assert!(
        embed.starts_with("<img src=\"") && src.starts_with(&format!("{origin}/nocount/graph.svg?url=")),
        "embed snippet: {embed:?}"
    );
    let decoded = d.js(
        "var u = new URL(arguments[0]); return [u.searchParams.get('url'), u.searchParams.get('days')];",
        json!([src]),
    );
    assert_eq!(decoded, json!([KEY, "30"]), "embed snippet URL {src}");
    assert!(d.text_of("#embed-md").contains(&format!("]({src})")), "Markdown embed: {}", d.text_of("#embed-md"));
    d.click("#copy-embed-html");
    d.wait_text("#copy-embed-html", "\"Copied\" feedback", |t| t.contains("Copied"));

    // Nothing on this page counted a view.
    assert_eq!(srv.get(&format!("/nocount?url={e}")).text().trim(), TOTAL.to_string());

    let severe: Vec<String> = d.severe_console().into_iter().map(|m| m.chars().take(300).collect()).collect();
    assert!(severe.is_empty(), "console errors: {severe:#?}");

    d.screenshot("stats.png");
    d.full_page_screenshot("stats-full.png");

    // Dark scheme.
    d.dark_screenshot("stats-dark.png");

    // 7 days: a click on the range link.
    d.click("#range a[data-n='7']");
    d.wait_js("the 7-day page", "return location.search;", json!([]), |v| {
        v.as_str().is_some_and(|s| s.contains("days=7"))
    });
    wait_loaded(&d, "the 7-day page to load");
    let c7 = chart_facts(&d);
    assert!(c7["bars"].as_u64().unwrap_or(0) >= days_with_hits(7) as u64, "7-day chart: {c7}");
    assert_eq!(c7["tall"], json!(days_with_hits(7)), "7-day chart: {c7}");
    assert!(d.text_of(".chart-range").contains("7 days"));
    assert_eq!(
        d.js("return document.querySelector('#range a[aria-current]').getAttribute('data-n');", json!([])),
        json!("7")
    );
    assert_eq!(link_query(&d, "#stats-json")["days"], json!("7"));
    d.screenshot("stats-7.png");

    // Phone: no sideways scrolling, the chart shrinks with the screen.
    d.click("#range a[data-n='30']");
    d.wait_js("the 30-day page", "return location.search;", json!([]), |v| {
        v.as_str().is_some_and(|s| s.contains("days=30"))
    });
    wait_loaded(&d, "the 30-day page to load");
    d.set_window(390, 844);
    d.assert_no_sideways_scroll();
    let cp = chart_facts(&d);
    let pw = cp["width"].as_f64().unwrap_or(0.0);
    assert!(pw > 250.0 && pw < 390.0, "phone chart width: {cp}");
    d.screenshot("stats-phone.png");
    d.full_page_screenshot("stats-phone-full.png");

    // Back to `/`, and from its look-up box to this page again.
    d.set_window(1200, 900);
    assert_eq!(d.js("return document.getElementById('back-home').getAttribute('href');", json!([])), json!("./"));
    d.click("#back-home");
    d.wait_js(
        "the / page",
        "return location.pathname + '|' + !!document.getElementById('lookup-url');",
        json!([]),
        |v| v == "/|true",
    );
    d.type_into("#lookup-url", KEY);
    d.click("#lookup-btn");
    d.wait_text("#lookup-result", "the look-up to show 1,234", |t| t.contains("1,234 views"));
    d.click("#lookup-stats");
    d.wait_js("/stats from the look-up link", "return location.pathname;", json!([]), |v| v == "/stats");
    wait_loaded(&d, "/stats (from the look-up) to load");
    assert_eq!(d.text_of("#stats-key").trim(), KEY);
    assert_eq!(d.text_of("#stats-total").trim(), "1,234");

    // The quiet counter's page shows its own numbers and an empty chart.
    d.goto(&format!("{origin}/stats?url=example.com%2Fquiet&days=7"));
    wait_loaded(&d, "the quiet counter's page");
    assert_eq!(d.text_of("#stats-key").trim(), "example.com/quiet");
    assert_eq!(d.text_of("#stats-total").trim(), "7");
    assert_eq!(d.text_of("#stats-today").trim(), "0");
    assert_eq!(chart_facts(&d)["tall"], json!(0));

    // Without a url there is no page (400, plain text).
    assert_eq!(srv.get("/stats").status, 400);

    eprintln!("stats browser test took {:?}", t0.elapsed());
}
