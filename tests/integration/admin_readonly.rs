//! Admin commands that only read (`get`, `list`, `export`) never create,
//! convert, fold or write anything; `migrate` converts the original
//! service's database on request, and `--dry-run` only says what it would do.

use crate::support;

use std::path::Path;
use support::*;

const READERS: [&[&str]; 4] = [&["get", "example.com/a"], &["list"], &["export"], &["export", "--format", "json"]];

/// Every file in `dir` with its bytes, for "nothing changed". SQLite's
/// `-shm` (shared memory, where every reader marks what it reads) and an
/// empty `-wal` (which a reader of a WAL database may create) are left out.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default())
        })
        .filter(|(name, bytes)| {
            let sqlite_own = name.ends_with("-shm") || (name.ends_with("-wal") && bytes.is_empty());
            !sqlite_own
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_missing_database_is_an_error_and_nothing_is_created() {
    let dir = tempdir();
    let db = dir.path().join("typo/sub/hits.db");
    for args in READERS {
        let out = run_db(&db, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr_of(&out), format!("hitcounter: no database at {}\n", db.display()), "{args:?}");
        assert_eq!(stdout_of(&out), "", "{args:?}");
    }
    assert!(snapshot(dir.path()).is_empty(), "no folder or file was made");
}

/// A database as a server that was killed leaves it: a counter whose row
/// says 5 while the hit log holds 3 more hits of it (today).
fn crashed_server_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("hitcounter.db");
    admin_set(&db, "example.com/a", 5);
    admin_set(&db, "example.com/b", 7);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let id: i64 = conn.query_row("SELECT id FROM counters WHERE key = 'example.com/a'", [], |r| r.get(0)).unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    conn.execute(
        "INSERT INTO hit_log (counter_id, day, hits) VALUES (?1, ?2, 1), (?1, ?2, 2)",
        rusqlite::params![id, today],
    )
    .unwrap();
    // Leave the database file complete, as a checkpoint would.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    db
}

#[test]
fn readers_show_exact_counts_and_write_nothing() {
    let dir = tempdir();
    let db = crashed_server_db(dir.path());
    let watcher = rusqlite::Connection::open(&db).unwrap();
    let version =
        |c: &rusqlite::Connection| -> i64 { c.pragma_query_value(None, "data_version", |r| r.get(0)).unwrap() };
    let (before, v0) = (snapshot(dir.path()), version(&watcher));
    assert_eq!(admin_ok(&db, &["get", "example.com/a"]).trim(), "8", "the row plus the logged hits");
    assert_eq!(admin_list(&db, &[]), vec![(8, "example.com/a".into()), (7, "example.com/b".into())]);
    let csv = admin_ok(&db, &["export"]);
    assert!(csv.contains("example.com/a,8"), "{csv}");
    assert!(admin_ok(&db, &["export", "--format", "json"]).contains("\"count\": 8"));
    assert_eq!(version(&watcher), v0, "no other connection committed (a server would not reload)");
    let after = snapshot(dir.path());
    assert_eq!(after, before, "no file changed, none appeared");
    let logged: i64 = watcher.query_row("SELECT COUNT(*) FROM hit_log", [], |r| r.get(0)).unwrap();
    assert_eq!(logged, 2, "nothing was folded");
}

/// The original service's table, with the rows its bugs left behind.
fn original_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("data.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER);
         INSERT INTO url (id, url, count) VALUES
           (1, 'example.com/a', 10), (2, 'example.com/a', 12),   -- a duplicate row: largest wins
           (3, 'Example.com:443/a', 5),                           -- the same key once normalised: summed
           (4, NULL, 9),                                          -- no URL: dropped
           (5, 'other.example/x', 'lots'),                        -- no number: dropped
           (6, 'other.example/y', 3);",
    )
    .unwrap();
    db
}

#[test]
fn readers_refuse_an_original_database_and_leave_it_alone() {
    let dir = tempdir();
    let db = original_db(dir.path());
    let before = snapshot(dir.path());
    for args in READERS {
        let out = run_db(&db, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr_of(&out);
        assert!(err.contains("original") && err.contains("hitcounter migrate"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(snapshot(dir.path()), before, "not converted, no copy made");
}

#[test]
fn migrate_dry_run_reports_every_row_and_changes_nothing() {
    let dir = tempdir();
    let db = original_db(dir.path());
    let before = snapshot(dir.path());
    let out = admin_ok(&db, &["migrate", "--dry-run"]);
    assert_eq!(snapshot(dir.path()), before, "a dry run writes nothing:\n{out}");
    for want in ["6 rows", "2 counters", "1 duplicate", "1 URL summed", "2 rows dropped", "row id 4", "row id 5"] {
        assert!(out.contains(want), "{want:?} in:\n{out}");
    }
    assert!(out.contains("NULL") && out.contains("not a number"), "{out}");
}

#[test]
fn migrate_converts_once_with_one_copy() {
    let dir = tempdir();
    let db = original_db(dir.path());
    let out = admin_ok(&db, &["migrate"]);
    assert!(out.contains("a copy of it is at"), "{out}");
    assert!(out.contains("row id 4") && out.contains("row id 5"), "dropped rows are reported:\n{out}");
    assert_eq!(admin_list(&db, &[]), vec![(17, "example.com/a".into()), (3, "other.example/y".into())]);
    let copies = || snapshot(dir.path()).iter().filter(|(n, _)| n.contains(".bak")).count();
    assert_eq!(copies(), 1);
    let again = admin_ok(&db, &["migrate"]);
    assert!(again.contains("nothing to convert"), "{again}");
    assert_eq!(copies(), 1, "no second copy");
}
