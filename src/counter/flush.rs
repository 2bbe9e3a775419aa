//! Moving pending hits into the database: one transaction per flush,
//! admin events applied first, failed batches put back; afterwards the
//! totals read back go into the entries and the table, and clean entries
//! are evicted. See the module above for the rules this keeps.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::table::Known;
use super::{lock, write, Counter, Flushed, Load, Shard};
use crate::limits::FLUSH_NEW_COUNTERS;
use crate::store::{self, Event, Pending, Store, Written};

/// Table updates made under one hold of its lock after a flush.
const SETTLE_SLICE: usize = 256;

/// Most bytes of keys in one write: a write of counters with new, long
/// URLs adds several times this to the WAL (overflow pages in the table
/// and the key index, page splits), and the WAL is bounded between writes
/// (see `flusher/files.rs`), so this bounds what one write adds.
const FLUSH_KEY_BYTES: usize = 1 << 20;

/// Clean entries kept per shard once the table holds every counter.
const HOT_PER_SHARD: usize = 64;

impl Counter {
    /// Writes pending hits (all, or a bounded share: `take_pending`) in one
    /// transaction, after applying the admin events newer than `last_event`
    /// (advanced on success). On failure the hits go back into their
    /// entries and are retried by the next flush.
    pub fn flush(&self, store: &mut Store, last_event: &mut i64) -> store::Result<Flushed> {
        let (mut batch, more) = self.take_pending();
        let result = store.flush(&mut batch, last_event, |events, batch| self.forget_all(events, batch));
        match result {
            Ok((written, superseded)) => {
                let logged = batch.iter().filter(|p| p.known.is_some()).count();
                let hits = batch.iter().map(|p| p.hits).sum();
                // Committed: no longer pending.
                self.pending.fetch_sub(hits, Ordering::Relaxed);
                let flushed = Flushed { hits, keys: batch.len(), superseded, logged, more };
                self.settle(&batch, &written);
                self.evict_clean();
                Ok(flushed)
            }
            Err(e) => {
                self.restore(batch);
                Err(e)
            }
        }
    }

    /// Applies admin events newer than `last_event` without writing: between
    /// flushes, so an admin change shows within one poll even when the flush
    /// interval is long. Returns the pending hits dropped.
    pub fn apply_admin_events(&self, store: &Store, last_event: &mut i64) -> store::Result<u64> {
        let events = store.events_since(*last_event)?;
        let dropped = self.forget_all(&events, &mut Vec::new());
        if let Some(e) = events.last() {
            *last_event = e.id;
        }
        Ok(dropped)
    }

    /// Applies `events` in order (see `forget`); returns the hits dropped.
    fn forget_all(&self, events: &[Event], batch: &mut Vec<Pending>) -> u64 {
        events.iter().map(|e| self.forget(e.id, e.key.as_deref(), batch)).sum()
    }

    /// Takes pending hits for one write: all of them, unless their keys
    /// pass `FLUSH_KEY_BYTES` or `FLUSH_NEW_COUNTERS` of them have no known
    /// row id; the rest stay for the next write, which starts at the next
    /// shard, so every shard gets its turn. The hits taken stay in `pending`
    /// until the write commits.
    fn take_pending(&self) -> (Vec<Pending>, bool) {
        let mut batch = Vec::new();
        let mut known = Vec::new();
        let (mut key_bytes, mut by_key) = (0, 0);
        let mut more = false;
        let first = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        for i in 0..self.shards.len() {
            let mut shard = lock(&self.shards[(first + i) % self.shards.len()]);
            let table = super::read(&self.table);
            // Clean entries are few once the table is loaded (a few hot ones
            // per shard), so a scan costs less than keeping a list.
            for (key, e) in shard.map.iter_mut().filter(|(_, e)| e.pending > 0) {
                if key_bytes >= FLUSH_KEY_BYTES || by_key >= FLUSH_NEW_COUNTERS {
                    more = true;
                    break;
                }
                let (id, k) = table.lookup(key);
                by_key += usize::from(id.is_none());
                key_bytes += key.len();
                let (hits, days) = (std::mem::take(&mut e.pending), std::mem::take(&mut e.days));
                batch.push(Pending { key: key.clone(), hits, days, id, known: None });
                known.push(k);
            }
        }
        {
            let table = super::read(&self.table);
            // Hits go to the store's log only when the table holds every
            // counter and will keep doing so after this batch: then the
            // counts it knows are certain, and requests keep reading memory
            // rather than the database (whose reads add the log, a scan).
            let may_log =
                table.load == Load::Complete && table.len().saturating_add(batch.len()) <= super::TABLE_MAX_COUNTERS;
            for (t, k) in batch.iter_mut().zip(known) {
                if let (true, Some(_), Some(newest), Known::Counts { total, day, visitors }) =
                    (may_log, t.id, t.days.last(), k)
                {
                    let n = day.filter(|(d, _)| *d == newest.day).map_or(0, |(_, n)| n);
                    t.known = Some((total, n, visitors));
                }
            }
        }
        // In row order (then key order for rows not known) the updates walk
        // the table (then index) pages in order: far fewer distinct pages
        // touched per flush when keys are spread widely.
        batch.sort_unstable_by(|a, b| (a.id.is_none(), a.id, &a.key).cmp(&(b.id.is_none(), b.id, &b.key)));
        self.dirty.fetch_sub(batch.len(), Ordering::Relaxed);
        (batch, more)
    }

