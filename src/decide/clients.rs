//! Limits per client: counted hits per second and new counters per hour
//! for each client (`--rate-limit`, `--new-counters-per-hour`).
//!
//! A client is an IPv4 address, or an IPv6 address cut to its first
//! `--ipv6-prefix` bits (a /64 by default): one host is commonly given a
//! whole /64, so its addresses are one client, not 2^64 of them.
//!
//! Every counted hit asks the rate limit, so it takes no lock: a fixed
//! table of `RATE_SLOTS` atomic (second, hits) words indexed by a hash of
//! the client. Behind a proxy without `--trust-proxy` all hits come from
//! one address, and a lock there made every request wait for the others.
//! Two clients whose hashes meet share a budget, which only ever makes the
//! limit stricter for them. New counters are rarer: a map per client,
//! sharded, bounded (`MAX_CLIENTS`): when a shard is full, clients that
//! created nothing this hour are dropped, and if none is, the new client
//! shares one overflow budget with every other client not remembered, so
//! filling the table never lifts the limit. Time comes from the caller.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::limits::MAX_CLIENTS;

const SHARDS: usize = 16;
/// Rate-limit slots (8 bytes each).
const RATE_SLOTS: usize = 4096;

/// Counters a client created in an hour (hours since the epoch).
#[derive(Default, Clone, Copy)]
struct Created {
    hour: u32,
    count: u32,
}

impl Created {
    /// Takes one from the budget of `hour` if `per_hour` leaves one.
    fn take(&mut self, hour: u32, per_hour: u32) -> bool {
        if self.hour != hour {
            *self = Created { hour, count: 0 };
        }
        self.count < per_hour && {
            self.count += 1;
            true
        }
    }
}

#[derive(Default)]
struct Shard {
    /// IPv4 clients as IPv4-mapped IPv6 addresses: one 16-byte key for both.
    table: HashMap<Ipv6Addr, Created>,
    /// The hour of the last sweep for stale clients: once a sweep leaves
    /// the shard full, none goes stale before the next hour.
    swept: u32,
}

pub struct Clients {
    /// 0: no limit.
    per_second: u32,
    per_hour: u32,
    /// Leading bits of an IPv6 address that name a client (1..=128).
    ipv6_prefix: u8,
    /// `second << 32 | hits` of the clients hashed to each slot.
    rates: Box<[AtomicU64]>,
    created: [Mutex<Shard>; SHARDS],
    /// The budget shared by the clients a full table cannot remember.
    overflow: Mutex<Created>,
    /// Entries a shard holds at most.
    per_shard: usize,
    hasher: RandomState,
}

/// The client an address belongs to: IPv4 (also written as IPv4-mapped
/// IPv6) by the whole address, IPv6 by its first `ipv6_prefix` bits.
pub fn client_key(addr: IpAddr, ipv6_prefix: u8) -> Ipv6Addr {
    match addr.to_canonical() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => {
            let bits = u32::from(ipv6_prefix.clamp(1, 128));
            let mask = u128::MAX << (128 - bits);
            Ipv6Addr::from(u128::from(v6) & mask)
        }
    }
}

impl Clients {
    pub fn new(per_second: u32, per_hour: u32, ipv6_prefix: u8) -> Clients {
        Clients::with_capacity(per_second, per_hour, ipv6_prefix, MAX_CLIENTS)
    }

