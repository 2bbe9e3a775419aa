//! Errors on the badge endpoints, in the form that was asked for: a red
//! badge (`hits | no url`) for `tag.svg`, a shields endpoint object with
//! `isError` for `tag.json`. An `<img>` whose answer is not an image shows
//! a broken-image icon; this shows the reason instead. The status stays
//! the error's, and the text a plain client would have got is kept in the
//! badge's title.

use crate::http::response::{JSON, SVG, TEXT};
use crate::http::{param, Resp};
use crate::render::badge::{self, Badge, Style};
use crate::routes::count::Format;
use crate::target;

const RED: &str = "#e05d44";

/// Turns a plain-text error into the badge or JSON of `format`; any other
/// response is returned as it is.
pub fn shape(query: &str, format: Format, mut resp: Resp) -> Resp {
    if resp.status < 400 || resp.content_type != TEXT || format == Format::Text {
        return resp;
    }
    let reason = resp.reason.unwrap_or_else(|| by_status(resp.status));
    // The request's own label and style where they are valid (a bad one
    // may be the very error), else the defaults.
    let text = |name: &str| param(query, name).and_then(|raw| target::decode_param(raw).ok());
    let label = text("label").filter(|l| l.chars().count() <= crate::limits::MAX_LABEL_CHARS);
    let label = label.as_deref().unwrap_or("hits");
    let style = text("style").and_then(|s| Style::parse(&s)).unwrap_or(Style::Flat);
    resp.body = match format {
        Format::Svg => {
            resp.content_type = SVG;
            let b = Badge { label, message: reason, label_color: "#555", color: RED, style, logo: None };
            badge::render(&b).into_bytes()
        }
        _ => {
            resp.content_type = JSON;
            let text = |s: &str| serde_json::Value::from(s).to_string();
            format!(
                r#"{{"schemaVersion":1,"label":{},"message":{},"color":"red","isError":true}}"#,
                text(label),
                text(reason)
            )
            .into_bytes()
        }
    };
    resp
}

fn by_status(status: u16) -> &'static str {
    match status {
        403 => "denied",
        404 => "not found",
        413 | 414 | 431 => "too long",
        429 => "too many requests",
        500 => "error",
        503 => "unavailable",
        _ => "bad request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_error_becomes_a_red_badge_with_the_requests_style() {
        let r = shape("style=flat-square&label=views", Format::Svg, Resp::text(400, "x").reason("no url"));
        assert_eq!((r.status, r.content_type), (400, SVG));
        let svg = String::from_utf8(r.body).unwrap();
        assert!(svg.contains("views: no url") && svg.contains(RED), "{svg}");
    }

    #[test]
    fn a_bad_style_falls_back_to_flat_and_the_status_names_the_reason() {
        let r = shape("style=wavy", Format::Svg, Resp::text(503, "db"));
        assert!(String::from_utf8(r.body).unwrap().contains("hits: unavailable"));
    }

    #[test]
    fn json_gets_a_shields_error_object() {
        let r = shape("", Format::Json, Resp::text(403, "no"));
        assert_eq!(r.content_type, JSON);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["isError"], true);
        assert_eq!(v["message"], "denied");
    }

    #[test]
    fn successes_and_text_endpoints_are_left_alone() {
        assert_eq!(shape("", Format::Svg, Resp::new(200, SVG, "<svg/>")).body, b"<svg/>");
        assert_eq!(shape("", Format::Text, Resp::text(400, "bad")).content_type, TEXT);
    }
}
