//! The counting hot path: in-memory counts and unsaved hits.
//!
//! Each counter a request touches gets an entry holding its true total
//! (stored + pending), so a response never needs a database write and the
//! number it shows is exact and monotonic. A flusher writes pending hits in
//! one transaction per interval. Entries are sharded by key so workers rarely
//! wait on each other.
//!
//! Rules that keep the numbers right:
//! - An entry is only evicted by the flusher, after a commit, and only when it
//!   has no pending hits: so a key without an entry has nothing unsaved and
//!   what is stored (in `table`, else the database) is the truth for it.
//! - Admin commands (set, delete, import) leave an event in the database. The
//!   flusher reads new events (between flushes, and again inside each flush's
//!   write transaction) and, for each named key, drops the cached entry and
//!   its pending hits if the entry was loaded before the event: the admin's
//!   value wins over hits counted on the old value. An entry loaded after the
//!   event (it remembers the newest event its snapshot saw) already holds the
//!   new value, and its hits are kept.
//! - Past `max_dirty` keys with pending hits, hits on further new keys are
//!   answered but not counted, and reported in the log (memory stays bounded).
//! - A key with no entry is looked up in `table` (every stored counter's
//!   counts, see `table.rs`) and only read from the database when the table
//!   cannot answer. Entries made from the table remember `table.event` as
//!   their snapshot's event; the flusher changes table and event together.
//! - No shard lock is held while the database is read: a missing entry's
//!   counts are read unlocked and inserted only if nothing that could make
//!   them stale happened in the shard meanwhile (`Counter::with_entry`).

use chrono::NaiveDate;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::store::{self, Day, Store, Stored};

mod flush;
pub mod flusher;
mod load;
mod table;

pub use table::MAX_COUNTERS as TABLE_MAX_COUNTERS;
use table::{Known, Load, Table};

const SHARDS: usize = 64;
/// Reads of a missing entry's counts made with its shard unlocked before
/// one is made under the lock (see `with_entry`).
const READ_TRIES: usize = 3;

#[derive(Default)]
struct Entry {
    total: u64,
    /// Hits on the newest day seen (stored + pending), for "today" views.
    day: Option<(NaiveDate, u64)>,
    /// Unique visitors (stored + pending).
    visitors: u64,
    pending: u64,
    days: Vec<Day>,
    /// The newest admin event already reflected in `total` (see `forget`).
    seen_event: i64,
}

impl Entry {
    fn counts(&self, today: NaiveDate) -> Counts {
        let today = match self.day {
            Some((d, n)) if d == today => n,
            _ => 0,
        };
        Counts { total: self.total, today, visitors: self.visitors }
    }
}

/// A counter's total, its hits today and its unique visitors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    pub today: u64,
    pub visitors: u64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Box<str>, Entry>,
    /// Moved by the flusher whenever it removes entries or applies an admin
    /// event here: a count read while it moved may be stale (`with_entry`).
    epoch: u64,
}

/// What a counted request got.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    /// Counted; the new counts.
    Counted(Counts),
    /// Not counted because the pending table is full; the current counts.
    Overflow(Counts),
    /// Not counted: it would have made a new counter, and the caller's
    /// `may_create` said no (limits on new counters).
    Refused(Counts),
}

impl Hit {
    pub fn counts(&self) -> Counts {
        match self {
            Hit::Counted(c) | Hit::Overflow(c) | Hit::Refused(c) => *c,
        }
    }
}

pub struct Counter {
    shards: Vec<Mutex<Shard>>,
    /// Where the next write starts taking pending hits.
    next_shard: AtomicUsize,
    /// Entries with pending hits, across shards.
    dirty: AtomicUsize,
    max_dirty: usize,
    /// Clean entries kept per shard after a flush (a read cache).
    cache_per_shard: usize,
    write_through: bool,
    overflow: AtomicU64,
    /// Counted hits not committed: in entries and in the write in progress
    /// (one number, so a reader never misses hits moving between the two).
    pending: AtomicU64,
    table: RwLock<Table>,
}

