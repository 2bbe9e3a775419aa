//! Badge colours: shields' named colours and bare or `#`-prefixed hex.

/// Resolves a colour parameter to `#hex`, or `None` when it is not one.
pub fn parse(input: &str) -> Option<String> {
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
        return Some(named.to_string());
    }
    let hex = c.strip_prefix('#').unwrap_or(&c);
    let ok = matches!(hex.len(), 3 | 6) && hex.chars().all(|ch| ch.is_ascii_hexdigit());
    ok.then(|| format!("#{hex}"))
}

/// `(r, g, b)` of a `#rgb` / `#rrggbb` colour.
pub fn rgb(color: &str) -> Option<(u32, u32, u32)> {
    let hex = color.strip_prefix('#')?;
    let digits: Vec<u32> = hex.chars().map(|c| c.to_digit(16)).collect::<Option<_>>()?;
    match digits.as_slice() {
        [r, g, b] => Some((r * 17, g * 17, b * 17)),
        [r1, r2, g1, g2, b1, b2] => Some((r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
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
