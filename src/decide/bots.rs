//! Which User-Agents are bots: the patterns of the maintained `isbot` list
//! (crawlers, monitors, HTTP libraries, headless browsers), an empty
//! User-Agent, and one exception: GitHub's image proxy (`github-camo`),
//! through which every README view arrives, is never a bot. Decisions are
//! cached per User-Agent: real traffic repeats a few thousand of them.

use crate::limits::BOT_CACHE_AGENTS;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, OnceLock};

/// What a User-Agent is, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Person,
    Bot,
    /// GitHub's image proxy: counted, never deduplicated by address (all
    /// README viewers come through a few of GitHub's addresses).
    Camo,
}

fn patterns() -> &'static isbot::Bots {
    static BOTS: OnceLock<isbot::Bots> = OnceLock::new();
    BOTS.get_or_init(isbot::Bots::default)
}

/// Decisions by a keyed hash of the User-Agent, not the string: a client
/// sending thousands of long made-up agents costs a few bytes each.
struct Cache {
    key: RandomState,
    bot: HashMap<u64, bool>,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Cache { key: RandomState::new(), bot: HashMap::new() }))
}

fn is_camo(ua: &str) -> bool {
    ua.starts_with("github-camo")
}

/// Where bots count like everyone: only GitHub's proxy is told apart (it
/// is never deduplicated by address).
pub fn camo_or_person(user_agent: Option<&str>) -> Agent {
    if is_camo(user_agent.map(str::trim).unwrap_or("")) {
        Agent::Camo
    } else {
        Agent::Person
    }
}

/// Classifies a User-Agent header (`None`: the request sent none).
pub fn classify(user_agent: Option<&str>) -> Agent {
    let ua = user_agent.map(str::trim).unwrap_or("");
    if ua.is_empty() {
        return Agent::Bot;
    }
    if is_camo(ua) {
        return Agent::Camo;
    }
    let hash = {
        let c = cache().lock().unwrap_or_else(|e| e.into_inner());
        let hash = c.key.hash_one(ua);
        if let Some(&bot) = c.bot.get(&hash) {
            return if bot { Agent::Bot } else { Agent::Person };
        }
        hash
    };
    let bot = patterns().is_bot(ua);
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if c.bot.len() >= BOT_CACHE_AGENTS {
        c.bot.clear();
    }
    c.bot.insert(hash, bot);
    if bot {
        Agent::Bot
    } else {
        Agent::Person
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_user_agents() {
        let bots = [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.71 Safari/537.36",
            "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            "",
            "   ",
        ];
        for ua in bots {
            assert_eq!(classify(Some(ua)), Agent::Bot, "{ua:?}");
        }
        assert_eq!(classify(None), Agent::Bot);
        let people = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
        ];
        for ua in people {
            assert_eq!(classify(Some(ua)), Agent::Person, "{ua:?}");
        }
        assert_eq!(classify(Some("github-camo (876de43e)")), Agent::Camo, "README views are counted");
    }

    #[test]
    fn cached_decisions_match() {
        for _ in 0..3 {
            assert_eq!(classify(Some("curl/8.5.0")), Agent::Bot);
            assert_eq!(
                classify(Some("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0")),
                Agent::Person
            );
        }
    }
}
