//! Issue 4, badge parameters over real HTTP against the real binary: every
//! `style`, `label`, `color`/`labelColor`, `view` and `abbreviate` on
//! `tag.svg` (every SVG parsed as XML) and on `tag.json` (parsed as JSON),
//! with widths and geometry checked against shields' numbers in
//! shared/reference/badge-geometry.md (test vector: `hits` + `123` flat =
//! 31 + 31 = 62 px). Invalid parameters must be a one-line 400 that never
//! counts.

mod common;
mod support;

use common::*;
use std::sync::OnceLock;
use std::time::Duration;
use support::{admin_set, assert_one_line_plain, kill_at_exit, peek, set_cookies, uniq_url};

// ---------------------------------------------------------------------------
// Server with counters filled by `set` before it started (today = 0 on all).

const SEEDED: &[u64] = &[42, 123, 999, 1234, 12345, 1_234_567];

fn seeded(n: u64) -> String {
    format!("n{n}.badge-params.test/p")
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    SERVER.get_or_init(|| {
        let dir = tempdir();
        let db = dir.path().join("hitcounter.db");
        for &n in SEEDED {
            admin_set(&db, &seeded(n), n);
        }
        let s = Server::start_with(Opts { dir: Some(dir), ..Opts::default() });
        kill_at_exit(s.child.id());
        s
    })
}

fn svg_path(url: &str, extra: &str) -> String {
    format!("/nocount/tag.svg?url={}{extra}", enc(url))
}

// ---------------------------------------------------------------------------
// A parsed badge

#[derive(Debug, Clone)]
struct Txt {
    content: String,
    x: Option<f64>,
    y: Option<f64>,
    fill: Option<String>,
    fill_opacity: Option<f64>,
    text_length: Option<f64>,
    bold: bool,
    transform: Option<String>,
    font_size: Option<String>,
    font_family: Option<String>,
    text_rendering: Option<String>,
}

#[derive(Debug, Clone)]
struct Part {
    x: f64,
    width: f64,
    height: Option<f64>,
    fill: String,
}

#[derive(Debug)]
struct Svg {
    raw: String,
    width: f64,
    height: f64,
    role: Option<String>,
    aria_label: Option<String>,
    title: Option<String>,
    /// `rx` of the rects inside `<clipPath>`.
    clip_rx: Vec<String>,
    /// Some element (anywhere) has an `rx` attribute.
    any_rx: bool,
    /// Gradient stops: (offset, stop-color, stop-opacity).
    stops: Vec<(f64, String, f64)>,
    crisp: bool,
    /// Coloured background rects (outside clipPath, not `url(#…)` filled).
    parts: Vec<Part>,
    /// A rect filled with the gradient.
    overlay: bool,
    /// Visible texts in document order.
    texts: Vec<Txt>,
    /// `aria-hidden` shadow copies.
    shadows: Vec<Txt>,
    element_names: Vec<String>,
}

fn num(v: Option<&str>) -> Option<f64> {
    v.and_then(|s| s.trim().trim_end_matches("px").parse::<f64>().ok())
}

fn inherited(n: roxmltree::Node, name: &str) -> Option<String> {
    n.ancestors().filter(|a| a.is_element()).find_map(|a| a.attribute(name)).map(|s| s.to_string())
}

