//! Filling the table of every stored counter, a chunk at a time, from the
//! flusher thread between flushes (a million counters take about a second
//! in all; requests meanwhile read the database as before), and starting
//! over when another process changed the database behind the table.

use chrono::NaiveDate;

use super::{lock, read, write, Counter, Load};
use crate::store::{self, Store};

impl Counter {
    /// Whether the table is still being filled.
    pub fn table_loading(&self) -> bool {
        matches!(read(&self.table).load, Load::After(_))
    }

    /// Loads up to `rows` more stored counters into the table. The admin
    /// events are applied in the same read snapshot first, so the table's
    /// event covers every change the loaded counts include. Returns the
    /// pending hits dropped by those events.
    pub fn load_table(
        &self,
        store: &mut Store,
        last_event: &mut i64,
        today: NaiveDate,
        rows: usize,
    ) -> store::Result<u64> {
        if !self.table_loading() {
            return Ok(0);
        }
        store.snapshot(|store| {
            let dropped = self.apply_admin_events(store, last_event)?;
            // An event for every key empties the table and restarts the load.
            let Load::After(after) = read(&self.table).load else {
                return Ok(dropped);
            };
            if after == 0 {
                let n = store.counter_rows()?;
                let mut table = write(&self.table);
                table.reserve(usize::try_from(n).unwrap_or(usize::MAX));
                if table.load == Load::Off {
                    return Ok(dropped);
                }
            }
            let mut got = Vec::with_capacity(rows);
            store.counters_after(after, today, rows, |id, key, total, hits, visitors| {
                got.push((id, Box::<str>::from(key), total, hits, visitors));
            })?;
            let mut table = write(&self.table);
            for (id, key, total, hits, visitors) in &got {
                table.put(key, *id, *total, Some((today, *hits)), *visitors);
            }
            // Only the flusher loads, but a put may have turned the table off.
            if table.load == Load::After(after) {
                table.load = match got.last() {
                    Some((id, ..)) if got.len() == rows => Load::After(*id),
                    _ => Load::Complete,
                };
            }
            Ok(dropped)
        })
    }

    /// Puts what other writers wrote since `*mark` into the table, reading
    /// only those counters (after the admin events, in the same snapshot, as
    /// `load_table` does), and drops the clean entries of those counters
    /// (entries with unsaved hits are set right by their next flush). The
    /// table may still be loading: later chunks are read later. `Ok(None)`
    /// when the store cannot tell what changed: then reload the table.
    /// Returns the pending hits the events dropped.
    pub fn refresh_table(
        &self,
        store: &mut Store,
        last_event: &mut i64,
        today: NaiveDate,
        mark: &mut i64,
    ) -> store::Result<Option<u64>> {
        store.snapshot(|store| {
            let dropped = self.apply_admin_events(store, last_event)?;
            let mut got = Vec::new();
            let changed = store.changed_since(*mark, today, |id, key, total, hits, visitors| {
                got.push((id, Box::<str>::from(key), total, hits, visitors));
            })?;
            let Some(now) = changed else { return Ok(None) };
            for slice in got.chunks(256) {
                let mut table = write(&self.table);
                for (id, key, total, hits, visitors) in slice {
                    table.put(key, *id, *total, Some((today, *hits)), *visitors);
                }
            }
            for (_, key, ..) in &got {
                let mut shard = lock(self.shard(key));
                if shard.map.get(&**key).is_some_and(|e| e.pending == 0) {
                    shard.map.remove(&**key);
                    shard.epoch += 1;
                }
            }
            *mark = now;
            Ok(Some(dropped))
        })
    }

    /// Whether the table was dropped for holding too many counters.
    pub fn table_dropped(&self) -> bool {
        !self.write_through && read(&self.table).load == Load::Off
    }

    /// Counters in the table.
    pub fn table_counters(&self) -> usize {
        read(&self.table).len()
    }

    /// Forgets the table and clean entries, and loads the table again: for
    /// when another process wrote to the database (its hits are in neither).
    pub fn reload_table(&self) {
        write(&self.table).reset();
        self.drop_clean();
    }
}
