//! A flush's writes, in the caller's transaction: hits of counters whose
//! stored counts the caller knows are appended to `hit_log`; the others are
//! added to their counter's total and per-day row, and read back.

use chrono::NaiveDate;
use rusqlite::{params, Transaction};

use super::{day_text, now, Result};

/// Hits to add to one counter: a total and its split over days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta<'a> {
    pub key: &'a str,
    /// The counter's row id if known: the row is then updated by id (checked
    /// against `key`), skipping a lookup in the key index, which with a
    /// million counters reads a random index page per hit.
    pub id: Option<i64>,
    pub hits: u64,
    /// The counter's stored total and stored hits on the newest day of
    /// `days`, when the caller knows them for certain (with `id`): the hits
    /// are then appended to `hit_log` instead of updating two random pages
    /// (see `log.rs`), and what is written follows from these.
    pub known: Option<(u64, u64)>,
    /// Sums to `hits`; the newest day last.
    pub days: &'a [(NaiveDate, u64)],
}

/// A counter's stored state right after [`add`]: its total and its hits on
/// the newest day of the delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub id: i64,
    pub total: u64,
    pub newest_day: u64,
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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

/// Adds deltas to their counters (creating them) inside `tx`, and reports
/// what each counter holds now (with whatever other processes added, for
/// the counters not logged).
pub fn add(tx: &Transaction, deltas: &[Delta]) -> Result<Vec<Written>> {
    let t = now();
    // Plain statements and point reads rather than RETURNING, which costs a
    // temporary b-tree per statement (~5 µs a row, measured). The key check
    // makes a stale id harmless: a row deleted, or its id reused by another
    // key, matches nothing and the upsert by key runs instead.
    let mut by_id =
        tx.prepare_cached("UPDATE counters SET count = count + ?2, updated_at = ?3 WHERE id = ?1 AND key = ?4")?;
    let mut total_of = tx.prepare_cached("SELECT count FROM counters WHERE id = ?1")?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (key) DO UPDATE SET count = count + excluded.count, updated_at = excluded.updated_at
         RETURNING id, count",
    )?;
    let mut daily = tx.prepare_cached(
        "INSERT INTO daily (day, counter_id, hits) VALUES (?2, ?1, ?3)
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = hits + excluded.hits",
    )?;
    let mut day_of = tx.prepare_cached("SELECT hits FROM daily WHERE day = ?2 AND counter_id = ?1")?;
    let mut log = tx.prepare_cached("INSERT INTO hit_log (counter_id, day, hits) VALUES (?1, ?2, ?3)")?;
    let mut texts: Vec<(NaiveDate, String)> = Vec::new();
    let mut out = Vec::with_capacity(deltas.len());
    for d in deltas {
        if let (Some(id), Some((total, day_hits))) = (d.id, d.known) {
            for (day, hits) in d.days {
                let i = text_of(&mut texts, *day);
                log.execute(params![id, &texts[i].1, sql(*hits)])?;
            }
            let newest = d.days.last().map_or(0, |(_, n)| *n);
            out.push(Written { id, total: total.saturating_add(d.hits), newest_day: day_hits.saturating_add(newest) });
            continue;
        }
        let (id, total) = match d.id {
            Some(id) if by_id.execute(params![id, sql(d.hits), t, d.key])? == 1 => {
                (id, total_of.query_row([id], |r| r.get::<_, i64>(0))?)
            }
            _ => upsert.query_row(params![d.key, sql(d.hits), t], |r| Ok((r.get(0)?, r.get(1)?)))?,
        };
        let mut newest_day = 0;
        for (day, hits) in d.days {
            let i = text_of(&mut texts, *day);
            daily.execute(params![id, &texts[i].1, sql(*hits)])?;
            newest_day = day_of.query_row(params![id, &texts[i].1], |r| r.get::<_, i64>(0))?;
        }
        out.push(Written { id, total: count(total), newest_day: count(newest_day) });
    }
    Ok(out)
}
