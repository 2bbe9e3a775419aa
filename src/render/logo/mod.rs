//! Logos on badges, as shields draws them: a simple-icons icon by name
//! (from `--logo-dir`, else the set bundled from `assets/simple-icons.tsv`),
//! or a custom `data:` image that `custom` accepted. Either way the badge
//! carries the logo as one `<image>` whose href is a base64 data URI, so a
//! badge never makes a viewer fetch anything else.

mod custom;
mod dir;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;

use super::color;
use super::escape::markup;

pub use custom::data_uri;
pub use dir::load_dir;

/// The icons bundled in the binary: `slug\thex\tpath` lines sorted by slug,
/// generated from the simple-icons package by tools/simple-icons/.
const BUNDLED: &str = include_str!("../../../assets/simple-icons.tsv");

/// shields' thresholds: a brand colour this dark is drawn whitesmoke on the
/// classic styles, one this light is drawn `#333` on `social`'s white.
const DARK_BRAND: f64 = 0.4;
const LIGHT_BRAND: f64 = 0.6;

/// A vector logo: path data in a view box, and its brand colour if known.
#[derive(Debug, Clone, PartialEq)]
pub struct Icon {
    /// `#rrggbb`.
    pub brand: Option<Cow<'static, str>>,
    pub view_box: Cow<'static, str>,
    pub paths: Vec<Cow<'static, str>>,
}

/// The named logos beyond the bundled set (`--logo-dir`), by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logos {
    pub extra: HashMap<String, Icon>,
}

/// Why a logo was refused; the badge shows it (it names the parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Bad,
    TooBig,
    Unsafe,
}

impl Refusal {
    pub fn short(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown logo",
            Refusal::Bad => "bad logo",
            Refusal::TooBig => "logo too big",
            Refusal::Unsafe => "unsafe logo",
        }
    }
}

impl Logos {
    /// The icon called `name` (shields' spelling: any case, spaces, which a
    /// query may still spell `+`, as `-`).
    pub fn named(&self, name: &str) -> Option<Icon> {
        let key = name.trim().to_ascii_lowercase().replace([' ', '+'], "-");
        self.extra.get(&key).cloned().or_else(|| bundled(&key))
    }
}

/// One of the bundled icons.
fn bundled(slug: &str) -> Option<Icon> {
    static INDEX: OnceLock<Vec<(&'static str, &'static str, &'static str)>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut rows: Vec<_> = BUNDLED
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let mut cols = l.split('\t');
                Some((cols.next()?, cols.next()?, cols.next()?))
            })
            .collect();
        rows.sort_unstable_by_key(|r| r.0);
        rows
    });
    let i = index.binary_search_by_key(&slug, |r| r.0).ok()?;
    let (_, hex, path) = index[i];
    Some(Icon {
        brand: Some(Cow::Owned(format!("#{}", hex.to_ascii_lowercase()))),
        view_box: Cow::Borrowed("0 0 24 24"),
        paths: vec![Cow::Borrowed(path)],
    })
}

/// The names of the bundled icons, in order (the docs list them).
#[cfg(test)]
fn bundled_names() -> impl Iterator<Item = &'static str> {
    BUNDLED.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split('\t').next())
}

/// The colour a named logo is drawn in: `logoColor` when given, else the
/// brand colour, except that shields draws a dark brand whitesmoke on the
/// classic styles and a light one `#333` on `social`'s white background.
pub fn fill(brand: Option<&str>, logo_color: Option<&str>, social: bool) -> String {
    if let Some(c) = logo_color {
        return c.to_string();
    }
    let on_white = if social { "#333" } else { "whitesmoke" };
    // shields rounds the brightness to two decimals before comparing.
    let level = brand.and_then(color::brightness).map(|b| (b * 100.0).round() / 100.0);
    match (brand, level) {
        (Some(b), Some(l)) if (!social && l > DARK_BRAND) || (social && l < LIGHT_BRAND) => b.to_string(),
        _ => on_white.to_string(),
    }
}

/// The icon as a standalone SVG in `fill`, as a base64 data URI.
pub fn icon_uri(icon: &Icon, fill: &str) -> String {
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="{}" fill="{}">"#,
        markup(&icon.view_box),
        markup(fill)
    );
    for d in &icon.paths {
        svg.push_str(r#"<path d=""#);
        svg.push_str(&markup(d));
        svg.push_str(r#""/>"#);
    }
    svg.push_str("</svg>");
    encoded("image/svg+xml", svg.as_bytes())
}

/// `data:MIME;base64,...`: only base64 characters after the fixed prefix,
/// so the URI needs no escaping in an attribute.
fn encoded(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_icons_are_found_by_shields_spelling() {
        let logos = Logos::default();
        let github = logos.named("GitHub").expect("github is bundled");
        assert_eq!(github.brand.as_deref(), Some("#181717"));
        assert!(github.paths[0].starts_with('M'));
        assert!(logos.named("no-such-logo").is_none());
        assert!(bundled_names().count() >= 200);
        let names: Vec<_> = bundled_names().collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    }

    #[test]
    fn the_docs_list_every_bundled_icon() {
        let docs = include_str!("../../../docs/logos.md");
        let listed = docs.split("## The bundled names").nth(1).expect("the list section");
        let count = bundled_names().count();
        assert!(docs.contains(&format!("({count} icons of simple-icons")), "docs/logos.md gives the count");
        for name in bundled_names() {
            assert!(listed.contains(&format!("`{name}`")), "docs/logos.md lists {name}");
        }
    }

    #[test]
    fn colour_follows_shields() {
        // GitHub's brand is near black: whitesmoke on the classic styles.
        assert_eq!(fill(Some("#181717"), None, false), "whitesmoke");
        assert_eq!(fill(Some("#181717"), None, true), "#181717");
        // A light brand is kept on the classic styles, #333 on social.
        assert_eq!(fill(Some("#f7df1e"), None, false), "#f7df1e");
        assert_eq!(fill(Some("#f7df1e"), None, true), "#333");
        assert_eq!(fill(Some("#181717"), Some("#e05d44"), false), "#e05d44");
        assert_eq!(fill(None, None, false), "whitesmoke");
    }

    #[test]
    fn icon_uri_is_base64_svg() {
        let icon = Logos::default().named("rust").unwrap();
        let uri = icon_uri(&icon, "whitesmoke");
        let b64 = uri.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains(r#"fill="whitesmoke""#) && svg.contains("<path d=\"M"));
        roxmltree::Document::parse(&svg).unwrap();
    }
}
