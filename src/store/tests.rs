//! The store contract's suite (`contract.rs`), written once and run on
//! both backends: `store::tests::sqlite::*` on files in a temporary
//! directory, `store::tests::postgres::*` on databases of a private
//! PostgreSQL cluster (`postgres/cluster.rs`; skipped with a message when
//! PostgreSQL is not installed, a failure under `CI`). Each test is a
//! function of the [`Place`] its databases live in. SQLite's own tests
//! are in `sqlite/tests.rs`.

use super::copy::Totals;
use super::*;
use chrono::NaiveDate;
use std::cell::Cell;
use std::collections::BTreeSet;

/// Where a test's databases live.
struct Place {
    kind: Kind,
    made: Cell<u32>,
}

enum Kind {
    Files(tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Cluster(std::sync::Arc<super::postgres::cluster::Cluster>),
}

/// One database of a test: how the program names it, and its name in
/// its place (a file's path, a PostgreSQL database's name).
struct Db {
    at: Database,
    name: String,
}

impl Place {
    fn files() -> Place {
        Place { kind: Kind::Files(tempfile::tempdir().unwrap()), made: Cell::new(0) }
    }

    #[cfg(feature = "postgres")]
    fn cluster() -> Option<Place> {
        Some(Place { kind: Kind::Cluster(super::postgres::cluster::shared()?), made: Cell::new(0) })
    }

    /// A new database, not made ready (no file, or an empty database).
    fn database(&self) -> Db {
        match &self.kind {
            Kind::Files(dir) => {
                self.made.set(self.made.get() + 1);
                let path = dir.path().join(format!("t{}.db", self.made.get()));
                Db { at: Database::File(path.clone()), name: path.display().to_string() }
            }
            #[cfg(feature = "postgres")]
            Kind::Cluster(cluster) => {
                let (name, url) = cluster.database();
                Db { at: Database::parse(&url, None).unwrap(), name }
            }
        }
    }

    /// A new database made ready, and the server's writer connection to it.
    fn store(&self) -> (Db, Store) {
        let db = self.database();
        let (store, _) = db.at.prepare(Role::Flusher, None, false).unwrap();
        (db, store)
    }

    /// Runs SQL on `db` behind the store's back: `sqlite` or `postgres`,
    /// whichever the place holds.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    fn behind(&self, db: &Db, sqlite: &str, postgres: &str) {
        match &self.kind {
            Kind::Files(_) => rusqlite::Connection::open(&db.name).unwrap().execute_batch(sqlite).unwrap(),
            #[cfg(feature = "postgres")]
            Kind::Cluster(cluster) => cluster.client(&db.name).unwrap().batch_execute(postgres).unwrap(),
        }
    }
}

/// `store::tests::sqlite::$test` and `store::tests::postgres::$test` for
/// each contract test function.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test(&super::Place::files());
            })*
        }

        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test]
            fn $test() {
                if let Some(place) = super::Place::cluster() {
                    super::$test(&place);
                }
            })*
        }
    };
}

on_both_backends!(
    a_flush_creates_then_increments_one_row,
    a_known_id_updates_its_row_and_a_stale_one_falls_back_to_the_key,
    a_flush_hands_newer_admin_events_over_first,
    reads_are_exact_after_a_flush_of_counters_the_caller_knows,
    add_one_commits_and_reads_back_in_one_snapshot,
    admin_changes_leave_events_in_order,
    set_keeps_history_and_delete_removes_it,
    top_domains_sums_paths,
    history_is_in_the_order_asked_and_leaves_out_days_without_hits,
    an_import_sets_days_and_moves_visitors_by_their_change,
    an_import_is_all_or_nothing,
    exports_list_every_counter_in_byte_order,
    other_writers_are_noticed,
    a_copy_keeps_every_count_and_day,
    a_newer_schema_is_refused,
    a_read_only_open_finds_no_database_until_one_is_made,
    a_merge_sums_totals_days_and_visitors_and_keeps_unrecorded_days_unrecorded,
    the_workers_connections_read_and_write_like_any_other,
);

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn pending(key: &str, id: Option<i64>, hits: u64, on: &str) -> Pending {
    Pending { key: key.into(), hits, days: vec![Day { day: day(on), hits, uniques: 1 }], id, known: None }
}

