//! Picks the URL a request is about and turns it into a counter key.
//!
//! The key is host + path, as the original service stored it, so migrated
//! counts line up: scheme, query, fragment and `;params` are dropped. On top
//! of the original, the host is lower-cased, `user:pass@` is dropped and the
//! default ports 80/443 are dropped. `www.` and a trailing slash stay
//! significant because the original kept them and old keys depend on it.
//!
//! One host is one counter however it is spelled: the host is mapped with
//! UTS-46 (IDNA) to its ASCII form, so `bücher.example`, `BÜCHER.example`
//! and `xn--bcher-kva.example` are one key, what UTS-46 maps or ignores
//! (U+3002 as a dot, a soft hyphen) is mapped as it says, and one trailing
//! dot is dropped. The allow/deny lists normalise their host patterns with
//! [`normalise_host`] too, so no spelling gets past them.

use crate::limits::MAX_URL;

/// Why no key could be made; each maps to one HTTP status.
#[derive(Debug, PartialEq, Eq)]
pub enum TargetError {
    /// Neither a usable `url` parameter nor a Referer (400).
    Missing,
    /// The `url` parameter is not a usable URL (400).
    Invalid(&'static str),
    /// Percent-encoding or UTF-8 in the `url` parameter is broken (400).
    BadEncoding,
    /// The host is not a domain name UTS-46 accepts, or holds `%` (400).
    Host(&'static str),
    /// Longer than [`MAX_URL`] (414).
    TooLong,
}

impl TargetError {
    /// What an error badge says.
    pub fn short(&self) -> &'static str {
        match self {
            TargetError::Missing => "no url",
            TargetError::Invalid(_) | TargetError::BadEncoding => "invalid url",
            TargetError::Host(_) => "invalid host",
            TargetError::TooLong => "url too long",
        }
    }

    pub fn message(&self) -> String {
        match self {
            TargetError::Missing => "no target URL: pass ?url=<encoded page URL> or send a Referer header".into(),
            TargetError::Invalid(why) => format!("invalid url parameter: {why}"),
            TargetError::BadEncoding => "invalid url parameter: bad percent-encoding or not UTF-8".into(),
            TargetError::Host(why) => format!("invalid host in the url: {why}"),
            TargetError::TooLong => format!("url is longer than {MAX_URL} bytes"),
        }
    }
}

/// Chooses the key for a request: the `url` query parameter when present and
/// non-empty (raw, still percent-encoded), else the Referer. A Referer that is
/// not an absolute URL counts as absent.
pub fn pick(url_param: Option<&str>, referer: Option<&str>) -> Result<String, TargetError> {
    if let Some(raw) = url_param.filter(|s| !s.is_empty()) {
        let decoded = decode_param(raw)?;
        if decoded.trim().is_empty() {
            return pick_referer(referer);
        }
        return key_from_url(&decoded);
    }
    pick_referer(referer)
}

fn pick_referer(referer: Option<&str>) -> Result<String, TargetError> {
    let Some(referer) = referer.map(str::trim).filter(|r| !r.is_empty()) else {
        return Err(TargetError::Missing);
    };
    if referer.len() > MAX_URL {
        return Err(TargetError::TooLong);
    }
    // A Referer must be absolute (`scheme://host...`); anything else is noise.
    if split_scheme(referer).is_none() {
        return Err(TargetError::Missing);
    }
    key_from_url(referer).map_err(|e| match e {
        TargetError::TooLong => TargetError::TooLong,
        _ => TargetError::Missing,
    })
}

/// Decodes a query value once: `+` is a space (form encoding), `%XX` a byte.
pub fn decode_param(raw: &str) -> Result<String, TargetError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(TargetError::BadEncoding)?;
                let hi = (hex[0] as char).to_digit(16).ok_or(TargetError::BadEncoding)?;
                let lo = (hex[1] as char).to_digit(16).ok_or(TargetError::BadEncoding)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
        if out.len() > MAX_URL {
            return Err(TargetError::TooLong);
        }
    }
    String::from_utf8(out).map_err(|_| TargetError::BadEncoding)
}

