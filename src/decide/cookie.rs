//! The anti-refresh cookie: whether a counted request really adds a hit.
//!
//! One cookie per counter key. Its name is a short hash of the key (the
//! original used the raw URL, so long URLs made cookies browsers drop) and its
//! value is the expiry time in epoch seconds. The window does not slide: a
//! skipped hit sets no new cookie. Everything here is pure; the caller passes
//! the clock in.

use crate::limits::MAX_COOKIE_SCAN;

/// What to do with one counted request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Add a hit; set the cookie when `set_cookie_until` is given.
    Count { set_cookie_until: Option<u64> },
    /// This browser counted this key within the window: do not add a hit.
    /// `reset_cookie_until` replaces a cookie whose expiry lay beyond the
    /// window (forged, or set under a longer window) with the capped one.
    Skip { reset_cookie_until: Option<u64> },
}

/// Cookie name for a key: `hc_` + 16 hex digits of FNV-1a 64. Stable across
/// versions and machines, so cookies set before an upgrade keep working.
pub fn name_for(key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("hc_{hash:016x}")
}

/// Finds the value of cookie `name` in a `Cookie` header.
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    let header = match header.char_indices().nth(MAX_COOKIE_SCAN) {
        Some((i, _)) => &header[..i],
        None => header,
    };
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// Decides from the cookie value the browser sent (if any). A garbled value
/// counts as no cookie; a value beyond now + window is capped to it and the
/// cookie is replaced with the capped value, so a forged far-future cookie
/// stops counting for one window at most (the original's bug: forever).
pub fn decide(value: Option<&str>, now: u64, window: u64) -> Decision {
    if window == 0 {
        return Decision::Count { set_cookie_until: None };
    }
    let cap = now + window;
    match value.and_then(|v| v.parse::<u64>().ok()) {
        Some(e) if e > cap => Decision::Skip { reset_cookie_until: Some(cap) },
        Some(e) if now < e => Decision::Skip { reset_cookie_until: None },
        _ => Decision::Count { set_cookie_until: Some(cap) },
    }
}

/// The `Set-Cookie` value for a counted hit. Over https the cookie works
/// where badges live, on other sites' pages: `SameSite=None; Secure` lets
/// the browser send it cross-site, and `Partitioned` (CHIPS) is what makes
/// browsers that block third-party cookies keep it (one jar per embedding
/// site). Over plain http browsers drop `Secure` cookies, so the cookie is
/// `SameSite=Lax`: it works on the counter's own site only.
pub fn set_cookie(name: &str, until: u64, now: u64, https: bool) -> String {
    let max_age = until.saturating_sub(now);
    let scope = if https { "SameSite=None; Secure; HttpOnly; Partitioned" } else { "SameSite=Lax; HttpOnly" };
    format!("{name}={until}; Path=/; Max-Age={max_age}; {scope}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_stable_and_distinct() {
        let a = name_for("example.com/a");
        assert_eq!(a.len(), 19);
        assert_eq!(a, name_for("example.com/a"));
        assert_ne!(a, name_for("example.com/b"));
        assert_eq!(name_for(&"x".repeat(5000)).len(), 19);
    }

    #[test]
    fn no_cookie_counts_and_sets_one() {
        assert_eq!(decide(None, 1000, 300), Decision::Count { set_cookie_until: Some(1300) });
    }

    #[test]
    fn valid_cookie_skips_until_expiry() {
        assert_eq!(decide(Some("1300"), 1000, 300), Decision::Skip { reset_cookie_until: None });
        assert_eq!(decide(Some("1300"), 1299, 300), Decision::Skip { reset_cookie_until: None });
        assert_eq!(decide(Some("1300"), 1300, 300), Decision::Count { set_cookie_until: Some(1600) });
    }

    #[test]
    fn garbled_values_count_as_no_cookie() {
        for v in ["", "abc", "-5", "1e9", "99999999999999999999999", "12 34"] {
            assert_eq!(decide(Some(v), 1000, 300), Decision::Count { set_cookie_until: Some(1300) }, "{v}");
        }
    }

    #[test]
    fn far_future_values_are_capped() {
        // Skipped now, but the browser gets the capped value back, so it
        // counts again once that passes.
        assert_eq!(decide(Some("99999999999"), 1000, 300), Decision::Skip { reset_cookie_until: Some(1300) });
        assert_eq!(decide(Some("1300"), 1300, 300), Decision::Count { set_cookie_until: Some(1600) });
    }

    #[test]
    fn window_zero_always_counts_without_cookie() {
        assert_eq!(decide(Some("5000"), 1000, 0), Decision::Count { set_cookie_until: None });
    }

    #[test]
    fn finds_cookie_among_others() {
        let h = "a=1; hc_00ff=1234; b=\"2\"";
        assert_eq!(find(h, "hc_00ff"), Some("1234"));
        assert_eq!(find(h, "b"), Some("2"));
        assert_eq!(find(h, "zz"), None);
        assert_eq!(find("garbage", "zz"), None);
    }

    #[test]
    fn set_cookie_has_all_attributes() {
        assert_eq!(
            set_cookie("hc_1", 1300, 1000, true),
            "hc_1=1300; Path=/; Max-Age=300; SameSite=None; Secure; HttpOnly; Partitioned"
        );
        assert_eq!(set_cookie("hc_1", 1300, 1000, false), "hc_1=1300; Path=/; Max-Age=300; SameSite=Lax; HttpOnly");
    }
}