fn flush_one(store: &mut Store, p: Pending) -> Written {
    store.flush(&mut vec![p], &mut i64::MAX.clone(), |_, _| 0).unwrap().0[0]
}

/// What `export --history` gets: `(key, total, day)` rows.
fn exported(store: &Store) -> Vec<(String, u64, Option<DayRow>)> {
    let mut rows = Vec::new();
    store
        .each_with_days(|k, total, day| {
            rows.push((k.to_string(), total, day));
            Ok(())
        })
        .unwrap();
    rows
}

/// What `export` and the top list get: `(key, total)` rows.
fn by_count(store: &Store, limit: Option<u64>) -> Vec<(String, u64)> {
    let mut rows = Vec::new();
    store
        .each_by_count(limit, |k, n| {
            rows.push((k.to_string(), n));
            Ok(())
        })
        .unwrap();
    rows
}

fn a_flush_creates_then_increments_one_row(place: &Place) {
    let (_db, mut store) = place.store();
    for _ in 0..3 {
        flush_one(&mut store, pending("e.com/a", None, 2, "2026-01-01"));
    }
    assert_eq!(store.get("e.com/a").unwrap(), Some(6));
    assert_eq!(store.counter_rows().unwrap(), 1);
    assert_eq!(store.history("e.com/a", &[day("2026-01-01")]).unwrap(), vec![(day("2026-01-01"), 6, Some(3))]);
    assert_eq!(store.counts("e.com/a", day("2026-01-01")).unwrap().visitors, 3);
    assert_eq!(store.counts("e.com/a", day("2026-01-01")).unwrap().today, 6);
}

fn a_known_id_updates_its_row_and_a_stale_one_falls_back_to_the_key(place: &Place) {
    let (_db, mut store) = place.store();
    let a = flush_one(&mut store, pending("e.com/a", None, 1, "2026-01-01"));
    let again = flush_one(&mut store, pending("e.com/a", Some(a.id), 1, "2026-01-01"));
    assert_eq!(again, Written { id: a.id, total: 2, newest_day: 2, visitors: 2 });
    // SQLite gives the newest row's id, once deleted, to the next new key:
    // the stale id must not add to that key.
    assert!(store.delete("e.com/a").unwrap());
    let b = flush_one(&mut store, pending("e.com/b", None, 1, "2026-01-01"));
    let a2 = flush_one(&mut store, pending("e.com/a", Some(a.id), 1, "2026-01-01"));
    assert_ne!(a2.id, b.id);
    assert_eq!((a2.total, store.get("e.com/b").unwrap()), (1, Some(1)));
}

fn a_flush_hands_newer_admin_events_over_first(place: &Place) {
    let (_db, mut store) = place.store();
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
    let mut calls = 0;
    store
        .flush(&mut vec![pending("e.com/b", None, 1, "2026-01-01")], &mut last, |_, _| {
            calls += 1;
            0
        })
        .unwrap();
    assert_eq!((calls, last), (0, store.last_event().unwrap()), "nothing newer: not called, not moved");
}

