//! Issue 4, badge parameters over real HTTP against the real binary: every
//! `style`, `label`, `color`/`labelColor`, `view` and `abbreviate` on
//! `tag.svg` (every SVG parsed as XML) and on `tag.json` (parsed as JSON),
//! with widths and geometry checked against shields' numbers in
//! shared/reference/badge-geometry.md (test vector: `hits` + `123` flat =
//! 31 + 31 = 62 px). Invalid parameters must be a one-line 400 that never
//! counts.

mod support;

use std::time::Duration;
use support::shields::*;
use support::*;

// ---------------------------------------------------------------------------
// Geometry and styles

#[test]
fn test_vector_hits_123_flat_is_62_wide() {
    // The test's own width table against badge-geometry.md's examples.
    for (text, w) in [("hits", 21), ("views", 31), ("123", 21), ("1.2k", 25), ("0", 7), ("1.2M", 27)] {
        assert_eq!(text_width(text), w, "{text}");
    }
    let s = seeded_server();
    for path in [svg_path(&seeded(123), ""), svg_path(&seeded(123), "&style=flat")] {
        let b = get_badge(s, &path);
        assert_eq!(b.width, 62.0, "{path}: hits + 123 = 31 + 31: {}", b.raw);
        assert_eq!(b.height, 20.0, "{path}");
        check_style_features(&b, Style::Flat, &path);
        check_flat_layout(&b, "hits", "123", "#555", "#4c1", &path);
        // The numbers from badge-geometry.md, spelled out.
        assert_eq!(b.texts[0].x, Some(165.0), "{path}: label centre");
        assert_eq!(b.texts[1].x, Some(455.0), "{path}: message centre");
        assert_eq!(b.texts[0].text_length, Some(210.0), "{path}");
        assert_eq!(b.texts[1].text_length, Some(210.0), "{path}");
        assert_eq!(b.title.as_deref(), Some("hits: 123"), "{path}");
    }
    let default = s.get(&svg_path(&seeded(123), "")).text();
    let flat = s.get(&svg_path(&seeded(123), "&style=flat")).text();
    assert_eq!(default, flat, "style=flat is the default");
}

#[test]
fn every_style_is_drawn_as_shields_draws_it() {
    let s = seeded_server();
    for (style, name) in STYLES {
        for n in [42, 123, 12345] {
            let path = svg_path(&seeded(n), &format!("&style={name}"));
            let b = get_badge(s, &path);
            check_style_features(&b, style, &path);
            if style == Style::ForTheBadge {
                continue;
            }
            check_flat_layout(&b, "hits", &n.to_string(), "#555", "#4c1", &path);
            if n == 123 {
                assert_eq!(b.width, 62.0, "{path}: same widths as flat");
            }
        }
    }
}

