//! The counting hot path: an in-memory table of counts and unsaved hits.
//!
//! Each counter a request touches gets an entry holding its true total
//! (stored + pending), so a response never needs a database write and the
//! number it shows is exact and monotonic. A flusher writes pending hits in
//! one transaction per interval. Entries are sharded by key so workers rarely
//! wait on each other.
//!
//! Rules that keep the numbers right:
//! - An entry is only evicted by the flusher, after a commit, and only when it
//!   has no pending hits: so a key missing from the table has nothing unsaved
//!   and the database is the truth for it.
//! - Admin commands (set, delete, import) leave an event in the database. The
//!   flusher reads new events inside its write transaction and, for each
//!   named key, drops the cached entry and any pending hits: the admin's value
//!   wins over hits counted before the server noticed the change.
//! - Past `max_dirty` keys with pending hits, hits on further new keys are
//!   answered but not counted, and reported in the log (memory stays bounded).

use chrono::NaiveDate;
use rusqlite::Connection;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::store::{self, Delta};

const SHARDS: usize = 64;

/// Pending hits taken out of the table for one flush: key, hits, per day.
type Taken = (Box<str>, u64, Vec<(NaiveDate, u64)>);

#[derive(Default)]
struct Entry {
    total: u64,
    /// Hits on the newest day seen (stored + pending), for "today" views.
    day: Option<(NaiveDate, u64)>,
    pending: u64,
    days: Vec<(NaiveDate, u64)>,
}

impl Entry {
    fn counts(&self, today: NaiveDate) -> Counts {
        let today = match self.day {
            Some((d, n)) if d == today => n,
            _ => 0,
        };
        Counts { total: self.total, today }
    }
}

/// A counter's total and its hits today.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    pub today: u64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Entry>,
    /// Keys whose entries have pending hits, so a flush does not scan the map.
    dirty: Vec<Box<str>>,
}

/// What a counted request got.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    /// Counted; the new counts.
    Counted(Counts),
    /// Not counted because the pending table is full; the current counts.
    Overflow(Counts),
}

impl Hit {
    pub fn counts(&self) -> Counts {
        match self {
            Hit::Counted(c) | Hit::Overflow(c) => *c,
        }
    }
}

pub struct Counter {
    shards: Vec<Mutex<Shard>>,
    /// Entries with pending hits, across shards.
    dirty: AtomicUsize,
    max_dirty: usize,
    /// Clean entries kept per shard after a flush (a read cache).
    cache_per_shard: usize,
    write_through: bool,
    overflow: AtomicU64,
    pending: AtomicU64,
}