/// Result of one flush, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub hits: u64,
    pub keys: usize,
    /// Pending hits dropped because an admin command changed their counter.
    pub superseded: u64,
    /// Counters whose hits went to the hit log (see `store/sqlite/log.rs`).
    pub logged: usize,
    /// The write took only part of the pending hits (see `take_pending`):
    /// the next one is due at once.
    pub more: bool,
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panicking request must not take the counter down with it: the data
    // under the lock is a plain map that stays consistent between statements.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// The table is plain data too: a panic cannot leave it half-updated in a
// way that matters more than a stale count.
fn read(t: &RwLock<Table>) -> RwLockReadGuard<'_, Table> {
    t.read().unwrap_or_else(|e| e.into_inner())
}

fn write(t: &RwLock<Table>) -> RwLockWriteGuard<'_, Table> {
    t.write().unwrap_or_else(|e| e.into_inner())
}

impl Counter {
    pub fn new(max_dirty: usize, cache_entries: usize, write_through: bool) -> Counter {
        Counter {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            next_shard: AtomicUsize::new(0),
            dirty: AtomicUsize::new(0),
            max_dirty,
            cache_per_shard: cache_entries.div_ceil(SHARDS),
            write_through,
            overflow: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            table: RwLock::new(Table::new(!write_through, 0)),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[h.finish() as usize % SHARDS]
    }

    /// Current counts without counting.
    pub fn peek(&self, key: &str, today: NaiveDate, store: &Store) -> store::Result<Counts> {
        if let Some(e) = lock(self.shard(key)).map.get(key) {
            return Ok(e.counts(today));
        }
        // No entry: nothing is pending for it, so what is stored is current.
        let s = self.stored(store, key, today)?;
        Ok(Counts { total: s.total, today: s.today, visitors: s.visitors })
    }

    /// A key's stored counts: from the table when it knows them, else read.
    fn stored(&self, store: &Store, key: &str, today: NaiveDate) -> store::Result<Stored> {
        let (known, event) = {
            let t = read(&self.table);
            (t.get(key), t.event)
        };
        match known {
            Known::Counts { total, day, visitors } => {
                let today = day.filter(|(d, _)| *d == today).map_or(0, |(_, n)| n);
                Ok(Stored { total, today, visitors, event })
            }
            Known::Absent => Ok(Stored { total: 0, today: 0, visitors: 0, event }),
            Known::Unknown => store.counts(key, today),
        }
    }

    /// Hits (and new visitors) not yet stored, per day, for a key (history
    /// views add them).
    pub fn pending_days(&self, key: &str) -> Vec<Day> {
        lock(self.shard(key)).map.get(key).map(|e| e.days.clone()).unwrap_or_default()
    }

    /// Counts one hit on `key` for `day` (a visitor's first of the day when
    /// `unique`). In write-through mode the hit is committed before this
    /// returns, and no entry is kept: what is stored is then always the
    /// truth, including what other processes counted.
    #[cfg(test)]
    pub fn hit(&self, key: &str, day: NaiveDate, unique: bool, store: &mut Store) -> store::Result<Hit> {
        self.hit_unless(key, day, unique, store, &mut || true)
    }

    /// [`Counter::hit`], asking `may_create` first when the hit would make
    /// a new counter (one with no count yet; not in write-through mode).
    pub fn hit_unless(
        &self,
        key: &str,
        day: NaiveDate,
        unique: bool,
        store: &mut Store,
        may_create: &mut dyn FnMut() -> bool,
    ) -> store::Result<Hit> {
        if self.write_through {
            let now = store.add_one(key, day, unique)?;
            return Ok(Hit::Counted(Counts { total: now.total, today: now.today, visitors: now.visitors }));
        }
        let mut shard = match self.with_entry(key, day, store, may_create)? {
            Ok(shard) => shard,
            Err(not_counted) => return Ok(not_counted),
        };
        let entry = shard.map.get_mut(key).expect("with_entry holds the lock on an entry for key");
        if entry.pending == 0 {
            self.dirty.fetch_add(1, Ordering::Relaxed);
        }
        entry.total += 1;
        entry.day = match entry.day {
            Some((d, n)) if d == day => Some((d, n + 1)),
            // Stored hits of a new day only exist when the entry is new, and
            // then `day` was loaded by `with_entry`.
            _ => Some((day, 1)),
        };
        entry.pending += 1;
        let uniques = u64::from(unique);
        entry.visitors += uniques;
        match entry.days.last_mut() {
            Some(d) if d.day == day => {
                d.hits += 1;
                d.uniques += uniques;
            }
            _ => {
                // Nearly always one day: room for exactly that (a default
                // push reserves four, and pending entries can be many).
                entry.days.reserve_exact(1);
                entry.days.push(Day { day, hits: 1, uniques });
            }
        }
        self.pending.fetch_add(1, Ordering::Relaxed);
        Ok(Hit::Counted(entry.counts(day)))
    }

    /// `key`'s shard, locked, with an entry for `key` (made from what is
    /// stored when there was none); or the answer when no entry may be made.
    ///
    /// The database is read with the shard unlocked: on PostgreSQL a read is
    /// a network round trip, and the lock guards 1/64 of all keys. A value
    /// read unlocked is trusted only if the shard's `epoch` did not move
    /// meanwhile. The flusher moves it, under the shard lock, whenever it
    /// removes entries from the shard (eviction, another process's writes)
    /// or applies an admin event to one of the shard's keys (`forget`), even
    /// one with no entry. So, for an admin event that commits after our read:
    /// - applied before we lock again: the epoch moved, the read may predate
    ///   the admin's value, and we read again;
    /// - applied after we inserted: our entry's `seen_event` is the read's
    ///   snapshot, older than the event, so `forget` drops it as usual.
    ///
    /// Likewise an entry made, flushed and evicted by others while we read
    /// moves the epoch, so a read missing those hits is never inserted. After
    /// `READ_TRIES` moved epochs (a flood of admin events) the read is made
    /// under the lock, as nothing can then change between read and insert.
    fn with_entry(
        &self,
        key: &str,
        day: NaiveDate,
        store: &Store,
        may_create: &mut dyn FnMut() -> bool,
    ) -> store::Result<Result<MutexGuard<'_, Shard>, Hit>> {
        let mutex = self.shard(key);
        let mut shard = lock(mutex);
        for _ in 0..READ_TRIES {
            if shard.map.contains_key(key) {
                return Ok(Ok(shard));
            }
            let epoch = shard.epoch;
            drop(shard);
            let stored = self.stored(store, key, day)?;
            shard = lock(mutex);
            if shard.epoch == epoch && !shard.map.contains_key(key) {
                return Ok(self.make_entry(shard, key, day, stored, may_create));
            }
        }
        if shard.map.contains_key(key) {
            return Ok(Ok(shard));
        }
        let stored = self.stored(store, key, day)?;
        Ok(self.make_entry(shard, key, day, stored, may_create))
    }

