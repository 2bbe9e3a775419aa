//! Badge styles over real HTTP against the real binary: every `style` on
//! `tag.svg` (every SVG parsed as XML) drawn as shields draws it, with widths
//! and geometry checked against shields' numbers in
//! docs/badge-geometry.md (test vector: `hits` +
//! `123` flat = 31 + 31 = 62 px), for-the-badge's own widths, and characters
//! outside the width table.

use crate::support;

use support::shields::*;
use support::*;

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
