//! The SQLite database: schema, migrations and every query.
//!
//! One row per counter (`counters.key` is UNIQUE), per-day rows in `daily`,
//! and `admin_events`, a short log through which admin commands run from the
//! CLI tell a running server which cached counters to forget. Every SQL
//! statement is parameterised.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

use crate::migrate;

mod log;
mod schema;
mod write;

pub use log::{fold as fold_log_in, fold_now as fold_log, fold_slice, id_span as log_id_span};
pub use schema::{create, SCHEMA_VERSION};
pub use write::{add, Delta, Written};

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Admin events older than this are pruned; servers poll far more often.
const EVENT_RETENTION_SECS: i64 = 24 * 3600;

/// Past this many rows an import logs one "everything changed" event instead
/// of one per key.
const IMPORT_EVENT_ROWS: usize = 10_000;

pub type Result<T> = rusqlite::Result<T>;

/// Opens a connection with the settings every caller needs. Does not create
/// or migrate the schema; see [`prepare`].
pub fn open(path: &Path) -> Result<Connection> {
    // Switching a new file to WAL takes a lock that SQLite does not wait for
    // through busy_timeout, so many CGI processes opening a brand-new
    // database at once can see SQLITE_BUSY here: retry for a while.
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match open_once(path) {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn open_once(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_handler(Some(wait_for_lock))?;
    // WAL lets readers run beside the single writer; NORMAL sync is durable
    // against process crashes (the WAL is fsynced at checkpoints).
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Waits for another connection's lock for up to [`BUSY_TIMEOUT`], in short
/// sleeps: SQLite's own busy timeout sleeps up to 100 ms at a time, which
/// showed as ~1 s tail latency when several writers take turns
/// (`--flush-interval 0`, many CGI processes).
fn wait_for_lock(retries: i32) -> bool {
    const FINE: i32 = 200; // 200 x 0.1 ms, then 1 ms steps
    let fine = Duration::from_micros(100);
    let coarse = Duration::from_millis(1);
    let spent = fine * retries.min(FINE) as u32 + coarse * (retries - FINE).max(0) as u32;
    if spent >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(if retries < FINE { fine } else { coarse });
    true
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
}

/// Opens the database for use, creating the parent directory, converting a
/// database of the original service and applying pending migrations.
/// Returns what it did, for the log.
pub fn prepare(path: &Path) -> std::result::Result<(Connection, Vec<String>), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create directory {}: {e}", parent.display()))?;
    }
    let mut conn = open(path).map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
    let mut notes = Vec::new();
    if migrate::is_original(&conn).map_err(|e| e.to_string())? {
        notes.extend(migrate::from_original(&mut conn, path)?);
    }
    schema::migrate(&mut conn).map_err(|e| format!("cannot set up database {}: {e}", path.display()))?;
    // Hits a server logged and did not fold (it crashed, or still runs).
    log::fold_now(&mut conn).map_err(|e| format!("cannot set up database {}: {e}", path.display()))?;
    Ok((conn, notes))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Stored count of a key; `None` when it has no counter.
pub fn get(conn: &Connection, key: &str) -> Result<Option<u64>> {
    conn.prepare_cached("SELECT count FROM counters WHERE key = ?1")?
        .query_row([key], |r| r.get::<_, i64>(0))
        .optional()
        .map(|c| c.map(|c| c.max(0) as u64))
}

/// What the database holds for a key at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub total: u64,
    /// Hits on the day asked for.
    pub today: u64,
    /// The newest admin event in the same snapshot: changes up to it are
    /// already in `total`.
    pub event: i64,
}

/// A key's stored total and its hits on `day` (zeros for an unknown key),
/// read in one statement, so one snapshot.
pub fn counts(conn: &Connection, key: &str, day: &str) -> Result<Stored> {
    conn.prepare_cached(
        // One row whether or not the key exists, and one descent of the key
        // index: this runs on every cache miss.
        "SELECT c.count,
                (SELECT hits FROM daily WHERE day = ?2 AND counter_id = c.id),
                (SELECT MAX(id) FROM admin_events)
         FROM (SELECT 1) LEFT JOIN counters c ON c.key = ?1",
    )?
    .query_row(params![key, day], |r| {
        Ok(Stored {
            total: r.get::<_, Option<i64>>(0)?.unwrap_or(0).max(0) as u64,
            today: r.get::<_, Option<i64>>(1)?.unwrap_or(0).max(0) as u64,
            event: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
        })
    })
}

/// Stored hits of a key on each of `days` (`YYYY-MM-DD`); days without
/// hits are left out. One point lookup per day: `daily` is keyed by day
/// first, so a range scan would read every counter's rows.
pub fn history(conn: &Connection, key: &str, days: &[String]) -> Result<Vec<(String, u64)>> {
    let id: Option<i64> =
        conn.prepare_cached("SELECT id FROM counters WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    let Some(id) = id else { return Ok(Vec::new()) };
    let mut stmt = conn.prepare_cached("SELECT hits FROM daily WHERE day = ?1 AND counter_id = ?2")?;
    let logged = log::logged_days(conn, id)?;
    let mut out = Vec::new();
    for day in days {
        let stored = stmt.query_row(params![day, id], |r| r.get::<_, i64>(0)).optional()?.map(|n| n.max(0) as u64);
        let more = logged.iter().find(|(d, _)| d == day).map(|(_, n)| *n);
        if stored.is_some() || more.is_some() {
            out.push((day.clone(), stored.unwrap_or(0) + more.unwrap_or(0)));
        }
    }
    Ok(out)
}

/// Number of counters.
pub fn counter_rows(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64)
}

/// Days are stored as ISO dates, readable in `sqlite3`.
pub fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Up to `limit` counters with an id above `after`, in id order, with their
/// hits on `day`: `f(id, key, total, hits on day)`. For loading every
/// counter into memory a chunk at a time.
pub fn counters_after(
    conn: &Connection,
    after: i64,
    day: &str,
    limit: usize,
    mut f: impl FnMut(i64, &str, u64, u64),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.key, c.count, d.hits FROM counters c
         LEFT JOIN daily d ON d.day = ?2 AND d.counter_id = c.id
         WHERE c.id > ?1 ORDER BY c.id LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![after, day, limit as i64])?;
    while let Some(r) = rows.next()? {
        let total: i64 = r.get(2)?;
        let hits: Option<i64> = r.get(3)?;
        f(r.get(0)?, r.get_ref(1)?.as_str().unwrap_or_default(), total.max(0) as u64, hits.unwrap_or(0).max(0) as u64);
    }
    Ok(())
}

