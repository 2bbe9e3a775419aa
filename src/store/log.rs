//! `hit_log`: where a flush puts the hits of counters the server already
//! holds in memory, and the compaction that folds them into `counters` and
//! `daily`.
//!
//! Why: with hits spread over a million counters, adding each flush's hits
//! to their rows dirtied one random page of `counters` and one of `daily`
//! per hit, and SQLite's page I/O made that ~12 µs of CPU per hit (most of
//! what separated the server from bare tiny_http; BENCHMARKS.md). Appending
//! the same hits costs ~1 µs, and a compaction every few seconds applies
//! them in id order, touching each page once for all its hits.
//!
//! Rules: a flush's log rows are committed with the flush (a crash loses
//! nothing that was flushed). Totals and per-day counts are `counters` and
//! `daily` plus the log's rows; the server answers from memory, which has
//! both. Whatever opens the database through `store::prepare` (a server
//! starting, CGI, the admin commands) folds the log first, and admin
//! changes fold it inside their own transaction, so they apply to complete
//! counts and hits logged before them cannot land on top of them.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{now, write_tx, Result};

/// Folds every logged hit into `counters` and `daily` inside `tx`.
/// Returns the number of (counter, day) rows applied.
pub fn fold(tx: &Transaction) -> Result<usize> {
    fold_range(tx, i64::MIN, i64::MAX)
}

/// Folds the logged hits of counters with `lo <= id < hi` inside `tx`.
fn fold_range(tx: &Transaction, lo: i64, hi: i64) -> Result<usize> {
    let rows: Vec<(i64, String, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT counter_id, day, SUM(hits) FROM hit_log WHERE counter_id >= ?1 AND counter_id < ?2
             GROUP BY counter_id, day ORDER BY counter_id, day",
        )?;
        let rows = stmt.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_>>()?
    };
    if rows.is_empty() {
        return Ok(0);
    }
    let t = now();
    let mut total = tx.prepare_cached("UPDATE counters SET count = count + ?2, updated_at = ?3 WHERE id = ?1")?;
    let mut daily = tx.prepare_cached(
        "INSERT INTO daily (day, counter_id, hits) VALUES (?2, ?1, ?3)
         ON CONFLICT (day, counter_id) DO UPDATE SET hits = hits + excluded.hits",
    )?;
    for (id, day, hits) in &rows {
        // A counter deleted since is gone with its hits (an admin delete
        // folds first, so this only happens to a row removed by hand).
        if total.execute(params![id, hits, t])? == 1 {
            daily.execute(params![id, day, hits])?;
        }
    }
    tx.prepare_cached("DELETE FROM hit_log WHERE counter_id >= ?1 AND counter_id < ?2")?.execute(params![lo, hi])?;
    Ok(rows.len())
}

/// Folds one slice of counters (`lo <= id < hi`) in a transaction of its
/// own: a whole fold of a busy log takes seconds (every page of a big
/// `counters`), and flushes must not wait that long, so the flusher folds
/// slice by slice between them.
pub fn fold_slice(conn: &mut Connection, lo: i64, hi: i64) -> Result<usize> {
    let tx = write_tx(conn)?;
    let n = fold_range(&tx, lo, hi)?;
    tx.commit()?;
    Ok(n)
}

/// The lowest and highest counter id in the log, if it has rows.
pub fn id_span(conn: &Connection) -> Result<Option<(i64, i64)>> {
    conn.prepare_cached("SELECT MIN(counter_id), MAX(counter_id) FROM hit_log")?
        .query_row([], |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?)))
}

/// Folds the log in a transaction of its own, if it has anything.
pub fn fold_now(conn: &mut Connection) -> Result<usize> {
    if !has_rows(conn)? {
        return Ok(0);
    }
    let tx = write_tx(conn)?;
    let n = fold(&tx)?;
    tx.commit()?;
    Ok(n)
}

/// Whether anything is logged (a cheap check: the first row).
pub fn has_rows(conn: &Connection) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM hit_log LIMIT 1")?.query_row([], |_| Ok(())).optional().map(|r| r.is_some())
}

