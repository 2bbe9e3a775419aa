//! The `/` page and its static assets, embedded in the binary so the page
//! works offline and needs no files next to the binary.

use super::escape::markup;

const TEMPLATE: &str = include_str!("../../assets/index.html");
pub const STYLE: &str = include_str!("../../assets/style.css");
pub const SCRIPT: &str = include_str!("../../assets/app.js");

/// Fills the page template. `origin` is the public origin for snippets;
/// `top` is the top-sites table (domain, views), already filtered.
/// The top tables: rows (name, views) and how many were asked for (0
/// hides a table).
pub struct Top<'a> {
    pub sites: &'a [(String, u64)],
    pub sites_n: usize,
    pub pages: &'a [(String, u64)],
    pub pages_n: usize,
}

pub fn render(origin: &str, top: &Top) -> String {
    let rows = |list: &[(String, u64)]| -> String {
        list.iter().map(|(name, views)| format!("<tr><td>{}</td><td>{views}</td></tr>", markup(name))).collect()
    };
    super::template::fill(
        TEMPLATE,
        &[
            ("ORIGIN", &markup(origin)),
            ("TOP_ROWS", &rows(top.sites)),
            ("TOP_N", &top.sites_n.to_string()),
            ("PAGE_ROWS", &rows(top.pages)),
            ("PAGES_N", &top.pages_n.to_string()),
        ],
    )
}

/// The origin snippets should point at: `--public-url` if set, else the
/// scheme (https when told so) and the request's Host when it looks like a
/// host name, else the listen address.
pub fn origin(public_url: Option<&str>, https: bool, host: Option<&str>, fallback: &str) -> String {
    if let Some(u) = public_url {
        return u.to_string();
    }
    let scheme = if https { "https" } else { "http" };
    let host = host.filter(|h| is_host(h)).unwrap_or(fallback);
    format!("{scheme}://{host}")
}

/// A Host header value safe to put in links and `Location`.
pub fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_escapes() {
        let sites = [("<b>.com".to_string(), 5)];
        let pages = [("<i>.com/x".to_string(), 3)];
        let html = render("http://h", &Top { sites: &sites, sites_n: 10, pages: &pages, pages_n: 5 });
        assert!(html.contains("&lt;i&gt;.com/x"));
        assert!(!html.contains("{{"));
        assert!(html.contains("&lt;b&gt;.com"));
        assert!(!html.contains("<b>.com"));
    }

    #[test]
    fn origin_prefers_public_url_then_host() {
        assert_eq!(origin(Some("https://c.example"), false, Some("x"), "f"), "https://c.example");
        assert_eq!(origin(None, true, Some("c.example:8080"), "f"), "https://c.example:8080");
        assert_eq!(origin(None, false, Some("bad host\"><"), "127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
