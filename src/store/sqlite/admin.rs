//! Admin changes (set, delete, import) and the events through which a
//! running server learns of them: each change leaves a row in
//! `admin_events` in its own transaction, and the server's flusher reads
//! the rows newer than the last it saw.
//!
//! Each change folds the hit log inside its transaction first, so it
//! applies to complete counts and hits logged before it cannot land on top
//! of it: the admin's value wins over hits counted on the old one.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use rusqlite::Result;

use super::{day_text, log, now, sql, DayRow, Event, Imported, Sqlite};

/// Admin events older than this are pruned; servers poll far more often.
const EVENT_RETENTION_SECS: i64 = 24 * 3600;

/// Past this many rows an import logs one "everything changed" event instead
/// of one per key.
const IMPORT_EVENT_ROWS: usize = 10_000;

/// Admin events after `after`, oldest first.
pub(super) fn events_since(conn: &Connection, after: i64) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached("SELECT id, key FROM admin_events WHERE id > ?1 ORDER BY id")?;
    let rows = stmt.query_map([after], |r| Ok(Event { id: r.get(0)?, key: r.get(1)? }))?;
    rows.collect()
}

pub(super) fn record_event(tx: &Transaction, key: Option<&str>) -> Result<()> {
    let t = now();
    tx.prepare_cached("INSERT INTO admin_events (key, at) VALUES (?1, ?2)")?.execute(params![key, t])?;
    tx.prepare_cached("DELETE FROM admin_events WHERE at < ?1")?.execute([t - EVENT_RETENTION_SECS])?;
    Ok(())
}

fn set_in(tx: &Transaction, key: &str, count: u64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count, updated_at = excluded.updated_at",
    )?
    .execute(params![key, sql(count), now()])?;
    Ok(())
}

/// Sets one day of a counter's history (the counter exists), keeping the
/// counter's visitor total the sum of its days: it moves by what the day's
/// visitors change by.
fn set_day_in(tx: &Transaction, id: i64, day: &DayRow) -> Result<()> {
    let before: Option<Option<i64>> = tx
        .prepare_cached("SELECT uniques FROM daily WHERE day = ?1 AND counter_id = ?2")?
        .query_row(params![day_text(day.day), id], |r| r.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT INTO daily (day, counter_id, hits, uniques) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = excluded.hits, uniques = excluded.uniques",
    )?
    .execute(params![day_text(day.day), id, sql(day.hits), day.uniques.map(sql)])?;
    let change = day.uniques.map_or(0, sql) - before.flatten().unwrap_or(0);
    if change != 0 {
        tx.prepare_cached("UPDATE counters SET uniques = MAX(0, uniques + ?1) WHERE id = ?2")?
            .execute(params![change, id])?;
    }
    Ok(())
}

/// Folds counter `from` into `into` inside `tx` (see `merge.rs`); `None`
/// when `from` has no counter, else whether `into` had one. The caller
/// records the admin events.
pub(super) fn merge_in(tx: &Transaction, from: &str, into: &str) -> Result<Option<bool>> {
    let id = |key: &str| -> Result<Option<i64>> {
        tx.prepare_cached("SELECT id FROM counters WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()
    };
    let Some(from_id) = id(from)? else { return Ok(None) };
    let Some(into_id) = id(into)? else {
        tx.execute("UPDATE counters SET key = ?2 WHERE id = ?1", params![from_id, into])?;
        return Ok(Some(false));
    };
    // A day's visitors stay NULL (not recorded) only when neither side
    // recorded them.
    tx.execute(
        "INSERT INTO daily (day, counter_id, hits, uniques)
         SELECT day, ?2, hits, uniques FROM daily WHERE counter_id = ?1 AND true
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = hits + excluded.hits,
            uniques = CASE WHEN uniques IS NULL AND excluded.uniques IS NULL THEN NULL
                           ELSE COALESCE(uniques, 0) + COALESCE(excluded.uniques, 0) END",
        params![from_id, into_id],
    )?;
    tx.execute("UPDATE hit_log SET counter_id = ?2 WHERE counter_id = ?1", params![from_id, into_id])?;
    tx.execute(
        "UPDATE counters SET count = counters.count + f.count, uniques = counters.uniques + f.uniques,
            created_at = MIN(counters.created_at, f.created_at), updated_at = MAX(counters.updated_at, f.updated_at)
         FROM (SELECT count, uniques, created_at, updated_at FROM counters WHERE id = ?1) AS f
         WHERE counters.id = ?2",
        params![from_id, into_id],
    )?;
    tx.execute("DELETE FROM daily WHERE counter_id = ?1", [from_id])?;
    tx.execute("DELETE FROM counters WHERE id = ?1", [from_id])?;
    Ok(Some(true))
}

impl Sqlite {
    /// Folds counter `from` into `into` in one transaction (see `merge.rs`).
    pub fn merge(&mut self, from: &str, into: &str) -> Result<Option<bool>> {
        let tx = self.admin_tx()?;
        let merged = merge_in(&tx, from, into)?;
        if merged.is_some() {
            record_event(&tx, Some(from))?;
            record_event(&tx, Some(into))?;
        }
        tx.commit()?;
        Ok(merged)
    }

    /// Admin events after `after`, oldest first.
    pub fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        events_since(&self.conn, after)
    }

    /// The newest admin event id (0 when there is none).
    pub fn last_event(&self) -> Result<i64> {
        self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM admin_events", [], |r| r.get(0))
    }

    fn admin_tx(&mut self) -> Result<Transaction<'_>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        log::fold_in(&tx)?;
        Ok(tx)
    }

    /// Sets a counter to `count`, creating it. Per-day history is kept.
    pub fn set(&mut self, key: &str, count: u64) -> Result<()> {
        let tx = self.admin_tx()?;
        set_in(&tx, key, count)?;
        record_event(&tx, Some(key))?;
        tx.commit()
    }

    /// Deletes a counter and its history. Returns false when there was none.
    pub fn delete(&mut self, key: &str) -> Result<bool> {
        let tx = self.admin_tx()?;
        // `daily` rows go by ON DELETE CASCADE (every connection has
        // foreign_keys on); like any delete by counter, it scans `daily`.
        let n = tx.execute("DELETE FROM counters WHERE key = ?1", [key])?;
        if n > 0 {
            record_event(&tx, Some(key))?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Sets many counters, and the days of history given with them, in one
    /// transaction: all or nothing.
    pub fn import(&mut self, rows: &[Imported]) -> Result<()> {
        let tx = self.admin_tx()?;
        for row in rows {
            set_in(&tx, &row.key, row.count)?;
            if !row.days.is_empty() {
                let id: i64 =
                    tx.prepare_cached("SELECT id FROM counters WHERE key = ?1")?.query_row([&row.key], |r| r.get(0))?;
                for day in &row.days {
                    set_day_in(&tx, id, day)?;
                }
            }
        }
        if rows.len() > IMPORT_EVENT_ROWS {
            record_event(&tx, None)?;
        } else {
            for row in rows {
                record_event(&tx, Some(&row.key))?;
            }
        }
        tx.commit()
    }
}