/// Logged hits of one counter per day, for history views. Scans the log,
/// which holds at most a few seconds of hits.
pub fn logged_days(conn: &Connection, id: i64) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT day, SUM(hits) FROM hit_log WHERE counter_id = ?1 GROUP BY day")?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::super::{add, counts, delete, get, history, prepare, set, Delta};
    use super::*;
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Creates `key` with `n` hits on the 24th, then logs `more` hits on
    /// the 24th and 25th as a flush of a counter the server knows does.
    fn logged(conn: &mut Connection, key: &str, n: u64, more: &[(NaiveDate, u64)]) -> i64 {
        let tx = write_tx(conn).unwrap();
        let id =
            add(&tx, &[Delta { key, id: None, known: None, hits: n, days: &[(day("2026-11-24"), n)] }]).unwrap()[0].id;
        let hits = more.iter().map(|(_, h)| h).sum();
        let w = add(&tx, &[Delta { key, id: Some(id), known: Some((n, 0)), hits, days: more }]).unwrap()[0];
        assert_eq!(w.total, n + hits, "what the flush reports follows from what it knew");
        tx.commit().unwrap();
        id
    }

    #[test]
    fn folding_applies_logged_hits_to_totals_and_days_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, _) = prepare(&dir.path().join("t.db")).unwrap();
        logged(&mut conn, "e.com/a", 3, &[(day("2026-11-24"), 1), (day("2026-11-25"), 2)]);
        assert_eq!(get(&conn, "e.com/a").unwrap(), Some(3), "logged hits are not in the row yet");
        let days: Vec<String> = vec!["2026-11-24".into(), "2026-11-25".into()];
        let want = vec![("2026-11-24".to_string(), 4), ("2026-11-25".to_string(), 2)];
        assert_eq!(history(&conn, "e.com/a", &days).unwrap(), want, "history adds the log");
        assert_eq!(fold_now(&mut conn).unwrap(), 2);
        assert!(!has_rows(&conn).unwrap());
        assert_eq!(fold_now(&mut conn).unwrap(), 0);
        assert_eq!(get(&conn, "e.com/a").unwrap(), Some(6));
        assert_eq!(history(&conn, "e.com/a", &days).unwrap(), want);
        assert_eq!(counts(&conn, "e.com/a", "2026-11-25").unwrap().today, 2);
    }

    #[test]
    fn folding_in_slices_equals_one_fold_and_leaves_later_rows_for_the_next_round() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, _) = prepare(&dir.path().join("t.db")).unwrap();
        let ids: Vec<i64> =
            (0..5).map(|i| logged(&mut conn, &format!("e.com/{i}"), 1, &[(day("2026-11-25"), 2)])).collect();
        assert_eq!(id_span(&conn).unwrap(), Some((ids[0], ids[4])));
        assert_eq!(fold_slice(&mut conn, ids[0], ids[2]).unwrap(), 2);
        assert_eq!(id_span(&conn).unwrap(), Some((ids[2], ids[4])));
        // A flush between slices logs more for a counter already folded.
        logged(&mut conn, "e.com/0", 1, &[(day("2026-11-25"), 4)]);
        assert_eq!(fold_slice(&mut conn, ids[2], ids[4] + 1).unwrap(), 3);
        assert_eq!(id_span(&conn).unwrap(), Some((ids[0], ids[0])), "left for the next round");
        // (1 + 2 folded) + 1 written directly by the helper; 4 still logged.
        assert_eq!(get(&conn, "e.com/0").unwrap(), Some(4));
        assert_eq!(fold_now(&mut conn).unwrap(), 1);
        assert_eq!(get(&conn, "e.com/0").unwrap(), Some(8));
        for i in 1..5 {
            assert_eq!(get(&conn, &format!("e.com/{i}")).unwrap(), Some(3));
        }
        assert_eq!(id_span(&conn).unwrap(), None);
    }

    #[test]
    fn opening_the_database_folds_what_a_crashed_server_logged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let (mut conn, _) = prepare(&path).unwrap();
        logged(&mut conn, "e.com/a", 1, &[(day("2026-11-25"), 5)]);
        drop(conn);
        let (conn, _) = prepare(&path).unwrap();
        assert_eq!((get(&conn, "e.com/a").unwrap(), has_rows(&conn).unwrap()), (Some(6), false));
    }

    #[test]
    fn admin_changes_fold_first_so_logged_hits_never_land_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, _) = prepare(&dir.path().join("t.db")).unwrap();
        logged(&mut conn, "e.com/a", 1, &[(day("2026-11-25"), 5)]);
        set(&mut conn, "e.com/a", 100).unwrap();
        assert_eq!(fold_now(&mut conn).unwrap(), 0);
        assert_eq!(get(&conn, "e.com/a").unwrap(), Some(100));
        let id = logged(&mut conn, "e.com/b", 1, &[(day("2026-11-25"), 5)]);
        assert!(delete(&mut conn, "e.com/b").unwrap());
        let left: i64 = conn.query_row("SELECT COUNT(*) FROM daily WHERE counter_id = ?1", [id], |r| r.get(0)).unwrap();
        assert_eq!((left, has_rows(&conn).unwrap()), (0, false));
    }
}
