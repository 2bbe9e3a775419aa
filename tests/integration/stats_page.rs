//! History drawn over real HTTP against the real binary: the embeddable
//! `/nocount/graph.svg` (parsed as XML, one bar per day, by `url` or by
//! Referer) and the `/stats` page (key, total, inline SVG chart, `days`),
//! both escaping a hostile key. None of them may count.

use crate::support;

use chrono::Duration as Days;
use std::sync::OnceLock;
use support::history::*;
use support::*;

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    shared(&SERVER, Server::start)
}

// ---------------------------------------------------------------------------
// graph.svg

#[test]
fn graph_svg_has_one_bar_per_day_and_never_counts() {
    let s = srv();
    let url = uniq_url("graph");
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/count?url={}", enc(&url))).status, 200);
    }
    for (q, n) in [("", 30), ("&days=1", 1), ("&days=7", 7), ("&days=366", 366)] {
        let path = format!("/nocount/graph.svg?url={}{q}", enc(&url));
        let bars = chart_bars(&s.get(&path), &path);
        let mut hits = vec![0; n];
        hits[n - 1] = 3;
        assert_bars_follow(&bars, &hits, &path);
    }
    assert_eq!(peek(s, &url), 3, "graph.svg never counts");
    let fresh = uniq_url("graph-fresh");
    let bars = chart_bars(&s.get(&format!("/nocount/graph.svg?url={}&days=5", enc(&fresh))), "fresh");
    assert_bars_follow(&bars, &[0; 5], "fresh");
    assert_eq!(peek(s, &fresh), 0, "graph.svg never creates a count");
    // Referer works like for the badge.
    let r = s.get_h("/nocount/graph.svg?days=2", &[("Referer", &format!("https://{url}"))]);
    let bars = chart_bars(&r, "graph by Referer");
    assert_bars_follow(&bars, &[0, 3], "graph by Referer");
    assert_eq!(peek(s, &url), 3);
}

// ---------------------------------------------------------------------------
// /stats page

fn stats_page(s: &Server, path: &str) -> String {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/html"), "{path}: content-type {ct:?}");
    assert!(set_cookies(&r).is_empty(), "{path}: no counting cookie");
    r.text()
}

/// The inline chart of a page, parsed.
fn inline_chart(html: &str, what: &str) -> Vec<Bar> {
    let start = html.find("<svg").unwrap_or_else(|| panic!("{what}: no inline <svg"));
    let end = html[start..].find("</svg>").unwrap_or_else(|| panic!("{what}: no </svg>")) + start + 6;
    svg_bars(&html[start..end], what)
}

#[test]
fn stats_page_shows_total_today_and_an_inline_chart() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let key = "page.stats-http.test/post";
    let t = utc_today();
    seed(&db, &[(key, 31337, vec![(t - Days::days(2), 40), (t - Days::days(1), 20)])]);
    let s = Server::start_with(Opts { dir: Some(dir), ..Opts::default() });
    assert_eq!(s.get(&format!("/count?url={}", enc(key))).status, 200);
    let html = stats_page(&s, &format!("/stats?url={}", enc(key)));
    assert!(html.contains(key), "page names the key");
    assert!(html.contains("31,338") || html.contains("31338"), "page shows the total 31338");
    let bars = inline_chart(&html, "/stats");
    assert_eq!(bars.len(), 30, "default 30 days in the chart");
    if utc_today() == t {
        let mut hits = vec![0; 30];
        hits[27] = 40;
        hits[28] = 20;
        hits[29] = 1;
        assert_bars_follow(&bars, &hits, "/stats chart");
    }
    let html7 = stats_page(&s, &format!("/stats?url={}&days=7", enc(key)));
    assert_eq!(inline_chart(&html7, "/stats days=7").len(), 7, "days applies to the page");
    assert!(!html.contains("<script src=\"http") && !html.contains("cdn"), "no CDN on the stats page");
    assert_eq!(peek(&s, key), 31338, "/stats never counts");
}

#[test]
fn stats_page_and_chart_escape_hostile_keys() {
    let s = srv();
    let host = uniq_url("evil").replace("/page", "");
    let key = format!("{host}/<img src=x onerror=alert(1)>\"'&<script>alert(2)</script>");
    assert_eq!(s.get(&format!("/count?url={}", enc(&key))).status, 200);
    let v = stats_json(s, &key, "&days=2");
    assert_eq!(v["url"], key.as_str(), "JSON carries the key as a string: {v}");
    assert_eq!(num(&v, "total"), 1);
    let html = stats_page(s, &format!("/stats?url={}", enc(&key)));
    assert!(!html.contains("<img src=x"), "markup injected into /stats");
    assert!(!html.contains("<script>alert"), "script injected into /stats");
    assert!(!html.contains(&key), "the raw key appears unescaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "the key is shown, escaped");
    assert!(html.contains(&host), "the host is shown");
    inline_chart(&html, "hostile /stats");
    let r = s.get(&format!("/nocount/graph.svg?url={}&days=3", enc(&key)));
    let bars = chart_bars(&r, "hostile graph");
    assert_bars_follow(&bars, &[0, 0, 1], "hostile graph");
    let svg = r.text();
    let doc = roxmltree::Document::parse(&svg).expect("graph XML");
    assert!(!doc.descendants().any(|n| n.has_tag_name("script") || n.has_tag_name("img")), "markup in the graph");
    let title = doc.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or("");
    assert!(title.contains(&key), "graph title names the key: {title:?}");
    assert_eq!(peek(s, &key), 1);
}
