//! The badge `color` and `labelColor` parameters over real HTTP against the
//! real binary: shields' named colours and aliases, hex with and without
//! `#`, invalid colours (400), and the text colour that follows the
//! background's brightness.

use crate::support;

use support::shields::*;
use support::*;

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
                assert_error_body(&r, &path);
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
