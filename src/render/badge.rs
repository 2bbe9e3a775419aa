//! Renders SVG badges the way shields.io draws its four classic styles and
//! `social`, logos included, so ours line up with the other badges in a
//! README; `pixel` is an invisible 1x1 image for counting without a badge.
//!
//! Text is drawn at 10x scale with `textLength`, as shields does, so the
//! layout holds in any font. All text goes through `escape::markup`.

use std::borrow::Cow;
use std::fmt::Write;

use super::color::is_light;
use super::escape::markup;
use super::width::{for_the_badge_width, social_width, text_width};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Flat,
    FlatSquare,
    Plastic,
    ForTheBadge,
    Social,
    Pixel,
}

impl Style {
    pub fn parse(s: &str) -> Option<Style> {
        Some(match s {
            "flat" => Style::Flat,
            "flat-square" => Style::FlatSquare,
            "plastic" => Style::Plastic,
            "for-the-badge" => Style::ForTheBadge,
            "social" => Style::Social,
            "pixel" => Style::Pixel,
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
    pub logo: Option<Logo<'a>>,
}

/// A logo drawn left of the label, `width` x 14 px.
#[derive(Debug, Clone, Copy)]
pub struct Logo<'a> {
    /// A `data:` URI (`render::logo`), so it needs no escaping.
    pub href: &'a str,
    pub width: u32,
}

/// shields draws every logo 14 px high, and 14 px wide unless `logoWidth`.
pub const LOGO_HEIGHT: u32 = 14;

impl Default for Badge<'_> {
    fn default() -> Self {
        Badge { label: "hits", message: "0", label_color: "#555", color: "#4c1", style: Style::Flat, logo: None }
    }
}

const FONT: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";

/// Geometry that differs between styles (tenths of a pixel for baselines).
struct Look {
    height: u32,
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
            radius: 3,
            baseline: 140,
            shadow: true,
            gradient: &[("0", "#bbb", ".1"), ("1", "#000", ".1")],
        },
        Style::FlatSquare => Look { height: 20, radius: 0, baseline: 140, shadow: false, gradient: &[] },
        Style::Plastic => Look {
            height: 18,
            radius: 4,
            baseline: 130,
            shadow: true,
            gradient: &[("0", "#fff", ".7"), (".1", "#aaa", ".1"), (".9", "#000", ".3"), ("1", "#000", ".5")],
        },
        // Social and pixel have their own renderers; this is never used for them.
        Style::ForTheBadge | Style::Social | Style::Pixel => {
            Look { height: 28, radius: 0, baseline: 175, shadow: false, gradient: &[] }
        }
    }
}

/// Where the parts of a badge go, in px: the two rectangles' widths, where
/// each text and the logo start.
#[derive(Debug, PartialEq)]
struct Layout {
    left: f64,
    right: f64,
    label_x: f64,
    message_x: f64,
    logo_x: f64,
}

/// shields' arithmetic for the flat styles (5 px padding): a logo takes its width
/// plus 3 px before a label; with no label it sits in the message part.
fn flat_layout(label_w: f64, message_w: f64, logo: Option<f64>) -> Layout {
    let (has_label, has_message) = (label_w > 0.0, message_w > 0.0);
    let logo_total = logo.map_or(0.0, |w| w + if has_label { 3.0 } else { 0.0 });
    let left = if has_label { label_w + 10.0 + logo_total } else { 0.0 };
    let mut message_margin = left - if has_message { 1.0 } else { 0.0 };
    let mut right = message_w + 10.0;
    if !has_label {
        message_margin += if logo.is_some() { logo_total + 5.0 } else { 1.0 };
        if logo.is_some() {
            right += logo_total + if has_message { 4.0 } else { 0.0 };
        }
    }
    Layout { left, right, label_x: logo_total + 1.0 + 5.0, message_x: message_margin + 5.0, logo_x: 5.0 }
}

/// shields' `for-the-badge`: text margins 12, the logo 9 from the edge and
/// 6 before the text.
fn for_the_badge_layout(label_w: f64, message_w: f64, logo: Option<f64>) -> Layout {
    let gutter = if label_w == 0.0 && message_w == 0.0 { -3.0 } else { 6.0 };
    let label_x = logo.map_or(12.0, |w| 9.0 + w + gutter);
    if label_w > 0.0 {
        let left = label_x + label_w + 12.0;
        return Layout { left, right: 24.0 + message_w, label_x, message_x: left + 12.0, logo_x: 9.0 };
    }
    let logo_room = logo.map_or(0.0, |w| w + gutter);
    Layout { left: 0.0, right: 24.0 + logo_room + message_w, label_x, message_x: 12.0 + logo_room, logo_x: 9.0 }
}