/// Hits of a counter whose stored counts the caller knows, which SQLite
/// puts in its hit log: every read adds them, before and after upkeep.
fn reads_are_exact_after_a_flush_of_counters_the_caller_knows(place: &Place) {
    let (_db, mut store) = place.store();
    let days = [day("2026-11-24"), day("2026-11-25")];
    let first = Pending {
        key: "e.com/a".into(),
        hits: 3,
        days: vec![Day { day: days[0], hits: 3, uniques: 0 }],
        id: None,
        known: None,
    };
    let id = flush_one(&mut store, first).id;
    let more = vec![Day { day: days[0], hits: 1, uniques: 1 }, Day { day: days[1], hits: 2, uniques: 1 }];
    let known = Pending { key: "e.com/a".into(), hits: 3, days: more, id: Some(id), known: Some((3, 0, 0)) };
    assert_eq!(flush_one(&mut store, known), Written { id, total: 6, newest_day: 2, visitors: 2 });
    let check = |store: &Store| {
        assert_eq!(store.get("e.com/a").unwrap(), Some(6));
        assert_eq!(store.history("e.com/a", &days).unwrap(), vec![(days[0], 4, Some(1)), (days[1], 2, Some(1))]);
        let c = store.counts("e.com/a", days[1]).unwrap();
        assert_eq!((c.total, c.today, c.visitors), (6, 2, 2));
        assert_eq!(store.top_domains(5).unwrap(), vec![("e.com".to_string(), 6)]);
        let mut loaded = Vec::new();
        store
            .counters_after(0, days[0], 10, |i, k, total, on_day, v| loaded.push((i, k.to_string(), total, on_day, v)))
            .unwrap();
        assert_eq!(loaded, vec![(id, "e.com/a".to_string(), 6, 4, 2)]);
        let row = |day, hits| Some(DayRow { day, hits, uniques: Some(1) });
        let want = vec![("e.com/a".into(), 6, row(days[0], 4)), ("e.com/a".into(), 6, row(days[1], 2))];
        assert_eq!(exported(store), want);
        assert_eq!(by_count(store, None), vec![("e.com/a".to_string(), 6)]);
    };
    check(&store);
    let mut steps = 0;
    while !store.fold_step().unwrap() {
        steps += 1;
        assert!(steps < 10, "a round over one counter ends");
    }
    store.fold().unwrap();
    store.checkpoint().unwrap();
    store.checkpoint_truncate().unwrap();
    check(&store);
}

fn add_one_commits_and_reads_back_in_one_snapshot(place: &Place) {
    let (_db, mut store) = place.store();
    store.set("e.com/a", 10).unwrap();
    let s = store.add_one("e.com/a", day("2026-01-01"), true).unwrap();
    assert_eq!((s.total, s.today, s.visitors, s.event), (11, 1, 1, store.last_event().unwrap()));
    let s = store.add_one("e.com/a", day("2026-01-01"), false).unwrap();
    assert_eq!((s.total, s.today, s.visitors), (12, 2, 1));
    assert_eq!(store.history("e.com/a", &[day("2026-01-01")]).unwrap(), vec![(day("2026-01-01"), 2, Some(1))]);
}

fn admin_changes_leave_events_in_order(place: &Place) {
    let (_db, mut store) = place.store();
    assert_eq!(store.last_event().unwrap(), 0);
    store.set("e.com/a", 5).unwrap();
    assert!(store.delete("e.com/a").unwrap());
    assert!(!store.delete("e.com/a").unwrap(), "no counter, no event");
    store.set("e.com/b", 1).unwrap();
    let events = store.events_since(0).unwrap();
    let keys: Vec<_> = events.iter().map(|e| e.key.as_deref()).collect();
    assert_eq!(keys, [Some("e.com/a"), Some("e.com/a"), Some("e.com/b")]);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(store.last_event().unwrap(), events[2].id);
    assert_eq!(store.events_since(events[0].id).unwrap(), events[1..]);
}

fn set_keeps_history_and_delete_removes_it(place: &Place) {
    let (_db, mut store) = place.store();
    let days = [day("2026-01-01"), day("2026-01-02")];
    flush_one(&mut store, pending("e.com/a", None, 2, "2026-01-01"));
    store.set("e.com/a", 100).unwrap();
    assert_eq!(store.get("e.com/a").unwrap(), Some(100));
    assert_eq!(store.history("e.com/a", &days).unwrap(), vec![(days[0], 2, Some(1))]);
    assert!(store.delete("e.com/a").unwrap());
    assert_eq!((store.get("e.com/a").unwrap(), store.counter_rows().unwrap()), (None, 0));
    assert!(store.history("e.com/a", &days).unwrap().is_empty());
    flush_one(&mut store, pending("e.com/a", None, 1, "2026-01-02"));
    assert_eq!(store.history("e.com/a", &days).unwrap(), vec![(days[1], 1, Some(1))], "a new counter, a new history");
}

fn top_domains_sums_paths(place: &Place) {
    let (_db, mut store) = place.store();
    let plain = |key: &str, count| Imported { key: key.into(), count, days: Vec::new() };
    store.import(&[plain("a.com/x", 3), plain("a.com/y", 4), plain("b.com", 5), plain("c.com/z", 1)]).unwrap();
    assert_eq!(store.top_domains(2).unwrap(), vec![("a.com".into(), 7), ("b.com".into(), 5)]);
}

