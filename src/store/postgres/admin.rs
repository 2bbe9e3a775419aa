//! Admin changes (set, delete, import) and their events, as in the SQLite
//! store (`super::super::admin`). Each change takes `admin_events` in
//! EXCLUSIVE mode first: event ids then follow commit order (a poller that
//! saw id 7 can never miss a 6 committed later), and no flush (which takes
//! it in SHARE mode) runs meanwhile, so hits counted on the old value
//! cannot land on the new one.

use postgres::{GenericClient, Row, Transaction};

use chrono::NaiveDate;

use super::super::{now, sql, Event, Imported, Result};
use super::Pg;

/// Admin events older than this are pruned; servers poll far more often.
const EVENT_RETENTION_SECS: i64 = 24 * 3600;

/// Past this many rows an import logs one "everything changed" event instead
/// of one per key.
const IMPORT_EVENT_ROWS: usize = 10_000;

/// Admin events after `$1`, oldest first.
pub(super) const EVENTS_SINCE: &str = "SELECT id, key FROM admin_events WHERE id > $1 ORDER BY id";

/// The events in rows of [`EVENTS_SINCE`].
pub(super) fn events(rows: Vec<Row>) -> Vec<Event> {
    rows.iter().map(|r| Event { id: r.get(0), key: r.get(1) }).collect()
}

pub(super) fn last_event(c: &mut impl GenericClient) -> std::result::Result<i64, postgres::Error> {
    Ok(c.query_one("SELECT COALESCE(MAX(id), 0)::bigint FROM admin_events", &[])?.get(0))
}

pub(super) fn record_events(tx: &mut Transaction, keys: &[Option<&str>]) -> std::result::Result<(), postgres::Error> {
    let t = now();
    tx.execute("INSERT INTO admin_events (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k", &[&keys, &t])?;
    tx.execute("DELETE FROM admin_events WHERE at < $1", &[&(t - EVENT_RETENTION_SECS)])?;
    Ok(())
}

/// Sets every counter of `rows` (creating them) in one statement.
fn set_all(tx: &mut Transaction, rows: &[(&str, i64)]) -> std::result::Result<(), postgres::Error> {
    let keys: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let counts: Vec<i64> = rows.iter().map(|r| r.1).collect();
    tx.execute(
        "INSERT INTO counters (key, count, created_at, updated_at)
         SELECT k, n, $3, $3 FROM unnest($1::text[], $2::bigint[]) AS t(k, n) ORDER BY k
         ON CONFLICT (key) DO UPDATE SET count = EXCLUDED.count, updated_at = EXCLUDED.updated_at",
        &[&keys, &counts, &now()],
    )?;
    Ok(())
}

fn begin(c: &mut postgres::Client) -> std::result::Result<Transaction<'_>, postgres::Error> {
    let mut tx = c.transaction()?;
    tx.batch_execute("LOCK TABLE admin_events IN EXCLUSIVE MODE")?;
    Ok(tx)
}

/// Folds counter `from` into `into` inside `tx` (see `merge.rs`); `None`
/// when `from` has no counter, else whether `into` had one. The caller
/// records the admin events.
pub(super) fn merge_in(
    tx: &mut Transaction,
    from: &str,
    into: &str,
) -> std::result::Result<Option<bool>, postgres::Error> {
    let id = |tx: &mut Transaction, key: &str| -> std::result::Result<Option<i64>, postgres::Error> {
        Ok(tx.query_opt("SELECT id FROM counters WHERE key = $1 FOR UPDATE", &[&key])?.map(|r| r.get(0)))
    };
    let Some(from_id) = id(tx, from)? else { return Ok(None) };
    let Some(into_id) = id(tx, into)? else {
        tx.execute("UPDATE counters SET key = $2 WHERE id = $1", &[&from_id, &into])?;
        return Ok(Some(false));
    };
    // A day's visitors stay NULL (not recorded) only when neither side
    // recorded them.
    tx.execute(
        "INSERT INTO daily (day, counter_id, hits, uniques)
         SELECT day, $2, hits, uniques FROM daily WHERE counter_id = $1
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = daily.hits + EXCLUDED.hits,
            uniques = CASE WHEN daily.uniques IS NULL AND EXCLUDED.uniques IS NULL THEN NULL
                           ELSE COALESCE(daily.uniques, 0) + COALESCE(EXCLUDED.uniques, 0) END",
        &[&from_id, &into_id],
    )?;
    tx.execute(
        "UPDATE counters AS t SET count = t.count + f.count, uniques = t.uniques + f.uniques,
            created_at = LEAST(t.created_at, f.created_at), updated_at = GREATEST(t.updated_at, f.updated_at)
         FROM counters AS f WHERE f.id = $1 AND t.id = $2",
        &[&from_id, &into_id],
    )?;
    tx.execute("DELETE FROM counters WHERE id = $1", &[&from_id])?;
    Ok(Some(true))
}

