//! `hit_log`: where a flush puts the hits of counters the server already
//! holds in memory, and the compaction that folds them into `counters` and
//! `daily`. Private to the store: reads add the log (`read.rs`), admin
//! changes fold it first (`admin.rs`), and the server's flusher only asks
//! for [`Store::fold_step`] now and then.
//!
//! Why: with hits spread over a million counters, adding each flush's hits
//! to their rows dirtied one random page of `counters` and one of `daily`
//! per hit, and SQLite's page I/O made that most of a flush's cost.
//! Appending the same hits is an order of magnitude cheaper, and a fold
//! every few seconds applies them in id order, touching each page once for
//! all its hits. A flush's log rows are committed with the flush, so a
//! crash loses nothing that was flushed; whatever opens the database
//! read-write through `Store::prepare` folds what a crashed server left.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use rusqlite::Result;

use super::{now, Sqlite};

/// Counter ids folded per transaction, so that flushes go on between
/// slices: a whole fold of a busy log over a million counters takes
/// seconds (every page of a big `counters`), a slice a fraction of one.
const SLICE_IDS: i64 = 65_536;

/// A fold in progress: counter ids from `lo` to `end` (inclusive) are
/// still to fold.
#[derive(Debug, Default)]
pub(super) struct Round {
    span: Option<(i64, i64)>,
}

/// Folds every logged hit into `counters` and `daily` inside `tx`.
/// Returns the number of (counter, day) rows applied.
pub(super) fn fold_in(tx: &Transaction) -> Result<usize> {
    fold_range(tx, i64::MIN, i64::MAX)
}

/// Folds the log in a transaction of its own, if it has anything.
pub(super) fn fold_all(conn: &mut Connection) -> Result<usize> {
    if !has_rows(conn)? {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = fold_in(&tx)?;
    tx.commit()?;
    Ok(n)
}

impl Sqlite {
    /// Folds the whole log now (before the server reloads its counts, and
    /// at shutdown, so that `counters` and `daily` alone are complete).
    pub fn fold(&mut self) -> Result<usize> {
        let n = fold_all(&mut self.conn)?;
        self.fold = Round::default();
        Ok(n)
    }

    /// Folds the next slice of the log, starting a round over what it
    /// holds now if none is in progress. Returns true when the round is
    /// complete (hits logged meanwhile for slices already done wait for
    /// the next round). A failed slice is tried again by the next call.
    pub fn fold_step(&mut self) -> Result<bool> {
        let (lo, end) = match self.fold.span {
            Some(span) => span,
            None => match id_span(&self.conn)? {
                Some(span) => span,
                None => return Ok(true),
            },
        };
        self.fold.span = Some((lo, end));
        let hi = lo.saturating_add(SLICE_IDS);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        fold_range(&tx, lo, hi)?;
        tx.commit()?;
        if hi > end {
            self.fold.span = None;
            return Ok(true);
        }
        self.fold.span = Some((hi, end));
        Ok(false)
    }
}

/// Folds the logged hits of counters with `lo <= id < hi` inside `tx`.
fn fold_range(tx: &Transaction, lo: i64, hi: i64) -> Result<usize> {
    let t = now();
    let mut total = tx.prepare_cached(
        "UPDATE counters SET count = count + ?2, uniques = uniques + ?4, updated_at = ?3 WHERE id = ?1",
    )?;
    let mut daily = tx.prepare_cached(
        "INSERT INTO daily (day, counter_id, hits, uniques) VALUES (?2, ?1, ?3, ?4)
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = hits + excluded.hits,
            uniques = IFNULL(uniques, 0) + excluded.uniques",
    )?;
    let mut sums = tx.prepare_cached(
        "SELECT counter_id, day, SUM(hits), SUM(uniques) FROM hit_log WHERE counter_id >= ?1 AND counter_id < ?2
         GROUP BY counter_id, day ORDER BY counter_id, day",
    )?;
    // Applied as they are read (GROUP BY hands them over from its sorter,
    // and the writes go to other tables): a slice's sums are never held in
    // memory at once, which with a million counters was megabytes of small
    // allocations a few times a minute.
    let mut rows = sums.query(params![lo, hi])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let day = rusqlite::types::ToSqlOutput::Borrowed(r.get_ref(1)?);
        let (id, hits, uniques) = (r.get::<_, i64>(0)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?);
        // A counter deleted since is gone with its hits (an admin delete
        // folds first, so this only happens to a row removed by hand).
        if total.execute(params![id, hits, t, uniques])? == 1 {
            daily.execute(params![id, day, hits, uniques])?;
        }
        n += 1;
    }
    if n > 0 {
        tx.prepare_cached("DELETE FROM hit_log WHERE counter_id >= ?1 AND counter_id < ?2")?
            .execute(params![lo, hi])?;
    }
    Ok(n)
}

