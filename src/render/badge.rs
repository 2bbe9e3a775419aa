//! Renders SVG badges the way shields.io draws its four classic styles, so
//! ours line up with the other badges in a README.
//!
//! Text is drawn at 10x scale with `textLength`, as shields does, so the
//! layout holds in any font. All text goes through `escape::markup`.

use std::borrow::Cow;
use std::fmt::Write;

use super::color::is_light;
use super::escape::markup;
use super::width::{for_the_badge_width, text_width};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Flat,
    FlatSquare,
    Plastic,
    ForTheBadge,
}

impl Style {
    pub fn parse(s: &str) -> Option<Style> {
        Some(match s {
            "flat" => Style::Flat,
            "flat-square" => Style::FlatSquare,
            "plastic" => Style::Plastic,
            "for-the-badge" => Style::ForTheBadge,
            _ => return None,
        })
    }
}

/// What a badge shows.
pub struct Badge<'a> {
    /// Left text; empty means a message-only badge.
    pub label: &'a str,
    pub message: &'a str,
    /// `#rgb` / `#rrggbb` colours.
    pub label_color: &'a str,
    pub color: &'a str,
    pub style: Style,
}

impl Default for Badge<'_> {
    fn default() -> Self {
        Badge { label: "hits", message: "0", label_color: "#555", color: "#4c1", style: Style::Flat }
    }
}

const FONT: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";

/// Geometry that differs between styles (tenths of a pixel for baselines).
struct Look {
    height: u32,
    /// Space left and right of each text.
    pad: u32,
    radius: u32,
    baseline: u32,
    shadow: bool,
    /// Gradient stops: (offset, colour, opacity).
    gradient: &'static [(&'static str, &'static str, &'static str)],
}

fn look(style: Style) -> Look {
    match style {
        Style::Flat => Look {
            height: 20,
            pad: 5,
            radius: 3,
            baseline: 140,
            shadow: true,
            gradient: &[("0", "#bbb", ".1"), ("1", "#000", ".1")],
        },
        Style::FlatSquare => Look { height: 20, pad: 5, radius: 0, baseline: 140, shadow: false, gradient: &[] },
        Style::Plastic => Look {
            height: 18,
            pad: 5,
            radius: 4,
            baseline: 130,
            shadow: true,
            gradient: &[("0", "#fff", ".7"), (".1", "#aaa", ".1"), (".9", "#000", ".3"), ("1", "#000", ".5")],
        },
        Style::ForTheBadge => Look { height: 28, pad: 12, radius: 0, baseline: 175, shadow: false, gradient: &[] },
    }
}

