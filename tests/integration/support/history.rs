//! History as the tests read it over HTTP: today's date, `/nocount/stats.json`
//! fetched and checked, counters with daily rows seeded into the database,
//! and the bars of a chart (`/nocount/graph.svg`, or the SVG inline in
//! `/stats`) checked against the hits. Used by `stats_json.rs` and
//! `stats_page.rs`.

use super::db::{create_db, insert_counter};
use super::enc;
use super::http::{set_cookies, Resp};
use super::server::Server;
use chrono::{NaiveDate, Utc};
use std::path::Path;

pub fn utc_today() -> NaiveDate {
    Utc::now().date_naive()
}

// ---------------------------------------------------------------------------
// stats.json

pub fn stats_json(s: &Server, url: &str, extra: &str) -> serde_json::Value {
    let path = format!("/nocount/stats.json?url={}{extra}", enc(url));
    let r = s.get(&path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("application/json"), "{path}: content-type {ct:?}");
    assert!(set_cookies(&r).is_empty(), "{path}: stats never set the counting cookie");
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.text()))
}

pub fn num(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} is not a whole number: {v}"))
}

// ---------------------------------------------------------------------------
// Seeding

/// A counter to seed: key, total, per-day hits.
pub type Seed<'a> = (&'a str, u64, Vec<(NaiveDate, u64)>);

/// Creates the database with the binary, then writes counters and daily
/// rows directly: (key, total, [(date, hits)]).
pub fn seed(db: &Path, rows: &[Seed]) {
    let conn = create_db(db);
    let now = Utc::now().timestamp();
    for (key, total, days) in rows {
        insert_counter(&conn, key, *total, now, days);
    }
}

// ---------------------------------------------------------------------------
// Charts

#[derive(Debug)]
pub struct Bar {
    pub x: f64,
    pub height: f64,
}

/// Checks a chart response (200 SVG, well-formed) and returns its bars.
pub fn chart_bars(r: &Resp, what: &str) -> Vec<Bar> {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("image/svg+xml"), "{what}: content-type {ct:?}");
    assert!(set_cookies(r).is_empty(), "{what}: no counting cookie");
    svg_bars(&r.text(), what)
}

pub fn svg_bars(svg: &str, what: &str) -> Vec<Bar> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{what}: not well-formed XML ({e}): {svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg", "{what}");
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class").is_some_and(|c| c.split(' ').any(|c| c == "bar")))
        .map(|n| {
            let f = |a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok());
            Bar {
                x: f("x").unwrap_or_else(|| panic!("{what}: bar x")),
                height: f("height").unwrap_or_else(|| panic!("{what}: bar height")),
            }
        })
        .collect()
}

/// Bars left to right, zero high on empty days, heights proportional.
pub fn assert_bars_follow(bars: &[Bar], hits: &[u64], what: &str) {
    assert_eq!(bars.len(), hits.len(), "{what}: one bar per day");
    for w in bars.windows(2) {
        assert!(w[0].x < w[1].x, "{what}: bars left to right, oldest first: {bars:?}");
    }
    let max = hits.iter().copied().max().unwrap_or(0);
    let tallest = bars.iter().map(|b| b.height).fold(0.0, f64::max);
    for (b, &h) in bars.iter().zip(hits) {
        if h == 0 {
            assert_eq!(b.height, 0.0, "{what}: empty day has no bar height: {b:?}");
        } else {
            assert!(b.height > 0.0, "{what}: a day with hits has a visible bar: {b:?}");
            let want = tallest * h as f64 / max as f64;
            assert!((b.height - want).abs() <= 0.02 * tallest + 0.1, "{what}: bar {b:?} for {h} of max {max}");
        }
    }
}
