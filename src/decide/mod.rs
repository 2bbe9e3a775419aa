//! Whether a counting request adds a hit, and whether it is a new visitor:
//! the one place where counting policy is decided (the routes ask, the
//! counter counts). Pure but for the in-memory visitor table.
//!
//! For every counting request (`/count`, `/count/tag.svg`,
//! `/count/tag.json`), first: a key whose host `--camo-only` lists counts
//! only fetches by GitHub's image proxy (anything else, curl included, is
//! noise on a README badge) and sets no cookie.
//!
//! For badges (`/count/tag.svg`, `/count/tag.json`), in this order:
//! 1. a bot User-Agent (or none) is not counted (`--count-bots` turns this
//!    off); GitHub's image proxy is never a bot (`bots.rs`);
//! 2. the anti-refresh cookie: this browser counted this counter within the
//!    window (`cookie.rs`);
//! 3. the same address and User-Agent counted this counter within the window
//!    (`seen.rs`; never for GitHub's proxy, behind which every README viewer
//!    shares a few addresses).
//!
//! The plain-text `/count` is the original's general-purpose counter for
//! scripts: only the cookie applies, every client counts (curl included),
//! unless `--api-policy badge` gives it the badge policy.
//!
//! A hit the policy counts is then held to the limits: the client's rate
//! (`clients.rs`), and for a new counter `--max-counters` and the client's
//! new counters per hour (`limit.rs`).

use chrono::NaiveDate;

pub mod bots;
pub mod clients;
pub mod cookie;
pub mod limit;
mod seen;
pub mod sites;

use bots::Agent;
use cookie::Decision;
use seen::{Seen, Visit};

/// `--dedup`: which repeats within the window are not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    Cookie,
    Hash,
    Both,
    Off,
}

impl Dedup {
    pub fn parse(s: &str) -> Option<Dedup> {
        Some(match s {
            "cookie" => Dedup::Cookie,
            "hash" => Dedup::Hash,
            "both" => Dedup::Both,
            "off" => Dedup::Off,
            _ => return None,
        })
    }
}

/// The counting policy, from the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub dedup: Dedup,
    /// The anti-refresh window in seconds; 0 turns deduplication off.
    pub window: u64,
    pub count_bots: bool,
    /// `--api-policy badge`: `/count` follows the badges' policy.
    pub api_like_badges: bool,
    /// `--camo-only`: sites only GitHub's image proxy counts for.
    pub camo_only: sites::Patterns,
}

/// Why a counting request added no hit (a `/metrics` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Cookie,
    Hash,
    Bot,
    CamoOnly,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::Cookie => "cookie",
            Reason::Hash => "hash",
            Reason::Bot => "bot",
            Reason::CamoOnly => "camo_only",
        }
    }
}

/// One counting request, as the policy sees it.
pub struct Request<'a> {
    pub key: &'a str,
    /// The request's `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The client's address (the socket peer, or what a trusted proxy says).
    pub client: std::net::IpAddr,
    pub user_agent: Option<&'a str>,
    pub https: bool,
    /// A badge (else the plain-text `/count`).
    pub badge: bool,
    /// Seconds since the epoch, and the day the hit counts for.
    pub now: u64,
    pub day: NaiveDate,
}

/// The decision.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `Ok(unique)`: add a hit (and a visitor when `unique`); `Err`: why not.
    pub count: Result<bool, Reason>,
    /// A `Set-Cookie` value to send.
    pub set_cookie: Option<String>,
}

pub struct Decider {
    policy: Policy,
    seen: Seen,
}

impl Decider {
    pub fn new(policy: Policy) -> Decider {
        Decider { policy, seen: Seen::new(seen::MAX_VISITORS) }
    }

    /// Entries in the visitor table.
    pub fn visitors_held(&self) -> usize {
        self.seen.len()
    }

    pub fn decide(&self, r: &Request) -> Verdict {
        let p = &self.policy;
        if !camo_may_count(&p.camo_only, r.key, r.user_agent) {
            return Verdict { count: Err(Reason::CamoOnly), set_cookie: None };
        }
        let full = r.badge || p.api_like_badges;
        // The bot list is only consulted where bots are not counted (the
        // CGI process that compiles it for one request pays ~4 ms).
        let agent =
            if full && !p.count_bots { bots::classify(r.user_agent) } else { bots::camo_or_person(r.user_agent) };
        if agent == Agent::Bot {
            return Verdict { count: Err(Reason::Bot), set_cookie: None };
        }
        let window = if p.dedup == Dedup::Off { 0 } else { p.window };
        let mut set_cookie = None;
        if window > 0 && matches!(p.dedup, Dedup::Cookie | Dedup::Both) {
            let name = cookie::name_for(r.key);
            let sent = r.cookie.and_then(|c| cookie::find(c, &name));
            let make = |until| cookie::set_cookie(&name, until, r.now, r.https);
            match cookie::decide(sent, r.now, window) {
                Decision::Skip { reset_cookie_until } => {
                    return Verdict { count: Err(Reason::Cookie), set_cookie: reset_cookie_until.map(make) };
                }
                Decision::Count { set_cookie_until } => set_cookie = set_cookie_until.map(make),
            }
        }
        if agent == Agent::Camo {
            // Viewers behind GitHub's proxy cannot be told apart: every
            // fetch is a view, and a visitor.
            return Verdict { count: Ok(true), set_cookie };
        }
        let dedup = full && window > 0 && matches!(p.dedup, Dedup::Hash | Dedup::Both);
        let who = (r.client, r.user_agent.unwrap_or(""), r.key);
        match self.seen.visit(r.day, r.now, who, window, dedup) {
            Visit::Repeat => Verdict { count: Err(Reason::Hash), set_cookie },
            Visit::Count { unique } => Verdict { count: Ok(unique), set_cookie },
        }
    }
}

