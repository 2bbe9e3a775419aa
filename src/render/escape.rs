//! Escaping for text that lands in SVG/XML or HTML. Every user-supplied
//! string goes through here before it is written into markup.

use std::borrow::Cow;

/// Escapes `& < > " '` so the text is safe in element content and in
/// attribute values of XML and HTML alike.
pub fn markup(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
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

/// Drops characters XML 1.0 cannot carry at all (most control characters),
/// which escaping alone cannot make legal.
pub fn xml_text(s: &str) -> Cow<'_, str> {
    let legal = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if s.chars().all(legal) {
        markup(s)
    } else {
        let cleaned: String = s.chars().filter(|c| legal(*c)).collect();
        Cow::Owned(markup(&cleaned).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_five() {
        assert_eq!(markup(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert!(matches!(markup("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_control_characters() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c<"), "abc&lt;");
    }
}