/// Returns the part after `scheme://` when the string starts with a scheme.
fn split_scheme(url: &str) -> Option<&str> {
    let colon = url.find("://")?;
    let scheme = &url[..colon];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then(|| &url[colon + 3..])
}

/// The key for a URL of the original service's database, or `None` when it
/// is not a URL (see `store::original`).
pub fn original_key(url: &str) -> Option<String> {
    key_from_url(url).ok()
}

/// Normalises any accepted URL form (`https://h/p`, `//h/p`, `h/p`) to a key.
pub fn key_from_url(url: &str) -> Result<String, TargetError> {
    let url = url.trim();
    if url.len() > MAX_URL {
        return Err(TargetError::TooLong);
    }
    if url.chars().any(|c| c.is_control()) {
        return Err(TargetError::Invalid("contains control characters"));
    }
    let rest = split_scheme(url).or_else(|| url.strip_prefix("//")).unwrap_or(url);
    // The authority ends at the first of / ? #; the path at ? or #.
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let path = if tail.starts_with('/') {
        let end = tail.find(['?', '#']).unwrap_or(tail.len());
        // Trailing blanks cut off by `?` would be trimmed on a second pass.
        strip_params(&tail[..end]).trim_end()
    } else {
        ""
    };
    let host = normalise_authority(authority)?;
    let key = format!("{host}{path}");
    // A-labels are longer than the Unicode they spell: the limit holds
    // for the key as stored, not only for what was sent.
    if key.len() > MAX_URL {
        return Err(TargetError::TooLong);
    }
    Ok(key)
}

/// Drops `;params` from the last path segment, as Python's urlparse did.
fn strip_params(path: &str) -> &str {
    let last_slash = path.rfind('/').unwrap_or(0);
    match path[last_slash..].find(';') {
        Some(i) => &path[..last_slash + i],
        None => path,
    }
}

fn normalise_authority(authority: &str) -> Result<String, TargetError> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() {
        return Err(TargetError::Invalid("no host"));
    }
    if host_port.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\\')) {
        return Err(TargetError::Invalid("host contains invalid characters"));
    }
    // Port: after the last ':' unless inside an IPv6 literal `[..]`.
    let port_at = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => Some(i),
        _ => None,
    };
    let (host, port) = match port_at {
        Some(i) => (&host_port[..i], Some(&host_port[i + 1..])),
        None => (host_port, None),
    };
    let host = normalise_host(host)?;
    match port {
        None | Some("80") | Some("443") | Some("") => Ok(host),
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => Ok(format!("{host}:{p}")),
        Some(_) => Err(TargetError::Invalid("bad port")),
    }
}

/// A host (no port) in its one spelling: an IPv6 literal in its shortest form, any
/// other host mapped by UTS-46 to ASCII (A-labels, lower case) with one
/// trailing dot dropped. `%` is refused by name: the `url` parameter is
/// decoded once, so a `%` left in a host is never a real host's.
pub fn normalise_host(host: &str) -> Result<String, TargetError> {
    if let Some(literal) = host.strip_prefix('[') {
        // Written as the address's one (shortest) form.
        let ip = literal.strip_suffix(']').and_then(|a| a.parse::<std::net::Ipv6Addr>().ok());
        return ip.map(|ip| format!("[{ip}]")).ok_or(TargetError::Host("not an IPv6 address in [ ]"));
    }
    if host.contains('%') {
        return Err(TargetError::Host("contains '%'"));
    }
    // The URL standard's deny list: UTS-46 plus the code points no URL
    // host may hold; `_` and the like stay allowed, as browsers allow them.
    let ascii = idna::domain_to_ascii_cow(host.as_bytes(), idna::AsciiDenyList::URL)
        .map_err(|_| TargetError::Host("not a domain name UTS-46 (IDNA) accepts"))?;
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.is_empty() {
        return Err(TargetError::Invalid("no host"));
    }
    // Refused rather than kept: `a..b` and `a..` would need a second pass
    // to settle, and no real host has an empty label.
    if ascii.split('.').any(str::is_empty) {
        return Err(TargetError::Host("has an empty label (..)"));
    }
    Ok(ascii.to_string())
}

