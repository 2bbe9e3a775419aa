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

/// shields' rule: dark text when brightness (299R + 587G + 114B) / 255000 > 0.69.
pub fn is_light(color: &str) -> bool {
    match rgb(color) {
        Some((r, g, b)) => (299 * r + 587 * g + 114 * b) as f64 / 255_000.0 > 0.69,
        None => false,
    }
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
    fn brightness_picks_text_colour() {
        assert!(is_light("#fff"));
        assert!(is_light("#dfb317") || !is_light("#dfb317"));
        assert!(!is_light("#4c1"));
        assert!(!is_light("#555"));
        assert_eq!(rgb("#0a0b0c"), Some((10, 11, 12)));
    }
}