    /// After a commit: what the database now holds for each written key
    /// (our hits plus any another process added) goes into its entry, under
    /// the hits counted since, and into the table.
    fn settle(&self, batch: &[Pending], written: &[Written]) {
        let mut known = Vec::with_capacity(batch.len());
        for (Pending { key, days, .. }, w) in batch.iter().zip(written) {
            let newest = days.last().map(|d| d.day);
            let mut shard = lock(self.shard(key));
            if let Some(e) = shard.map.get_mut(key) {
                e.total = e.total.max(w.total + e.pending);
                let new_visitors: u64 = e.days.iter().map(|d| d.uniques).sum();
                e.visitors = e.visitors.max(w.visitors + new_visitors);
                if let (Some(day), Some((d, n))) = (newest, e.day) {
                    if d == day {
                        let since: u64 = e.days.iter().filter(|p| p.day == day).map(|p| p.hits).sum();
                        e.day = Some((d, n.max(w.newest_day + since)));
                    }
                }
            }
            known.push((key, w, newest.map(|d| (d, w.newest_day))));
        }
        // In slices, so requests waiting to read the table wait for a few
        // hundred puts, not for a whole flush's worth (tens of thousands
        // when hits are spread over a million counters).
        for slice in known.chunks(SETTLE_SLICE) {
            let mut table = write(&self.table);
            for (key, w, day) in slice {
                table.put(key, w.id, w.total, *day, w.visitors);
            }
        }
    }

    /// Applies admin event `event` on `key` (or on every key): drops the
    /// cached entry and its unsaved hits, unless the entry was loaded after
    /// the event, in which case its total already includes the change and its
    /// hits came after it. Returns the hits dropped.
    fn forget(&self, event: i64, key: Option<&str>, batch: &mut Vec<Pending>) -> u64 {
        let mut dropped = 0;
        let mut forgotten: HashSet<Box<str>> = HashSet::new();
        // Table first, under its lock with the event: an entry made from the
        // table after this has the new event and is kept below; one made
        // before has an older event and goes.
        {
            let mut table = write(&self.table);
            match key {
                Some(k) => table.forget(k),
                None => table.reset(),
            }
            table.event = table.event.max(event);
        }
        let shards: Vec<&Mutex<Shard>> = match key {
            Some(k) => vec![self.shard(k)],
            None => self.shards.iter().collect(),
        };
        for shard in shards {
            let mut shard = lock(shard);
            // Even with no entry here: a count read before the event must
            // not make one after it (see `Counter::with_entry`).
            shard.epoch += 1;
            let stale: Vec<Box<str>> = match key {
                Some(k) => shard
                    .map
                    .get_key_value(k)
                    .filter(|(_, e)| e.seen_event < event)
                    .map(|(k, _)| k.clone())
                    .into_iter()
                    .collect(),
                None => shard.map.iter().filter(|(_, e)| e.seen_event < event).map(|(k, _)| k.clone()).collect(),
            };
            for k in stale {
                if let Some(e) = shard.map.remove(&k).filter(|e| e.pending > 0) {
                    dropped += e.pending;
                    self.pending.fetch_sub(e.pending, Ordering::Relaxed);
                    self.dirty.fetch_sub(1, Ordering::Relaxed);
                }
                forgotten.insert(k);
            }
        }
        // Hits taken for this flush belong to entries still in the table;
        // those of forgotten entries go with them.
        batch.retain(|t| {
            let keep = !forgotten.contains(&t.key);
            if !keep {
                dropped += t.hits;
                self.pending.fetch_sub(t.hits, Ordering::Relaxed);
            }
            keep
        });
        dropped
    }

    fn restore(&self, batch: Vec<Pending>) {
        for Pending { key, hits, days, .. } in batch {
            let mut shard = lock(self.shard(&key));
            // An entry forgotten meanwhile belonged to a counter an admin
            // changed: its hits are superseded, as in `forget`.
            let Some(entry) = shard.map.get_mut(&key) else {
                self.pending.fetch_sub(hits, Ordering::Relaxed);
                continue;
            };
            if entry.pending == 0 {
                self.dirty.fetch_add(1, Ordering::Relaxed);
            }
            // Still counted in `pending`: only back in the entry.
            entry.pending += hits;
            let mut merged = days;
            for d in std::mem::take(&mut entry.days) {
                match merged.iter_mut().find(|m| m.day == d.day) {
                    Some(m) => {
                        m.hits += d.hits;
                        m.uniques += d.uniques;
                    }
                    None => merged.push(d),
                }
            }
            entry.days = merged;
        }
    }

    fn evict_clean(&self) {
        // With every stored counter in the table, clean entries only save
        // re-making the busiest ones: keep a few per shard (a site's hot
        // pages), not the 50,000 of a cache in front of SQLite.
        let keep = match super::read(&self.table).load {
            Load::Complete => HOT_PER_SHARD,
            _ => self.cache_per_shard,
        };
        self.evict_clean_past(keep);
    }

    /// Drops every clean entry: their totals may miss what another process
    /// wrote (entries with pending hits are corrected by their next flush).
    pub(super) fn drop_clean(&self) {
        self.evict_clean_past(0);
    }

    /// In each shard holding more than `keep` entries, drops the clean ones.
    fn evict_clean_past(&self, keep: usize) {
        for shard in &self.shards {
            let mut shard = lock(shard);
            if shard.map.len() > keep {
                shard.epoch += 1;
                shard.map.retain(|_, e| e.pending > 0);
                // What a burst took (the read cache while the table loaded,
                // a flood of new URLs) is given back, not held for good.
                let room = 2 * shard.map.len().max(keep);
                if shard.map.capacity() > 2 * room {
                    shard.map.shrink_to(room);
                }
            }
        }
    }
}
