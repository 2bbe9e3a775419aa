//! The badge `view` and `abbreviate` parameters over real HTTP against the
//! real binary: total, today and today / total (with thousands separators),
//! and abbreviated numbers, on `tag.svg` and `tag.json`.

use crate::support;

use std::time::Duration;
use support::shields::*;
use support::*;

#[test]
fn view_total_and_today() {
    let s = seeded_server();
    let url = seeded(12345);
    for (q, msg) in [("", "12345"), ("&view=total", "12345"), ("&view=today", "0"), ("&view=today-total", "0 / 12,345")]
    {
        let path = svg_path(&url, q);
        let b = get_badge(s, &path);
        check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
        let j = get_json(s, &format!("/nocount/tag.json?url={}{q}", enc(&url)));
        assert_eq!(j["message"], msg, "JSON {q}: {j}");
    }
}

#[test]
fn today_total_shows_thousands_separators() {
    let s = seeded_server();
    let url = uniq_url("today-total");
    let out = run_db(&s.db, &["set", &url, "1201"]);
    assert!(out.status.success(), "set: {}", String::from_utf8_lossy(&out.stderr));
    assert!(eventually(Duration::from_secs(10), || peek(s, &url) == 1201), "the running server shows the set total");
    for i in 1..=3 {
        let r = s.get(&format!("/count?url={}", enc(&url)));
        assert_eq!(r.count(), 1201 + i);
    }
    for (q, msg) in [
        ("&view=today-total", "3 / 1,204"),
        ("&view=today", "3"),
        ("&view=total", "1204"),
        ("&view=today-total&abbreviate=true", "3 / 1.2k"),
    ] {
        let path = svg_path(&url, q);
        let b = get_badge(s, &path);
        check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
        let j = get_json(s, &format!("/nocount/tag.json?url={}{q}", enc(&url)));
        assert_eq!(j["message"], msg, "JSON {q}: {j}");
    }
    let b = get_badge(s, &svg_path(&url, "&view=today-total&style=plastic&label=views"));
    check_flat_layout(&b, "views", "3 / 1,204", "#555", "#4c1", "plastic today-total");
    assert_eq!(peek(s, &url), 1204, "badges on /nocount never count");
}

#[test]
fn abbreviate_numbers() {
    let s = seeded_server();
    for (n, msg) in [(42, "42"), (999, "999"), (1234, "1.2k"), (12345, "12.3k"), (1_234_567, "1.2M")] {
        for q in ["&abbreviate=true", "&abbreviate=true&view=total"] {
            let path = svg_path(&seeded(n), q);
            let b = get_badge(s, &path);
            check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
            let j = get_json(s, &format!("/nocount/tag.json?url={}{q}", enc(&seeded(n))));
            assert_eq!(j["message"], msg, "JSON {n}: {j}");
        }
        let path = svg_path(&seeded(n), "&abbreviate=false");
        let b = get_badge(s, &path);
        check_flat_layout(&b, "hits", &n.to_string(), "#555", "#4c1", &path);
    }
    // 12.3k: 1 2 . 3 k = 4 x 6.99 - 6.99 + 4 + 6.51 -> 31 (+ 10).
    let b = get_badge(s, &svg_path(&seeded(12345), "&abbreviate=true"));
    assert_eq!(b.width, 31.0 + 41.0, "{}", b.raw);
}

#[test]
fn abbreviate_with_other_values_is_a_clear_answer() {
    let s = seeded_server();
    let path = svg_path(&seeded(12345), "&abbreviate=maybe");
    let r = s.get(&path);
    match r.status {
        400 => assert_error_body(&r, &path),
        200 => {
            parse_svg(&r.text());
        }
        other => panic!("{path}: status {other}: {}", r.text()),
    }
}