impl Pg {
    /// Folds counter `from` into `into` in one transaction (see `merge.rs`).
    pub fn merge(&mut self, from: &str, into: &str) -> Result<Option<bool>> {
        self.with(|c| {
            let mut tx = begin(c)?;
            let merged = merge_in(&mut tx, from, into)?;
            if merged.is_some() {
                record_events(&mut tx, &[Some(from), Some(into)])?;
            }
            tx.commit()?;
            Ok(merged)
        })
    }

    pub fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        self.with_prepared(&[EVENTS_SINCE], |c, st| Ok(events(c.query(&st[0], &[&after])?)))
    }

    pub fn last_event(&self) -> Result<i64> {
        self.with(last_event)
    }

    pub fn set(&mut self, key: &str, count: u64) -> Result<()> {
        self.with(|c| {
            let mut tx = begin(c)?;
            set_all(&mut tx, &[(key, sql(count))])?;
            record_events(&mut tx, &[Some(key)])?;
            tx.commit()
        })
    }

    pub fn delete(&mut self, key: &str) -> Result<bool> {
        self.with(|c| {
            let mut tx = begin(c)?;
            let n = tx.execute("DELETE FROM counters WHERE key = $1", &[&key])?;
            if n > 0 {
                record_events(&mut tx, &[Some(key)])?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    pub fn import(&mut self, rows: &[Imported]) -> Result<()> {
        // One row per key, the last given winning (as one set after another).
        let mut last: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for row in rows {
            last.insert(&row.key, sql(row.count));
        }
        let unique: Vec<(&str, i64)> = last.into_iter().collect();
        let days = Days::of(rows);
        self.with(|c| {
            let mut tx = begin(c)?;
            set_all(&mut tx, &unique)?;
            if !days.keys.is_empty() {
                days.set(&mut tx)?;
            }
            let keys: Vec<Option<&str>> = if unique.len() > IMPORT_EVENT_ROWS {
                vec![None]
            } else {
                unique.iter().map(|(k, _)| Some(*k)).collect()
            };
            record_events(&mut tx, &keys)?;
            tx.commit()
        })
    }
}

/// The days of an import as column arrays, for `unnest`.
struct Days<'a> {
    keys: Vec<&'a str>,
    days: Vec<NaiveDate>,
    hits: Vec<i64>,
    uniques: Vec<Option<i64>>,
}

impl<'a> Days<'a> {
    fn of(rows: &'a [Imported]) -> Days<'a> {
        let mut d = Days { keys: Vec::new(), days: Vec::new(), hits: Vec::new(), uniques: Vec::new() };
        for row in rows {
            for day in &row.days {
                d.keys.push(&row.key);
                d.days.push(day.day);
                d.hits.push(sql(day.hits));
                d.uniques.push(day.uniques.map(sql));
            }
        }
        d
    }

    /// Sets the days (their counters exist), first moving each counter's
    /// visitor total by what its days' visitors change by, as SQLite does.
    fn set(&self, tx: &mut Transaction) -> std::result::Result<(), postgres::Error> {
        tx.execute(
            "UPDATE counters c SET uniques = GREATEST(0, c.uniques + x.change)
             FROM (SELECT cc.id, SUM(COALESCE(t.u, 0) - COALESCE(d.uniques, 0))::bigint AS change
                   FROM unnest($1::text[], $2::date[], $3::bigint[]) AS t(k, d, u)
                   JOIN counters cc ON cc.key = t.k
                   LEFT JOIN daily d ON d.day = t.d AND d.counter_id = cc.id
                   GROUP BY cc.id) x
             WHERE c.id = x.id AND x.change <> 0",
            &[&self.keys, &self.days, &self.uniques],
        )?;
        tx.execute(
            "INSERT INTO daily (day, counter_id, hits, uniques)
             SELECT t.d, c.id, t.h, t.u FROM unnest($1::text[], $2::date[], $3::bigint[], $4::bigint[]) AS t(k, d, h, u)
             JOIN counters c ON c.key = t.k ORDER BY c.id, t.d
             ON CONFLICT (day, counter_id) DO UPDATE SET hits = EXCLUDED.hits, uniques = EXCLUDED.uniques",
            &[&self.keys, &self.days, &self.hits, &self.uniques],
        )?;
        Ok(())
    }
}