/// Renders the badge as a standalone SVG document. Written into one buffer:
/// this runs on every badge request.
pub fn render(b: &Badge) -> String {
    let upper = b.style == Style::ForTheBadge;
    let (label, message) = (b.label.trim(), b.message.trim());
    let (label, message): (Cow<str>, Cow<str>) = if upper {
        (label.to_uppercase().into(), message.to_uppercase().into())
    } else {
        (label.into(), message.into())
    };
    let lk = look(b.style);
    let measure =
        |text: &str, bold: bool| if upper { for_the_badge_width(text, bold) } else { f64::from(text_width(text)) };
    let pad = f64::from(lk.pad);
    let label_w = if label.is_empty() { 0.0 } else { measure(&label, false) };
    let message_w = measure(&message, upper);
    let left = if label.is_empty() { 0.0 } else { label_w + 2.0 * pad };
    let right = message_w + 2.0 * pad;
    let (left, right, total) = (Num(left), Num(right), Num(left + right));
    let h = lk.height;
    let (lc, mc) = (markup(b.label_color), markup(b.color));
    let mut svg = String::with_capacity(1400);
    let _ =
        write!(svg, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{h}" role="img" aria-label=""#);
    push_accessible(&mut svg, b);
    svg.push_str(r#""><title>"#);
    push_accessible(&mut svg, b);
    svg.push_str("</title>");
    if !lk.gradient.is_empty() {
        svg.push_str(r#"<linearGradient id="s" x2="0" y2="100%">"#);
        for (offset, color, opacity) in lk.gradient {
            let _ = write!(svg, r#"<stop offset="{offset}" stop-color="{color}" stop-opacity="{opacity}"/>"#);
        }
        svg.push_str("</linearGradient>");
    }
    if lk.radius > 0 {
        let _ = write!(
            svg,
            r##"<clipPath id="r"><rect width="{total}" height="{h}" rx="{}" fill="#fff"/></clipPath><g clip-path="url(#r)">"##,
            lk.radius
        );
    } else {
        svg.push_str(r#"<g shape-rendering="crispEdges">"#);
    }
    let _ = write!(
        svg,
        r#"<rect width="{left}" height="{h}" fill="{lc}"/><rect x="{left}" width="{right}" height="{h}" fill="{mc}"/>"#
    );
    if !lk.gradient.is_empty() {
        let _ = write!(svg, r#"<rect width="{total}" height="{h}" fill="url(#s)"/>"#);
    }
    let size = if upper { 100 } else { 110 };
    let _ = write!(
        svg,
        r##"</g><g fill="#fff" text-anchor="middle" font-family="{FONT}" text-rendering="geometricPrecision" font-size="{size}">"##
    );
    let text = Text { baseline: lk.baseline, shadow: lk.shadow, bold: false };
    if !label.is_empty() {
        // shields centres the label one pixel in from the edge on flat styles.
        let start = if upper { 0.0 } else { 1.0 };
        text.push(&mut svg, &label, label_w, start + pad, b.label_color);
    }
    let start = if upper || left.0 == 0.0 { left.0 } else { left.0 - 1.0 };
    Text { bold: upper, ..text }.push(&mut svg, &message, message_w, start + pad, b.color);
    svg.push_str("</g></svg>");
    svg
}

/// `label: message`, or just the message when there is no label.
fn push_accessible(svg: &mut String, b: &Badge) {
    let label = b.label.trim();
    if !label.is_empty() {
        svg.push_str(&markup(label));
        svg.push_str(": ");
    }
    svg.push_str(&markup(b.message.trim()));
}

/// A length in the SVG: whole numbers print without a fraction (so flat
/// badges match shields byte for byte), others with up to two decimals.
#[derive(Clone, Copy)]
struct Num(f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let hundredths = (self.0 * 100.0).round() as i64;
        let (whole, frac) = (hundredths / 100, hundredths % 100);
        match frac {
            0 => write!(f, "{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}"),
        }
    }
}

struct Text {
    baseline: u32,
    shadow: bool,
    bold: bool,
}

impl Text {
    /// One text (and its shadow copy) starting `start` px from the left.
    fn push(&self, svg: &mut String, text: &str, width: f64, start: f64, background: &str) {
        let x = Num(10.0 * start + 5.0 * width);
        let length = Num(10.0 * width);
        let (fill, shadow) = if is_light(background) { ("#333", "#ccc") } else { ("#fff", "#010101") };
        let t = markup(text);
        let weight = if self.bold { r#" font-weight="bold""# } else { "" };
        if self.shadow {
            let _ = write!(
                svg,
                r#"<text aria-hidden="true" x="{x}" y="{}" fill="{shadow}" fill-opacity=".3" transform="scale(.1)" textLength="{length}"{weight}>{t}</text>"#,
                self.baseline + 10
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{}" transform="scale(.1)" fill="{fill}" textLength="{length}"{weight}>{t}</text>"#,
            self.baseline
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(message: &str) -> String {
        render(&Badge { message, ..Badge::default() })
    }

    fn attr<'a>(svg: &'a str, name: &str) -> &'a str {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        &svg[start..start + svg[start..].find('"').unwrap()]
    }

    /// Any character, or one of those XML forbids or markup must escape.
    fn label_char() -> impl proptest::strategy::Strategy<Value = char> {
        let hostile = vec![
            '\u{fffe}',
            '\u{ffff}',
            '\u{fdd0}',
            '\u{fdef}',
            '\u{1fffe}',
            '\u{10ffff}',
            '\0',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '<',
            '>',
            '&',
            '"',
            '\'',
            '\t',
            '\n',
            '\r',
            ']',
        ];
        proptest::prop_oneof![proptest::char::any(), proptest::sample::select(hostile)]
    }

    proptest::proptest! {
        #[test]
        fn every_badge_is_well_formed_xml(
            label in proptest::collection::vec(label_char(), 0..24),
            message in proptest::collection::vec(label_char(), 0..8),
            style in 0..4usize,
        ) {
            let (label, message): (String, String) = (label.into_iter().collect(), message.into_iter().collect());
            let style = [Style::Flat, Style::FlatSquare, Style::Plastic, Style::ForTheBadge][style];
            let svg = render(&Badge { label: &label, message: &message, style, ..Badge::default() });
            let parsed = roxmltree::Document::parse(&svg);
            proptest::prop_assert!(parsed.is_ok(), "{:?}: {}", parsed.err(), svg);
        }
    }

    #[test]
    fn hits_123_is_62_wide() {
        let svg = badge("123");
        assert_eq!(attr(&svg, "width"), "62");
        assert!(svg.contains(r##"<rect width="31" height="20" fill="#555"/>"##));
        assert!(svg.contains(r##"<rect x="31" width="31" height="20" fill="#4c1"/>"##));
        assert!(svg.contains(r#"x="165" y="140""#));
        assert!(svg.contains(r#"x="455" y="140""#));
    }

    #[test]
    fn width_grows_snugly_with_digits() {
        assert_eq!(attr(&badge("1"), "width"), (31 + 7 + 10).to_string());
        assert_eq!(attr(&badge("123456789012"), "width"), (31 + 83 + 10).to_string());
    }

    #[test]
    fn accessibility_text_is_present() {
        let svg = badge("7");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="hits: 7""#));
        assert!(svg.contains("<title>hits: 7</title>"));
    }

    #[test]
    fn message_only_badge() {
        let svg = render(&Badge { label: "", message: "123", ..Badge::default() });
        assert_eq!(attr(&svg, "width"), "31");
        assert!(svg.contains("<title>123</title>"));
    }

    #[test]
    fn hostile_text_is_escaped_and_parses() {
        let evil = "--><script>alert(1)</script>&\"'\u{1}";
        for style in [Style::Flat, Style::FlatSquare, Style::Plastic, Style::ForTheBadge] {
            let svg = render(&Badge { label: evil, message: evil, style, ..Badge::default() });
            assert!(!svg.contains("<script"));
            roxmltree::Document::parse(&svg).expect("well-formed XML");
        }
    }

    #[test]
    fn styles_have_their_geometry() {
        let of = |style| render(&Badge { message: "123", style, ..Badge::default() });
        assert_eq!(attr(&of(Style::Plastic), "height"), "18");
        assert!(of(Style::Plastic).contains(r#"rx="4""#));
        assert!(of(Style::FlatSquare).contains("crispEdges"));
        assert!(!of(Style::FlatSquare).contains("linearGradient"));
        let ftb = of(Style::ForTheBadge);
        assert_eq!(attr(&ftb, "height"), "28");
        assert!(ftb.contains(">HITS<") && ftb.contains(r#"font-weight="bold""#));
        // for-the-badge keeps the fractional letter spacing: floor(21.33) + 3 x 1.25.
        assert!(ftb.contains(r#"textLength="247.5""#), "{ftb}");
    }

    #[test]
    fn light_backgrounds_get_dark_text() {
        let svg = render(&Badge { color: "#dddddd", ..Badge::default() });
        assert!(svg.contains(r##"fill="#333""##));
    }
}
