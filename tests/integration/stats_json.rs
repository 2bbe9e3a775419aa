//! History over real HTTP against the real binary, as `/nocount/stats.json`
//! reports it (parsed as JSON: window, order, zero filling, totals, the
//! `days` limits that `graph.svg` and `/stats` share), history written before
//! the server started (rows seeded into `daily`, read back as JSON and as
//! `graph.svg`), and the `--timezone` day boundary (also of the badge's
//! `view=today`; IANA names work, unknown zones are refused). None of them
//! may count.

use crate::support;

use chrono::{Duration as Days, FixedOffset, NaiveDate, Utc};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use support::history::*;
use support::*;

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    shared(&SERVER, Server::start)
}

/// Today's date at a fixed offset from UTC (seconds east).
fn today_at(east: i32) -> NaiveDate {
    Utc::now().with_timezone(&FixedOffset::east_opt(east).expect("offset")).date_naive()
}

/// Runs `f` and returns the date (at `east`) that held all through it, or
/// `None` if midnight passed three times in a row (never, in practice).
fn on_one_day<T>(east: i32, mut f: impl FnMut() -> T) -> Option<(NaiveDate, T)> {
    for _ in 0..3 {
        let before = today_at(east);
        let v = f();
        if today_at(east) == before {
            return Some((before, v));
        }
    }
    None
}

/// `days` as (date, hits), checking each entry is exactly `{date, hits}`.
fn days_of(v: &serde_json::Value) -> Vec<(String, u64)> {
    let days = v["days"].as_array().unwrap_or_else(|| panic!("days is not an array: {v}"));
    days.iter()
        .map(|d| {
            let obj = d.as_object().unwrap_or_else(|| panic!("day entry is not an object: {d}"));
            assert_eq!(obj.len(), 3, "day entry has exactly date, hits and visitors: {d}");
            let v = &d["visitors"];
            assert!(v.is_u64() || v.is_null(), "visitors is a number, or null where not recorded: {d}");
            let date = d["date"].as_str().unwrap_or_else(|| panic!("date: {d}")).to_string();
            let hits = d["hits"].as_u64().unwrap_or_else(|| panic!("hits: {d}"));
            (date, hits)
        })
        .collect()
}

/// Exactly `n` consecutive dates, oldest first, ending with `last`.
fn assert_window(days: &[(String, u64)], n: usize, last: NaiveDate, what: &str) {
    assert_eq!(days.len(), n, "{what}: number of days");
    for (i, (date, _)) in days.iter().enumerate() {
        let want = last - Days::days((n - 1 - i) as i64);
        assert_eq!(date, &day(want), "{what}: entry {i} of {n} (oldest first, ending {last})");
    }
}

fn start_seeded(args: &[&str], rows: &[Seed]) -> Server {
    let dir = tempdir();
    seed(&dir.path().join("hitcounter.db"), rows);
    Server::start_with(Opts { args: args.to_vec(), dir: Some(Arc::clone(&dir)), ..Opts::default() })
}

// ---------------------------------------------------------------------------
// stats.json

#[test]
fn stats_json_default_window_and_counts() {
    let s = srv();
    let url = uniq_url("stats");
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/count?url={}", enc(&url))).status, 200);
    }
    assert_eq!(s.get(&format!("/count/tag.svg?url={}", enc(&url))).status, 200);
    let Some((today, (v, v1, v7, v366))) = on_one_day(0, || {
        (
            stats_json(s, &url, ""),
            stats_json(s, &url, "&days=1"),
            stats_json(s, &url, "&days=7"),
            stats_json(s, &url, "&days=366"),
        )
    }) else {
        panic!("the date kept changing");
    };
    assert_eq!(today, utc_today());
    let obj = v.as_object().expect("object");
    for key in ["url", "total", "today", "visitors", "days"] {
        assert!(obj.contains_key(key), "stats.json has {key}: {v}");
    }
    assert_eq!(v["url"], url.as_str(), "url is the counter key: {v}");
    assert_eq!(num(&v, "total"), 4, "{v}");
    assert_eq!(num(&v, "today"), 4, "{v}");
    let days = days_of(&v);
    assert_window(&days, 30, today, "default");
    for (date, hits) in &days[..29] {
        assert_eq!(*hits, 0, "{date}: no hits before today");
    }
    assert_eq!(days[29].1, 4, "today's hits");
    for (v, n) in [(v1, 1), (v7, 7), (v366, 366)] {
        let d = days_of(&v);
        assert_window(&d, n, today, &format!("days={n}"));
        assert_eq!(d.iter().map(|x| x.1).sum::<u64>(), 4, "days={n}");
        assert_eq!(d.last().unwrap().1, 4, "days={n}");
        assert_eq!((num(&v, "total"), num(&v, "today")), (4, 4), "days={n}");
    }
    assert_eq!(peek(s, &url), 4, "stats.json never counts");
}