/// The lowest and highest counter id in the log, if it has rows.
fn id_span(conn: &Connection) -> Result<Option<(i64, i64)>> {
    conn.prepare_cached("SELECT MIN(counter_id), MAX(counter_id) FROM hit_log")?
        .query_row([], |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?)))
}

/// Whether anything is logged (a cheap check: the first row).
fn has_rows(conn: &Connection) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM hit_log LIMIT 1")?.query_row([], |_| Ok(())).optional().map(|r| r.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Day, Pending, Role, Store};
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::prepare(&dir.path().join("t.db"), Role::Flusher).unwrap();
        (dir, store)
    }

    /// What `counters.count` holds, without the log.
    fn row(store: &Store, key: &str) -> i64 {
        store.raw().query_row("SELECT count FROM counters WHERE key = ?1", [key], |r| r.get(0)).unwrap()
    }

    /// Creates `key` with `n` hits on the 24th, then logs `more` hits as a
    /// flush of a counter the server knows does.
    fn logged(store: &mut Store, key: &str, n: u64, more: &[(NaiveDate, u64, u64)]) -> i64 {
        let mut last = i64::MAX;
        let first = Day { day: day("2026-11-24"), hits: n, uniques: 0 };
        let first = Pending { key: key.into(), hits: n, days: vec![first], id: None, known: None };
        let id = store.flush(&mut vec![first], &mut last, |_, _| 0).unwrap().0[0].id;
        let hits = more.iter().map(|m| m.1).sum();
        let days = more.iter().map(|&(day, hits, uniques)| Day { day, hits, uniques }).collect();
        let known = Pending { key: key.into(), hits, days, id: Some(id), known: Some((n, 0, 0)) };
        let w = store.flush(&mut vec![known], &mut last, |_, _| 0).unwrap().0[0];
        assert_eq!(w.total, n + hits, "what the flush reports follows from what it knew");
        id
    }

    #[test]
    fn reads_add_the_log_and_folding_applies_it_exactly_once() {
        let (_d, mut store) = store();
        logged(&mut store, "e.com/a", 3, &[(day("2026-11-24"), 1, 1), (day("2026-11-25"), 2, 1)]);
        assert_eq!(row(&store, "e.com/a"), 3, "logged hits are not in the row yet");
        assert_eq!(store.get("e.com/a").unwrap(), Some(6), "but every read adds them");
        let days = [day("2026-11-24"), day("2026-11-25")];
        let want = vec![(days[0], 4, Some(1)), (days[1], 2, Some(1))];
        assert_eq!(store.history("e.com/a", &days).unwrap(), want);
        let c = store.counts("e.com/a", days[1]).unwrap();
        assert_eq!((c.today, c.visitors), (2, 2));
        assert_eq!(store.top_domains(5).unwrap(), vec![("e.com".to_string(), 6)]);
        let mut loaded = Vec::new();
        store
            .counters_after(0, days[0], 10, |_, k, total, on_day, v| loaded.push((k.to_string(), total, on_day, v)))
            .unwrap();
        assert_eq!(loaded, vec![("e.com/a".to_string(), 6, 4, 2)]);
        assert_eq!(store.fold().unwrap(), 2);
        assert!(!has_rows(store.raw()).unwrap());
        assert_eq!(store.fold().unwrap(), 0);
        assert_eq!(row(&store, "e.com/a"), 6);
        assert_eq!(store.get("e.com/a").unwrap(), Some(6));
        assert_eq!(store.history("e.com/a", &days).unwrap(), want);
    }

    #[test]
    fn folding_in_slices_equals_one_fold_and_leaves_later_rows_for_the_next_round() {
        let (_d, mut store) = store();
        let mut ids: Vec<i64> =
            (0..2).map(|i| logged(&mut store, &format!("e.com/{i}"), 1, &[(day("2026-11-25"), 2, 0)])).collect();
        // The next counter two slices further on.
        store.raw().execute("INSERT INTO counters VALUES (?1, 'e.com/gap', 0, 0, 0, 0)", [2 * SLICE_IDS]).unwrap();
        ids.push(logged(&mut store, "e.com/2", 1, &[(day("2026-11-25"), 2, 0)]));
        assert!(!store.fold_step().unwrap(), "the first slice holds ids 0 and 1");
        assert_eq!((row(&store, "e.com/0"), row(&store, "e.com/2")), (3, 1));
        // A flush between slices logs more for a counter already folded.
        let mut last = i64::MAX;
        let more = Pending {
            key: "e.com/0".into(),
            hits: 4,
            days: vec![Day { day: day("2026-11-25"), hits: 4, uniques: 0 }],
            id: Some(ids[0]),
            known: Some((3, 2, 0)),
        };
        store.flush(&mut vec![more], &mut last, |_, _| 0).unwrap();
        assert!(!store.fold_step().unwrap(), "an empty slice between them");
        assert!(store.fold_step().unwrap(), "the round ends with the last id it saw");
        assert_eq!((row(&store, "e.com/0"), row(&store, "e.com/2")), (3, 3));
        assert_eq!(store.get("e.com/0").unwrap(), Some(7), "left for the next round, and read all along");
        assert!(store.fold_step().unwrap());
        assert_eq!(row(&store, "e.com/0"), 7);
        assert!(!has_rows(store.raw()).unwrap());
    }

    #[test]
    fn opening_the_database_folds_what_a_crashed_server_logged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (mut store, _) = Store::prepare(&path, Role::Flusher).unwrap();
        logged(&mut store, "e.com/a", 1, &[(day("2026-11-25"), 5, 0)]);
        drop(store);
        let reader = Store::open_read_only(&path).unwrap();
        assert_eq!((row(&reader, "e.com/a"), reader.get("e.com/a").unwrap()), (1, Some(6)), "a reader folds nothing");
        let (store, _) = Store::prepare(&path, Role::Flusher).unwrap();
        assert_eq!((row(&store, "e.com/a"), has_rows(store.raw()).unwrap()), (6, false));
    }

    #[test]
    fn admin_changes_fold_first_so_logged_hits_never_land_on_top() {
        let (_d, mut store) = store();
        logged(&mut store, "e.com/a", 1, &[(day("2026-11-25"), 5, 0)]);
        store.set("e.com/a", 100).unwrap();
        assert_eq!(store.fold().unwrap(), 0);
        assert_eq!(store.get("e.com/a").unwrap(), Some(100));
        let id = logged(&mut store, "e.com/b", 1, &[(day("2026-11-25"), 5, 0)]);
        assert!(store.delete("e.com/b").unwrap());
        let left: i64 =
            store.raw().query_row("SELECT COUNT(*) FROM daily WHERE counter_id = ?1", [id], |r| r.get(0)).unwrap();
        assert_eq!((left, has_rows(store.raw()).unwrap()), (0, false));
    }
}