/// Renders the badge as a standalone SVG document. Written into one buffer:
/// this runs on every badge request.
pub fn render(b: &Badge) -> String {
    match b.style {
        Style::Pixel => return PIXEL.to_string(),
        Style::Social => return social(b),
        _ => {}
    }
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
    let label_w = if label.is_empty() { 0.0 } else { measure(&label, false) };
    let message_w = if message.is_empty() { 0.0 } else { measure(&message, upper) };
    let logo_w = b.logo.map(|l| f64::from(l.width));
    let at =
        if upper { for_the_badge_layout(label_w, message_w, logo_w) } else { flat_layout(label_w, message_w, logo_w) };
    let (left, right, total) = (Num(at.left), Num(at.right), Num(at.left + at.right));
    let h = lk.height;
    let (lc, mc) = (markup(b.label_color), markup(b.color));
    let mut svg = String::with_capacity(1400);
    open_svg(&mut svg, b, total, h);
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
    push_logo(&mut svg, b.logo, at.logo_x, h);
    let text = Text { baseline: lk.baseline, shadow: lk.shadow, bold: false };
    if !label.is_empty() {
        text.push(&mut svg, &label, label_w, at.label_x, b.label_color);
    }
    if !message.is_empty() {
        Text { bold: upper, ..text }.push(&mut svg, &message, message_w, at.message_x, b.color);
    }
    svg.push_str("</g></svg>");
    svg
}

/// `style=pixel`: a transparent 1x1 image, as antonkomarev's counter answers.
pub const PIXEL: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;

/// The `<svg>` start tag and the title, both saying `label: message`.
fn open_svg(svg: &mut String, b: &Badge, width: Num, height: u32) {
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label=""#
    );
    push_accessible(svg, b);
    svg.push_str(r#""><title>"#);
    push_accessible(svg, b);
    svg.push_str("</title>");
}

/// The logo, vertically centred, `x` px from the left.
fn push_logo(svg: &mut String, logo: Option<Logo>, x: f64, badge_height: u32) {
    if let Some(l) = logo {
        let y = Num((f64::from(badge_height) - f64::from(LOGO_HEIGHT)) / 2.0);
        let _ = write!(
            svg,
            r#"<image x="{}" y="{y}" width="{}" height="{LOGO_HEIGHT}" href="{}"/>"#,
            Num(x),
            l.width,
            markup(l.href)
        );
    }
}

const SOCIAL_FONT: &str = "Helvetica Neue,Helvetica,Arial,sans-serif";

