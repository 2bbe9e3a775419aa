//! The shields.io endpoint JSON (`/count/tag.json`): written by hand to
//! keep shields' documented key order; strings escaped by serde_json.

/// The label colour shields uses when `labelColor` is left out.
const DEFAULT_LABEL_COLOR: &str = "#555";

/// Colours are given as in badge parameters (`#` optional) and written
/// without `#`, as shields expects.
pub fn endpoint(label: &str, message: &str, color: &str, label_color: &str) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let mut body = format!(
        r#"{{"schemaVersion":1,"label":{},"message":{},"color":{}"#,
        text(label),
        text(message),
        text(color.trim_start_matches('#'))
    );
    if label_color != DEFAULT_LABEL_COLOR {
        body.push_str(&format!(r#","labelColor":{}"#, text(label_color.trim_start_matches('#'))));
    }
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_shields_order_and_default_label_color_left_out() {
        assert_eq!(
            endpoint("hits", "12", "#79c83d", "#555"),
            r#"{"schemaVersion":1,"label":"hits","message":"12","color":"79c83d"}"#
        );
    }

    #[test]
    fn label_color_given_and_strings_escaped() {
        assert_eq!(
            endpoint("a\"b\\", "1", "blue", "#333"),
            r#"{"schemaVersion":1,"label":"a\"b\\","message":"1","color":"blue","labelColor":"333"}"#
        );
    }
}