fn parse_svg(raw: &str) -> Svg {
    let doc = roxmltree::Document::parse(raw).unwrap_or_else(|e| panic!("badge is not well-formed XML ({e}): {raw}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "root element: {raw}");
    let els: Vec<roxmltree::Node> = root.descendants().filter(|n| n.is_element()).collect();
    let in_clip = |n: &roxmltree::Node| n.ancestors().any(|a| a.tag_name().name() == "clipPath");
    let mut clip_rx = Vec::new();
    let mut parts = Vec::new();
    let mut overlay = false;
    for r in els.iter().filter(|n| n.tag_name().name() == "rect") {
        if in_clip(r) {
            clip_rx.extend(r.attribute("rx").map(|s| s.to_string()));
            continue;
        }
        let fill = r.attribute("fill").unwrap_or("").to_ascii_lowercase();
        if fill.starts_with("url(") {
            overlay = true;
            continue;
        }
        parts.push(Part {
            x: num(r.attribute("x")).unwrap_or(0.0),
            width: num(r.attribute("width")).unwrap_or_else(|| panic!("rect without width: {raw}")),
            height: num(r.attribute("height")),
            fill,
        });
    }
    let stops = els
        .iter()
        .filter(|n| n.tag_name().name() == "stop")
        .map(|s| {
            let offset = s.attribute("offset").unwrap_or("0");
            let offset = match offset.strip_suffix('%') {
                Some(p) => p.parse::<f64>().unwrap() / 100.0,
                None => offset.parse::<f64>().unwrap_or_else(|_| panic!("stop offset {offset:?}")),
            };
            let color = s.attribute("stop-color").unwrap_or("").to_ascii_lowercase();
            let opacity = num(s.attribute("stop-opacity")).unwrap_or(1.0);
            (offset, color, opacity)
        })
        .collect();
    let mut texts = Vec::new();
    let mut shadows = Vec::new();
    for t in els.iter().filter(|n| n.tag_name().name() == "text") {
        let txt = Txt {
            content: t.descendants().filter(|d| d.is_text()).map(|d| d.text().unwrap_or("")).collect(),
            x: num(t.attribute("x")),
            y: num(t.attribute("y")),
            fill: inherited(*t, "fill").map(|s| s.to_ascii_lowercase()),
            fill_opacity: num(inherited(*t, "fill-opacity").as_deref()),
            text_length: num(t.attribute("textLength")),
            bold: inherited(*t, "font-weight").is_some_and(|w| w == "bold" || w.parse::<u32>().is_ok_and(|n| n >= 600)),
            transform: t.attribute("transform").map(|s| s.to_string()),
            font_size: inherited(*t, "font-size"),
            font_family: inherited(*t, "font-family"),
            text_rendering: inherited(*t, "text-rendering"),
        };
        if t.attribute("aria-hidden") == Some("true") {
            shadows.push(txt);
        } else {
            texts.push(txt);
        }
    }
    Svg {
        raw: raw.to_string(),
        width: num(root.attribute("width")).unwrap_or_else(|| panic!("svg width: {raw}")),
        height: num(root.attribute("height")).unwrap_or_else(|| panic!("svg height: {raw}")),
        role: root.attribute("role").map(|s| s.to_string()),
        aria_label: root.attribute("aria-label").map(|s| s.to_string()),
        title: els.iter().find(|n| n.tag_name().name() == "title").map(|n| n.text().unwrap_or("").to_string()),
        clip_rx,
        any_rx: els.iter().any(|n| n.attribute("rx").is_some()),
        stops,
        crisp: els.iter().any(|n| n.attribute("shape-rendering") == Some("crispEdges")),
        parts,
        overlay,
        texts,
        shadows,
        element_names: els.iter().map(|n| n.tag_name().name().to_string()).collect(),
    }
}

/// GET a badge: 200, `image/svg+xml`, well-formed XML.
fn badge(s: &Server, path: &str) -> Svg {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("image/svg+xml"), "{path}: content-type {ct:?}");
    parse_svg(&r.text())
}

fn json(s: &Server, path: &str) -> serde_json::Value {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("application/json"), "{path}: content-type {ct:?}");
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.text()))
}

// ---------------------------------------------------------------------------
// Expected values from badge-geometry.md

/// Verdana 11px widths from badge-geometry.md (ASCII table and the Latin-1
/// samples); `None` outside the table.
fn verdana11(c: char) -> Option<f64> {
    const ASCII: &str =
        "space 3.87 ! 4.33 \" 5.05 # 9 $ 6.99 % 11.84 & 7.99 ' 2.95 ( 5 ) 5 * 6.99 + 9 , 4 - 5 . 4 / 5 \
        : 5 ; 5 < 9 = 9 > 9 ? 6 @ 11 \
        A 7.52 B 7.54 C 7.68 D 8.48 E 6.96 F 6.32 G 8.53 H 8.27 I 4.63 J 5 K 7.62 L 6.12 M 9.27 \
        N 8.23 O 8.66 P 6.63 Q 8.66 R 7.65 S 7.52 T 6.78 U 8.05 V 7.52 W 10.88 X 7.54 Y 6.77 Z 7.54 \
        [ 5 \\ 5 ] 5 ^ 9 _ 6.99 ` 6.99 \
        a 6.61 b 6.85 c 5.73 d 6.85 e 6.55 f 3.87 g 6.85 h 6.96 i 3.02 j 3.79 k 6.51 l 3.02 m 10.7 \
        n 6.96 o 6.68 p 6.85 q 6.85 r 4.69 s 5.73 t 4.33 u 6.96 v 6.51 w 9 x 6.51 y 6.51 z 5.78 \
        { 6.98 | 5 } 6.98 ~ 9";
    if c.is_ascii_digit() {
        return Some(6.99);
    }
    match c {
        '\u{a0}' => return Some(3.87),
        '\u{b7}' => return Some(4.0),
        'À'..='Å' => return Some(7.52),
        _ => {}
    }
    let words: Vec<&str> = ASCII.split_whitespace().collect();
    words.chunks(2).find_map(|kv| {
        let key = if kv[0] == "space" { ' ' } else { kv[0].chars().next().unwrap() };
        (key == c).then(|| kv[1].parse().unwrap())
    })
}

