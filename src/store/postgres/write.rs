//! Writes: a flush is one transaction holding two batched statements, one
//! upsert of every counter of the batch and one of every per-day row, each
//! over `unnest` of arrays, so its cost in round trips does not grow with
//! the batch. `RETURNING` gives what each counter holds after the commit,
//! other instances' hits included. Rows are upserted in key (then day and
//! id) order, so two instances flushing the same counters lock them in the
//! same order and cannot deadlock. Counter rows carry the flush's stamp
//! (`BUMP`), from which other instances learn what changed.

use std::collections::HashMap;

use chrono::NaiveDate;
use postgres::{Client, Statement};

use super::super::{count, now, sql, Day, Event, Pending, Result, Stored, Written};
use super::{admin, Pg};

const UPSERT_COUNTERS: &str = "INSERT INTO counters (key, count, uniques, created_at, updated_at, version)
     SELECT k, n, u, $4, $4, $5 FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t(k, n, u) ORDER BY k
     ON CONFLICT (key) DO UPDATE SET count = counters.count + EXCLUDED.count,
        uniques = counters.uniques + EXCLUDED.uniques, updated_at = EXCLUDED.updated_at,
        version = EXCLUDED.version
     RETURNING key, id, count, uniques";

/// Tells other instances a write is coming and stamps it: the row lock it
/// takes is held to the commit, so stamps follow commit order and a reader
/// that saw `n` has seen every row stamped up to `n` (see `read.rs`).
const BUMP: &str = "UPDATE changes SET n = n + 1 WHERE id = 1 RETURNING n";

const UPSERT_DAYS: &str = "INSERT INTO daily (day, counter_id, hits, uniques)
     SELECT d, c, h, u FROM unnest($1::date[], $2::bigint[], $3::bigint[], $4::bigint[]) AS t(d, c, h, u)
     ORDER BY d, c
     ON CONFLICT (day, counter_id) DO UPDATE SET hits = daily.hits + EXCLUDED.hits,
        uniques = COALESCE(daily.uniques, 0) + EXCLUDED.uniques
     RETURNING counter_id, day, hits";

/// A write transaction begins: admin changes, which take this lock
/// EXCLUSIVE, wait for it, and it for them (one round trip).
const BEGIN: &str = "BEGIN; LOCK TABLE admin_events IN SHARE MODE";

/// Runs `f` between [`BEGIN`] and the commit `f` sends itself; on an
/// error the transaction is rolled back (if the connection still lives).
fn write<T>(
    c: &mut Client,
    f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
) -> std::result::Result<T, postgres::Error> {
    c.batch_execute(BEGIN)?;
    let result = f(c);
    if result.is_err() && !c.is_closed() {
        let _ = c.batch_execute("ROLLBACK");
    }
    result
}

/// Adds the batch's hits to their counters (creating them) and per-day
/// rows with the statements prepared from [`UPSERT_COUNTERS`],
/// [`UPSERT_DAYS`] and [`BUMP`]; what each counter holds now, in batch
/// order.
fn add(c: &mut Client, upsert: &[Statement], batch: &[Pending]) -> std::result::Result<Vec<Written>, postgres::Error> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // Last before the rows: the one row every instance updates is held
    // for the two upserts and the commit only.
    let stamp: i64 = c.query_one(&upsert[2], &[])?.get(0);
    let keys: Vec<&str> = batch.iter().map(|p| &*p.key).collect();
    let hits: Vec<i64> = batch.iter().map(|p| sql(p.hits)).collect();
    let uniques: Vec<i64> = batch.iter().map(|p| sql(p.uniques())).collect();
    let rows = c.query(&upsert[0], &[&keys, &hits, &uniques, &now(), &stamp])?;
    let mut counters: HashMap<String, (i64, i64, i64)> = HashMap::with_capacity(rows.len());
    for r in rows {
        counters.insert(r.get(0), (r.get(1), r.get(2), r.get(3)));
    }
    let (mut days, mut ids, mut day_hits, mut day_uniques) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in batch {
        let id = counters.get(&*p.key).map_or(0, |c| c.0);
        for Day { day, hits, uniques } in &p.days {
            days.push(*day);
            ids.push(id);
            day_hits.push(sql(*hits));
            day_uniques.push(sql(*uniques));
        }
    }
    let rows = c.query(&upsert[1], &[&days, &ids, &day_hits, &day_uniques])?;
    let mut on_day: HashMap<(i64, NaiveDate), i64> = HashMap::with_capacity(rows.len());
    for r in rows {
        on_day.insert((r.get(0), r.get(1)), r.get(2));
    }
    Ok(batch
        .iter()
        .map(|p| {
            let (id, total, visitors) = counters.get(&*p.key).copied().unwrap_or_default();
            let newest = p.days.last().and_then(|d| on_day.get(&(id, d.day))).copied().unwrap_or(0);
            Written { id, total: count(total), newest_day: count(newest), visitors: count(visitors) }
        })
        .collect())
}

impl Pg {
    /// See `Store::flush`: six round trips whatever the batch (begin with
    /// the lock, events, the stamp, counters, days, commit). The admin events are
    /// read after taking the lock admin changes take exclusively
    /// (`admin.rs`), so none can commit between reading them and adding
    /// the hits.
    pub fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: impl FnOnce(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        // No hit log here: what a caller knows changes nothing.
        batch.iter_mut().for_each(|p| p.known = None);
        let (written, superseded, events) =
            self.with_prepared(&[UPSERT_COUNTERS, UPSERT_DAYS, BUMP, admin::EVENTS_SINCE], |c, st| {
                write(c, |c| {
                    let events = admin::events(c.query(&st[3], &[&*last_event])?);
                    let superseded = if events.is_empty() { 0 } else { apply_events(&events, batch) };
                    let written = add(c, &st[..3], batch)?;
                    c.batch_execute("COMMIT")?;
                    Ok((written, superseded, events))
                })
            })?;
        if !batch.is_empty() {
            self.own_changes.set(self.own_changes.get() + 1);
        }
        if let Some(e) = events.last() {
            *last_event = e.id;
        }
        Ok((written, superseded))
    }

    /// See `Store::add_one`.
    pub fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored> {
        let one = Day { day, hits: 1, uniques: u64::from(unique) };
        let one = Pending { key: key.into(), hits: 1, days: vec![one], id: None, known: None };
        let (w, event) = self.with_prepared(&[UPSERT_COUNTERS, UPSERT_DAYS, BUMP], |c, st| {
            write(c, |c| {
                let written = add(c, st, std::slice::from_ref(&one))?;
                let event = admin::last_event(c)?;
                c.batch_execute("COMMIT")?;
                Ok((written.first().copied().unwrap_or_default(), event))
            })
        })?;
        self.own_changes.set(self.own_changes.get() + 1);
        Ok(Stored { total: w.total, today: w.newest_day, visitors: w.visitors, event })
    }
}