    /// `new`, remembering at most about `max_clients` clients.
    fn with_capacity(per_second: u32, per_hour: u32, ipv6_prefix: u8, max_clients: usize) -> Clients {
        let rates = (0..if per_second == 0 { 0 } else { RATE_SLOTS }).map(|_| AtomicU64::new(0)).collect();
        Clients {
            per_second,
            per_hour,
            ipv6_prefix,
            rates,
            created: std::array::from_fn(|_| Mutex::new(Shard::default())),
            overflow: Mutex::new(Created::default()),
            per_shard: (max_clients / SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Whether `client` may have one more hit counted in second `now`.
    pub fn may_count(&self, client: IpAddr, now: u64) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let key = client_key(client, self.ipv6_prefix);
        let slot = &self.rates[self.hasher.hash_one(key) as usize % RATE_SLOTS];
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
    pub fn may_create(&self, client: IpAddr, now: u64) -> bool {
        if self.per_hour == 0 {
            return true;
        }
        let hour = u32::try_from(now / 3600).unwrap_or(u32::MAX);
        let key = client_key(client, self.ipv6_prefix);
        let shard = &self.created[self.hasher.hash_one(key) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let full = |s: &Shard| s.table.len() >= self.per_shard;
        if !shard.table.contains_key(&key) && full(&shard) && shard.swept != hour {
            shard.table.retain(|_, c| c.hour == hour);
            shard.swept = hour;
        }
        if !shard.table.contains_key(&key) && full(&shard) {
            drop(shard);
            return self.overflow.lock().unwrap_or_else(|e| e.into_inner()).take(hour, self.per_hour);
        }
        shard.table.entry(key).or_default().take(hour, self.per_hour)
    }

    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.created.iter().map(|s| s.lock().map(|s| s.table.len()).unwrap_or(0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hits_per_second_per_client() {
        let c = Clients::new(3, 0, 64);
        let counted = (0..5).filter(|_| c.may_count(ip("192.0.2.4"), 100)).count();
        assert_eq!(counted, 3);
        assert!(c.may_count(ip("192.0.2.8"), 100), "another client has its own budget");
        assert!(c.may_count(ip("192.0.2.4"), 101), "a new second");
    }

    #[test]
    fn new_counters_per_hour_per_client() {
        let c = Clients::new(0, 2, 64);
        let a = ip("192.0.2.1");
        assert!(c.may_create(a, 7200) && c.may_create(a, 7300));
        assert!(!c.may_create(a, 7400));
        assert!(c.may_create(a, 10_800), "the next hour");
    }

    #[test]
    fn an_ipv6_client_is_its_prefix() {
        let c = Clients::new(2, 3, 64);
        let in_64 = |i: u16| ip(&format!("2001:db8:1:2:{i:x}::1"));
        assert_eq!((0..20).filter(|&i| c.may_create(in_64(i), 3600)).count(), 3, "one /64, one budget");
        assert!(c.may_create(ip("2001:db8:1:3::1"), 3600), "the next /64 is another client");
        assert_eq!((0..20).filter(|&i| c.may_count(in_64(i), 5)).count(), 2, "the rate limit too");

        let apart = Clients::new(0, 3, 128);
        assert_eq!((0..20).filter(|&i| apart.may_create(in_64(i), 3600)).count(), 20, "/128: each address");
    }

    #[test]
    fn client_keys() {
        let v4 = ip("192.0.2.7");
        assert_eq!(client_key(v4, 64), client_key(ip("::ffff:192.0.2.7"), 64), "mapped IPv4 is IPv4");
        assert_ne!(client_key(v4, 1), client_key(ip("192.0.2.8"), 1), "IPv4 by the whole address");
        assert_eq!(client_key(ip("2001:db8::1"), 32), client_key(ip("2001:db8:ffff::2"), 32));
        assert_ne!(client_key(ip("2001:db8::1"), 128), client_key(ip("2001:db8::2"), 128));
        assert_eq!(client_key(ip("2001:db8::1"), 1), client_key(ip("7fff::"), 1));
    }

    #[test]
    fn zero_is_no_limit_and_remembers_nothing() {
        let c = Clients::new(0, 0, 64);
        assert!((0..1000).all(|_| c.may_count(ip("192.0.2.1"), 1) && c.may_create(ip("192.0.2.1"), 1)));
        assert_eq!(c.remembered(), 0);
    }

    fn v4(i: usize) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32))
    }

    #[test]
    fn a_full_table_refuses_new_clients_past_one_shared_budget() {
        let c = Clients::with_capacity(0, 2, 64, SHARDS * 4);
        // Enough clients that every shard fills; those left over share the overflow budget.
        let fresh: Vec<IpAddr> = (0..SHARDS * 40).map(v4).collect();
        let allowed = fresh.iter().filter(|&&a| c.may_create(a, 3600)).count();
        assert_eq!(c.remembered(), SHARDS * 4);
        assert_eq!(allowed, SHARDS * 4 + 2, "each remembered client once, then two for all the others");
        assert!(!c.may_create(v4(1_000_000), 3600), "a new client while the table is full");
        // An hour later the quiet ones make room.
        assert!(c.may_create(v4(2_000_000), 7200));
        assert!(c.remembered() <= SHARDS * 4);
    }

    #[test]
    fn the_table_stays_bounded() {
        let c = Clients::new(0, 1, 64);
        for i in 0..MAX_CLIENTS + 10 {
            c.may_create(v4(i), 3600);
        }
        assert!(c.remembered() <= MAX_CLIENTS);
        assert!(c.may_create(v4(MAX_CLIENTS + 20), 7200));
        assert!(c.remembered() <= MAX_CLIENTS);
    }
}