/// Text width as shields computes it: trimmed, control characters 0,
/// characters outside the table as `m` (10.7, shields' fallback), sum
/// truncated and rounded up to odd.
fn text_width(s: &str) -> u64 {
    let w: f64 = s.trim().chars().map(|c| if c.is_control() { 0.0 } else { verdana11(c).unwrap_or(10.7) }).sum();
    let w = (w + 1e-9).floor() as u64;
    if w % 2 == 0 {
        w + 1
    } else {
        w
    }
}

const NAMED: &[(&str, &str)] = &[
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

fn rgb(hex: &str) -> (f64, f64, f64) {
    let h = hex.trim_start_matches('#');
    let d: Vec<f64> = h.chars().map(|c| c.to_digit(16).expect("hex digit") as f64).collect();
    match d.as_slice() {
        [r, g, b] => (r * 17.0, g * 17.0, b * 17.0),
        [r1, r2, g1, g2, b1, b2] => (r1 * 16.0 + r2, g1 * 16.0 + g2, b1 * 16.0 + b2),
        _ => panic!("not a hex colour: {hex}"),
    }
}

/// shields' rule: dark (#333) text when brightness > 0.69, else white.
fn light(hex: &str) -> bool {
    let (r, g, b) = rgb(hex);
    (299.0 * r + 587.0 * g + 114.0 * b) / 255_000.0 > 0.69
}

fn is_white(fill: Option<&str>) -> bool {
    matches!(fill, Some("#fff") | Some("#ffffff") | Some("white"))
}

fn assert_text_colour(t: &Txt, background: &str, what: &str) {
    if light(background) {
        assert_eq!(t.fill.as_deref(), Some("#333"), "{what}: text on light {background} must be #333: {t:?}");
    } else {
        assert!(is_white(t.fill.as_deref()), "{what}: text on dark {background} must be white: {t:?}");
    }
}

fn black(c: &str) -> bool {
    matches!(c, "#000" | "#000000" | "black")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Flat,
    FlatSquare,
    Plastic,
    ForTheBadge,
}

const STYLES: [(Style, &str); 4] = [
    (Style::Flat, "flat"),
    (Style::FlatSquare, "flat-square"),
    (Style::Plastic, "plastic"),
    (Style::ForTheBadge, "for-the-badge"),
];

/// Height, clip radius, crispEdges, gradient and shadows of each style.
fn check_style_features(b: &Svg, style: Style, what: &str) {
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
            assert!(b.clip_rx.is_empty() && !b.any_rx, "{what}: no rounding: {raw}");
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
fn check_flat_layout(b: &Svg, label: &str, message: &str, label_bg: &str, message_bg: &str, what: &str) {
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

/// Verdana 10px widths that badge-geometry.md publishes for for-the-badge;
/// `None` for characters it leaves to the implementer's estimate.
fn verdana10(c: char, bold: bool) -> Option<f64> {
    Some(match (c, bold) {
        ('0'..='9', false) => 6.36,
        ('0'..='9', true) => 7.11,
        (' ', false) => 3.52,
        (' ', true) => 3.42,
        ('A' | 'S' | 'V', false) => 6.84,
        ('H', false) => 7.51,
        ('I', false) => 4.21,
        ('T', false) => 6.16,
        ('A', true) => 7.76,
        ('B', true) => 7.62,
        ('C', true) => 7.24,
        ('D', true) => 8.3,
        ('E', true) => 6.83,
        ('H', true) => 8.37,
        ('I', true) => 5.46,
        ('K', true) => 7.71,
        ('S', true) => 7.1,
        ('T', true) => 6.82,
        ('V', true) => 7.64,
        ('W', true) => 11.28,
        _ => return None,
    })
}

/// for-the-badge text width: floor(sum of widths) + 1.25 x characters, no
/// odd rounding.
fn ftb_width(text: &str, bold: bool) -> f64 {
    let sum: f64 =
        text.chars().map(|c| verdana10(c, bold).unwrap_or_else(|| panic!("no published width: {c:?}"))).sum();
    (sum + 1e-9).floor() + 1.25 * text.chars().count() as f64
}

fn check_ftb_layout(b: &Svg, label: &str, message: &str, what: &str) {
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

// ---------------------------------------------------------------------------
// Geometry and styles

#[test]
fn test_vector_hits_123_flat_is_62_wide() {
    // The test's own width table against badge-geometry.md's examples.
    for (text, w) in [("hits", 21), ("views", 31), ("123", 21), ("1.2k", 25), ("0", 7), ("1.2M", 27)] {
        assert_eq!(text_width(text), w, "{text}");
    }
    let s = srv();
    for path in [svg_path(&seeded(123), ""), svg_path(&seeded(123), "&style=flat")] {
        let b = badge(s, &path);
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
    let s = srv();
    for (style, name) in STYLES {
        for n in [42, 123, 12345] {
            let path = svg_path(&seeded(n), &format!("&style={name}"));
            let b = badge(s, &path);
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
    let s = srv();
    let path = svg_path(&seeded(12345), "&style=for-the-badge&label=my%20views&abbreviate=true");
    let b = badge(s, &path);
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
    let s = srv();
    let path = svg_path(&seeded(1234), "&style=for-the-badge");
    let b = badge(s, &path);
    check_ftb_layout(&b, "HITS", "1234", &path);
    assert_eq!(b.width, 29.0 + 24.0 + 33.0 + 24.0, "{path}");
}

#[test]
fn for_the_badge_width_keeps_fractional_letter_spacing() {
    // 123 in bold: floor(21.33) + 3 x 1.25 = 24.75 ("no odd rounding").
    let s = srv();
    let path = svg_path(&seeded(123), "&style=for-the-badge");
    let b = badge(s, &path);
    check_ftb_layout(&b, "HITS", "123", &path);
}

// ---------------------------------------------------------------------------
// label

#[test]
fn custom_label() {
    let s = srv();
    for (q, label) in
        [("&label=views", "views"), ("&label=%20%20views%20", "views"), ("&label=page%20views", "page views")]
    {
        let path = svg_path(&seeded(123), q);
        let b = badge(s, &path);
        check_flat_layout(&b, label, "123", "#555", "#4c1", &path);
    }
    let b = badge(s, &svg_path(&seeded(123), "&label=views"));
    assert_eq!(b.width, 41.0 + 31.0, "views (31) + 10, 123 (21) + 10: {}", b.raw);
}

#[test]
fn empty_label_shows_the_count_only() {
    let s = srv();
    for (style, name) in STYLES {
        // 4 digits: for-the-badge's letter spacing adds up to whole pixels.
        let path = svg_path(&seeded(1234), &format!("&label=&style={name}"));
        let b = badge(s, &path);
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
    let s = srv();
    let url = seeded(42);
    let ok64 = "x".repeat(64);
    let b = badge(s, &svg_path(&url, &format!("&label={ok64}")));
    check_flat_layout(&b, &ok64, "42", "#555", "#4c1", "64 x");
    // Characters, not bytes: 64 two-byte characters are fine.
    let wide64 = "é".repeat(64);
    let b = badge(s, &svg_path(&url, &format!("&label={}", enc(&wide64))));
    assert_eq!(b.texts[0].content, wide64);
    assert_eq!(b.title, Some(format!("{wide64}: 42")));
    let j = json(s, &format!("/nocount/tag.json?url={}&label={ok64}", enc(&url)));
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
    let s = srv();
    let url = seeded(123);
    let label = r#"<&"'>"#;
    let b = badge(s, &svg_path(&url, &format!("&label={}", enc(label))));
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
        let b = badge(s, &path);
        assert!(!b.element_names.iter().any(|n| n == "script"), "{path}: markup injected: {}", b.raw);
        assert!(!b.raw.contains("<script"), "{path}: {}", b.raw);
        let want = if style == Style::ForTheBadge { evil.to_uppercase() } else { evil.to_string() };
        assert_eq!(b.texts[0].content, want, "{path}: label kept as text");
    }
    let j = json(s, &format!("/nocount/tag.json?url={}&label={}", enc(&url), enc(label)));
    assert_eq!(j["label"], label, "JSON label");
}

// ---------------------------------------------------------------------------
// color / labelColor

#[test]
fn named_colours_and_aliases() {
    let s = srv();
    let url = seeded(123);
    for (name, hex) in NAMED {
        let path = svg_path(&url, &format!("&color={name}"));
        let b = badge(s, &path);
        check_style_features(&b, Style::Flat, &path);
        check_flat_layout(&b, "hits", "123", "#555", hex, &path);
        let path = svg_path(&url, &format!("&labelColor={name}"));
        let b = badge(s, &path);
        check_flat_layout(&b, "hits", "123", hex, "#4c1", &path);
        let path = svg_path(&url, &format!("&labelColor={name}&color={name}&style=flat-square"));
        let b = badge(s, &path);
        check_style_features(&b, Style::FlatSquare, &path);
        check_flat_layout(&b, "hits", "123", hex, hex, &path);
        let j = json(s, &format!("/nocount/tag.json?url={}&color={name}", enc(&url)));
        assert_eq!(j["color"], hex.trim_start_matches('#'), "JSON color for {name}: {j}");
    }
}

#[test]
fn hex_colours_with_and_without_hash() {
    let s = srv();
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
        let j = json(s, &format!("/nocount/tag.json?url={}&color={q}", enc(&url)));
        let got = j["color"].as_str().unwrap_or_else(|| panic!("color: {j}")).to_ascii_lowercase();
        assert_eq!(got, hex.trim_start_matches('#'), "JSON color for {q}");
    }
}

#[test]
fn invalid_colours_are_400() {
    let s = srv();
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
    let s = srv();
    let url = seeded(123);
    // b0b0b0: 176/255 = 0.6902 > 0.69 -> #333; afafaf: 0.6863 -> white.
    let cases = ["fff", "ffffff", "dddddd", "ff0", "e0e0e0", "b0b0b0", "afafaf", "000", "dfb317", "97ca00", "9f9f9f"];
    for hex in cases {
        let bg = format!("#{hex}");
        for (style, name) in [(Style::Flat, "flat"), (Style::Plastic, "plastic"), (Style::FlatSquare, "flat-square")] {
            let path = svg_path(&url, &format!("&style={name}&color={hex}&labelColor={hex}"));
            let b = badge(s, &path);
            check_style_features(&b, style, &path);
            check_flat_layout(&b, "hits", "123", &bg, &bg, &path);
        }
        let path = svg_path(&url, &format!("&style=for-the-badge&color={hex}&labelColor={hex}"));
        let b = badge(s, &path);
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
    let s = srv();
    let url = seeded(12345);
    for (q, msg) in [("", "12345"), ("&view=total", "12345"), ("&view=today", "0"), ("&view=today-total", "0 / 12,345")]
    {
        let path = svg_path(&url, q);
        let b = badge(s, &path);
        check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
        let j = json(s, &format!("/nocount/tag.json?url={}{q}", enc(&url)));
        assert_eq!(j["message"], msg, "JSON {q}: {j}");
    }
}

#[test]
fn today_total_shows_thousands_separators() {
    let s = srv();
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
        let b = badge(s, &path);
        check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
        let j = json(s, &format!("/nocount/tag.json?url={}{q}", enc(&url)));
        assert_eq!(j["message"], msg, "JSON {q}: {j}");
    }
    let b = badge(s, &svg_path(&url, "&view=today-total&style=plastic&label=views"));
    check_flat_layout(&b, "views", "3 / 1,204", "#555", "#4c1", "plastic today-total");
    assert_eq!(peek(s, &url), 1204, "badges on /nocount never count");
}

#[test]
fn abbreviate_numbers() {
    let s = srv();
    for (n, msg) in [(42, "42"), (999, "999"), (1234, "1.2k"), (12345, "12.3k"), (1_234_567, "1.2M")] {
        for q in ["&abbreviate=true", "&abbreviate=true&view=total"] {
            let path = svg_path(&seeded(n), q);
            let b = badge(s, &path);
            check_flat_layout(&b, "hits", msg, "#555", "#4c1", &path);
            let j = json(s, &format!("/nocount/tag.json?url={}{q}", enc(&seeded(n))));
            assert_eq!(j["message"], msg, "JSON {n}: {j}");
        }
        let path = svg_path(&seeded(n), "&abbreviate=false");
        let b = badge(s, &path);
        check_flat_layout(&b, "hits", &n.to_string(), "#555", "#4c1", &path);
    }
    // 12.3k: 1 2 . 3 k = 4 x 6.99 - 6.99 + 4 + 6.51 -> 31 (+ 10).
    let b = badge(s, &svg_path(&seeded(12345), "&abbreviate=true"));
    assert_eq!(b.width, 31.0 + 41.0, "{}", b.raw);
}

#[test]
fn abbreviate_with_other_values_is_a_clear_answer() {
    let s = srv();
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
    let s = srv();
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
            let b = badge(s, &path);
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
        let b = badge(s, &svg_path(&url, &format!("&style=for-the-badge&label={}", enc(label))));
        let lp = b.parts.iter().find(|p| p.x == 0.0 && p.width > 0.0).expect("label part").clone();
        let tl = b.texts[0].text_length.expect("textLength") / 10.0;
        assert!(tl + 24.0 <= lp.width + 1e-6, "for-the-badge {label}: text {tl} overflows {}", lp.width);
        // At least shields' fallback (m at 10px, 10.7 x 10/11) per character
        // outside the table.
        let min = label.chars().filter(|c| !c.is_ascii()).count() as f64 * 10.7 * 10.0 / 11.0;
        assert!(tl >= min.floor(), "for-the-badge {label}: text width {tl} below the fallback {min}");
    }
}

// ---------------------------------------------------------------------------
// Invalid parameters never count; counting badges count

#[test]
fn bad_parameters_are_400_and_never_count() {
    let s = srv();
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
    let b = badge(s, &format!("/count/tag.svg?url={}&style=plastic", enc(&url)));
    assert_eq!(b.title.as_deref(), Some("hits: 1"), "the first valid request counts once");
    assert_eq!(peek(s, &url), 1);
}

#[test]
fn count_badges_count_and_nocount_badges_do_not() {
    let s = srv();
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
        let b = badge(s, &format!("/nocount/tag.svg?url={}{q}", enc(&url)));
        assert_eq!(b.title, Some(format!("views: {n}")), "nocount shows the count");
        assert_eq!(peek(s, &url), n, "nocount did not count");
    }
}

// ---------------------------------------------------------------------------
// shields endpoint JSON

#[test]
fn endpoint_json_defaults() {
    let s = srv();
    let url = seeded(123);
    let j = json(s, &format!("/nocount/tag.json?url={}", enc(&url)));
    assert_eq!(j["schemaVersion"], 1, "{j}");
    assert_eq!(j["label"], "hits", "{j}");
    assert_eq!(j["message"], "123", "{j}");
    assert_eq!(j["color"], "4c1", "hex without '#': {j}");
    assert!(j["schemaVersion"].is_u64(), "schemaVersion is a number: {j}");
    assert_eq!(peek(s, &url), 123, "nocount JSON did not count");
}

#[test]
fn endpoint_json_counts_on_count_and_not_on_nocount() {
    let s = srv();
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
        let j = json(s, &format!("/nocount/tag.json?url={}", enc(&url)));
        assert_eq!(j["message"], "3", "{j}");
    }
    assert_eq!(peek(s, &url), 3);
}

#[test]
fn endpoint_json_applies_params() {
    let s = srv();
    let url = seeded(12345);
    let j = json(
        s,
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
    let j = json(s, &format!("/nocount/tag.json?url={}&label=&color=%23abcdef", enc(&url)));
    assert_eq!(j["label"], "", "empty label: {j}");
    assert_eq!(j["message"], "12345", "{j}");
    assert_eq!(j["color"], "abcdef", "{j}");
    let j = json(s, &format!("/nocount/tag.json?url={}&view=today", enc(&url)));
    assert_eq!(j["message"], "0", "{j}");
}