#[test]
fn for_the_badge_uppercases_and_bolds_the_message() {
    let s = seeded_server();
    let path = svg_path(&seeded(12345), "&style=for-the-badge&label=my%20views&abbreviate=true");
    let b = get_badge(s, &path);
    check_style_features(&b, Style::ForTheBadge, &path);
    assert_eq!(b.texts.len(), 2, "{path}: {}", b.raw);
    let (l, m) = (&b.texts[0], &b.texts[1]);
    assert_eq!(l.content, "MY VIEWS", "{path}: label upper-cased");
    assert_eq!(m.content, "12.3K", "{path}: message upper-cased");
    assert!(!l.bold, "{path}: label in normal weight: {l:?}");
    assert!(m.bold, "{path}: message in bold: {m:?}");
    assert!(b.raw.contains(r#"font-weight="bold""#), "{path}: font-weight=\"bold\": {}", b.raw);
    assert_text_colour(l, "#555", &path);
    assert_text_colour(m, "#4c1", &path);
    // Parts: label then message, each with 12 px margins around its text.
    let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width > 0.0).expect("label part");
    assert_eq!(lp.fill, "#555", "{path}");
    let mp = b.parts.iter().find(|p| p.x > 0.0).expect("message part");
    assert_eq!(mp.fill, "#4c1", "{path}");
    assert_eq!(mp.x, lp.width, "{path}: message part starts where the label part ends");
    assert!((b.width - (lp.width + mp.width)).abs() < 1e-6, "{path}: width is the sum of the parts");
    for (t, part) in [(l, lp), (m, mp)] {
        let tl = t.text_length.expect("textLength") / 10.0;
        assert!(tl > 0.0 && (part.width - tl - 24.0).abs() <= 1.0, "{path}: 12 px margins: {t:?} in {part:?}");
        let centre = t.x.expect("x") / 10.0;
        assert!((centre - (part.x + part.width / 2.0)).abs() <= 1.0, "{path}: text centred in its part: {t:?}");
    }
}

#[test]
fn for_the_badge_width_follows_shields_formula() {
    // HITS (10px normal) = floor(24.72) + 4 x 1.25 = 29;
    // 1234 (10px bold) = floor(28.44) + 4 x 1.25 = 33; + 12 px margins.
    let s = seeded_server();
    let path = svg_path(&seeded(1234), "&style=for-the-badge");
    let b = get_badge(s, &path);
    check_ftb_layout(&b, "HITS", "1234", &path);
    assert_eq!(b.width, 29.0 + 24.0 + 33.0 + 24.0, "{path}");
}

#[test]
fn for_the_badge_width_keeps_fractional_letter_spacing() {
    // 123 in bold: floor(21.33) + 3 x 1.25 = 24.75 ("no odd rounding").
    let s = seeded_server();
    let path = svg_path(&seeded(123), "&style=for-the-badge");
    let b = get_badge(s, &path);
    check_ftb_layout(&b, "HITS", "123", &path);
}

// ---------------------------------------------------------------------------
// label

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
            assert_one_line_plain(&r, &path);
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

// ---------------------------------------------------------------------------
// color / labelColor

#[test]
fn named_colours_and_aliases() {
    let s = seeded_server();
    let url = seeded(123);
    for (name, hex) in NAMED {
        let path = svg_path(&url, &format!("&color={name}"));
        let b = get_badge(s, &path);
        check_style_features(&b, Style::Flat, &path);
        check_flat_layout(&b, "hits", "123", "#555", hex, &path);
        let path = svg_path(&url, &format!("&labelColor={name}"));
        let b = get_badge(s, &path);
        check_flat_layout(&b, "hits", "123", hex, "#4c1", &path);
        let path = svg_path(&url, &format!("&labelColor={name}&color={name}&style=flat-square"));
        let b = get_badge(s, &path);
        check_style_features(&b, Style::FlatSquare, &path);
        check_flat_layout(&b, "hits", "123", hex, hex, &path);
        let j = get_json(s, &format!("/nocount/tag.json?url={}&color={name}", enc(&url)));
        assert_eq!(j["color"], hex.trim_start_matches('#'), "JSON color for {name}: {j}");
    }
}

#[test]
fn hex_colours_with_and_without_hash() {
    let s = seeded_server();
    let url = seeded(123);
    for (q, hex) in [
        ("ff8800", "#ff8800"),
        ("f80", "#f80"),
        ("%23ff8800", "#ff8800"),
        ("%23f80", "#f80"),
        ("%230a0b0c", "#0a0b0c"),
        ("ABCDEF", "#abcdef"),
        ("%23ABC", "#abc"),
    ] {
        for (param, label_bg, message_bg) in [("color", "#555", hex), ("labelColor", hex, "#4c1")] {
            let path = svg_path(&url, &format!("&{param}={q}"));
            let r = s.get(&path);
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            // Fills are compared lower-cased: hex digits are case-insensitive.
            let b = parse_svg(&r.text());
            check_flat_layout(&b, "hits", "123", label_bg, message_bg, &path);
        }
        let j = get_json(s, &format!("/nocount/tag.json?url={}&color={q}", enc(&url)));
        let got = j["color"].as_str().unwrap_or_else(|| panic!("color: {j}")).to_ascii_lowercase();
        assert_eq!(got, hex.trim_start_matches('#'), "JSON color for {q}");
    }
}

#[test]
fn invalid_colours_are_400() {
    let s = seeded_server();
    let url = seeded(123);
    for bad in ["nope", "12345", "%2312", "ggg", "%23ggg", "1234567", "red%3B", "url(%23x)", "%23%23fff", "rgb(1,2,3)"]
    {
        for param in ["color", "labelColor"] {
            for ep in ["/nocount/tag.svg", "/nocount/tag.json"] {
                let path = format!("{ep}?url={}&{param}={bad}", enc(&url));
                let r = s.get(&path);
                assert_eq!(r.status, 400, "{path}: {}", r.text());
                assert_one_line_plain(&r, &path);
            }
        }
    }
}

#[test]
fn text_colour_follows_background_brightness() {
    let s = seeded_server();
    let url = seeded(123);
    // b0b0b0: 176/255 = 0.6902 > 0.69 -> #333; afafaf: 0.6863 -> white.
    let cases = ["fff", "ffffff", "dddddd", "ff0", "e0e0e0", "b0b0b0", "afafaf", "000", "dfb317", "97ca00", "9f9f9f"];
    for hex in cases {
        let bg = format!("#{hex}");
        for (style, name) in [(Style::Flat, "flat"), (Style::Plastic, "plastic"), (Style::FlatSquare, "flat-square")] {
            let path = svg_path(&url, &format!("&style={name}&color={hex}&labelColor={hex}"));
            let b = get_badge(s, &path);
            check_style_features(&b, style, &path);
            check_flat_layout(&b, "hits", "123", &bg, &bg, &path);
        }
        let path = svg_path(&url, &format!("&style=for-the-badge&color={hex}&labelColor={hex}"));
        let b = get_badge(s, &path);
        for t in &b.texts {
            assert_text_colour(t, &bg, &path);
        }
    }
    // Spot checks of the rule itself, so the table above means something.
    assert!(light("#fff") && light("#b0b0b0") && !light("#afafaf") && !light("#dfb317") && !light("#4c1"));
}

// ---------------------------------------------------------------------------
// view and abbreviate

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
        400 => assert_one_line_plain(&r, &path),
        200 => {
            parse_svg(&r.text());
        }
        other => panic!("{path}: status {other}: {}", r.text()),
    }
}