fn history_is_in_the_order_asked_and_leaves_out_days_without_hits(place: &Place) {
    let (_db, mut store) = place.store();
    let d = [day("2026-01-01"), day("2026-01-02"), day("2026-01-03")];
    let days = vec![DayRow { day: d[0], hits: 2, uniques: None }, DayRow { day: d[2], hits: 3, uniques: Some(1) }];
    store.import(&[Imported { key: "e.com/a".into(), count: 9, days }]).unwrap();
    // Visitors of a day from before they were counted: unknown, not zero.
    assert_eq!(store.history("e.com/a", &[d[2], d[1], d[0]]).unwrap(), vec![(d[2], 3, Some(1)), (d[0], 2, None)]);
    assert!(store.history("e.com/none", &d).unwrap().is_empty());
    assert_eq!(store.get("e.com/none").unwrap(), None);
    let event = store.last_event().unwrap();
    assert_eq!(store.counts("e.com/none", d[0]).unwrap(), Stored { total: 0, today: 0, visitors: 0, event });
}

fn an_import_sets_days_and_moves_visitors_by_their_change(place: &Place) {
    let (_db, mut store) = place.store();
    let d = [day("2026-01-01"), day("2026-01-02")];
    flush_one(&mut store, pending("e.com/a", None, 2, "2026-01-01"));
    let before = store.last_event().unwrap();
    let days = vec![DayRow { day: d[0], hits: 5, uniques: Some(3) }, DayRow { day: d[1], hits: 1, uniques: None }];
    store
        .import(&[
            Imported { key: "e.com/a".into(), count: 1, days: Vec::new() },
            Imported { key: "e.com/a".into(), count: 10, days },
            Imported { key: "e.com/b".into(), count: 4, days: Vec::new() },
        ])
        .unwrap();
    assert_eq!(
        (store.get("e.com/a").unwrap(), store.get("e.com/b").unwrap()),
        (Some(10), Some(4)),
        "the last row wins"
    );
    assert_eq!(store.history("e.com/a", &d).unwrap(), vec![(d[0], 5, Some(3)), (d[1], 1, None)]);
    assert_eq!(store.counts("e.com/a", d[0]).unwrap().visitors, 3, "1 visitor, then 2 more on the day replaced");
    let changed: BTreeSet<_> = store.events_since(before).unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(changed, BTreeSet::from([Some("e.com/a".to_string()), Some("e.com/b".to_string())]));
}