/// Result of one flush, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub hits: u64,
    pub keys: usize,
    /// Pending hits dropped because an admin command changed their counter.
    pub superseded: u64,
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panicking request must not take the counter down with it: the data
    // under the lock is a plain map that stays consistent between statements.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Counter {
    pub fn new(max_dirty: usize, cache_entries: usize, write_through: bool) -> Counter {
        Counter {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            dirty: AtomicUsize::new(0),
            max_dirty,
            cache_per_shard: cache_entries.div_ceil(SHARDS),
            write_through,
            overflow: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[h.finish() as usize % SHARDS]
    }

    /// Current counts without counting.
    pub fn peek(&self, key: &str, today: NaiveDate, conn: &Connection) -> store::Result<Counts> {
        if let Some(e) = lock(self.shard(key)).map.get(key) {
            return Ok(e.counts(today));
        }
        // Not cached: nothing is pending for it, so the database is current.
        stored(conn, key, today)
    }

    /// Hits not yet stored, per day, for a key (history views add them).
    pub fn pending_days(&self, key: &str) -> Vec<(NaiveDate, u64)> {
        lock(self.shard(key)).map.get(key).map(|e| e.days.clone()).unwrap_or_default()
    }

    /// Counts one hit on `key` for `day`. In write-through mode the hit is
    /// committed before this returns (and undone in memory if that fails).
    pub fn hit(&self, key: &str, day: NaiveDate, conn: &mut Connection) -> store::Result<Hit> {
        let mut shard = lock(self.shard(key));
        if !shard.map.contains_key(key) {
            let stored = stored(conn, key, day)?;
            if !self.write_through && self.dirty.load(Ordering::Relaxed) >= self.max_dirty {
                self.overflow.fetch_add(1, Ordering::Relaxed);
                return Ok(Hit::Overflow(stored));
            }
            let entry = Entry { total: stored.total, day: Some((day, stored.today)), ..Entry::default() };
            shard.map.insert(key.into(), entry);
        }
        let Shard { map, dirty } = &mut *shard;
        let entry = map.get_mut(key).expect("inserted above");
        if entry.pending == 0 {
            dirty.push(key.into());
            self.dirty.fetch_add(1, Ordering::Relaxed);
        }
        entry.total += 1;
        entry.day = match entry.day {
            Some((d, n)) if d == day => Some((d, n + 1)),
            // Stored hits of a new day only exist when the entry is new, and
            // then `day` was loaded above.
            _ => Some((day, 1)),
        };
        entry.pending += 1;
        match entry.days.last_mut() {
            Some((d, n)) if *d == day => *n += 1,
            _ => entry.days.push((day, 1)),
        }
        self.pending.fetch_add(1, Ordering::Relaxed);
        let counts = entry.counts(day);
        if self.write_through {
            let delta = Delta { key: key.to_string(), hits: 1, days: vec![(day_text(day), 1)] };
            // Read the totals inside the write transaction: other processes
            // (CGI, a second server) may have counted since we cached them.
            let written = store::write_tx(conn).and_then(|tx| {
                store::add(&tx, &[delta])?;
                let now = store::counts(&tx, key, &day_text(day))?;
                tx.commit()?;
                Ok(now)
            });
            let (total, today) = match written {
                Ok(now) => now,
                Err(e) => {
                    undo_one(entry, day);
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            entry.total = total;
            entry.day = Some((day, today));
            // Fully stored: the entry is clean again (its key stays in the
            // dirty list harmlessly until the next flush skips it).
            entry.pending = 0;
            entry.days.clear();
            self.pending.fetch_sub(1, Ordering::Relaxed);
            self.dirty.fetch_sub(1, Ordering::Relaxed);
            dirty.pop();
        }
        Ok(Hit::Counted(if self.write_through { entry.counts(day) } else { counts }))
    }

    /// Hits counted but not yet stored.
    pub fn pending_hits(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Hits not counted because the pending table was full; resets the tally.
    pub fn take_overflow(&self) -> u64 {
        self.overflow.swap(0, Ordering::Relaxed)
    }

    /// Writes all pending hits in one transaction, first applying admin
    /// events newer than `last_event` (advanced on success). On failure the
    /// hits go back into the table and are retried by the next flush.
    pub fn flush(&self, conn: &mut Connection, last_event: &mut i64) -> store::Result<Flushed> {
        let mut batch = self.take_pending();
        let result = self.write(conn, &mut batch, last_event);
        if result.is_err() {
            self.restore(batch);
        } else {
            self.evict_clean();
        }
        result
    }

    /// Applies admin events newer than `last_event` without writing: between
    /// flushes, so an admin change shows within one poll even when the flush
    /// interval is long. Returns the pending hits dropped.
    pub fn apply_admin_events(&self, conn: &Connection, last_event: &mut i64) -> store::Result<u64> {
        let events = store::events_since(conn, *last_event)?;
        let mut dropped = 0;
        for (_, key) in &events {
            dropped += self.forget(key.as_deref(), &mut Vec::new());
        }
        if let Some((id, _)) = events.last() {
            *last_event = *id;
        }
        Ok(dropped)
    }

    fn take_pending(&self) -> Vec<Taken> {
        let mut batch = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            let Shard { map, dirty } = &mut *shard;
            for key in dirty.drain(..) {
                if let Some(e) = map.get_mut(&key).filter(|e| e.pending > 0) {
                    batch.push((key, std::mem::take(&mut e.pending), std::mem::take(&mut e.days)));
                }
            }
        }
        let taken: u64 = batch.iter().map(|b| b.1).sum();
        self.dirty.fetch_sub(batch.len(), Ordering::Relaxed);
        self.pending.fetch_sub(taken, Ordering::Relaxed);
        batch
    }

    fn write(&self, conn: &mut Connection, batch: &mut Vec<Taken>, last_event: &mut i64) -> store::Result<Flushed> {
        let tx = store::write_tx(conn)?;
        let events = store::events_since(&tx, *last_event)?;
        let mut superseded = 0;
        for (_, key) in &events {
            superseded += self.forget(key.as_deref(), batch);
        }
        let deltas: Vec<Delta> = batch
            .iter()
            .map(|(key, hits, days)| Delta {
                key: key.to_string(),
                hits: *hits,
                days: days.iter().map(|(d, n)| (day_text(*d), *n)).collect(),
            })
            .collect();
        store::add(&tx, &deltas)?;
        tx.commit()?;
        if let Some((id, _)) = events.last() {
            *last_event = *id;
        }
        Ok(Flushed { hits: deltas.iter().map(|d| d.hits).sum(), keys: deltas.len(), superseded })
    }

    /// Drops the cached entry (and pending hits) of `key`, or of every key.
    fn forget(&self, key: Option<&str>, batch: &mut Vec<Taken>) -> u64 {
        let mut dropped = 0;
        batch.retain(|(k, hits, _)| {
            let keep = key.is_some_and(|key| key != &**k);
            if !keep {
                dropped += hits;
            }
            keep
        });
        let shards: Vec<&Mutex<Shard>> = match key {
            Some(k) => vec![self.shard(k)],
            None => self.shards.iter().collect(),
        };
        for shard in shards {
            let mut shard = lock(shard);
            let removed: Vec<Entry> = match key {
                Some(k) => shard.map.remove(k).into_iter().collect(),
                None => shard.map.drain().map(|(_, e)| e).collect(),
            };
            for e in removed.iter().filter(|e| e.pending > 0) {
                dropped += e.pending;
                self.pending.fetch_sub(e.pending, Ordering::Relaxed);
                self.dirty.fetch_sub(1, Ordering::Relaxed);
            }
        }
        dropped
    }

    fn restore(&self, batch: Vec<Taken>) {
        for (key, hits, days) in batch {
            let mut shard = lock(self.shard(&key));
            let Shard { map, dirty } = &mut *shard;
            // An entry forgotten meanwhile belonged to a counter an admin
            // changed: its hits are superseded, as in `forget`.
            let Some(entry) = map.get_mut(&key) else {
                continue;
            };
            if entry.pending == 0 {
                dirty.push(key.clone());
                self.dirty.fetch_add(1, Ordering::Relaxed);
            }
            entry.pending += hits;
            self.pending.fetch_add(hits, Ordering::Relaxed);
            let mut merged = days;
            for (d, n) in std::mem::take(&mut entry.days) {
                match merged.iter_mut().find(|(md, _)| *md == d) {
                    Some((_, mn)) => *mn += n,
                    None => merged.push((d, n)),
                }
            }
            entry.days = merged;
        }
    }

    fn evict_clean(&self) {
        for shard in &self.shards {
            let mut shard = lock(shard);
            if shard.map.len() > self.cache_per_shard {
                shard.map.retain(|_, e| e.pending > 0);
            }
        }
    }
}

/// Counts as stored in the database (zero for an unknown key).
fn stored(conn: &Connection, key: &str, today: NaiveDate) -> store::Result<Counts> {
    let (total, today) = store::counts(conn, key, &day_text(today))?;
    Ok(Counts { total, today })
}

fn undo_one(entry: &mut Entry, day: NaiveDate) {
    entry.total -= 1;
    if let Some((_, n)) = entry.day.as_mut() {
        *n -= 1;
    }
    entry.pending -= 1;
    if let Some((d, n)) = entry.days.last_mut() {
        if *d == day {
            *n -= 1;
            if *n == 0 {
                entry.days.pop();
            }
        }
    }
}

/// Days are stored as ISO dates, readable in `sqlite3`.
pub fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let (conn, _) = store::prepare(&dir.path().join("t.db")).unwrap();
        (dir, conn)
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn totals_are_exact_before_and_after_flush() {
        let (_d, mut conn) = setup();
        store::set(&mut conn, "e.com/a", 10).unwrap();
        let c = Counter::new(100, 100, false);
        let mut last = store::last_event(&conn).unwrap();
        assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 11, today: 1 }));
        assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 11);
        assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(10));
        let f = c.flush(&mut conn, &mut last).unwrap();
        assert_eq!((f.hits, f.keys), (1, 1));
        assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(11));
        assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 12, today: 2 }));
        assert_eq!(c.pending_hits(), 1);
    }

    #[test]
    fn admin_change_supersedes_pending_hits() {
        let (_d, mut conn) = setup();
        let c = Counter::new(100, 100, false);
        let mut last = 0;
        for _ in 0..3 {
            c.hit("e.com/a", day(), &mut conn).unwrap();
        }
        store::set(&mut conn, "e.com/a", 100).unwrap();
        let f = c.flush(&mut conn, &mut last).unwrap();
        assert_eq!(f.superseded, 3);
        assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 100);
        assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 101, today: 1 }));
        assert_eq!(c.pending_hits(), 1);
    }

    #[test]
    fn failed_flush_keeps_hits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (mut conn, _) = store::prepare(&path).unwrap();
        conn.busy_timeout(std::time::Duration::from_millis(10)).unwrap();
        let c = Counter::new(100, 100, false);
        let mut last = 0;
        c.hit("e.com/a", day(), &mut conn).unwrap();
        let mut other = store::open(&path).unwrap();
        let blocker = store::write_tx(&mut other).unwrap();
        assert!(c.flush(&mut conn, &mut last).is_err());
        assert_eq!(c.pending_hits(), 1);
        c.hit("e.com/a", day(), &mut conn).unwrap();
        drop(blocker);
        assert_eq!(c.flush(&mut conn, &mut last).unwrap().hits, 2);
        assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(2));
        let day_hits: i64 = conn.query_row("SELECT hits FROM daily", [], |r| r.get(0)).unwrap();
        assert_eq!(day_hits, 2);
    }

    #[test]
    fn full_table_answers_without_counting_new_keys() {
        let (_d, mut conn) = setup();
        let c = Counter::new(1, 100, false);
        assert_eq!(c.hit("a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 1, today: 1 }));
        assert_eq!(c.hit("a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 2, today: 2 }));
        assert_eq!(c.hit("b", day(), &mut conn).unwrap(), Hit::Overflow(Counts::default()));
        assert_eq!(c.take_overflow(), 1);
    }

    #[test]
    fn write_through_commits_each_hit() {
        let (_d, mut conn) = setup();
        let c = Counter::new(100, 100, true);
        c.hit("e.com/a", day(), &mut conn).unwrap();
        assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(1));
        assert_eq!(c.pending_hits(), 0);
    }

    #[test]
    fn concurrent_hits_are_all_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        store::prepare(&path).unwrap();
        let c = Arc::new(Counter::new(1000, 1000, false));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (c, path) = (c.clone(), path.clone());
                std::thread::spawn(move || {
                    let mut conn = store::open(&path).unwrap();
                    for _ in 0..500 {
                        c.hit("e.com/x", day(), &mut conn).unwrap();
                    }
                })
            })
            .collect();
        let mut conn = store::open(&path).unwrap();
        let mut last = 0;
        for _ in 0..5 {
            c.flush(&mut conn, &mut last).unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
        c.flush(&mut conn, &mut last).unwrap();
        assert_eq!(store::get(&conn, "e.com/x").unwrap(), Some(4000));
    }
}
