//! Limits per client: counted hits per second and new counters per hour
//! for each client address (`--rate-limit`, `--new-counters-per-hour`).
//!
//! Every counted hit asks the rate limit, so it takes no lock: a fixed
//! table of `RATE_SLOTS` atomic (second, hits) words indexed by a hash of
//! the client. Behind a proxy without `--trust-proxy` all hits come from
//! one address, and a lock there made every request wait for the others.
//! Two clients whose hashes meet share a budget, which only ever makes the
//! limit stricter for them. New counters are rarer: a map per client,
//! sharded, bounded (`MAX_CLIENTS`): when a shard is full, clients that
//! created nothing this hour are dropped, and if none is, a new client is
//! let through rather than remembered. Time comes from the caller.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::limits::MAX_CLIENTS;

const SHARDS: usize = 16;
/// Rate-limit slots (8 bytes each).
const RATE_SLOTS: usize = 4096;

#[derive(Default, Clone, Copy)]
struct Created {
    hour: u64,
    count: u32,
}

pub struct Clients {
    /// 0: no limit.
    per_second: u32,
    per_hour: u32,
    /// `second << 32 | hits` of the clients hashed to each slot.
    rates: Box<[AtomicU64]>,
    created: [Mutex<HashMap<Box<str>, Created>>; SHARDS],
    hasher: RandomState,
}

impl Clients {
    pub fn new(per_second: u32, per_hour: u32) -> Clients {
        let rates = (0..if per_second == 0 { 0 } else { RATE_SLOTS }).map(|_| AtomicU64::new(0)).collect();
        let created = std::array::from_fn(|_| Mutex::new(HashMap::new()));
        Clients { per_second, per_hour, rates, created, hasher: RandomState::new() }
    }

    /// Whether `client` may have one more hit counted in second `now`.
    pub fn may_count(&self, client: &str, now: u64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let slot = &self.rates[self.hasher.hash_one(client) as usize % RATE_SLOTS];
        let second = now & 0xffff_ffff;
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let next = if current >> 32 != second {
                second << 32 | 1
            } else if (current & 0xffff_ffff) < u64::from(self.per_second) {
                current + 1
            } else {
                return false;
            };
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }

    /// Whether `client` may create one more counter in the hour of `now`.
    pub fn may_create(&self, client: &str, now: u64) -> bool {
        if self.per_hour == 0 {
            return true;
        }
        let hour = now / 3600;
        let shard = &self.created[self.hasher.hash_one(client) as usize % SHARDS];
        let mut table = shard.lock().unwrap_or_else(|e| e.into_inner());
        if !table.contains_key(client) && table.len() >= MAX_CLIENTS / SHARDS {
            table.retain(|_, c| c.hour == hour);
            if table.len() >= MAX_CLIENTS / SHARDS {
                return true;
            }
        }
        let c = table.entry(client.into()).or_default();
        if c.hour != hour {
            *c = Created { hour, count: 0 };
        }
        c.count < self.per_hour && {
            c.count += 1;
            true
        }
    }

    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.created.iter().map(|s| s.lock().map(|t| t.len()).unwrap_or(0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_per_second_per_client() {
        let c = Clients::new(3, 0);
        let counted = (0..5).filter(|_| c.may_count("1.2.3.4", 100)).count();
        assert_eq!(counted, 3);
        assert!(c.may_count("5.6.7.8", 100), "another client has its own budget");
        assert!(c.may_count("1.2.3.4", 101), "a new second");
    }

    #[test]
    fn new_counters_per_hour_per_client() {
        let c = Clients::new(0, 2);
        assert!(c.may_create("a", 7200) && c.may_create("a", 7300));
        assert!(!c.may_create("a", 7400));
        assert!(c.may_create("a", 10_800), "the next hour");
    }

    #[test]
    fn zero_is_no_limit_and_remembers_nothing() {
        let c = Clients::new(0, 0);
        assert!((0..1000).all(|_| c.may_count("a", 1) && c.may_create("a", 1)));
        assert_eq!(c.remembered(), 0);
    }

    #[test]
    fn the_table_stays_bounded() {
        let c = Clients::new(0, 1);
        for i in 0..MAX_CLIENTS + 10 {
            c.may_create(&format!("10.{}.{}.{}", i / 65536, i / 256 % 256, i % 256), 3600);
        }
        assert!(c.remembered() <= MAX_CLIENTS);
        // An hour later the quiet ones make room.
        assert!(c.may_create("new", 7200));
        assert!(c.remembered() <= MAX_CLIENTS);
    }
}