    /// Inserts `key`'s entry from `stored`, unless it would be a new counter
    /// that `may_create` refuses or the pending table is full.
    fn make_entry<'a>(
        &self,
        mut shard: MutexGuard<'a, Shard>,
        key: &str,
        day: NaiveDate,
        stored: Stored,
        may_create: &mut dyn FnMut() -> bool,
    ) -> Result<MutexGuard<'a, Shard>, Hit> {
        if stored.total == 0 && !may_create() {
            return Err(Hit::Refused(Counts::default()));
        }
        if self.dirty.load(Ordering::Relaxed) >= self.max_dirty {
            self.overflow.fetch_add(1, Ordering::Relaxed);
            return Err(Hit::Overflow(Counts { total: stored.total, today: stored.today, visitors: stored.visitors }));
        }
        let entry = Entry {
            total: stored.total,
            day: Some((day, stored.today)),
            visitors: stored.visitors,
            seen_event: stored.event,
            ..Entry::default()
        };
        shard.map.insert(key.into(), entry);
        Ok(shard)
    }

    /// Counted hits not in the database yet: in entries, and in a write
    /// in progress until it commits, so that what a crash would lose shows
    /// whole in `/metrics` and `/healthz`.
    pub fn pending_hits(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Every URL that may hold unsaved hits does: hits on new URLs are
    /// answered but not counted until a write succeeds.
    pub fn at_cap(&self) -> bool {
        !self.write_through && self.dirty.load(Ordering::Relaxed) >= self.max_dirty
    }

    /// Hits not counted because the pending table was full; resets the tally.
    pub fn take_overflow(&self) -> u64 {
        self.overflow.swap(0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
