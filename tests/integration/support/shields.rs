//! What shields.io draws, as checks on a parsed badge (`Svg`): the four
//! styles (height, rounding, gradient, shadows, text attributes), the named
//! colours and the text colour rule, and the layout of each part (widths
//! from the `width` oracle, text centred, `textLength`). Used by the
//! `badge_*.rs` tests.

use super::badge::{Svg, Txt};
use super::width::{ftb_width, text_width};

/// shields' named colours and aliases, with the hex colour each draws.
pub const NAMED: &[(&str, &str)] = &[
    ("brightgreen", "#4c1"),
    ("green", "#97ca00"),
    ("yellow", "#dfb317"),
    ("yellowgreen", "#a4a61d"),
    ("orange", "#fe7d37"),
    ("red", "#e05d44"),
    ("blue", "#007ec6"),
    ("grey", "#555"),
    ("lightgrey", "#9f9f9f"),
    ("gray", "#555"),
    ("lightgray", "#9f9f9f"),
    ("critical", "#e05d44"),
    ("important", "#fe7d37"),
    ("success", "#4c1"),
    ("informational", "#007ec6"),
    ("inactive", "#9f9f9f"),
];

pub fn rgb(hex: &str) -> (f64, f64, f64) {
    let h = hex.trim_start_matches('#');
    let d: Vec<f64> = h.chars().map(|c| c.to_digit(16).expect("hex digit") as f64).collect();
    match d.as_slice() {
        [r, g, b] => (r * 17.0, g * 17.0, b * 17.0),
        [r1, r2, g1, g2, b1, b2] => (r1 * 16.0 + r2, g1 * 16.0 + g2, b1 * 16.0 + b2),
        _ => panic!("not a hex colour: {hex}"),
    }
}

/// shields' rule: dark (#333) text when brightness > 0.69, else white.
pub fn light(hex: &str) -> bool {
    let (r, g, b) = rgb(hex);
    (299.0 * r + 587.0 * g + 114.0 * b) / 255_000.0 > 0.69
}

pub fn is_white(fill: Option<&str>) -> bool {
    matches!(fill, Some("#fff") | Some("#ffffff") | Some("white"))
}

pub fn assert_text_colour(t: &Txt, background: &str, what: &str) {
    if light(background) {
        assert_eq!(t.fill.as_deref(), Some("#333"), "{what}: text on light {background} must be #333: {t:?}");
    } else {
        assert!(is_white(t.fill.as_deref()), "{what}: text on dark {background} must be white: {t:?}");
    }
}

pub fn black(c: &str) -> bool {
    matches!(c, "#000" | "#000000" | "black")
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Flat,
    FlatSquare,
    Plastic,
    ForTheBadge,
}

pub const STYLES: [(Style, &str); 4] = [
    (Style::Flat, "flat"),
    (Style::FlatSquare, "flat-square"),
    (Style::Plastic, "plastic"),
    (Style::ForTheBadge, "for-the-badge"),
];

