//! Tests of the store's public methods against real SQLite files.

use super::*;
use chrono::NaiveDate;

fn db() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::prepare(&dir.path().join("t.db"), Role::Flusher).unwrap();
    (dir, store)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn pending(key: &str, id: Option<i64>, hits: u64, on: &str) -> Pending {
    Pending { key: key.into(), hits, days: vec![Day { day: day(on), hits, uniques: 1 }], id, known: None }
}

fn flush_one(store: &mut Store, p: Pending) -> Written {
    store.flush(&mut vec![p], &mut i64::MAX.clone(), |_, _| 0).unwrap().0[0]
}

#[test]
fn a_flush_creates_then_increments_one_row() {
    let (_d, mut store) = db();
    for _ in 0..3 {
        flush_one(&mut store, pending("e.com/a", None, 2, "2026-01-01"));
    }
    assert_eq!(store.get("e.com/a").unwrap(), Some(6));
    assert_eq!(store.counter_rows().unwrap(), 1);
    assert_eq!(store.history("e.com/a", &[day("2026-01-01")]).unwrap(), vec![(day("2026-01-01"), 6, Some(3))]);
    assert_eq!(store.counts("e.com/a", day("2026-01-01")).unwrap().visitors, 3);
    assert_eq!(store.counts("e.com/a", day("2026-01-01")).unwrap().today, 6);
}

#[test]
fn a_known_id_updates_its_row_and_a_stale_one_falls_back_to_the_key() {
    let (_d, mut store) = db();
    let a = flush_one(&mut store, pending("e.com/a", None, 1, "2026-01-01"));
    let again = flush_one(&mut store, pending("e.com/a", Some(a.id), 1, "2026-01-01"));
    assert_eq!(again, Written { id: a.id, total: 2, newest_day: 2, visitors: 2 });
    // Deleting the newest row frees its id for the next new key.
    assert!(store.delete("e.com/a").unwrap());
    let b = flush_one(&mut store, pending("e.com/b", None, 1, "2026-01-01"));
    assert_eq!(b.id, a.id, "SQLite reuses the id");
    let a2 = flush_one(&mut store, pending("e.com/a", Some(a.id), 1, "2026-01-01"));
    assert_ne!(a2.id, b.id);
    assert_eq!((a2.total, store.get("e.com/b").unwrap()), (1, Some(1)));
}

#[test]
fn a_flush_hands_newer_admin_events_over_and_advances_only_on_commit() {
    let (_d, mut store) = db();
    store.set("e.com/a", 5).unwrap();
    let mut last = 0;
    let mut seen = Vec::new();
    let mut batch = vec![pending("e.com/a", None, 1, "2026-01-01"), pending("e.com/b", None, 1, "2026-01-01")];
    let (written, superseded) = store
        .flush(&mut batch, &mut last, |events, batch| {
            seen.extend(events.iter().map(|e| e.key.clone()));
            batch.retain(|p| &*p.key != "e.com/a");
            1
        })
        .unwrap();
    assert_eq!((seen, superseded, written.len()), (vec![Some("e.com/a".to_string())], 1, 1));
    assert_eq!((store.get("e.com/a").unwrap(), store.get("e.com/b").unwrap()), (Some(5), Some(1)));
    assert_eq!(last, store.last_event().unwrap());
}

#[test]
fn add_one_commits_and_reads_back_in_one_snapshot() {
    let (_d, mut store) = db();
    store.set("e.com/a", 10).unwrap();
    let s = store.add_one("e.com/a", day("2026-01-01"), true).unwrap();
    assert_eq!((s.total, s.today, s.visitors, s.event), (11, 1, 1, store.last_event().unwrap()));
    let s = store.add_one("e.com/a", day("2026-01-01"), false).unwrap();
    assert_eq!((s.total, s.visitors), (12, 1));
}

#[test]
fn admin_changes_leave_events() {
    let (_d, mut store) = db();
    store.set("e.com/a", 5).unwrap();
    assert!(store.delete("e.com/a").unwrap());
    assert!(!store.delete("e.com/a").unwrap());
    let events = store.events_since(0).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(store.last_event().unwrap(), events[1].id);
}

#[test]
fn top_domains_sums_paths() {
    let (_d, mut store) = db();
    let plain = |key: &str, count| Imported { key: key.into(), count, days: Vec::new() };
    store.import(&[plain("a.com/x", 3), plain("a.com/y", 4), plain("b.com", 5)]).unwrap();
    assert_eq!(store.top_domains(10).unwrap(), vec![("a.com".into(), 7), ("b.com".into(), 5)]);
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
    assert_eq!(version(&path), sqlite::schema::SCHEMA_VERSION);
}

#[test]
fn delete_removes_history_too() {
    let (_d, mut store) = db();
    flush_one(&mut store, pending("e.com/a", None, 1, "2026-01-01"));
    assert!(store.delete("e.com/a").unwrap());
    let rows: i64 = store.raw().query_row("SELECT COUNT(*) FROM daily", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(Store::prepare(&path, Role::Admin).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    assert!(Store::prepare(&path, Role::Admin).err().unwrap().contains("newer"));
    assert!(matches!(Store::open_read_only(&path), Err(OpenError::Other(e)) if e.contains("newer")));
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
