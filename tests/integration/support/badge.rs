//! Badges as the tests see them: an SVG parsed as XML (`Svg`, what was
//! drawn where), fetched and checked to be a well-formed `image/svg+xml`
//! answer; the shields endpoint JSON; and the seeded badge server (counters
//! of known sizes set before it started).

use super::enc;
use super::http::Resp;
use super::server::{shared, start_with_counts, Opts, Server};
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub struct Txt {
    pub content: String,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub fill: Option<String>,
    pub fill_opacity: Option<f64>,
    pub text_length: Option<f64>,
    pub bold: bool,
    pub transform: Option<String>,
    pub font_size: Option<String>,
    pub font_family: Option<String>,
    pub text_rendering: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Part {
    pub x: f64,
    pub width: f64,
    pub height: Option<f64>,
    pub fill: String,
}

#[derive(Debug)]
pub struct Svg {
    pub raw: String,
    pub width: f64,
    pub height: f64,
    pub role: Option<String>,
    pub aria_label: Option<String>,
    pub title: Option<String>,
    /// Every `<rect>`: (width, fill lower-cased).
    pub rects: Vec<(Option<f64>, Option<String>)>,
    /// `rx` of the rects inside `<clipPath>`.
    pub clip_rx: Vec<String>,
    /// Every `rx` attribute, on any element.
    pub rx: Vec<String>,
    /// Gradient stops: (offset, stop-color, stop-opacity).
    pub stops: Vec<(f64, String, f64)>,
    pub crisp: bool,
    /// Coloured background rects (outside clipPath, not `url(#…)` filled).
    pub parts: Vec<Part>,
    /// A rect filled with the gradient.
    pub overlay: bool,
    /// Visible texts in document order.
    pub texts: Vec<Txt>,
    /// `aria-hidden` shadow copies.
    pub shadows: Vec<Txt>,
    /// Every element, the root included.
    pub element_names: Vec<String>,
}

/// A length attribute (`px` allowed).
fn num(v: Option<&str>) -> Option<f64> {
    v.and_then(|s| s.trim_end_matches("px").parse::<f64>().ok())
}

fn inherited(n: roxmltree::Node, name: &str) -> Option<String> {
    n.ancestors().filter(|a| a.is_element()).find_map(|a| a.attribute(name)).map(|s| s.to_string())
}

/// Parses a badge; panics unless it is well-formed XML with an `<svg>` root
/// that has a width and a height, and every drawn rect has a width.
pub fn parse_svg(raw: &str) -> Svg {
    let doc = roxmltree::Document::parse(raw).unwrap_or_else(|e| panic!("badge is not well-formed XML ({e}): {raw}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "root element: {raw}");
    let els: Vec<roxmltree::Node> = root.descendants().filter(|n| n.is_element()).collect();
    let in_clip = |n: &roxmltree::Node| n.ancestors().any(|a| a.tag_name().name() == "clipPath");
    let mut rects = Vec::new();
    let mut clip_rx = Vec::new();
    let mut parts = Vec::new();
    let mut overlay = false;
    for r in els.iter().filter(|n| n.tag_name().name() == "rect") {
        rects.push((num(r.attribute("width")), r.attribute("fill").map(|s| s.to_ascii_lowercase())));
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
        rects,
        clip_rx,
        rx: els.iter().filter_map(|n| n.attribute("rx")).map(|s| s.to_string()).collect(),
        stops,
        crisp: els.iter().any(|n| n.attribute("shape-rendering") == Some("crispEdges")),
        parts,
        overlay,
        texts,
        shadows,
        element_names: els.iter().map(|n| n.tag_name().name().to_string()).collect(),
    }
}

/// A badge answer: 200, `image/svg+xml`, a badge that parses (`parse_svg`).
pub fn assert_svg(r: &Resp, what: &str) -> Svg {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("image/svg+xml"), "{what}: content-type {ct:?}");
    parse_svg(&r.text())
}

/// GET a badge from a server: `assert_svg`.
pub fn get_badge(s: &Server, path: &str) -> Svg {
    assert_svg(&s.get(path), path)
}

/// GET JSON from a server: 200, `application/json`, parsed.
pub fn get_json(s: &Server, path: &str) -> serde_json::Value {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("application/json"), "{path}: content-type {ct:?}");
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.text()))
}

// ---------------------------------------------------------------------------
// The seeded badge server

/// Counts set (with `set`) before the seeded server started; today = 0 on all.
pub const SEEDED: &[u64] = &[7, 42, 123, 999, 1234, 12345, 1_234_567, 99_999_999, 123_456_789_012];

/// The URL of the seeded counter holding `n`.
pub fn seeded(n: u64) -> String {
    assert!(SEEDED.contains(&n), "{n} is not a seeded count");
    format!("n{n}.badge.test/p")
}

static SEEDED_SERVER: OnceLock<Server> = OnceLock::new();

/// One server per test binary whose database holds every `SEEDED` count.
pub fn seeded_server() -> &'static Server {
    shared(&SEEDED_SERVER, || start_with_counts(SEEDED.iter().map(|&n| (seeded(n), n)), Opts::default()))
}

/// `/nocount/tag.svg?url=ENC(url)` followed by `extra` (`&style=…`).
pub fn svg_path(url: &str, extra: &str) -> String {
    format!("/nocount/tag.svg?url={}{extra}", enc(url))
}
