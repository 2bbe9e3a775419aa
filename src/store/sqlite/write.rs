//! Writes of counted hits: a flush (one transaction for a whole batch,
//! after the admin events it must respect) and a single hit committed at
//! once (write-through mode, CGI). Hits of counters whose stored counts the
//! caller knows are appended to `hit_log`; the others are added to their
//! counter's total and per-day row, and read back.

use chrono::NaiveDate;
use rusqlite::{params, CachedStatement, Connection, Transaction, TransactionBehavior};

use rusqlite::Result;

use super::{admin, count, day_text, now, sql, Day, Event, Pending, Sqlite, Stored, Written};

impl Sqlite {
    /// See `Store::flush`: one IMMEDIATE transaction that reads the admin
    /// events first; hits of counters the caller knows go to `hit_log`.
    pub fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: impl FnOnce(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let events = admin::events_since(&tx, *last_event)?;
        let superseded = if events.is_empty() { 0 } else { apply_events(&events, batch) };
        let written = add(&tx, batch)?;
        tx.commit()?;
        if let Some(e) = events.last() {
            *last_event = e.id;
        }
        Ok((written, superseded))
    }

    /// Adds one hit (a visitor's first today when `unique`) and commits
    /// it; returns the counts in the same transaction (with whatever other
    /// processes added).
    pub fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let one = Day { day, hits: 1, uniques: u64::from(unique) };
        let one = Pending { key: key.into(), hits: 1, days: vec![one], id: None, known: None };
        add(&tx, std::slice::from_ref(&one))?;
        let stored = Sqlite::counts_in(&tx, key, day)?;
        tx.commit()?;
        Ok(stored)
    }
}

/// Index of `day`'s text in `texts`, formatting it the first time: nearly
/// always one day per flush, formatted once rather than once a counter.
fn text_of(texts: &mut Vec<(NaiveDate, String)>, day: NaiveDate) -> usize {
    match texts.iter().position(|(t, _)| *t == day) {
        Some(i) => i,
        None => {
            texts.push((day, day_text(day)));
            texts.len() - 1
        }
    }
}

/// The statement in `slot`, prepared (through the connection's cache) the
/// first time it is asked for.
fn prepared<'s, 'c>(
    slot: &'s mut Option<CachedStatement<'c>>,
    conn: &'c Connection,
    sql: &str,
) -> Result<&'s mut CachedStatement<'c>> {
    if slot.is_none() {
        *slot = Some(conn.prepare_cached(sql)?);
    }
    Ok(slot.as_mut().expect("set just above"))
}

/// Adds hits to their counters (creating them) inside `tx`, and reports
/// what each counter holds now (with whatever other processes added, for
/// the counters not logged).
pub(super) fn add(tx: &Transaction, deltas: &[Pending]) -> Result<Vec<Written>> {
    let t = now();
    // Plain statements and point reads rather than RETURNING, which costs a
    // temporary b-tree per statement (~5 µs a row, measured). The key check
    // makes a stale id harmless: a row deleted, or its id reused by another
    // key, matches nothing and the upsert by key runs instead.
    // Each prepared on first use: the server finds them in the statement
    // cache anyway, and a CGI process, which prepares every statement
    // afresh, compiles only the three its one new hit runs.
    const BY_ID: &str =
        "UPDATE counters SET count = count + ?2, uniques = uniques + ?5, updated_at = ?3 WHERE id = ?1 AND key = ?4";
    const TOTALS_OF: &str = "SELECT count, uniques FROM counters WHERE id = ?1";
    const UPSERT: &str =
        "INSERT INTO counters (key, count, uniques, created_at, updated_at) VALUES (?1, ?2, ?4, ?3, ?3)
         ON CONFLICT (key) DO UPDATE SET count = count + excluded.count, uniques = uniques + excluded.uniques,
            updated_at = excluded.updated_at
         RETURNING id, count, uniques";
    const DAILY: &str = "INSERT INTO daily (day, counter_id, hits, uniques) VALUES (?2, ?1, ?3, ?4)
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = hits + excluded.hits,
            uniques = IFNULL(uniques, 0) + excluded.uniques";
    const DAY_OF: &str = "SELECT hits FROM daily WHERE day = ?2 AND counter_id = ?1";
    const LOG: &str = "INSERT INTO hit_log (counter_id, day, hits, uniques) VALUES (?1, ?2, ?3, ?4)";
    let (mut by_id, mut totals_of, mut upsert, mut daily, mut day_of, mut log) = (None, None, None, None, None, None);
    let mut texts: Vec<(NaiveDate, String)> = Vec::new();
    let mut out = Vec::with_capacity(deltas.len());
    for d in deltas {
        let uniques = d.uniques();
        if let (Some(id), Some((total, day_hits, visitors))) = (d.id, d.known) {
            for day in &d.days {
                let i = text_of(&mut texts, day.day);
                prepared(&mut log, tx, LOG)?.execute(params![id, &texts[i].1, sql(day.hits), sql(day.uniques)])?;
            }
            let newest = d.days.last().map_or(0, |day| day.hits);
            out.push(Written {
                id,
                total: total.saturating_add(d.hits),
                newest_day: day_hits.saturating_add(newest),
                visitors: visitors.saturating_add(uniques),
            });
            continue;
        }
        let (id, total, visitors): (i64, i64, i64) = match d.id {
            Some(id)
                if prepared(&mut by_id, tx, BY_ID)?.execute(params![id, sql(d.hits), t, &*d.key, sql(uniques)])?
                    == 1 =>
            {
                let (total, visitors) =
                    prepared(&mut totals_of, tx, TOTALS_OF)?.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                (id, total, visitors)
            }
            _ => prepared(&mut upsert, tx, UPSERT)?
                .query_row(params![&*d.key, sql(d.hits), t, sql(uniques)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?,
        };
        let mut newest_day = 0;
        for day in &d.days {
            let i = text_of(&mut texts, day.day);
            prepared(&mut daily, tx, DAILY)?.execute(params![id, &texts[i].1, sql(day.hits), sql(day.uniques)])?;
            newest_day =
                prepared(&mut day_of, tx, DAY_OF)?.query_row(params![id, &texts[i].1], |r| r.get::<_, i64>(0))?;
        }
        out.push(Written { id, total: count(total), newest_day: count(newest_day), visitors: count(visitors) });
    }
    Ok(out)
}