/// A statement failing half-way (a trigger refusing one key) undoes the
/// rows before it.
fn an_import_is_all_or_nothing(place: &Place) {
    let (db, mut store) = place.store();
    place.behind(
        &db,
        "CREATE TRIGGER refuse BEFORE INSERT ON counters WHEN NEW.key = 'e.com/bad'
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.key = 'e.com/bad' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON counters FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    store.set("e.com/a", 5).unwrap();
    let event = store.last_event().unwrap();
    let days = vec![DayRow { day: day("2026-01-01"), hits: 5, uniques: Some(1) }];
    let rows = [
        Imported { key: "e.com/a".into(), count: 10, days },
        Imported { key: "e.com/b".into(), count: 3, days: Vec::new() },
        Imported { key: "e.com/bad".into(), count: 1, days: Vec::new() },
    ];
    let e = store.import(&rows).unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    assert_eq!((store.get("e.com/a").unwrap(), store.get("e.com/b").unwrap()), (Some(5), None));
    assert!(store.history("e.com/a", &[day("2026-01-01")]).unwrap().is_empty());
    assert_eq!((store.last_event().unwrap(), store.counter_rows().unwrap()), (event, 1));
}

fn exports_list_every_counter_in_byte_order(place: &Place) {
    let (_db, mut store) = place.store();
    let d = [day("2026-01-01"), day("2026-01-02")];
    let days = vec![DayRow { day: d[1], hits: 4, uniques: None }, DayRow { day: d[0], hits: 3, uniques: Some(2) }];
    store
        .import(&[
            Imported { key: "e.com/\u{e4}".into(), count: 1, days: Vec::new() },
            Imported { key: "e.com/B".into(), count: 7, days },
            Imported { key: "e.com/a".into(), count: 7, days: Vec::new() },
        ])
        .unwrap();
    let row = |day, hits, uniques| Some(DayRow { day, hits, uniques });
    let want = vec![
        ("e.com/B".to_string(), 7, row(d[0], 3, Some(2))),
        ("e.com/B".to_string(), 7, row(d[1], 4, None)),
        ("e.com/a".to_string(), 7, None),
        ("e.com/\u{e4}".to_string(), 1, None),
    ];
    assert_eq!(exported(&store), want);
    let all = vec![("e.com/B".to_string(), 7), ("e.com/a".to_string(), 7), ("e.com/\u{e4}".to_string(), 1)];
    assert_eq!(by_count(&store, None), all);
    assert_eq!(by_count(&store, Some(1)), all[..1]);
    let mut calls = 0;
    let e = store
        .each_by_count(None, |_, _| {
            calls += 1;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
    assert_eq!((e.contains("disk full"), calls), (true, 1), "{e}");
}

/// A second connection to the same database plays another instance.
fn other_writers_are_noticed(place: &Place) {
    let (db, mut store) = place.store();
    let mut other = db.at.open(Role::Flusher).unwrap();
    let today = day("2026-01-01");
    let version = store.data_version().unwrap();
    flush_one(&mut store, pending("e.com/mine", None, 1, "2026-01-01"));
    assert_eq!(store.data_version().unwrap(), version, "our own commits leave it alone");
    let mark = store.change_mark().unwrap();
    let theirs = flush_one(&mut other, pending("e.com/theirs", None, 2, "2026-01-01"));
    assert_ne!(store.data_version().unwrap(), version, "another connection's commit changes it");
    let changed_since = |store: &mut Store, mark| {
        let mut seen = Vec::new();
        let new_mark = store
            .snapshot(|s| s.changed_since(mark, today, |id, k, t, h, v| seen.push((id, k.to_string(), t, h, v))))
            .unwrap();
        (new_mark, seen)
    };
    let Some(mark) = mark else {
        assert_eq!(changed_since(&mut store, 0), (None, vec![]), "no record: no mark either");
        return;
    };
    let (new_mark, seen) = changed_since(&mut store, mark);
    assert_eq!(seen, vec![(theirs.id, "e.com/theirs".to_string(), 2, 2, 1)]);
    let new_mark = new_mark.expect("a backend with a mark keeps one");
    assert!(new_mark > mark);
    assert_eq!(changed_since(&mut store, new_mark), (Some(new_mark), vec![]), "nothing new since");
}

/// The server's request workers: many handles, on PostgreSQL sharing a
/// pool smaller than their number (one connection here).
fn the_workers_connections_read_and_write_like_any_other(place: &Place) {
    let (db, mut store) = place.store();
    let mut workers = db.at.open_workers(3, 1).unwrap();
    flush_one(&mut store, pending("e.com/a", None, 2, "2026-01-01"));
    for w in &mut workers {
        let (stored, rows) = w.snapshot(|s| Ok((s.counts("e.com/a", day("2026-01-01"))?, s.counter_rows()?))).unwrap();
        assert_eq!((stored.total, stored.today, rows), (2, 2, 1));
    }
    let one = workers[0].add_one("e.com/a", day("2026-01-01"), true).unwrap();
    assert_eq!(one.total, 3);
    assert_eq!(workers[1].get("e.com/a").unwrap(), Some(3), "another worker sees it");
    assert_eq!(store.get("e.com/a").unwrap(), Some(3));
}

fn a_copy_keeps_every_count_and_day(place: &Place) {
    let (_db, mut from) = place.store();
    let days =
        vec![Day { day: day("2026-01-01"), hits: 2, uniques: 1 }, Day { day: day("2026-01-02"), hits: 3, uniques: 0 }];
    let mut batch = vec![Pending { key: "e.com/a".into(), hits: 5, days, id: None, known: None }];
    from.flush(&mut batch, &mut 0, |_, _| 0).unwrap();
    from.set("e.com/b", 7).unwrap();
    let rows = from.dump().unwrap();
    assert_eq!(Totals::of(&rows), Totals { counters: 2, hits: 12, day_rows: 2, day_hits: 5 });
    // Into a SQLite file, and from there into a new database of this backend.
    let dir = tempfile::tempdir().unwrap();
    let (mut file, _) = Store::prepare(&dir.path().join("copy.db"), Role::Admin).unwrap();
    file.load(&rows, &mut |_| {}).unwrap();
    assert_eq!(file.dump().unwrap(), rows);
    let (_db, mut to) = place.store();
    let mut written = 0;
    to.load(&rows, &mut |n| written += n).unwrap();
    assert_eq!(written, 2, "every counter reported as written");
    assert_eq!(to.dump().unwrap(), rows);
    assert_eq!(to.history("e.com/a", &[day("2026-01-02")]).unwrap(), vec![(day("2026-01-02"), 3, Some(0))]);
    assert_eq!(to.events_since(0).unwrap().last().map(|e| e.key.clone()), Some(None), "every counter changed");
    // A backup: a checked SQLite file, never written over an existing one.
    let dest = dir.path().join("snapshot.db");
    assert_eq!(from.snapshot_to(&dest).unwrap(), Snapshot::Ours { counters: 2 });
    assert!(from.snapshot_to(&dest).is_err());
    assert_eq!(Store::open_read_only(&dest).unwrap().dump().unwrap(), rows);
}

fn a_newer_schema_is_refused(place: &Place) {
    let (db, store) = place.store();
    drop(store);
    place.behind(&db, "PRAGMA user_version = 99", "UPDATE schema_version SET version = 99");
    let e = db.at.prepare(Role::Admin, None, false).err().unwrap();
    assert!(e.contains("newer"), "{e}");
    assert!(matches!(db.at.open_read_only(), Err(OpenError::Other(e)) if e.contains("newer")));
}

fn a_read_only_open_finds_no_database_until_one_is_made(place: &Place) {
    let db = place.database();
    assert!(matches!(db.at.open_read_only(), Err(OpenError::Missing)));
    let (mut store, _) = db.at.prepare(Role::Admin, None, false).unwrap();
    store.set("e.com/a", 3).unwrap();
    drop(store);
    let reader = db.at.open_read_only().unwrap();
    assert_eq!((reader.get("e.com/a").unwrap(), reader.counter_rows().unwrap()), (Some(3), 1));
}

fn a_merge_sums_totals_days_and_visitors_and_keeps_unrecorded_days_unrecorded(place: &Place) {
    let (db, mut store) = place.store();
    flush_one(&mut store, pending("a/x", None, 2, "2026-01-01"));
    flush_one(&mut store, pending("a/x", None, 1, "2026-01-02"));
    flush_one(&mut store, pending("b/x", None, 3, "2026-01-02"));
    flush_one(&mut store, pending("b/x", None, 5, "2026-01-03"));
    store.fold().unwrap();
    let unrecorded = "UPDATE daily SET uniques = NULL WHERE day = '2026-01-01'";
    place.behind(&db, unrecorded, unrecorded);
    let before = store.last_event().unwrap();
    assert_eq!(store.merge("a/x", "b/x").unwrap(), Some(true));
    let keys: Vec<_> = store.events_since(before).unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(keys, [Some("a/x".to_string()), Some("b/x".to_string())], "an event for each key");
    assert_eq!(store.merge("a/x", "b/x").unwrap(), None, "a second merge finds nothing");
    assert_eq!(store.events_since(before).unwrap().len(), 2, "and records no event");
    let days = [day("2026-01-01"), day("2026-01-02"), day("2026-01-03")];
    assert_eq!(store.get("a/x").unwrap(), None);
    assert_eq!(store.counts("b/x", days[2]).unwrap().total, 11);
    assert_eq!(
        store.history("b/x", &days).unwrap(),
        vec![(days[0], 2, None), (days[1], 4, Some(2)), (days[2], 5, Some(1))]
    );
    assert_eq!(store.merge("b/x", "c/x").unwrap(), Some(false), "into no counter: a rename");
    assert_eq!(store.get("c/x").unwrap(), Some(11));
}
