//! Renders the SVG badge, laid out like shields.io's "flat" badge.
//!
//! Text is drawn at 10x scale with `textLength`, as shields does, so the
//! layout holds in any font. All text goes through `escape::xml_text`.

use crate::escape::xml_text;
use crate::width::text_width;

/// What a badge shows.
pub struct Badge<'a> {
    /// Left text; empty means a message-only badge.
    pub label: &'a str,
    pub message: &'a str,
    /// `#rgb` / `#rrggbb` colours.
    pub label_color: &'a str,
    pub color: &'a str,
}

impl Default for Badge<'_> {
    fn default() -> Self {
        Badge {
            label: "hits",
            message: "0",
            label_color: "#555",
            color: "#4c1",
        }
    }
}

const PAD: u32 = 5;
const FONT: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";

/// Renders the flat badge.
pub fn render(b: &Badge) -> String {
    let label = b.label.trim();
    let message = b.message.trim();
    let left = if label.is_empty() {
        0
    } else {
        text_width(label) + 2 * PAD
    };
    let right = text_width(message) + 2 * PAD;
    let total = left + right;
    let accessible = if label.is_empty() {
        xml_text(message).into_owned()
    } else {
        format!("{}: {}", xml_text(label), xml_text(message))
    };
    let mut svg = String::with_capacity(1200);
    svg.push_str(&format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{accessible}"><title>{accessible}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{left}" height="20" fill="{lc}"/><rect x="{left}" width="{right}" height="20" fill="{mc}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="{FONT}" text-rendering="geometricPrecision" font-size="110">"##,
        lc = xml_text(b.label_color),
        mc = xml_text(b.color),
    ));
    if !label.is_empty() {
        push_text(&mut svg, label, 1, b.label_color);
    }
    let margin = if left == 0 { 0 } else { left - 1 };
    push_text(&mut svg, message, margin, b.color);
    svg.push_str("</g></svg>");
    svg
}

/// One text with its shadow copy, centred in its part of the badge.
fn push_text(svg: &mut String, text: &str, margin: u32, background: &str) {
    let width = text_width(text);
    let x = 10 * (margin + PAD) + 5 * width;
    let length = 10 * width;
    let (fill, shadow) = if is_light(background) {
        ("#333", "#ccc")
    } else {
        ("#fff", "#010101")
    };
    let t = xml_text(text);
    svg.push_str(&format!(
        r#"<text aria-hidden="true" x="{x}" y="150" fill="{shadow}" fill-opacity=".3" transform="scale(.1)" textLength="{length}">{t}</text><text x="{x}" y="140" transform="scale(.1)" fill="{fill}" textLength="{length}">{t}</text>"#
    ));
}

/// shields' rule: dark text when brightness (299R + 587G + 114B) / 255000 > 0.69.
fn is_light(color: &str) -> bool {
    match rgb(color) {
        Some((r, g, b)) => (299 * r + 587 * g + 114 * b) as f64 / 255_000.0 > 0.69,
        None => false,
    }
}

/// Parses `#rgb` or `#rrggbb`.
pub fn rgb(color: &str) -> Option<(u32, u32, u32)> {
    let hex = color.strip_prefix('#')?;
    let digits: Vec<u32> = hex.chars().map(|c| c.to_digit(16)).collect::<Option<_>>()?;
    match digits.as_slice() {
        [r, g, b] => Some((r * 17, g * 17, b * 17)),
        [r1, r2, g1, g2, b1, b2] => Some((r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(message: &str) -> String {
        render(&Badge {
            message,
            ..Badge::default()
        })
    }

    fn attr<'a>(svg: &'a str, name: &str) -> &'a str {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        &svg[start..start + svg[start..].find('"').unwrap()]
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
        assert_eq!(
            attr(&badge("123456789012"), "width"),
            (31 + 83 + 10).to_string()
        );
    }

    #[test]
    fn accessibility_text_is_present() {
        let svg = badge("7");
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="hits: 7""#));
        assert!(svg.contains("<title>hits: 7</title>"));
    }

    #[test]
    fn hostile_text_is_escaped_and_parses() {
        let evil = "--><script>alert(1)</script>&\"'\u{1}";
        let svg = render(&Badge {
            label: evil,
            message: evil,
            ..Badge::default()
        });
        assert!(!svg.contains("<script"));
        roxmltree::Document::parse(&svg).expect("well-formed XML");
    }

    #[test]
    fn every_default_badge_parses() {
        for m in ["0", "1", "999999999999"] {
            let svg = badge(m);
            let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
            assert_eq!(doc.root_element().tag_name().name(), "svg");
        }
    }

    #[test]
    fn light_backgrounds_get_dark_text() {
        assert!(is_light("#fff"));
        assert!(!is_light("#4c1"));
        assert!(!is_light("#555"));
        let svg = render(&Badge {
            color: "#dddddd",
            ..Badge::default()
        });
        assert!(svg.contains(r##"fill="#333""##));
    }
}