/// Changes whenever another connection (any process) commits to the
/// database; this connection's own commits leave it alone.
pub fn data_version(conn: &Connection) -> Result<i64> {
    conn.pragma_query_value(None, "data_version", |r| r.get(0))
}

/// Starts the write transaction used for flushes and admin changes.
pub fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Admin events after `after`: (id, key or `None` for "every counter").
pub fn events_since(conn: &Connection, after: i64) -> Result<Vec<(i64, Option<String>)>> {
    let mut stmt = conn.prepare_cached("SELECT id, key FROM admin_events WHERE id > ?1 ORDER BY id")?;
    let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The newest admin event id (0 when there is none).
pub fn last_event(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM admin_events", [], |r| r.get(0))
}

fn record_event(tx: &Transaction, key: Option<&str>) -> Result<()> {
    let t = now();
    tx.execute("INSERT INTO admin_events (key, at) VALUES (?1, ?2)", params![key, t])?;
    tx.execute("DELETE FROM admin_events WHERE at < ?1", [t - EVENT_RETENTION_SECS])?;
    Ok(())
}

/// Sets a counter to `count`, creating it. Per-day history is kept.
pub fn set(conn: &mut Connection, key: &str, count: u64) -> Result<()> {
    let tx = write_tx(conn)?;
    log::fold(&tx)?;
    set_in(&tx, key, count)?;
    record_event(&tx, Some(key))?;
    tx.commit()
}

fn set_in(tx: &Transaction, key: &str, count: u64) -> Result<()> {
    let t = now();
    tx.prepare_cached(
        "INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count, updated_at = excluded.updated_at",
    )?
    .execute(params![key, count as i64, t])?;
    Ok(())
}

/// Deletes a counter and its history. Returns false when there was none.
pub fn delete(conn: &mut Connection, key: &str) -> Result<bool> {
    let tx = write_tx(conn)?;
    log::fold(&tx)?;
    // `daily` rows go by ON DELETE CASCADE (every connection has
    // foreign_keys on); like any delete by counter, it scans `daily`.
    let n = tx.execute("DELETE FROM counters WHERE key = ?1", [key])?;
    if n > 0 {
        record_event(&tx, Some(key))?;
    }
    tx.commit()?;
    Ok(n > 0)
}

/// Sets many counters in one transaction: all or nothing.
pub fn import(conn: &mut Connection, rows: &[(String, u64)]) -> Result<()> {
    let tx = write_tx(conn)?;
    log::fold(&tx)?;
    for (key, count) in rows {
        set_in(&tx, key, *count)?;
    }
    if rows.len() > IMPORT_EVENT_ROWS {
        record_event(&tx, None)?;
    } else {
        for (key, _) in rows {
            record_event(&tx, Some(key))?;
        }
    }
    tx.commit()
}

/// Counters by count, biggest first; `limit` None for all. Calls `f` per row
/// so exports of millions of rows stream instead of filling memory.
pub fn each_by_count(
    conn: &Connection,
    limit: Option<u64>,
    mut f: impl FnMut(&str, u64) -> std::io::Result<()>,
) -> std::result::Result<(), String> {
    let limit = limit.map_or(-1, |l| l.min(i64::MAX as u64) as i64);
    let mut stmt =
        conn.prepare("SELECT key, count FROM counters ORDER BY count DESC, key LIMIT ?1").map_err(|e| e.to_string())?;
    let mut rows = stmt.query([limit]).map_err(|e| e.to_string())?;
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        let key: String = row.get(0).map_err(|e| e.to_string())?;
        let count: i64 = row.get(1).map_err(|e| e.to_string())?;
        f(&key, count.max(0) as u64).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Views summed per domain (text before the first `/`), biggest first.
/// Fetches `limit` domains; the caller filters out local hosts.
pub fn top_domains(conn: &Connection, limit: usize) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT substr(key, 1, instr(key || '/', '/') - 1) AS domain, SUM(count) AS total
         FROM counters GROUP BY domain ORDER BY total DESC, domain LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let (conn, _) = prepare(&dir.path().join("t.db")).unwrap();
        (dir, conn)
    }

    #[test]
    fn add_creates_then_increments_one_row() {
        let (_d, mut conn) = db();
        let days = [(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 2)];
        let delta = Delta { key: "e.com/a", id: None, known: None, hits: 2, days: &days };
        for _ in 0..3 {
            let tx = write_tx(&mut conn).unwrap();
            add(&tx, std::slice::from_ref(&delta)).unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(get(&conn, "e.com/a").unwrap(), Some(6));
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1);
        assert_eq!(history(&conn, "e.com/a", &["2026-01-01".into()]).unwrap(), vec![("2026-01-01".into(), 6)]);
        assert_eq!(counts(&conn, "e.com/a", "2026-01-01").unwrap().today, 6);
    }

    #[test]
    fn a_known_id_updates_its_row_and_a_stale_one_falls_back_to_the_key() {
        let (_d, mut conn) = db();
        let days = [(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 1)];
        let add_one = |conn: &mut Connection, key, id| {
            let tx = write_tx(conn).unwrap();
            let w = add(&tx, &[Delta { key, id, known: None, hits: 1, days: &days }]).unwrap()[0];
            tx.commit().unwrap();
            w
        };
        let a = add_one(&mut conn, "e.com/a", None);
        assert_eq!(add_one(&mut conn, "e.com/a", Some(a.id)), Written { id: a.id, total: 2, newest_day: 2 });
        // Deleting the newest row frees its id for the next new key.
        assert!(delete(&mut conn, "e.com/a").unwrap());
        let b = add_one(&mut conn, "e.com/b", None);
        assert_eq!(b.id, a.id, "SQLite reuses the id");
        let a2 = add_one(&mut conn, "e.com/a", Some(a.id));
        assert_ne!(a2.id, b.id);
        assert_eq!((a2.total, get(&conn, "e.com/b").unwrap()), (1, Some(1)));
    }

    #[test]
    fn admin_changes_leave_events() {
        let (_d, mut conn) = db();
        set(&mut conn, "e.com/a", 5).unwrap();
        assert!(delete(&mut conn, "e.com/a").unwrap());
        assert!(!delete(&mut conn, "e.com/a").unwrap());
        let events = events_since(&conn, 0).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(last_event(&conn).unwrap(), events[1].0);
    }

    #[test]
    fn top_domains_sums_paths() {
        let (_d, mut conn) = db();
        import(&mut conn, &[("a.com/x".into(), 3), ("a.com/y".into(), 4), ("b.com".into(), 5)]).unwrap();
        assert_eq!(top_domains(&conn, 10).unwrap(), vec![("a.com".into(), 7), ("b.com".into(), 5)]);
    }

    #[test]
    fn version_1_daily_rows_survive_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE counters (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, count INTEGER NOT NULL DEFAULT 0
                CHECK (count >= 0), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
             CREATE TABLE daily (counter_id INTEGER NOT NULL REFERENCES counters(id) ON DELETE CASCADE,
                day TEXT NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (counter_id, day)) WITHOUT ROWID;
             CREATE TABLE admin_events (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, at INTEGER NOT NULL);
             INSERT INTO counters VALUES (1, 'e.com/a', 7, 0, 0);
             INSERT INTO daily VALUES (1, '2026-11-24', 3), (1, '2026-11-25', 4);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(conn);
        let (conn, _) = prepare(&path).unwrap();
        let days = ["2026-11-23".to_string(), "2026-11-24".into(), "2026-11-25".into()];
        assert_eq!(history(&conn, "e.com/a", &days).unwrap(), vec![("2026-11-24".into(), 3), ("2026-11-25".into(), 4)]);
        let c = counts(&conn, "e.com/a", "2026-11-25").unwrap();
        assert_eq!((c.total, c.today), (7, 4));
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn delete_removes_history_too() {
        let (_d, mut conn) = db();
        let tx = write_tx(&mut conn).unwrap();
        let days = [(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 1)];
        add(&tx, &[Delta { key: "e.com/a", id: None, known: None, hits: 1, days: &days }]).unwrap();
        tx.commit().unwrap();
        assert!(delete(&mut conn, "e.com/a").unwrap());
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM daily", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        prepare(&path).unwrap();
        open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(prepare(&path).unwrap_err().contains("newer"));
    }
}
