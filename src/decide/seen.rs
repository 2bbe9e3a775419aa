//! Visitors seen today, without storing who they are: a keyed hash
//! (SipHash with a random key made each day, never written anywhere) of
//! (client address, User-Agent, counter key) and the time of its last
//! counted hit, in memory only. It answers two questions: was this visitor
//! counted on this counter within the window (cookieless deduplication, as
//! GoatCounter and Plausible do it), and is this its first hit today (a
//! unique visitor)? At the first hit of a new day the key and every entry
//! of the previous day are dropped.
//!
//! Memory is bounded and small: an entry is one `u64` (47 bits of the hash
//! beside 17 bits of seconds since the day's first hit), in groups of
//! [`WAYS`] (one cache line) chosen by the hash. A visitor that finds its
//! group full replaces the one counted longest ago in it, so past
//! [`MAX_VISITORS`] entries the least recently counted go first.

use chrono::NaiveDate;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

pub use crate::limits::MAX_VISITORS;

const SHARDS: usize = 16;

/// Entries in one group: 8 × 8 bytes, one cache line.
const WAYS: usize = 8;

/// Low bits of an entry: seconds since the day's first hit. A day (25 hours
/// at most, with a clock change) fits in 17 bits.
const TIME_BITS: u32 = 17;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;

#[derive(Default)]
struct Shard {
    /// `WAYS` entries per group, allocated at the shard's first visitor of
    /// the day; 0 is an empty slot.
    slots: Box<[u64]>,
    /// Slots in use, for `/metrics`.
    used: usize,
}

/// The day's key, the day it belongs to, and that day's first second (the
/// origin of the entries' times).
struct Salt {
    day: NaiveDate,
    key: RandomState,
    origin: u64,
}

pub struct Seen {
    salt: Mutex<Salt>,
    shards: Vec<Mutex<Shard>>,
    groups: usize,
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
    /// A table for at most `max` visitors (rounded down to whole groups,
    /// one per shard at the least), so the cap holds as documented.
    pub fn new(max: usize) -> Seen {
        let groups = (max / (SHARDS * WAYS)).max(1);
        Seen {
            salt: Mutex::new(Salt { day: NaiveDate::MIN, key: RandomState::new(), origin: 0 }),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            groups,
        }
    }

    /// Looks the visitor up on `day` at `now` (seconds) and records a
    /// counted hit. With `dedup`, a hit within `window` seconds of the
    /// visitor's last counted one is a [`Visit::Repeat`] (and not recorded).
    pub fn visit(&self, day: NaiveDate, now: u64, who: (IpAddr, &str, &str), window: u64, dedup: bool) -> Visit {
        let (h, origin) = {
            let mut salt = self.salt.lock().unwrap_or_else(|e| e.into_inner());
            if salt.day != day {
                // A new day: a new key, and yesterday's entries go.
                *salt = Salt { day, key: RandomState::new(), origin: now };
                for shard in &self.shards {
                    *shard.lock().unwrap_or_else(|e| e.into_inner()) = Shard::default();
                }
            }
            (salt.key.hash_one(who), salt.origin)
        };
        let at = now.saturating_sub(origin).min(TIME_MASK);
        // The low bits pick the shard and the group, the high ones are kept.
        let tag = (h >> TIME_BITS).max(1) << TIME_BITS;
        let group = ((h >> 4) as usize) % self.groups * WAYS;
        let mut shard = self.shards[(h as usize) % SHARDS].lock().unwrap_or_else(|e| e.into_inner());
        if shard.slots.is_empty() {
            // Zeroed memory comes straight from the kernel: the pages of a
            // table that is not full cost nothing until a visitor lands in
            // them, and a process that serves one request (CGI) allocates
            // one shard, not the table.
            shard.slots = vec![0u64; self.groups * WAYS].into_boxed_slice();
        }
        let slots = &mut shard.slots[group..group + WAYS];
        if let Some(slot) = slots.iter_mut().find(|s| **s & !TIME_MASK == tag) {
            let last = *slot & TIME_MASK;
            if dedup && at < last.saturating_add(window) {
                return Visit::Repeat;
            }
            *slot = tag | at;
            return Visit::Count { unique: false };
        }
        // An empty slot, else the one counted longest ago.
        let (i, fresh) = match slots.iter().position(|s| *s == 0) {
            Some(i) => (i, true),
            None => (slots.iter().enumerate().min_by_key(|(_, s)| **s & TIME_MASK).map_or(0, |(i, _)| i), false),
        };
        slots[i] = tag | at;
        if fresh {
            shard.used += 1;
        }
        Visit::Count { unique: true }
    }

    /// Entries held, for `/metrics`.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).used).sum()
    }

    /// Entries the table can hold.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        SHARDS * self.groups * WAYS
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
    fn memory_is_bounded_and_the_least_recently_counted_go_first() {
        let seen = Seen::new(1);
        assert_eq!(seen.capacity(), SHARDS * WAYS, "one group per shard at the least");
        let keys: Vec<String> = (0..1000).map(|i| format!("e.com/{i}")).collect();
        // keys[0] is counted again after every other key: it stays.
        seen.visit(day(1), 1, (IP, "ua", &keys[0]), 0, true);
        for (i, k) in keys.iter().enumerate().skip(1) {
            seen.visit(day(1), 1 + i as u64, (IP, "ua", k), 0, true);
            seen.visit(day(1), 1 + i as u64, (IP, "ua", &keys[0]), 0, true);
        }
        assert_eq!(seen.len(), seen.capacity(), "full, and no more");
        let at = 1001;
        assert_eq!(seen.visit(day(1), at, (IP, "ua", &keys[999]), 300, true), Visit::Repeat, "the newest are known");
        assert_eq!(seen.visit(day(1), at, (IP, "ua", &keys[0]), 300, true), Visit::Repeat, "so is one counted often");
        assert_eq!(seen.visit(day(1), at, (IP, "ua", &keys[1]), 300, true), Visit::Count { unique: true });
    }

    #[test]
    fn the_window_holds_across_a_long_day() {
        let seen = Seen::new(100);
        let start = 1_700_000_000;
        seen.visit(day(1), start, A, 300, true);
        let late = start + 25 * 3600;
        assert_eq!(seen.visit(day(1), late, A, 300, true), Visit::Count { unique: false });
        assert_eq!(seen.visit(day(1), late + 299, A, 300, true), Visit::Repeat);
        assert_eq!(seen.visit(day(1), late + 300, A, 300, true), Visit::Count { unique: false });
    }

    #[test]
    fn a_million_visitors_fit_in_eight_megabytes() {
        let seen = Seen::new(MAX_VISITORS);
        assert!(seen.capacity() <= MAX_VISITORS, "the cap holds: {}", seen.capacity());
        assert!(seen.capacity() > MAX_VISITORS - SHARDS * WAYS, "and little less: {}", seen.capacity());
        assert!(seen.capacity() * std::mem::size_of::<u64>() <= 8 * 1024 * 1024, "{}", seen.capacity());
    }
}
