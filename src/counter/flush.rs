//! Moving pending hits into the database: one transaction per flush,
//! admin events applied first, failed batches put back, clean entries
//! evicted afterwards. See the module above for the rules this keeps.

use rusqlite::Connection;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use super::{day_text, lock, Counter, Flushed, Shard, Taken};
use crate::store::{self, Delta};

impl Counter {
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
        for (id, key) in &events {
            dropped += self.forget(*id, key.as_deref(), &mut Vec::new());
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
        // In key order the upserts walk the index pages in order: far fewer
        // distinct pages touched per flush when keys are spread widely.
        batch.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let taken: u64 = batch.iter().map(|b| b.1).sum();
        self.dirty.fetch_sub(batch.len(), Ordering::Relaxed);
        self.pending.fetch_sub(taken, Ordering::Relaxed);
        batch
    }

    fn write(&self, conn: &mut Connection, batch: &mut Vec<Taken>, last_event: &mut i64) -> store::Result<Flushed> {
        let tx = store::write_tx(conn)?;
        let events = store::events_since(&tx, *last_event)?;
        let mut superseded = 0;
        for (id, key) in &events {
            superseded += self.forget(*id, key.as_deref(), batch);
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

    /// Applies admin event `event` on `key` (or on every key): drops the
    /// cached entry and its unsaved hits, unless the entry was loaded after
    /// the event, in which case its total already includes the change and its
    /// hits came after it. Returns the hits dropped.
    fn forget(&self, event: i64, key: Option<&str>, batch: &mut Vec<Taken>) -> u64 {
        let mut dropped = 0;
        let mut forgotten: HashSet<Box<str>> = HashSet::new();
        let shards: Vec<&Mutex<Shard>> = match key {
            Some(k) => vec![self.shard(k)],
            None => self.shards.iter().collect(),
        };
        for shard in shards {
            let mut shard = lock(shard);
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
        batch.retain(|(k, hits, _)| {
            let keep = !forgotten.contains(k);
            if !keep {
                dropped += hits;
            }
            keep
        });
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
