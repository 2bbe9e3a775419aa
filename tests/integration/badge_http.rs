//! The badge over HTTP: every SVG parsed as XML, accessibility, the flat
//! geometry (width from Verdana 11px widths, grows with digits), and hostile
//! URLs that must never break the XML.

use crate::support;

use support::*;

/// Seeded counts (see `support::badge`), smallest first.
const COUNTS: &[u64] = &[7, 42, 123, 12345, 99_999_999, 123_456_789_012];

/// Checks the flat default badge for count `n` and returns its width.
fn check_flat(b: &Svg, n: u64, what: &str) -> f64 {
    assert_eq!(b.role.as_deref(), Some("img"), "{what}: role");
    let title = b.title.clone().unwrap_or_else(|| panic!("{what}: no <title>"));
    let msg = title.strip_prefix("hits: ").unwrap_or_else(|| panic!("{what}: title {title:?}"));
    assert_eq!(msg.replace(',', ""), n.to_string(), "{what}: the badge shows the count");
    assert_eq!(b.aria_label.as_deref(), Some(title.as_str()), "{what}: aria-label = title");
    assert_eq!(b.height, 20.0, "{what}: height");
    let mw = text_width(msg) as f64 + 10.0;
    assert_eq!(b.width, 31.0 + mw, "{what}: width = 31 (hits) + {mw} ({msg})");
    let grey = ["#555", "#555555"];
    let green = ["#4c1", "#44cc11"];
    assert!(
        b.rects.iter().any(|(w, f)| *w == Some(31.0) && f.as_deref().is_some_and(|f| grey.contains(&f))),
        "{what}: label part 31 wide on #555: {:?}",
        b.rects
    );
    assert!(
        b.rects.iter().any(|(w, f)| *w == Some(mw) && f.as_deref().is_some_and(|f| green.contains(&f))),
        "{what}: count part {mw} wide on #4c1: {:?}",
        b.rects
    );
    assert!(b.rx.iter().any(|rx| rx == "3"), "{what}: rounded corners (rx=3)");
    b.width
}

#[test]
fn flat_badge_geometry_and_accessibility() {
    let s = seeded_server();
    let b = get_badge(s, &svg_path("never-seen.test/x", ""));
    assert_eq!(check_flat(&b, 0, "0"), 48.0, "hits + 0 = 31 + 17");
    let b = get_badge(s, &svg_path(&seeded(123), ""));
    assert_eq!(check_flat(&b, 123, "123"), 62.0, "the shields test vector: hits + 123 = 62");
    let b = get_badge(s, &svg_path(&seeded(7), ""));
    assert_eq!(check_flat(&b, 7, "7"), 48.0);
}

#[test]
fn width_grows_with_digits() {
    let s = seeded_server();
    let mut last = 0.0;
    for &n in COUNTS {
        let b = get_badge(s, &svg_path(&seeded(n), ""));
        let w = check_flat(&b, n, &n.to_string());
        assert!(w > last, "{n}: width {w} not above {last}");
        last = w;
    }
    // 12 digits, no separators: 31 + (83 + 10)
    let b = get_badge(s, &svg_path(&seeded(123_456_789_012), ""));
    if b.title.as_deref() == Some("hits: 123456789012") {
        assert_eq!(b.width, 124.0);
    }
}

#[test]
fn counting_badge_shows_the_new_count() {
    let s = seeded_server();
    let u = uniq_url("badge-count");
    for n in 1..=12u64 {
        let b = get_badge(s, &format!("/count/tag.svg?url={}", enc(&u)));
        check_flat(&b, n, &format!("counted {n}"));
    }
    let b = get_badge(s, &svg_path(&u, ""));
    check_flat(&b, 12, "nocount 12");
}

const HOSTILE: &[&str] = &[
    "a--><script>alert(1)</script>",
    "example.com/a--><script>alert(1)</script><!--",
    "https://evil.example/a--><script>alert(1)</script>",
    "example.com/&<>\"'",
    "https://evil.example/\"><svg onload=alert(1)>",
    "example.com/]]><x/>",
    "example.com/<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>&e;",
    "example.com/%3Cscript%3E",
    "example.com/\u{202e}ünïcödé/日本語/😀",
    "example.com/a\u{1}b\u{7f}",
    "example.com/a\u{0}b",
    "&amp;&lt;&#0;&#x1;",
];

fn check_hostile(r: &Resp, what: &str) {
    match r.status {
        200 => {
            let ct = r.header("content-type").unwrap_or("");
            assert!(ct.starts_with("image/svg+xml"), "{what}: {ct}");
            let text = r.text();
            let b = parse_svg(&text);
            for bad in ["script", "foreignObject", "iframe", "x"] {
                assert!(!b.element_names.iter().any(|n| n == bad), "{what}: injected <{bad}>: {text}");
            }
            assert!(!text.to_ascii_lowercase().contains("<script"), "{what}: raw <script in {text}");
            assert!(!text.contains("onload"), "{what}: attribute injection in {text}");
            assert_eq!(b.role.as_deref(), Some("img"));
        }
        400 | 414 => assert_error_body(r, what),
        other => panic!("{what}: status {other}: {}", r.text()),
    }
}

#[test]
fn hostile_urls_never_break_the_xml() {
    let s = seeded_server();
    for h in HOSTILE {
        for p in ["/count/tag.svg", "/nocount/tag.svg"] {
            let r = s.get(&format!("{p}?url={}", enc(h)));
            check_hostile(&r, &format!("{p} url={h:?}"));
        }
    }
    // the same through Referer (header-safe ones: no control characters)
    for h in HOSTILE.iter().filter(|h| !h.chars().any(|c| c.is_control()) && h.is_ascii()) {
        let referer = if h.contains("://") { h.to_string() } else { format!("https://{h}") };
        for p in ["/count/tag.svg", "/nocount/tag.svg"] {
            let r = s.get_h(p, &[("Referer", &referer)]);
            check_hostile(&r, &format!("{p} Referer={referer:?}"));
        }
    }
}

#[test]
fn hostile_url_counts_like_any_other() {
    let s = seeded_server();
    let h = format!("{}.test/a--><script>alert(1)</script>&<>\"'", uniq("evil"));
    let b = get_badge(s, &format!("/count/tag.svg?url={}", enc(&h)));
    check_flat(&b, 1, "hostile first hit");
    let b = get_badge(s, &format!("/count/tag.svg?url={}", enc(&h)));
    check_flat(&b, 2, "hostile second hit");
    assert_eq!(peek(s, &h), 2);
}