/// Height, clip radius, crispEdges, gradient and shadows of each style.
pub fn check_style_features(b: &Svg, style: Style, what: &str) {
    let raw = &b.raw;
    match style {
        Style::Flat | Style::Plastic => {
            let (h, rx) = if style == Style::Flat { (20.0, "3") } else { (18.0, "4") };
            assert_eq!(b.height, h, "{what}: height: {raw}");
            assert_eq!(b.clip_rx, vec![rx.to_string()], "{what}: one rounded clip rect with rx {rx}: {raw}");
            assert!(b.element_names.iter().any(|n| n == "clipPath"), "{what}: clipPath: {raw}");
            assert!(!b.crisp, "{what}: no crispEdges on a rounded style: {raw}");
            assert!(b.overlay, "{what}: a rect filled with the gradient: {raw}");
            assert!(b.element_names.iter().any(|n| n == "linearGradient"), "{what}: linearGradient: {raw}");
            if style == Style::Flat {
                assert_eq!(b.stops.len(), 2, "{what}: flat gradient stops: {:?}", b.stops);
                let (o0, c0, a0) = &b.stops[0];
                let (o1, c1, a1) = &b.stops[1];
                assert!(*o0 == 0.0 && c0 == "#bbb" && (*a0 - 0.1).abs() < 1e-9, "{what}: stop 0: {:?}", b.stops);
                assert!(*o1 == 1.0 && black(c1) && (*a1 - 0.1).abs() < 1e-9, "{what}: stop 1: {:?}", b.stops);
            } else {
                let want = [(0.0, "#fff", 0.7), (0.1, "#aaa", 0.1), (0.9, "#000", 0.3), (1.0, "#000", 0.5)];
                assert_eq!(b.stops.len(), 4, "{what}: plastic gradient stops: {:?}", b.stops);
                for ((o, c, a), (wo, wc, wa)) in b.stops.iter().zip(want) {
                    let colour_ok = if wc == "#000" { black(c) } else { c == wc || c == "#ffffff" };
                    assert!(
                        (o - wo).abs() < 1e-9 && colour_ok && (a - wa).abs() < 1e-9,
                        "{what}: plastic stops {:?}, want {want:?}",
                        b.stops
                    );
                }
            }
            // shadow copies of every text, in #010101 at .3 or #ccc on light.
            assert_eq!(b.shadows.len(), b.texts.len(), "{what}: one aria-hidden shadow per text: {raw}");
            for (s, t) in b.shadows.iter().zip(&b.texts) {
                assert_eq!(s.content, t.content, "{what}: shadow text");
                assert_eq!(s.x, t.x, "{what}: shadow x");
                assert_eq!(s.y.zip(t.y).map(|(a, b)| a - b), Some(10.0), "{what}: shadow 1px below: {s:?} {t:?}");
                assert_eq!(s.fill_opacity, Some(0.3), "{what}: shadow opacity: {s:?}");
                let dark_text = t.fill.as_deref() == Some("#333");
                let want = if dark_text { "#ccc" } else { "#010101" };
                assert_eq!(s.fill.as_deref(), Some(want), "{what}: shadow colour: {s:?}");
            }
        }
        Style::FlatSquare | Style::ForTheBadge => {
            let h = if style == Style::FlatSquare { 20.0 } else { 28.0 };
            assert_eq!(b.height, h, "{what}: height: {raw}");
            assert!(b.clip_rx.is_empty() && b.rx.is_empty(), "{what}: no rounding: {raw}");
            assert!(!b.element_names.iter().any(|n| n == "clipPath"), "{what}: no clipPath: {raw}");
            assert!(b.stops.is_empty() && !b.overlay, "{what}: no gradient: {raw}");
            assert!(!b.element_names.iter().any(|n| n == "linearGradient"), "{what}: no gradient: {raw}");
            assert!(b.crisp, "{what}: shape-rendering=\"crispEdges\": {raw}");
            if style == Style::FlatSquare {
                assert!(b.shadows.is_empty(), "{what}: flat-square has no shadow: {raw}");
            }
        }
    }
    let baseline = match style {
        Style::Flat | Style::FlatSquare => 140.0,
        Style::Plastic => 130.0,
        Style::ForTheBadge => 175.0,
    };
    let size = if style == Style::ForTheBadge { "100" } else { "110" };
    for t in &b.texts {
        assert_eq!(t.y, Some(baseline), "{what}: baseline: {t:?}");
        assert_eq!(t.transform.as_deref(), Some("scale(.1)"), "{what}: text drawn at 10x: {t:?}");
        assert_eq!(t.font_size.as_deref(), Some(size), "{what}: font-size: {t:?}");
        let fam = t.font_family.clone().unwrap_or_default().replace(", ", ",");
        assert_eq!(fam, "Verdana,Geneva,DejaVu Sans,sans-serif", "{what}: font family: {t:?}");
        assert_eq!(t.text_rendering.as_deref(), Some("geometricPrecision"), "{what}: text-rendering: {t:?}");
        assert!(t.text_length.is_some(), "{what}: every text has textLength: {t:?}");
    }
    assert_eq!(b.role.as_deref(), Some("img"), "{what}: role");
}

