//! Which sites this instance counts: the owner's allow and deny lists
//! (and the same patterns for `--camo-only`, which `super` applies).
//!
//! A list is either host patterns, comma-separated (`example.com` matches
//! that host on any port, `*.example.com` any host under it), or, for users
//! of the original's `URL_WHITELIST_RE`, one regular expression after `re:`,
//! searched in the counter key (the original's variable arrives here
//! anchored at the start of the key, as its `re.match` did). Host patterns
//! are normalised like a key's host (`target::normalise_host`: UTS-46 to
//! A-labels, lower case, one trailing dot dropped), so either spelling of a
//! pattern matches either spelling of a host; a regex is left as written.
//! Deny wins over allow; an empty allow list allows every site. Pure:
//! parsed once at start, asked per request.

use regex::Regex;

#[derive(Debug, Clone)]
enum Pattern {
    Host(String),
    /// `*.example.com`: stored as `.example.com`.
    Under(String),
    Regex(Regex),
}

/// Patterns are equal when written alike (a regex by its source).
impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        match (self, other) {
            (Pattern::Host(a), Pattern::Host(b)) | (Pattern::Under(a), Pattern::Under(b)) => a == b,
            (Pattern::Regex(a), Pattern::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Pattern {
    fn matches(&self, key: &str, host: &str) -> bool {
        match self {
            Pattern::Host(h) => host == h,
            Pattern::Under(suffix) => host.ends_with(suffix.as_str()),
            Pattern::Regex(re) => re.is_match(key),
        }
    }
}

/// One list of patterns, parsed as `--allow` is (also `--camo-only`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patterns(Vec<Pattern>);

impl Patterns {
    /// From the value of option `--name` (`None`: not given).
    pub fn parse(name: &str, value: Option<&str>) -> Result<Patterns, String> {
        list(name, value).map(Patterns)
    }

    /// Whether a pattern matches `key` (a counter key, `host[:port]/path`);
    /// never for an empty list.
    pub fn matches(&self, key: &str) -> bool {
        !self.0.is_empty() && self.matches_host(key, &host_of(key))
    }

    fn matches_host(&self, key: &str, host: &str) -> bool {
        self.0.iter().any(|p| p.matches(key, host))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The allow and deny lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sites {
    allow: Patterns,
    deny: Patterns,
}

impl Sites {
    /// From the option values (`None`: not given).
    pub fn parse(allow: Option<&str>, deny: Option<&str>) -> Result<Sites, String> {
        Ok(Sites { allow: Patterns::parse("allow", allow)?, deny: Patterns::parse("deny", deny)? })
    }

    /// Whether a hit on `key` (a counter key, `host[:port]/path`) may count.
    pub fn permits(&self, key: &str) -> bool {
        let host = host_of(key);
        if self.deny.matches_host(key, &host) {
            return false;
        }
        self.allow.is_empty() || self.allow.matches_host(key, &host)
    }

    /// Any list given: only then can a stored counter be denied.
    pub fn restricts(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }
}

fn list(name: &str, value: Option<&str>) -> Result<Vec<Pattern>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    if let Some(re) = value.strip_prefix("re:") {
        return Regex::new(re).map(|r| vec![Pattern::Regex(r)]).map_err(|e| format!("--{name}: bad regex: {e}"));
    }
    value.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| host_pattern(name, p)).collect()
}

fn host_pattern(name: &str, p: &str) -> Result<Pattern, String> {
    let refused =
        || format!("--{name}: {p:?} is not a host pattern (example.com or *.example.com; a regex goes after re:)");
    let (under, host) = match p.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    let host = crate::target::normalise_host(host).map_err(|_| refused())?;
    let valid =
        host.split('.').all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        return Err(refused());
    }
    Ok(if under { Pattern::Under(format!(".{host}")) } else { Pattern::Host(host) })
}

/// The host of a key, lower-case, without its port.
fn host_of(key: &str) -> String {
    let authority = key.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(allow: &str, deny: &str) -> Sites {
        Sites::parse(Some(allow), Some(deny)).unwrap()
    }

    #[test]
    fn no_lists_allow_everything() {
        let s = sites("", "");
        assert!(s.permits("anything.example/x") && !s.restricts());
    }

    #[test]
    fn hosts_and_subdomains() {
        let s = sites("example.com, *.blog.example", "");
        assert!(s.permits("example.com/a") && s.permits("EXAMPLE.com:8080/a"));
        assert!(!s.permits("www.example.com/a"), "a plain host is that host only");
        assert!(s.permits("me.blog.example/p") && s.permits("a.b.blog.example/"));
        assert!(!s.permits("blog.example/"), "*. is for hosts under it");
        assert!(!s.permits("evilexample.com/"));
    }

    #[test]
    fn deny_wins() {
        let s = sites("*.example.com", "spam.example.com");
        assert!(s.permits("www.example.com/") && !s.permits("spam.example.com/x"));
        let only_deny = sites("", "localhost, *.local");
        assert!(
            only_deny.permits("example.org/")
                && !only_deny.permits("localhost:3000/")
                && !only_deny.permits("a.local/")
        );
    }

    #[test]
    fn either_spelling_of_a_pattern_matches_either_spelling_of_a_host() {
        let key = |u: &str| crate::target::key_from_url(u).unwrap();
        let hosts =
            ["bücher.example/", "BÜCHER.example./", "xn--bcher-kva.example:443/", "b\u{ad}ücher\u{3002}example/"];
        for pattern in ["bücher.example", "XN--BCHER-KVA.example", "bücher.example.", "*.example"] {
            let s = sites("", pattern);
            for h in hosts {
                assert!(!s.permits(&key(h)), "{pattern} lets {h:?} through");
            }
        }
        let under = sites("", "*.bücher.example");
        assert!(!under.permits(&key("www.xn--bcher-kva.example/")) && under.permits(&key("bücher.example/")));
    }

    #[test]
    fn a_regex_is_searched_in_the_key_like_the_original() {
        let s = sites("re:^github\\.com/(me|you)/", "");
        assert!(s.permits("github.com/me/repo") && !s.permits("github.com/them/repo"));
        assert!(Sites::parse(Some("re:(unclosed"), None).unwrap_err().contains("bad regex"));
    }

    #[test]
    fn a_list_alone_matches_as_allow_does_and_an_empty_one_nothing() {
        let camo = Patterns::parse("camo-only", Some("GitHub.com, *.github.io")).unwrap();
        assert!(camo.matches("github.com/me/repo") && camo.matches("me.github.io/"));
        assert!(!camo.matches("example.com/") && !camo.matches("github.io/"));
        assert!(!Patterns::parse("camo-only", None).unwrap().matches("github.com/"));
        let err = Patterns::parse("camo-only", Some("x.com/path")).unwrap_err();
        assert!(err.starts_with("--camo-only: "), "{err}");
    }

    #[test]
    fn bad_host_patterns_are_refused() {
        for bad in ["http://x.com", "x.com/path", "*", "a..b", "*.*.x", "a%2eb", "xn--a.example"] {
            assert!(Sites::parse(Some(bad), None).is_err(), "{bad}");
        }
    }
}
