//! The badge endpoints over real HTTP against the real binary: invalid
//! parameters are a one-line 400 that never counts on any of
//! `/count/tag.svg`, `/count/tag.json`, `/nocount/tag.svg` and
//! `/nocount/tag.json`; the counting ones count (and set the anti-refresh
//! cookie), the display-only ones do not; and shields' endpoint JSON
//! (`tag.json`, parsed as JSON) with its defaults and parameters.

use crate::support;

use support::shields::*;
use support::*;

#[test]
fn bad_parameters_are_400_and_never_count() {
    let s = seeded_server();
    let url = uniq_url("bad-params");
    let mut bad: Vec<String> = [
        "style=round",
        "style=FLAT-ISH",
        "style=social2",
        "view=week",
        "view=totals",
        "color=nope",
        "labelColor=%23ggg",
        "color=%2312",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    bad.push(format!("label={}", "z".repeat(65)));
    bad.push(format!("label={}", "z".repeat(500)));
    for q in &bad {
        for ep in ["/count/tag.svg", "/count/tag.json", "/nocount/tag.svg", "/nocount/tag.json"] {
            let path = format!("{ep}?url={}&{q}", enc(&url));
            let r = s.get(&path);
            assert_eq!(r.status, 400, "{path}: {}", r.text());
            assert_error_body(&r, &path);
            assert!(set_cookies(&r).is_empty(), "{path}: a rejected request sets no cookie: {:?}", r.headers);
            assert_eq!(peek(s, &url), 0, "{path} counted");
        }
    }
    let b = get_badge(s, &format!("/count/tag.svg?url={}&style=plastic", enc(&url)));
    assert_eq!(b.title.as_deref(), Some("hits: 1"), "the first valid request counts once");
    assert_eq!(peek(s, &url), 1);
}

#[test]
fn count_badges_count_and_nocount_badges_do_not() {
    let s = seeded_server();
    let url = uniq_url("counting");
    let mut n = 0;
    for (style, name) in STYLES {
        let q = format!("&style={name}&label=views&color=blue&view=total&abbreviate=true");
        n += 1;
        let path = format!("/count/tag.svg?url={}{q}", enc(&url));
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(!set_cookies(&r).is_empty(), "{path}: a counted badge sets the anti-refresh cookie");
        let b = parse_svg(&r.text());
        check_style_features(&b, style, &path);
        assert_eq!(b.title, Some(format!("views: {n}")), "{path}");
        let b = get_badge(s, &format!("/nocount/tag.svg?url={}{q}", enc(&url)));
        assert_eq!(b.title, Some(format!("views: {n}")), "nocount shows the count");
        assert_eq!(peek(s, &url), n, "nocount did not count");
    }
}

#[test]
fn endpoint_json_defaults() {
    let s = seeded_server();
    let url = seeded(123);
    let j = get_json(s, &format!("/nocount/tag.json?url={}", enc(&url)));
    assert_eq!(j["schemaVersion"], 1, "{j}");
    assert_eq!(j["label"], "hits", "{j}");
    assert_eq!(j["message"], "123", "{j}");
    assert_eq!(j["color"], "4c1", "hex without '#': {j}");
    assert!(j["schemaVersion"].is_u64(), "schemaVersion is a number: {j}");
    assert_eq!(peek(s, &url), 123, "nocount JSON did not count");
}

#[test]
fn endpoint_json_counts_on_count_and_not_on_nocount() {
    let s = seeded_server();
    let url = uniq_url("json-count");
    for i in 1..=3u64 {
        let r = s.get(&format!("/count/tag.json?url={}", enc(&url)));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(!set_cookies(&r).is_empty(), "counted JSON sets the anti-refresh cookie");
        let j: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        assert_eq!(j["message"], i.to_string(), "{j}");
        assert_eq!(j["schemaVersion"], 1);
    }
    for _ in 0..2 {
        let j = get_json(s, &format!("/nocount/tag.json?url={}", enc(&url)));
        assert_eq!(j["message"], "3", "{j}");
    }
    assert_eq!(peek(s, &url), 3);
}

#[test]
fn endpoint_json_applies_params() {
    let s = seeded_server();
    let url = seeded(12345);
    let j = get_json(s,
        &format!(
            "/nocount/tag.json?url={}&label=views&color=orange&labelColor=red&view=today-total&abbreviate=true&style=for-the-badge",
            enc(&url)
        ),
    );
    assert_eq!(j["schemaVersion"], 1, "{j}");
    assert_eq!(j["message"], "0 / 12.3k", "{j}");
    assert_eq!(j["color"], "fe7d37", "{j}");
    assert_eq!(j["labelColor"], "e05d44", "{j}");
    assert!(j["label"].as_str().is_some_and(|l| l.eq_ignore_ascii_case("views")), "{j}");
    let j = get_json(s, &format!("/nocount/tag.json?url={}&label=&color=%23abcdef", enc(&url)));
    assert_eq!(j["label"], "", "empty label: {j}");
    assert_eq!(j["message"], "12345", "{j}");
    assert_eq!(j["color"], "abcdef", "{j}");
    let j = get_json(s, &format!("/nocount/tag.json?url={}&view=today", enc(&url)));
    assert_eq!(j["message"], "0", "{j}");
}