/// Layout of flat, flat-square and plastic badges: each part is its text's
/// Verdana 11px width + 10, text centred per shields, textLength = 10x width.
pub fn check_flat_layout(b: &Svg, label: &str, message: &str, label_bg: &str, message_bg: &str, what: &str) {
    let (label, message) = (label.trim(), message.trim());
    let raw = &b.raw;
    let mw = text_width(message) as f64;
    let right = mw + 10.0;
    let visible: Vec<&Txt> = b.texts.iter().collect();
    if label.is_empty() {
        assert_eq!(b.width, right, "{what}: message-only width = {mw} + 10: {raw}");
        assert_eq!(visible.len(), 1, "{what}: only the message is drawn: {raw}");
        let m = visible[0];
        assert_eq!(m.content, message, "{what}: message text");
        assert_eq!(m.text_length, Some(10.0 * mw), "{what}: message textLength");
        let centre = m.x.expect("x");
        assert!((centre - 10.0 * right / 2.0).abs() <= 10.0, "{what}: message centred: {m:?} width {right}");
        let part = b.parts.iter().find(|p| p.width > 0.0 && p.fill == message_bg);
        assert!(part.is_some_and(|p| p.width == right), "{what}: message part {right} wide on {message_bg}: {raw}");
        assert!(
            !b.parts.iter().any(|p| p.width > 0.0 && p.fill != message_bg),
            "{what}: no visible label part: {:?}",
            b.parts
        );
        assert_text_colour(m, message_bg, what);
        return;
    }
    let lw = text_width(label) as f64;
    let left = lw + 10.0;
    assert_eq!(b.width, left + right, "{what}: width = ({lw} + 10) + ({mw} + 10): {raw}");
    assert_eq!(visible.len(), 2, "{what}: label and message texts: {raw}");
    let (l, m) = (visible[0], visible[1]);
    assert_eq!(l.content, label, "{what}: label text");
    assert_eq!(m.content, message, "{what}: message text");
    assert_eq!(l.text_length, Some(10.0 * lw), "{what}: label textLength");
    assert_eq!(m.text_length, Some(10.0 * mw), "{what}: message textLength");
    assert_eq!(l.x, Some(10.0 * (1.0 + lw / 2.0 + 5.0)), "{what}: label centre");
    assert_eq!(m.x, Some(10.0 * (left - 1.0 + mw / 2.0 + 5.0)), "{what}: message centre");
    let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width == left);
    assert!(lp.is_some_and(|p| p.fill == label_bg), "{what}: label part {left} wide on {label_bg}: {:?}", b.parts);
    let mp = b.parts.iter().find(|p| p.x == left && p.width == right);
    assert!(mp.is_some_and(|p| p.fill == message_bg), "{what}: message part at {left}, {right} wide: {:?}", b.parts);
    for p in &b.parts {
        assert_eq!(p.height, Some(b.height), "{what}: parts are as high as the badge: {p:?}");
    }
    assert_text_colour(l, label_bg, what);
    assert_text_colour(m, message_bg, what);
    let accessible = format!("{label}: {message}");
    assert_eq!(b.title.as_deref(), Some(accessible.as_str()), "{what}: title");
    assert_eq!(b.aria_label.as_deref(), Some(accessible.as_str()), "{what}: aria-label");
}

/// Layout of a for-the-badge badge: each part is its text's Verdana 10px
/// width (label normal, message bold) + 24.
pub fn check_ftb_layout(b: &Svg, label: &str, message: &str, what: &str) {
    let lw = ftb_width(label, false);
    let mw = ftb_width(message, true);
    let (left, right) = (lw + 24.0, mw + 24.0);
    assert!(
        (b.width - (left + right)).abs() < 1e-6,
        "{what}: width = ({lw} + 24) + ({mw} + 24) = {}, got {}: {}",
        left + right,
        b.width,
        b.raw
    );
    let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width > 0.0).expect("label part");
    assert!((lp.width - left).abs() < 1e-6, "{what}: label part {left}: {:?}", b.parts);
    let mp = b.parts.iter().find(|p| p.x > 0.0).expect("message part");
    assert!((mp.x - left).abs() < 1e-6 && (mp.width - right).abs() < 1e-6, "{what}: message part: {:?}", b.parts);
}