/// Whether `--camo-only` lets a fetch of `key` by `user_agent` count: any
/// fetch of a key whose host it does not list, else only GitHub's proxy's.
pub fn camo_may_count(camo_only: &sites::Patterns, key: &str, user_agent: Option<&str>) -> bool {
    !camo_only.matches(key) || bots::camo_or_person(user_agent) == Agent::Camo
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";

    fn policy(dedup: Dedup) -> Policy {
        Policy { dedup, window: 300, count_bots: false, api_like_badges: false, camo_only: Default::default() }
    }

    fn req<'a>(ua: &'a str, client: &'a str, badge: bool, now: u64) -> Request<'a> {
        Request {
            key: "e.com/a",
            cookie: None,
            client: client.parse().unwrap(),
            user_agent: Some(ua),
            https: true,
            badge,
            now,
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        }
    }

    #[test]
    fn badges_dedup_by_address_and_agent_without_cookies() {
        let d = Decider::new(policy(Dedup::Both));
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.1", true, 1000)).count, Ok(true));
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.1", true, 1010)).count, Err(Reason::Hash));
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.2", true, 1010)).count, Ok(true), "another address");
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.1", true, 1300)).count, Ok(false), "after the window");
    }

    #[test]
    fn the_cookie_skips_before_the_hash_and_sets_itself() {
        let d = Decider::new(policy(Dedup::Cookie));
        let v = d.decide(&req(FIREFOX, "198.51.100.1", true, 1000));
        assert_eq!(v.count, Ok(true));
        let set = v.set_cookie.unwrap();
        let value = set.split(';').next().unwrap().to_string();
        let again = Request { cookie: Some(&value), ..req(FIREFOX, "198.51.100.1", true, 1001) };
        assert_eq!(d.decide(&again).count, Err(Reason::Cookie));
        // Cookie-only: no cookie sent back, the same client counts again.
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.1", true, 1002)).count, Ok(false));
    }

    #[test]
    fn bots_and_camo() {
        let d = Decider::new(policy(Dedup::Both));
        assert_eq!(d.decide(&req("curl/8.5.0", "198.51.100.1", true, 1000)).count, Err(Reason::Bot));
        assert_eq!(d.decide(&req("", "198.51.100.1", true, 1000)).count, Err(Reason::Bot));
        for t in 0..3 {
            assert_eq!(d.decide(&req("github-camo (876de43e)", "140.82.115.1", true, 1000 + t)).count, Ok(true));
        }
        let counting_bots = Decider::new(Policy { count_bots: true, ..policy(Dedup::Off) });
        assert_eq!(counting_bots.decide(&req("curl/8.5.0", "198.51.100.1", true, 1000)).count, Ok(true));
    }

    #[test]
    fn the_plain_text_counter_keeps_the_originals_rule() {
        let d = Decider::new(policy(Dedup::Both));
        for t in 0..3 {
            let v = d.decide(&req("curl/8.5.0", "198.51.100.1", false, 1000 + t));
            assert!(v.count.is_ok(), "every client counts on /count: {v:?}");
            assert!(v.set_cookie.is_some(), "the cookie still applies");
        }
        let strict = Decider::new(Policy { api_like_badges: true, ..policy(Dedup::Both) });
        assert_eq!(strict.decide(&req("curl/8.5.0", "198.51.100.1", false, 1000)).count, Err(Reason::Bot));
    }

    #[test]
    fn reasons_are_the_metrics_labels() {
        let labels: Vec<&str> = [Reason::Cookie, Reason::Hash, Reason::Bot].iter().map(|r| r.label()).collect();
        assert_eq!(labels, crate::metrics::NOT_COUNTED[..3]);
        assert!(crate::metrics::NOT_COUNTED.contains(&Reason::CamoOnly.label()));
    }

    #[test]
    fn camo_only_counts_only_githubs_proxy_for_the_sites_it_lists() {
        let camo_only = sites::Patterns::parse("camo-only", Some("github.com")).unwrap();
        let d = Decider::new(Policy { camo_only, ..policy(Dedup::Both) });
        let on = |key, ua, badge| d.decide(&Request { key, ..req(ua, "198.51.100.1", badge, 1000) });
        for (ua, badge) in [(FIREFOX, true), ("curl/8.5.0", true), ("curl/8.5.0", false), (FIREFOX, false)] {
            let v = on("github.com/me/repo", ua, badge);
            assert_eq!((v.count, v.set_cookie), (Err(Reason::CamoOnly), None), "{ua} badge={badge}");
        }
        assert_eq!(on("github.com/me/repo", "github-camo (876de43e)", true).count, Ok(true));
        assert_eq!(on("github.com/me/repo", "github-camo (876de43e)", false).count, Ok(true));
        assert_eq!(on("example.com/", FIREFOX, true).count, Ok(true), "other sites count as usual");
        assert_eq!(on("example.com/", "curl/8.5.0", true).count, Err(Reason::Bot));
    }

    #[test]
    fn off_counts_every_request_but_still_knows_visitors() {
        let d = Decider::new(policy(Dedup::Off));
        let first = d.decide(&req(FIREFOX, "198.51.100.1", true, 1000));
        assert_eq!((first.count, first.set_cookie), (Ok(true), None));
        assert_eq!(d.decide(&req(FIREFOX, "198.51.100.1", true, 1001)).count, Ok(false));
    }
}
