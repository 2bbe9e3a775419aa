//! Logos from outside: a `logo=data:...` URI and the SVG files of
//! `--logo-dir`. Parsed into our own values and checked, never passed on
//! as they came: a data URI is decoded and re-encoded, an SVG must parse
//! as XML and hold nothing that runs or fetches (scripts, event handlers,
//! `foreignObject`, references outside the document).

use std::borrow::Cow;

use base64::Engine;

use super::{encoded, Icon, Refusal};
use crate::limits::MAX_LOGO_BYTES;

/// The media types a custom logo may have, with the bytes a file of that
/// type starts with (none for SVG, which is parsed instead).
const TYPES: &[(&str, &[u8])] =
    &[("image/svg+xml", b""), ("image/png", b"\x89PNG\r\n\x1a\n"), ("image/jpeg", b"\xff\xd8\xff")];

/// Elements that run code or embed other documents.
const FORBIDDEN: &[&str] =
    &["script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "audio", "video", "style"];

/// A `logo=data:MIME;base64,...` value (already percent-decoded) as the
/// data URI the badge embeds. shields' leniency is kept: the `data:`
/// prefix may be left out, and a `+` that became a space is a `+` again.
pub fn data_uri(raw: &str) -> Result<String, Refusal> {
    let cleaned: String = raw.replace(' ', "+").chars().filter(|c| !c.is_whitespace()).collect();
    // Base64 is 4/3 of the bytes: refuse before decoding what cannot fit.
    if cleaned.len() > MAX_LOGO_BYTES / 3 * 4 + 64 {
        return Err(Refusal::TooBig);
    }
    let rest = strip_prefix_ignore_case(&cleaned, "data:").unwrap_or(&cleaned);
    let (header, payload) = rest.split_once(',').ok_or(Refusal::Bad)?;
    let mut parts = header.split(';');
    let mime = parts.next().unwrap_or_default().to_ascii_lowercase();
    let params: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
    if !params.iter().any(|p| p == "base64") || params.iter().any(|p| p != "base64" && p != "charset=utf-8") {
        return Err(Refusal::Bad);
    }
    let (mime, magic) = *TYPES.iter().find(|(m, _)| *m == mime).ok_or(Refusal::Bad)?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(payload).map_err(|_| Refusal::Bad)?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(Refusal::TooBig);
    }
    if magic.is_empty() {
        let text = std::str::from_utf8(&bytes).map_err(|_| Refusal::Bad)?;
        check_svg(&roxmltree::Document::parse(text).map_err(|_| Refusal::Bad)?)?;
    } else if !bytes.starts_with(magic) {
        return Err(Refusal::Bad);
    }
    Ok(encoded(mime, &bytes))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// Refuses an SVG that could run code or fetch anything: a forbidden
/// element, an `on...` attribute, a processing instruction (a style sheet
/// link), or a reference (`href`, `src`, CSS `url()`) that does not point
/// inside the document.
fn check_svg(doc: &roxmltree::Document) -> Result<(), Refusal> {
    let root = doc.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some("http://www.w3.org/2000/svg") {
        return Err(Refusal::Bad);
    }
    for node in doc.descendants() {
        if node.is_pi() {
            return Err(Refusal::Unsafe);
        }
        if !node.is_element() {
            continue;
        }
        if FORBIDDEN.contains(&node.tag_name().name().to_ascii_lowercase().as_str()) {
            return Err(Refusal::Unsafe);
        }
        for a in node.attributes() {
            let name = a.name().to_ascii_lowercase();
            let value = a.value().trim();
            let reference = matches!(name.as_str(), "href" | "src");
            if name.starts_with("on") || (reference && !value.starts_with('#')) || outside_reference(value) {
                return Err(Refusal::Unsafe);
            }
        }
    }
    Ok(())
}

/// A CSS `url(...)` to anything but `#id`, or a `javascript:` URL.
fn outside_reference(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.contains("javascript:") || lower.contains("@import") {
        return true;
    }
    lower.match_indices("url(").any(|(i, _)| {
        let target = lower[i + 4..].trim_start_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        !target.starts_with('#')
    })
}

/// An SVG file in simple-icons' form (a `viewBox` and `<path>`s; a `fill`
/// on the root is taken as the brand colour) as an icon, after the same
/// checks as a `data:` logo.
pub fn icon_from_svg(text: &str) -> Result<Icon, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    check_svg(&doc).map_err(|r| r.short().to_string())?;
    let root = doc.root_element();
    let view_box = root.attribute("viewBox").unwrap_or("0 0 24 24");
    let numbers = view_box.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty());
    if numbers.clone().count() != 4 || numbers.clone().any(|n| n.parse::<f64>().is_err()) {
        return Err(format!("viewBox {view_box:?} is not four numbers"));
    }
    let mut paths = Vec::new();
    for node in root.descendants().filter(|n| n.is_element() && *n != root) {
        match node.tag_name().name() {
            "path" => paths.push(Cow::Owned(node.attribute("d").ok_or("a <path> without d")?.to_string())),
            "title" | "desc" | "g" => {}
            other => return Err(format!("<{other}>: only <path>s are drawn (simple-icons' form)")),
        }
    }
    if paths.is_empty() {
        return Err("no <path>".into());
    }
    let brand = root.attribute("fill").and_then(super::color::parse).map(|c| Cow::Owned(c.into_owned()));
    Ok(Icon { brand, view_box: Cow::Owned(view_box.to_string()), paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    const OK_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><defs><linearGradient id="g"/></defs><path fill="url(#g)" d="M0 0h24v24H0z"/><use href="#g"/></svg>"##;

    #[test]
    fn accepts_svg_png_and_jpeg_and_reencodes() {
        let uri = data_uri(&format!("data:image/svg+xml;base64,{}", b64(OK_SVG.as_bytes()))).unwrap();
        assert_eq!(uri, format!("data:image/svg+xml;base64,{}", b64(OK_SVG.as_bytes())));
        // shields' leniency: no prefix, `+` turned into a space by query decoding.
        let spaced = format!("image/png;base64,{}", b64(b"\x89PNG\r\n\x1a\n>>>>").replace('+', " "));
        assert!(data_uri(&spaced).unwrap().starts_with("data:image/png;base64,"));
        assert!(data_uri(&format!("data:image/jpeg;base64,{}", b64(b"\xff\xd8\xff\xe0"))).is_ok());
    }

    #[test]
    fn refuses_what_could_run_or_fetch() {
        let unsafe_svgs = [
            r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p/></foreignObject></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><use x:href="http://e/#a"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url( 'https://e/x' )"/></svg>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://e/x.css);</style></svg>"#,
            r#"<?xml-stylesheet href="https://e/x.css"?><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            r#"<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><path d="M0 0"/></a></svg>"#,
        ];
        for svg in unsafe_svgs {
            let got = data_uri(&format!("data:image/svg+xml;base64,{}", b64(svg.as_bytes())));
            assert_eq!(got, Err(Refusal::Unsafe), "{svg}");
        }
    }

    #[test]
    fn refuses_bad_types_and_sizes() {
        let svg = b64(OK_SVG.as_bytes());
        for bad in [
            format!("data:text/html;base64,{svg}"),
            format!("data:image/svg+xml,{OK_SVG}"),
            format!("data:image/svg+xml;base64,{}", b64(b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg/>")),
            format!("data:image/png;base64,{svg}"),
            "data:image/svg+xml;base64,!!!".to_string(),
            "github".to_string(),
        ] {
            assert_eq!(data_uri(&bad), Err(Refusal::Bad), "{bad}");
        }
        let big = format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><!--{}--></svg>", "x".repeat(MAX_LOGO_BYTES));
        assert_eq!(data_uri(&format!("data:image/svg+xml;base64,{}", b64(big.as_bytes()))), Err(Refusal::TooBig));
    }

    #[test]
    fn files_in_simple_icons_form_become_icons() {
        let file = r##"<svg role="img" viewBox="0 0 24 24" xmlns="http://www.w3.org/2000/svg" fill="#ff8800"><title>X</title><path d="M1 1h2"/></svg>"##;
        let icon = icon_from_svg(file).unwrap();
        assert_eq!((icon.brand.as_deref(), icon.paths.len()), (Some("#ff8800"), 1));
        assert!(icon_from_svg(r#"<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>"#).is_err());
        assert!(
            icon_from_svg(r#"<svg xmlns="http://www.w3.org/2000/svg" onload="x()"><path d="M0 0"/></svg>"#).is_err()
        );
    }
}
