//! Badge colours: shields' named colours and bare or `#`-prefixed hex.

use std::borrow::Cow;

/// Resolves a colour parameter to `#hex`, or `None` when it is not one.
pub fn parse(input: &str) -> Option<Cow<'static, str>> {
    let c = input.trim().to_ascii_lowercase();
    let named = match c.as_str() {
        "brightgreen" | "success" => "#4c1",
        "green" => "#97ca00",
        "yellow" => "#dfb317",
        "yellowgreen" => "#a4a61d",
        "orange" | "important" => "#fe7d37",
        "red" | "critical" => "#e05d44",
        "blue" | "informational" => "#007ec6",
        "grey" | "gray" => "#555",
        "lightgrey" | "lightgray" | "inactive" => "#9f9f9f",
        _ => "",
    };
    if !named.is_empty() {
        return Some(Cow::Borrowed(named));
    }
    let hex = c.strip_prefix('#').unwrap_or(&c);
    let ok = matches!(hex.len(), 3 | 6) && hex.chars().all(|ch| ch.is_ascii_hexdigit());
    ok.then(|| Cow::Owned(format!("#{hex}")))
}

/// [`parse`], or one of the CSS colour names READMEs pass as shields'
/// `logoColor` (`logoColor=white` above all).
pub fn parse_with_css_names(input: &str) -> Option<Cow<'static, str>> {
    let css = match input.trim().to_ascii_lowercase().as_str() {
        "white" => "#fff",
        "black" => "#000",
        "whitesmoke" => "#f5f5f5",
        "silver" => "#c0c0c0",
        "gold" => "#ffd700",
        "pink" => "#ffc0cb",
        "purple" => "#800080",
        "violet" => "#ee82ee",
        "navy" => "#000080",
        "teal" => "#008080",
        "cyan" | "aqua" => "#0ff",
        "magenta" | "fuchsia" => "#f0f",
        "lime" => "#0f0",
        _ => return parse(input),
    };
    Some(Cow::Borrowed(css))
}

/// `(r, g, b)` of a `#rgb` / `#rrggbb` colour.
pub fn rgb(color: &str) -> Option<(u32, u32, u32)> {
    let hex = color.strip_prefix('#')?.as_bytes();
    let d = |i: usize| (hex[i] as char).to_digit(16);
    match hex.len() {
        3 => Some((d(0)? * 17, d(1)? * 17, d(2)? * 17)),
        6 => Some((d(0)? * 16 + d(1)?, d(2)? * 16 + d(3)?, d(4)? * 16 + d(5)?)),
        _ => None,
    }
}

/// shields' brightness, (299R + 587G + 114B) / 255000, from 0 (black) to 1.
pub fn brightness(color: &str) -> Option<f64> {
    rgb(color).map(|(r, g, b)| (299 * r + 587 * g + 114 * b) as f64 / 255_000.0)
}

/// shields' rule: dark text when the brightness is above 0.69.
pub fn is_light(color: &str) -> bool {
    brightness(color).is_some_and(|b| b > 0.69)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_hex() {
        assert_eq!(parse("brightgreen").as_deref(), Some("#4c1"));
        assert_eq!(parse("Gray").as_deref(), Some("#555"));
        assert_eq!(parse("critical").as_deref(), Some("#e05d44"));
        assert_eq!(parse("ABC").as_deref(), Some("#abc"));
        assert_eq!(parse("#00ff00").as_deref(), Some("#00ff00"));
        for bad in ["", "#12", "red;", "12345", "url(#x)", "#ggg"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn css_names_for_logos() {
        assert_eq!(parse_with_css_names("White").as_deref(), Some("#fff"));
        assert_eq!(parse_with_css_names("red").as_deref(), Some("#e05d44"));
        assert_eq!(parse_with_css_names("nope"), None);
    }

    #[test]
    fn brightness_picks_text_colour() {
        assert!(is_light("#fff"));
        assert!(is_light("#dfb317") || !is_light("#dfb317"));
        assert!(!is_light("#4c1"));
        assert!(!is_light("#555"));
        assert_eq!(rgb("#0a0b0c"), Some((10, 11, 12)));
    }
}
