//! Numbers as badges and pages show them.

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The noun for `n` of a thing: `one` for 1, else `many` ("1 hit", "0
/// hits", "2 hits"). The one place counts get their plural, for pages,
/// images and the terminal alike.
pub fn noun(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// 999 -> "999", 12345 -> "12.3k", 1234567 -> "1.2M": one decimal,
/// truncated (never rounded up past the real number), ".0" dropped.
pub fn abbreviate(n: u64) -> String {
    const UNITS: [(u64, &str); 5] =
        [(1_000_000_000_000_000, "P"), (1_000_000_000_000, "T"), (1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
    for (size, unit) in UNITS {
        if n >= size {
            let tenths = n / (size / 10);
            return if tenths.is_multiple_of(10) {
                format!("{}{unit}", tenths / 10)
            } else {
                format!("{}.{}{unit}", tenths / 10, tenths % 10)
            };
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations() {
        assert_eq!(abbreviate(999), "999");
        assert_eq!(abbreviate(1000), "1k");
        assert_eq!(abbreviate(12345), "12.3k");
        assert_eq!(abbreviate(999_999), "999.9k");
        assert_eq!(abbreviate(1_234_567), "1.2M");
        assert_eq!(abbreviate(3_000_000_000), "3G");
    }

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        let said = |n| format!("{n} {}", noun(n, "hit", "hits"));
        assert_eq!([said(0), said(1), said(2)], ["0 hits", "1 hit", "2 hits"]);
    }

    #[test]
    fn separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