/// shields' `social` style: a light button with the label (first letter
/// capitalised) and a speech-bubble count, in Helvetica bold. Colours do
/// not apply, as on shields.
fn social(b: &Badge) -> String {
    let label = capitalize(b.label.trim());
    let message = b.message.trim();
    let logo_total = b.logo.map_or(0.0, |l| f64::from(l.width) + if label.is_empty() { 0.0 } else { 3.0 });
    let label_w = f64::from(if label.is_empty() { 0 } else { social_width(&label) });
    let message_w = f64::from(if message.is_empty() { 0 } else { social_width(message) });
    let label_rect = label_w + logo_total + 10.0;
    let message_rect = message_w + 8.0;
    let gutter = 6.0;
    let right = if message.is_empty() { 0.0 } else { gutter + message_rect };
    let mut svg = String::with_capacity(1600);
    open_svg(&mut svg, b, Num(label_rect + 1.0 + right), 20);
    svg.push_str(concat!(
        r#"<style>a:hover #llink{fill:url(#b);stroke:#ccc}a:hover #rlink{fill:#4183c4}</style>"#,
        r##"<linearGradient id="a" x2="0" y2="100%"><stop offset="0" stop-color="#fcfcfc" stop-opacity="0"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
        r##"<linearGradient id="b" x2="0" y2="100%"><stop offset="0" stop-color="#ccc" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
    ));
    let lr = Num(label_rect);
    let _ = write!(
        svg,
        r##"<g stroke="#d5d5d5"><rect stroke="none" fill="#fcfcfc" x=".5" y=".5" width="{lr}" height="19" rx="2"/>"##
    );
    if !message.is_empty() {
        let (main_x, notch_x) = (Num(label_rect + gutter + 0.5), Num(label_rect + gutter));
        let _ = write!(
            svg,
            r##"<rect x="{main_x}" y=".5" width="{}" height="19" rx="2" fill="#fafafa"/><rect x="{notch_x}" y="7.5" width=".5" height="5" stroke="#fafafa"/><path d="M{main_x} 6.5 l-3 3v1 l3 3" fill="#fafafa"/>"##,
            Num(message_rect)
        );
    }
    svg.push_str("</g>");
    push_logo(&mut svg, b.logo, 5.0, 20);
    let _ = write!(
        svg,
        r##"<g aria-hidden="true" fill="#333" text-anchor="middle" font-family="{SOCIAL_FONT}" text-rendering="geometricPrecision" font-weight="700" font-size="110px"><rect id="llink" stroke="#d5d5d5" fill="url(#a)" x=".5" y=".5" width="{lr}" height="19" rx="2"/>"##
    );
    let social_text = |svg: &mut String, text: &str, centre: f64, width: f64, id: &str| {
        let (x, length, t) = (Num(10.0 * centre), Num(10.0 * width), markup(text));
        let _ = write!(
            svg,
            r##"<text aria-hidden="true" x="{x}" y="150" fill="#fff" transform="scale(.1)" textLength="{length}">{t}</text><text{id} x="{x}" y="140" transform="scale(.1)" textLength="{length}">{t}</text>"##
        );
    };
    if !label.is_empty() {
        social_text(&mut svg, &label, logo_total + label_w / 2.0 + 5.0, label_w, "");
    }
    if !message.is_empty() {
        social_text(&mut svg, message, label_rect + gutter + message_rect / 2.0, message_w, r#" id="rlink""#);
    }
    svg.push_str("</g></svg>");
    svg
}

/// shields capitalises the first letter of a `social` label.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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

    const ALL: [Style; 6] =
        [Style::Flat, Style::FlatSquare, Style::Plastic, Style::ForTheBadge, Style::Social, Style::Pixel];
    const LOGO: Logo = Logo { href: "data:image/svg+xml;base64,PHN2Zy8+", width: 14 };

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
            style in 0..6usize,
            with_logo: bool,
        ) {
            let (label, message): (String, String) = (label.into_iter().collect(), message.into_iter().collect());
            let style = ALL[style];
            let logo = with_logo.then_some(LOGO);
            let svg = render(&Badge { label: &label, message: &message, style, logo, ..Badge::default() });
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
        for style in ALL {
            let svg = render(&Badge { label: evil, message: evil, style, logo: Some(LOGO), ..Badge::default() });
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

    #[test]
    fn a_logo_widens_the_label_as_on_shields() {
        // Label: 14 (logo) + 3 + 21 (hits) + 10 = 48; the label text moves right by 17.
        let svg = render(&Badge { message: "123", logo: Some(LOGO), ..Badge::default() });
        assert_eq!(attr(&svg, "width"), "79");
        assert!(
            svg.contains(r#"<image x="5" y="3" width="14" height="14" href="data:image/svg+xml;base64,PHN2Zy8+"/>"#)
        );
        assert!(svg.contains(r#"x="335" y="140""#), "label centre 10 x (17 + 1 + 10.5 + 5): {svg}");
        let wide = render(&Badge { message: "123", logo: Some(Logo { width: 30, ..LOGO }), ..Badge::default() });
        assert_eq!(attr(&wide, "width"), "95", "logoWidth adds to the label");
        // No label: the logo sits in the message part.
        let bare = render(&Badge { label: "", message: "123", logo: Some(LOGO), ..Badge::default() });
        assert_eq!(attr(&bare, "width"), (21 + 10 + 14 + 4).to_string());
        let ftb = render(&Badge { message: "123", logo: Some(LOGO), style: Style::ForTheBadge, ..Badge::default() });
        assert!(ftb.contains(r#"<image x="9" y="7""#), "{ftb}");
    }

    #[test]
    fn social_and_pixel() {
        let social = render(&Badge { message: "123", style: Style::Social, ..Badge::default() });
        // Label "Hits" 21 + 10 = 31, +1; bubble 6 + 19 + 8.
        assert_eq!(attr(&social, "width"), "65");
        assert!(social.contains(">Hits</text>") && social.contains("Helvetica"));
        assert_eq!(render(&Badge { style: Style::Pixel, ..Badge::default() }), PIXEL);
        for s in [social, PIXEL.to_string()] {
            roxmltree::Document::parse(&s).unwrap();
        }
    }
}