#[test]
fn stats_json_rejects_bad_days() {
    let s = srv();
    let url = uniq_url("bad-days");
    for bad in ["0", "367", "x", "-1", "1.5", "30x", "99999999999999999999", "%2030"] {
        for ep in ["/nocount/stats.json", "/nocount/graph.svg", "/stats"] {
            let path = format!("{ep}?url={}&days={bad}", enc(&url));
            let r = s.get(&path);
            assert_eq!(r.status, 400, "{path}: {}", r.text());
            assert_one_line_plain(&r, &path);
        }
    }
    assert_eq!(peek(s, &url), 0);
}

#[test]
fn stats_json_unknown_url_is_all_zeros() {
    let s = srv();
    let url = uniq_url("never-seen");
    let Some((today, v)) = on_one_day(0, || stats_json(s, &url, "")) else { panic!("date") };
    assert_eq!(v["url"], url.as_str());
    assert_eq!((num(&v, "total"), num(&v, "today")), (0, 0), "{v}");
    let days = days_of(&v);
    assert_window(&days, 30, today, "unknown url");
    assert!(days.iter().all(|d| d.1 == 0), "all zeros: {v}");
    assert_eq!(peek(s, &url), 0, "looking does not create a count");
    for ep in ["/nocount/stats.json", "/nocount/graph.svg", "/stats"] {
        let r = s.get(ep);
        assert_eq!(r.status, 400, "{ep} without url or Referer: {}", r.text());
        assert_one_line_plain(&r, ep);
    }
}

#[test]
fn history_written_earlier_shows_on_the_right_dates() {
    let key = "history.stats-http.test/blog";
    let t = utc_today();
    let ago = |n: i64| t - Days::days(n);
    let rows =
        vec![(ago(0), 5), (ago(1), 7), (ago(6), 11), (ago(29), 13), (ago(30), 17), (ago(365), 19), (ago(366), 23)];
    let s = start_seeded(&[], &[(key, 1000, rows.clone()), ("other.stats-http.test/x", 3, vec![(ago(1), 3)])]);
    let Some((today, (v30, v7, v31, v366))) = on_one_day(0, || {
        (
            stats_json(&s, key, ""),
            stats_json(&s, key, "&days=7"),
            stats_json(&s, key, "&days=31"),
            stats_json(&s, key, "&days=366"),
        )
    }) else {
        panic!("date")
    };
    if today != t {
        eprintln!("midnight passed between seeding and reading; skipping");
        return;
    }
    let expect = |n: usize, v: &serde_json::Value| {
        let days = days_of(v);
        assert_window(&days, n, today, &format!("days={n}"));
        for (i, (date, hits)) in days.iter().enumerate() {
            let back = (n - 1 - i) as i64;
            let want = rows.iter().find(|(d, _)| *d == ago(back)).map(|r| r.1).unwrap_or(0);
            assert_eq!(*hits, want, "days={n}: {date} ({back} days ago)");
        }
        assert_eq!(num(v, "total"), 1000, "total is the counter, not the sum of days: {v}");
        assert_eq!(num(v, "today"), 5, "today from today's row: {v}");
    };
    expect(30, &v30);
    expect(7, &v7);
    expect(31, &v31);
    expect(366, &v366);
    let sum30: u64 = days_of(&v30).iter().map(|d| d.1).sum();
    assert_eq!(sum30, 5 + 7 + 11 + 13, "30 days: today and the 29 before it");
    let sum366: u64 = days_of(&v366).iter().map(|d| d.1).sum();
    assert_eq!(sum366, 5 + 7 + 11 + 13 + 17 + 19, "366 days reach back 365");

    // New hits add to today's row, and show at once.
    for _ in 0..2 {
        assert_eq!(s.get(&format!("/count?url={}", enc(key))).status, 200);
    }
    let Some((today2, v)) = on_one_day(0, || stats_json(&s, key, "&days=3")) else { panic!("date") };
    if today2 == today {
        let days = days_of(&v);
        assert_eq!((num(&v, "total"), num(&v, "today")), (1002, 7), "{v}");
        assert_eq!(days, vec![(day(ago(2)), 0), (day(ago(1)), 7), (day(today), 7)], "{v}");
    }

    // The chart of the same history: one bar per day, heights follow hits.
    let r = s.get(&format!("/nocount/graph.svg?url={}", enc(key)));
    let bars = chart_bars(&r, "graph of seeded history");
    let hits: Vec<u64> = days_of(&stats_json(&s, key, "")).iter().map(|d| d.1).collect();
    assert_bars_follow(&bars, &hits, "seeded graph");
    assert_eq!(peek(&s, key), 1002, "nothing above counted");
}

