//! Limits per client: counted hits per second and new counters per hour
//! for each client address (`--rate-limit`, `--new-counters-per-hour`).
//! The table of clients is bounded (`MAX_CLIENTS`): when it is full, the
//! entries of clients quiet for the current hour are dropped, and if all
//! are active a new client is let through rather than remembered, so memory
//! never grows with the number of addresses. Time comes from the caller.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::limits::MAX_CLIENTS;

#[derive(Default, Clone, Copy)]
struct Slot {
    second: u64,
    hits: u32,
    hour: u64,
    created: u32,
}

pub struct Clients {
    /// 0: no limit.
    per_second: u32,
    per_hour: u32,
    table: Mutex<HashMap<Box<str>, Slot>>,
}

impl Clients {
    pub fn new(per_second: u32, per_hour: u32) -> Clients {
        Clients { per_second, per_hour, table: Mutex::new(HashMap::new()) }
    }

    /// Whether `client` may have one more hit counted in second `now`.
    pub fn may_count(&self, client: &str, now: u64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        self.with(client, now, |slot| {
            if slot.second != now {
                slot.second = now;
                slot.hits = 0;
            }
            slot.hits < self.per_second && {
                slot.hits += 1;
                true
            }
        })
    }

    /// Whether `client` may create one more counter in the hour of `now`.
    pub fn may_create(&self, client: &str, now: u64) -> bool {
        if self.per_hour == 0 {
            return true;
        }
        self.with(client, now, |slot| {
            let hour = now / 3600;
            if slot.hour != hour {
                slot.hour = hour;
                slot.created = 0;
            }
            slot.created < self.per_hour && {
                slot.created += 1;
                true
            }
        })
    }

    fn with(&self, client: &str, now: u64, f: impl FnOnce(&mut Slot) -> bool) -> bool {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = table.get_mut(client) {
            return f(slot);
        }
        if table.len() >= MAX_CLIENTS {
            let hour = now / 3600;
            table.retain(|_, s| s.second == now || s.hour == hour && s.created > 0);
            if table.len() >= MAX_CLIENTS {
                return true;
            }
        }
        let slot = table.entry(client.into()).or_default();
        f(slot)
    }

    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or(0)
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
        let c = Clients::new(1, 0);
        for i in 0..MAX_CLIENTS + 10 {
            c.may_count(&format!("10.0.{}.{}", i / 256, i % 256), 5);
        }
        assert!(c.remembered() <= MAX_CLIENTS);
        // A second later the quiet ones make room.
        assert!(c.may_count("new", 6));
        assert!(c.remembered() <= MAX_CLIENTS);
    }
}