/// Loopback and private-network hosts, left out of the public top table.
pub fn is_local_host(domain: &str) -> bool {
    let host = match domain.rfind(':') {
        Some(i) if !domain[i..].contains(']') => &domain[..i],
        _ => domain,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host == "localhost" || host.ends_with(".localhost") || host == "::1" {
        return true;
    }
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(u: &str) -> String {
        key_from_url(u).unwrap()
    }

    #[test]
    fn forms_of_one_url_share_a_key() {
        for u in ["example.com/a", "https://example.com/a", "//example.com/a", "http://example.com/a?x=1#f"] {
            assert_eq!(key(u), "example.com/a", "{u}");
        }
    }

    #[test]
    fn host_is_lowercased_but_path_is_not() {
        assert_eq!(key("HTTPS://Example.COM/Path"), "example.com/Path");
    }

    #[test]
    fn userinfo_and_default_ports_are_dropped() {
        assert_eq!(key("https://user:pass@example.com:443/x"), "example.com/x");
        assert_eq!(key("http://example.com:80/x"), "example.com/x");
        assert_eq!(key("example.com:8080/x"), "example.com:8080/x");
        assert_eq!(key("http://[::1]:8080/x"), "[::1]:8080/x");
        assert_eq!(key("http://[::1]/x"), "[::1]/x");
        assert_eq!(key("http://[0:0::0:1]:443/x"), "[::1]/x");
        assert_eq!(key("http://[FE80::A]/x"), "[fe80::a]/x");
        assert!(matches!(key_from_url("[:http://"), Err(TargetError::Host(_))));
    }

    #[test]
    fn every_spelling_of_a_host_is_one_key() {
        for u in [
            "bücher.example/a",
            "https://BÜCHER.example/a",
            "xn--bcher-kva.example/a",
            "XN--BCHER-KVA.EXAMPLE/a",
            "bücher.example./a",
            "https://bücher.example.:443/a",
            "bücher\u{3002}example/a",
            "b\u{ad}ücher.example/a",
            "bü\u{200b}cher.example/a",
        ] {
            assert_eq!(key(u), "xn--bcher-kva.example/a", "{u:?}");
        }
        assert_eq!(key("http://example.com.:8080/"), "example.com:8080/");
        assert_eq!(key("my_site.example/"), "my_site.example/", "browsers allow _");
    }

    #[test]
    fn the_length_limit_holds_for_the_key_as_stored() {
        // 2 bytes of UTF-8 per character, 5 or more per A-label.
        let labels = vec!["ü"; MAX_URL / 6].join(".");
        assert!(labels.len() < MAX_URL);
        assert_eq!(key_from_url(&labels), Err(TargetError::TooLong));
    }

    #[test]
    fn hosts_uts46_refuses_or_with_percent_are_400s() {
        for bad in ["a%41.example/", "xn--a.example/", "a\u{fffe}b.example/", "a^b.example/", "a|b.example/"] {
            assert!(matches!(key_from_url(bad), Err(TargetError::Host(_))), "{bad:?}");
        }
        assert_eq!(key_from_url("./x"), Err(TargetError::Invalid("no host")));
        assert!(matches!(key_from_url("a..example/"), Err(TargetError::Host(_))));
        assert!(matches!(key_from_url("example../"), Err(TargetError::Host(_))));
    }

    #[test]
    fn www_and_trailing_slash_stay_significant() {
        assert_ne!(key("www.example.com/a"), key("example.com/a"));
        assert_ne!(key("example.com/a/"), key("example.com/a"));
        assert_eq!(key("https://example.com"), "example.com");
        assert_eq!(key("https://example.com/"), "example.com/");
    }

    #[test]
    fn params_on_the_last_segment_are_dropped() {
        assert_eq!(key("http://e.com/a/b;jsessionid=1?q"), "e.com/a/b");
        assert_eq!(key("http://e.com/a;x/b"), "e.com/a;x/b");
    }

    #[test]
    fn unusable_urls_are_rejected() {
        assert!(key_from_url("https:///x").is_err());
        assert!(key_from_url("/just/a/path").is_err());
        assert!(key_from_url("exa mple.com").is_err());
        assert!(key_from_url("e.com:abc/x").is_err());
    }

    #[test]
    fn url_param_beats_referer_and_empty_param_falls_back() {
        assert_eq!(pick(Some("a.com%2Fx"), Some("http://b.com/y")).unwrap(), "a.com/x");
        assert_eq!(pick(Some(""), Some("http://b.com/y")).unwrap(), "b.com/y");
        assert_eq!(pick(None, Some("http://b.com/y")).unwrap(), "b.com/y");
    }

    #[test]
    fn non_url_referer_counts_as_absent() {
        assert_eq!(pick(None, Some("not a url")), Err(TargetError::Missing));
        assert_eq!(pick(None, Some("b.com/y")), Err(TargetError::Missing));
        assert_eq!(pick(None, None), Err(TargetError::Missing));
    }

    #[test]
    fn decoding_happens_once_and_checks_encoding() {
        assert_eq!(pick(Some("a.com%252Fx"), None), Err(TargetError::Host("contains '%'")));
        assert_eq!(pick(Some("a.com/%2541"), None).unwrap(), "a.com/%41");
        assert_eq!(pick(Some("a.com/%zz"), None), Err(TargetError::BadEncoding));
        assert_eq!(pick(Some("a.com/%ff"), None), Err(TargetError::BadEncoding));
        assert_eq!(pick(Some("a.com/%4"), None), Err(TargetError::BadEncoding));
    }

    #[test]
    fn length_limit_applies_after_decoding() {
        let long = format!("a.com/{}", "x".repeat(MAX_URL));
        assert_eq!(pick(Some(&long), None), Err(TargetError::TooLong));
        let ok = format!("a.com/{}", "%41".repeat(600));
        assert!(pick(Some(&ok), None).is_ok());
    }

    /// Pieces URLs are made of, with the spellings the normaliser maps and
    /// the characters it must refuse or cut.
    const PIECES: &[&str] = &[
        "a",
        "B",
        "ü",
        "Ü",
        "xn--",
        "bcher-kva",
        "-",
        ".",
        "\u{3002}",
        "\u{ff0e}",
        "\u{ad}",
        "\u{200b}",
        ":",
        "443",
        "80",
        "8080",
        "/",
        "//",
        "?",
        "#",
        ";",
        "@",
        "%",
        "%41",
        "[",
        "]",
        "::1",
        " ",
        "\t",
        "_",
        "http://",
        "\u{fffe}",
        "ß",
        "e\u{301}",
        "ﬁ",
        "Ⅸ",
        "1",
        "0",
        "+",
    ];

    proptest::proptest! {
        #[test]
        fn normalising_a_key_twice_gives_the_same_key(parts in proptest::collection::vec(0..PIECES.len(), 0..24)) {
            let url: String = parts.iter().map(|&i| PIECES[i]).collect();
            if let Ok(key) = key_from_url(&url) {
                proptest::prop_assert_eq!(key_from_url(&key), Ok(key.clone()), "from {:?}", url);
            }
        }

        #[test]
        fn any_text_gives_a_stable_key_or_an_error(chars in proptest::collection::vec(proptest::char::any(), 0..40)) {
            let url: String = chars.into_iter().collect();
            if let Ok(key) = key_from_url(&url) {
                proptest::prop_assert_eq!(key_from_url(&key), Ok(key.clone()), "from {:?}", url);
            }
        }
    }

    #[test]
    fn local_hosts_are_recognised() {
        for h in ["localhost", "127.0.0.1:8080", "192.168.1.4", "10.0.0.1", "[::1]:80", ""] {
            assert!(is_local_host(h), "{h}");
        }
        assert!(!is_local_host("example.com"));
        assert!(!is_local_host("8.8.8.8"));
    }
}