#[test]
fn timezone_decides_which_day_is_today() {
    let key = "tz.stats-http.test/page";
    const EAST: i32 = 14 * 3600;
    const WEST: i32 = -12 * 3600;
    let (d_east, d_west) = (today_at(EAST), today_at(WEST));
    // 26 hours apart: always different dates.
    assert_ne!(d_east, d_west);
    let rows = vec![(d_east, 5), (d_west, 9)];
    let east = start_seeded(&["--timezone", "+14:00"], &[(key, 100, rows.clone())]);
    let west = start_seeded(&["--timezone", "-12:00"], &[(key, 100, rows.clone())]);
    for s in [&east, &west] {
        assert_eq!(s.get(&format!("/count?url={}", enc(key))).status, 200);
    }
    let Some((e_today, ve)) = on_one_day(EAST, || stats_json(&east, key, "&days=3")) else { panic!("date") };
    let Some((w_today, vw)) = on_one_day(WEST, || stats_json(&west, key, "&days=3")) else { panic!("date") };
    if e_today != d_east || w_today != d_west {
        eprintln!("midnight passed at one of the offsets during the test; skipping");
        return;
    }
    // +14:00: today is d_east (5 seeded + 1 hit); d_west is 1 or 2 days back.
    let de = days_of(&ve);
    assert_window(&de, 3, d_east, "+14:00");
    assert_eq!((num(&ve, "total"), num(&ve, "today")), (101, 6), "+14:00: {ve}");
    assert_eq!(de.last().unwrap(), &(day(d_east), 6), "+14:00: {ve}");
    assert!(de.contains(&(day(d_west), 9)), "+14:00 still shows the row of {d_west}: {ve}");
    // -12:00: today is d_west (9 seeded + 1 hit); d_east is in its future.
    let dw = days_of(&vw);
    assert_window(&dw, 3, d_west, "-12:00");
    assert_eq!((num(&vw, "total"), num(&vw, "today")), (101, 10), "-12:00: {vw}");
    assert_eq!(dw.last().unwrap(), &(day(d_west), 10), "-12:00: {vw}");
    assert!(!dw.iter().any(|d| d.0 == day(d_east)), "-12:00 does not reach {d_east}: {vw}");

    // The badge's view=today follows the same boundary.
    let title = |s: &Server| {
        let r = s.get(&format!("/nocount/tag.svg?url={}&view=today", enc(key)));
        assert_eq!(r.status, 200, "{}", r.text());
        let doc_text = r.text();
        let doc = roxmltree::Document::parse(&doc_text).expect("badge XML");
        doc.descendants().find(|n| n.has_tag_name("title")).and_then(|n| n.text()).unwrap_or("").to_string()
    };
    assert_eq!(title(&east), "hits: 6");
    assert_eq!(title(&west), "hits: 10");

    // The environment variable does the same as the flag.
    let env_srv = Server::start_with(Opts { env: vec![("HITCOUNTER_TIMEZONE", "+14:00")], ..Opts::default() });
    let url = uniq_url("tz-env");
    assert_eq!(env_srv.get(&format!("/count?url={}", enc(&url))).status, 200);
    if let Some((d, v)) = on_one_day(EAST, || stats_json(&env_srv, &url, "&days=2")) {
        assert_eq!(days_of(&v).last().unwrap(), &(day(d), 1), "HITCOUNTER_TIMEZONE=+14:00: {v}");
    }
}

#[test]
fn an_iana_zone_decides_which_day_is_today() {
    // Kiritimati is UTC+14 all year: its today is the +14:00 one.
    let key = "tz-iana.stats-http.test/page";
    const EAST: i32 = 14 * 3600;
    let s = start_seeded(&["--timezone", "Pacific/Kiritimati"], &[(key, 10, vec![])]);
    assert_eq!(s.get(&format!("/count?url={}", enc(key))).status, 200);
    let Some((today, v)) = on_one_day(EAST, || stats_json(&s, key, "&days=2")) else { panic!("date") };
    assert_eq!(days_of(&v).last().unwrap(), &(day(today), 1), "{v}");
}

#[test]
fn unknown_timezones_are_refused() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let db = db.to_str().unwrap();
    for bad in ["Mars/Olympus", "+25:00", "09:00"] {
        let args = ["serve", "--listen", "127.0.0.1:0", "--db", db, "--timezone", bad];
        let (out, killed) = run_env(&args, &[], Duration::from_secs(15));
        assert!(!killed, "--timezone {bad}: the server started instead of refusing");
        assert_eq!(out.status.code(), Some(2), "--timezone {bad}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "--timezone {bad}: one line: {err:?}");
    }
}
