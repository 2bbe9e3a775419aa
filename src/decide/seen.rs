//! Visitors seen today, without storing who they are: a keyed hash
//! (SipHash with a random key made each day, never written anywhere) of
//! (client address, User-Agent, counter key) and the time of its last
//! counted hit, in memory only. It answers two questions: was this visitor
//! counted on this counter within the window (cookieless deduplication, as
//! GoatCounter and Plausible do it), and is this its first hit today (a
//! unique visitor)? At the first hit of a new day the key and every entry
//! of the previous day are dropped. Memory is bounded: past
//! [`MAX_VISITORS`] entries the oldest are dropped first.

use chrono::NaiveDate;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

pub use crate::limits::MAX_VISITORS;

const SHARDS: usize = 16;

/// The keys are already hashes: use them as they are.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Shard {
    /// Visitor hash -> seconds (of the day's clock) of its last counted hit.
    last: HashMap<u64, u64, BuildHasherDefault<Identity>>,
    /// Hashes in the order they were first seen, for dropping the oldest.
    order: VecDeque<u64>,
}

/// The day's key and the day it belongs to.
struct Salt {
    day: NaiveDate,
    key: RandomState,
}

pub struct Seen {
    salt: Mutex<Salt>,
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

/// What the table says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Counted within the window already: a repeat, not a new hit.
    Repeat,
    /// A hit to count; `unique` on the visitor's first hit of the day.
    Count { unique: bool },
}

impl Seen {
    pub fn new(max: usize) -> Seen {
        Seen {
            salt: Mutex::new(Salt { day: NaiveDate::MIN, key: RandomState::new() }),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: max.div_ceil(SHARDS).max(1),
        }
    }

    /// Looks the visitor up on `day` at `now` (seconds) and records a
    /// counted hit. With `dedup`, a hit within `window` seconds of the
    /// visitor's last counted one is a [`Visit::Repeat`] (and not recorded).
    pub fn visit(&self, day: NaiveDate, now: u64, who: (IpAddr, &str, &str), window: u64, dedup: bool) -> Visit {
        let h = {
            let mut salt = self.salt.lock().unwrap_or_else(|e| e.into_inner());
            if salt.day != day {
                // A new day: a new key, and yesterday's entries go.
                *salt = Salt { day, key: RandomState::new() };
                for shard in &self.shards {
                    *shard.lock().unwrap_or_else(|e| e.into_inner()) = Shard::default();
                }
            }
            salt.key.hash_one(who)
        };
        let mut shard = self.shards[(h as usize) % SHARDS].lock().unwrap_or_else(|e| e.into_inner());
        match shard.last.get_mut(&h) {
            Some(last) if dedup && now < last.saturating_add(window) => Visit::Repeat,
            Some(last) => {
                *last = now;
                Visit::Count { unique: false }
            }
            None => {
                if shard.order.len() >= self.per_shard {
                    if let Some(old) = shard.order.pop_front() {
                        shard.last.remove(&old);
                    }
                }
                shard.last.insert(h, now);
                shard.order.push_back(h);
                Visit::Count { unique: true }
            }
        }
    }

    /// Entries held, for `/metrics`.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).order.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    use std::net::Ipv4Addr;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    const A: (IpAddr, &str, &str) = (IP, "Firefox", "e.com/a");

    #[test]
    fn a_repeat_within_the_window_is_not_counted() {
        let seen = Seen::new(100);
        assert_eq!(seen.visit(day(1), 1000, A, 300, true), Visit::Count { unique: true });
        assert_eq!(seen.visit(day(1), 1299, A, 300, true), Visit::Repeat);
        assert_eq!(seen.visit(day(1), 1300, A, 300, true), Visit::Count { unique: false }, "the window ended");
        assert_eq!(seen.visit(day(1), 1301, A, 300, true), Visit::Repeat, "a new window from the counted hit");
        assert_eq!(seen.visit(day(1), 1302, A, 300, false), Visit::Count { unique: false }, "without dedup: counted");
        let other_ua = (IP, "Chrome", "e.com/a");
        assert_eq!(seen.visit(day(1), 1303, other_ua, 300, true), Visit::Count { unique: true });
        let other_key = (IP, "Firefox", "e.com/b");
        assert_eq!(seen.visit(day(1), 1303, other_key, 300, true), Visit::Count { unique: true });
    }

    #[test]
    fn a_new_day_drops_yesterday() {
        let seen = Seen::new(100);
        seen.visit(day(1), 1000, A, 300, true);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen.visit(day(2), 1001, A, 300, true), Visit::Count { unique: true }, "a new day, a new visitor");
        assert_eq!(seen.len(), 1, "yesterday's entry is gone");
    }

    #[test]
    fn memory_is_bounded_and_the_oldest_go_first() {
        let seen = Seen::new(SHARDS * 4);
        let keys: Vec<String> = (0..1000).map(|i| format!("e.com/{i}")).collect();
        for k in &keys {
            seen.visit(day(1), 1, (IP, "ua", k), 300, true);
        }
        assert!(seen.len() <= SHARDS * 4, "{}", seen.len());
        // The newest are still known; the first ones were dropped.
        assert_eq!(seen.visit(day(1), 2, (IP, "ua", &keys[999]), 300, true), Visit::Repeat);
        assert_eq!(seen.visit(day(1), 2, (IP, "ua", &keys[0]), 300, true), Visit::Count { unique: true });
    }
}
