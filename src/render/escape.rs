//! Escaping for text that lands in SVG/XML or HTML. Every user-supplied
//! string goes through [`markup`] before it is written into markup, so only
//! characters XML 1.0 allows reach a response.

use std::borrow::Cow;

/// Whether XML 1.0 can carry `c` as text: its `Char` production (tab, LF,
/// CR, no other C0 control, no U+FFFE/U+FFFF), without the C1 controls and
/// the noncharacters (U+FDD0..U+FDEF, U+nFFFE, U+nFFFF) it discourages,
/// which some parsers refuse and no page needs. Surrogates cannot occur in
/// a Rust string.
pub fn xml_allowed(c: char) -> bool {
    let noncharacter = matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32 & 0xFFFE) == 0xFFFE;
    (!c.is_control() || matches!(c, '\t' | '\n' | '\r')) && !noncharacter
}

/// Drops the characters XML cannot carry (see [`xml_allowed`]) and escapes
/// `& < > " '`, so the text is safe in element content and in attribute
/// values of XML and HTML alike.
pub fn markup(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| xml_allowed(c) && !matches!(c, '&' | '<' | '>' | '"' | '\'')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars().filter(|c| xml_allowed(*c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_five() {
        assert_eq!(markup(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert!(matches!(markup("plain ünïcode 🦀"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_what_xml_forbids() {
        assert_eq!(markup("a\u{0}b\u{1b}c<\u{85}"), "abc&lt;");
        assert_eq!(markup("x\u{FFFE}\u{FFFF}\u{FDD0}\u{FDEF}\u{1FFFE}\u{10FFFF}y"), "xy");
        assert_eq!(markup("\t\n\r\u{FDCF}\u{FDF0}\u{FFFD}\u{10000}"), "\t\n\r\u{FDCF}\u{FDF0}\u{FFFD}\u{10000}");
    }
}
