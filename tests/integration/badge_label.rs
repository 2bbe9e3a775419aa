//! The badge `label` parameter over real HTTP against the real binary:
//! custom and empty labels, the 64-character limit (a one-line 400 that
//! never counts), and escaping in the SVG and the JSON.

use crate::support;

use support::shields::*;
use support::*;

#[test]
fn custom_label() {
    let s = seeded_server();
    for (q, label) in
        [("&label=views", "views"), ("&label=%20%20views%20", "views"), ("&label=page%20views", "page views")]
    {
        let path = svg_path(&seeded(123), q);
        let b = get_badge(s, &path);
        check_flat_layout(&b, label, "123", "#555", "#4c1", &path);
    }
    let b = get_badge(s, &svg_path(&seeded(123), "&label=views"));
    assert_eq!(b.width, 41.0 + 31.0, "views (31) + 10, 123 (21) + 10: {}", b.raw);
}

#[test]
fn empty_label_shows_the_count_only() {
    let s = seeded_server();
    for (style, name) in STYLES {
        // 4 digits: for-the-badge's letter spacing adds up to whole pixels.
        let path = svg_path(&seeded(1234), &format!("&label=&style={name}"));
        let b = get_badge(s, &path);
        check_style_features(&b, style, &path);
        assert_eq!(b.title.as_deref(), Some("1234"), "{path}: title is just the count: {}", b.raw);
        assert_eq!(b.aria_label.as_deref(), Some("1234"), "{path}: aria-label is just the count");
        assert_eq!(b.texts.len(), 1, "{path}: one text: {}", b.raw);
        assert_eq!(b.texts[0].content, "1234", "{path}");
        if style == Style::ForTheBadge {
            let want = ftb_width("1234", true) + 24.0;
            assert!((b.width - want).abs() < 1e-6, "{path}: width {want}, got {}", b.width);
        } else {
            check_flat_layout(&b, "", "1234", "#555", "#4c1", &path);
            assert_eq!(b.width, 37.0, "{path}: 1234 = floor(27.96) = 27, + 10");
        }
    }
}

#[test]
fn label_length_is_limited_to_64_characters() {
    let s = seeded_server();
    let url = seeded(42);
    let ok64 = "x".repeat(64);
    let b = get_badge(s, &svg_path(&url, &format!("&label={ok64}")));
    check_flat_layout(&b, &ok64, "42", "#555", "#4c1", "64 x");
    // Characters, not bytes: 64 two-byte characters are fine.
    let wide64 = "é".repeat(64);
    let b = get_badge(s, &svg_path(&url, &format!("&label={}", enc(&wide64))));
    assert_eq!(b.texts[0].content, wide64);
    assert_eq!(b.title, Some(format!("{wide64}: 42")));
    let j = get_json(s, &format!("/nocount/tag.json?url={}&label={ok64}", enc(&url)));
    assert_eq!(j["label"], ok64.as_str());
    for long in ["x".repeat(65), "é".repeat(65), "y".repeat(500)] {
        for ep in ["/nocount/tag.svg", "/nocount/tag.json", "/count/tag.svg", "/count/tag.json"] {
            let path = format!("{ep}?url={}&label={}", enc(&url), enc(&long));
            let r = s.get(&path);
            assert_eq!(r.status, 400, "{ep} with a {}-character label: {}", long.chars().count(), r.text());
            assert_error_body(&r, &path);
        }
    }
    assert_eq!(peek(s, &url), 42, "rejected labels never count");
}

#[test]
fn label_is_escaped() {
    let s = seeded_server();
    let url = seeded(123);
    let label = r#"<&"'>"#;
    let b = get_badge(s, &svg_path(&url, &format!("&label={}", enc(label))));
    assert_eq!(b.texts[0].content, label, "label drawn as text: {}", b.raw);
    assert_eq!(b.title.as_deref(), Some(r#"<&"'>: 123"#));
    assert_eq!(b.aria_label.as_deref(), Some(r#"<&"'>: 123"#));
    assert!(!b.raw.contains(label), "raw label in the SVG: {}", b.raw);
    // < 9 + & 7.99 + " 5.05 + ' 2.95 + > 9 = 33.99 -> 33.
    assert_eq!(b.width, 43.0 + 31.0, "{}", b.raw);
    check_flat_layout(&b, label, "123", "#555", "#4c1", "escaped label");
    for (style, name) in STYLES {
        let evil = r#""/><script>alert(1)</script><text x="0">&amp;'"#;
        let path = svg_path(&url, &format!("&style={name}&label={}", enc(evil)));
        let b = get_badge(s, &path);
        assert!(!b.element_names.iter().any(|n| n == "script"), "{path}: markup injected: {}", b.raw);
        assert!(!b.raw.contains("<script"), "{path}: {}", b.raw);
        let want = if style == Style::ForTheBadge { evil.to_uppercase() } else { evil.to_string() };
        assert_eq!(b.texts[0].content, want, "{path}: label kept as text");
    }
    let j = get_json(s, &format!("/nocount/tag.json?url={}&label={}", enc(&url), enc(label)));
    assert_eq!(j["label"], label, "JSON label");
}
