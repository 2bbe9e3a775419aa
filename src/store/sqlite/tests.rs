//! SQLite's own tests, beyond the contract's (`store/tests.rs`): files of
//! older versions and of the original service, and opening without
//! writing.

use super::super::{OpenError, Role, Store};
use chrono::NaiveDate;
use std::path::Path;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const VERSION_1: &str = "CREATE TABLE counters (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,
        count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
     CREATE TABLE daily (counter_id INTEGER NOT NULL REFERENCES counters(id) ON DELETE CASCADE,
        day TEXT NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (counter_id, day)) WITHOUT ROWID;
     CREATE TABLE admin_events (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, at INTEGER NOT NULL);
     INSERT INTO counters VALUES (1, 'e.com/a', 7, 0, 0);
     INSERT INTO daily VALUES (1, '2026-11-24', 3), (1, '2026-11-25', 4);
     PRAGMA user_version = 1;";

#[test]
fn version_1_daily_rows_survive_the_upgrade_and_read_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch(VERSION_1).unwrap();
    let days = [day("2026-11-23"), day("2026-11-24"), day("2026-11-25")];
    // Days from before visitors were counted: not recorded, not zero.
    let want = vec![(days[1], 3, None), (days[2], 4, None)];
    let reader = Store::open_read_only(&path).unwrap();
    assert_eq!((reader.get("e.com/a").unwrap(), reader.history("e.com/a", &days).unwrap()), (Some(7), want.clone()));
    drop(reader);
    let version = |p: &Path| -> i64 {
        rusqlite::Connection::open(p).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
    };
    assert_eq!(version(&path), 1, "reading upgrades nothing");
    let (store, _) = Store::prepare(&path, Role::Admin).unwrap();
    assert_eq!(store.history("e.com/a", &days).unwrap(), want);
    let c = store.counts("e.com/a", days[2]).unwrap();
    assert_eq!((c.total, c.today), (7, 4));
    assert_eq!(version(&path), super::schema::SCHEMA_VERSION - 1, "the step that merges keys waits for a key rule");
    drop(store);
    let (store, notes) =
        Store::prepare_converting(&path, Role::Admin, |k| Some(k.replace("e.com", "f.com")), false).unwrap();
    assert_eq!(version(&path), super::schema::SCHEMA_VERSION);
    assert_eq!((store.get("f.com/a").unwrap(), store.history("f.com/a", &days).unwrap()), (Some(7), want));
    assert_eq!(notes, [r#"renamed counter "e.com/a" to "f.com/a" (one host, one counter)"#]);
}

#[test]
fn a_read_only_open_creates_and_converts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/t.db");
    assert!(matches!(Store::open_read_only(&missing), Err(OpenError::Missing)));
    assert!(!dir.path().join("no").exists());
    let original = dir.path().join("data.db");
    rusqlite::Connection::open(&original)
        .unwrap()
        .execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER)")
        .unwrap();
    assert!(matches!(Store::open_read_only(&original), Err(OpenError::Original)));
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert_eq!(names, ["data.db"]);
}

#[test]
fn prepare_refuses_an_original_database_unless_told_to_convert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER); INSERT INTO url (url, count) VALUES ('a.com', 3);")
        .unwrap();
    assert!(Store::prepare(&path, Role::Admin).err().unwrap().contains("hitcounter migrate"));
    let (store, notes) = Store::prepare_converting(&path, Role::Admin, |u| Some(u.to_string()), false).unwrap();
    assert_eq!(store.get("a.com").unwrap(), Some(3));
    assert!(notes[0].contains("a copy of it is at"), "{notes:?}");
}

#[test]
fn a_guarded_connection_attaches_only_for_its_own_copy() {
    let dir = tempfile::tempdir().unwrap();
    let conn = super::open_guarded(dir.path().join("g.db"), rusqlite::OpenFlags::default()).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    let other = dir.path().join("other.db");
    let attach = format!("ATTACH DATABASE '{}' AS o", other.display());
    assert!(conn.execute_batch(&attach).unwrap_err().to_string().contains("too many attached"));
    assert!(!other.exists(), "ATTACH made no file");
    let trusted: i64 = conn.pragma_query_value(None, "trusted_schema", |r| r.get(0)).unwrap();
    assert_eq!(trusted, 0);
    assert!(conn.execute_batch("PRAGMA writable_schema = ON; DELETE FROM sqlite_master;").is_err());
    super::vacuum_into(&conn, &dir.path().join("copy.db")).unwrap();
    assert!(dir.path().join("copy.db").exists());
    assert!(conn.execute_batch(&attach).is_err(), "ATTACH is off again after the copy");
}