// ---------------------------------------------------------------------------
// Characters outside the table

#[test]
fn wide_characters_and_emoji_are_never_narrower_than_shields_fallback() {
    let s = seeded_server();
    let url = seeded(123);
    // README: East Asian wide characters 12 px, emoji 13 px.
    for (label, documented) in [
        ("漢字テスト", Some(61.0)),
        ("한국어", Some(37.0)),
        ("🎉🚀", Some(27.0)),
        ("ｈｉｔｓ", Some(49.0)),
        ("👋 hi 世界", None),
    ] {
        for (style, name) in [(Style::Flat, "flat"), (Style::FlatSquare, "flat-square"), (Style::Plastic, "plastic")] {
            let path = svg_path(&url, &format!("&style={name}&label={}", enc(label)));
            let b = get_badge(s, &path);
            check_style_features(&b, style, &path);
            assert_eq!(b.texts.len(), 2, "{path}: {}", b.raw);
            let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width > 0.0).expect("label part").clone();
            // shields' fallback counts every character outside its table as `m`.
            let fallback = text_width(label) as f64 + 10.0;
            assert!(lp.width >= fallback, "{path}: label part {} narrower than shields' {fallback}", lp.width);
            if let Some(documented) = documented {
                assert_eq!(lp.width, documented + 10.0, "{path}: README's widths for wide characters / emoji");
            }
            let tl = b.texts[0].text_length.expect("textLength");
            assert_eq!(tl, 10.0 * (lp.width - 10.0), "{path}: the text fills exactly its box");
            assert_eq!(b.width, lp.width + 31.0, "{path}: the message part is unchanged");
            assert_eq!(b.texts[0].content, label);
        }
        let b = get_badge(s, &svg_path(&url, &format!("&style=for-the-badge&label={}", enc(label))));
        let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width > 0.0).expect("label part").clone();
        let tl = b.texts[0].text_length.expect("textLength") / 10.0;
        assert!(tl + 24.0 <= lp.width + 1e-6, "for-the-badge {label}: text {tl} overflows {}", lp.width);
        // At least shields' fallback (m at 10px, 10.7 x 10/11) per character
        // outside the table.
        let min = label.chars().filter(|c| !c.is_ascii()).count() as f64 * FALLBACK * 10.0 / 11.0;
        assert!(tl >= min.floor(), "for-the-badge {label}: text width {tl} below the fallback {min}");
    }
}

// ---------------------------------------------------------------------------
// Invalid parameters never count; counting badges count

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
            assert_one_line_plain(&r, &path);
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

// ---------------------------------------------------------------------------
// shields endpoint JSON

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
