//! Unit tests of the counting table against a real SQLite file.
use super::*;
use crate::store::{Imported, Role};
use std::sync::Arc;

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::prepare(&dir.path().join("t.db"), Role::Flusher).unwrap();
    (dir, store)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

#[test]
fn totals_are_exact_before_and_after_flush() {
    let (_d, mut store) = setup();
    store.set("e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = store.last_event().unwrap();
    assert_eq!(
        c.hit("e.com/a", day(), false, &mut store).unwrap(),
        Hit::Counted(Counts { total: 11, today: 1, visitors: 0 })
    );
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap().total, 11);
    assert_eq!(store.get("e.com/a").unwrap(), Some(10));
    let f = c.flush(&mut store, &mut last).unwrap();
    assert_eq!((f.hits, f.keys), (1, 1));
    assert_eq!(store.get("e.com/a").unwrap(), Some(11));
    assert_eq!(
        c.hit("e.com/a", day(), false, &mut store).unwrap(),
        Hit::Counted(Counts { total: 12, today: 2, visitors: 0 })
    );
    assert_eq!(c.pending_hits(), 1);
}

#[test]
fn admin_change_supersedes_pending_hits() {
    let (_d, mut store) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    for _ in 0..3 {
        c.hit("e.com/a", day(), false, &mut store).unwrap();
    }
    store.set("e.com/a", 100).unwrap();
    let f = c.flush(&mut store, &mut last).unwrap();
    assert_eq!(f.superseded, 3);
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap().total, 100);
    assert_eq!(
        c.hit("e.com/a", day(), false, &mut store).unwrap(),
        Hit::Counted(Counts { total: 101, today: 1, visitors: 0 })
    );
    assert_eq!(c.pending_hits(), 1);
}

#[test]
fn failed_flush_keeps_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (mut store, _) = Store::prepare(&path, Role::Flusher).unwrap();
    store.raw().busy_timeout(std::time::Duration::from_millis(10)).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert!(c.flush(&mut store, &mut last).is_err());
    assert_eq!(c.pending_hits(), 1);
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(c.flush(&mut store, &mut last).unwrap().hits, 2);
    assert_eq!(store.get("e.com/a").unwrap(), Some(2));
    assert_eq!(store.counts("e.com/a", day()).unwrap().today, 2);
}

#[test]
fn full_table_answers_without_counting_new_keys() {
    let (_d, mut store) = setup();
    let c = Counter::new(1, 100, false);
    assert_eq!(c.hit("a", day(), false, &mut store).unwrap(), Hit::Counted(Counts { total: 1, today: 1, visitors: 0 }));
    assert_eq!(c.hit("a", day(), false, &mut store).unwrap(), Hit::Counted(Counts { total: 2, today: 2, visitors: 0 }));
    assert_eq!(c.hit("b", day(), false, &mut store).unwrap(), Hit::Overflow(Counts::default()));
    assert_eq!(c.take_overflow(), 1);
}

#[test]
fn write_through_commits_each_hit() {
    let (_d, mut store) = setup();
    let c = Counter::new(100, 100, true);
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    assert_eq!(store.get("e.com/a").unwrap(), Some(1));
    assert_eq!(c.pending_hits(), 0);
}

#[test]
fn concurrent_hits_are_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    Store::prepare(&path, Role::Admin).unwrap();
    let c = Arc::new(Counter::new(1000, 1000, false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (c, path) = (c.clone(), path.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&path, Role::Worker).unwrap();
                for _ in 0..500 {
                    c.hit("e.com/x", day(), false, &mut store).unwrap();
                }
            })
        })
        .collect();
    let mut store = Store::open(&path, Role::Flusher).unwrap();
    let mut last = 0;
    for _ in 0..5 {
        c.flush(&mut store, &mut last).unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    c.flush(&mut store, &mut last).unwrap();
    assert_eq!(store.get("e.com/x").unwrap(), Some(4000));
}

#[test]
fn hits_counted_after_an_admin_change_survive_it() {
    let (_d, mut store) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    store.set("e.com/a", 1201).unwrap();
    // The entry is loaded after the set: its total already includes it.
    for _ in 0..3 {
        c.hit("e.com/a", day(), false, &mut store).unwrap();
    }
    assert_eq!(c.apply_admin_events(&store, &mut last).unwrap(), 0);
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap(), Counts { total: 1204, today: 3, visitors: 0 });
    assert_eq!(c.flush(&mut store, &mut last).unwrap().hits, 3);
    assert_eq!(store.get("e.com/a").unwrap(), Some(1204));
}

fn load_all(c: &Counter, store: &mut Store, last: &mut i64) {
    while c.table_loading() {
        c.load_table(store, last, day(), 2).unwrap();
    }
}

#[test]
fn a_loaded_table_answers_without_the_database() {
    let (_d, mut store) = setup();
    for (k, n) in [("e.com/a", 10), ("e.com/b", 20), ("e.com/c", 30)] {
        store.set(k, n).unwrap();
    }
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut store, &mut last);
    assert_eq!(c.table_counters(), 3);
    // Behind the table's back (no admin event): the table still answers.
    store.raw().execute("DELETE FROM counters", []).unwrap();
    assert_eq!(c.peek("e.com/b", day(), &store).unwrap().total, 20);
    assert_eq!(c.peek("e.com/new", day(), &store).unwrap().total, 0);
    assert_eq!(
        c.hit("e.com/c", day(), false, &mut store).unwrap(),
        Hit::Counted(Counts { total: 31, today: 1, visitors: 0 })
    );
    // What the flusher does when another process wrote: reload.
    c.reload_table();
    assert_eq!(c.peek("e.com/b", day(), &store).unwrap().total, 0);
    load_all(&c, &mut store, &mut last);
    assert_eq!(c.table_counters(), 0);
}

#[test]
fn hits_of_other_processes_show_after_the_reload_and_logged_hits_fold_exactly() {
    let (_d, mut store) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut store, &mut last);
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    // A new counter: written to its row, and what it holds is read back.
    assert_eq!(c.flush(&mut store, &mut last).unwrap().logged, 0);
    // A CGI process counts 5 more.
    store.raw().execute("UPDATE counters SET count = count + 5 WHERE key = 'e.com/a'", []).unwrap();
    assert_eq!(c.hit("e.com/a", day(), false, &mut store).unwrap().counts().total, 2, "from memory, not yet current");
    // The table knows it now: its hit goes to the log.
    assert_eq!(c.flush(&mut store, &mut last).unwrap().logged, 1);
    assert_eq!(store.get("e.com/a").unwrap(), Some(7), "reads add the logged hit");
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap(), Counts { total: 2, today: 2, visitors: 0 });
    // What the flusher does on another process's commit: fold, reload.
    store.fold().unwrap();
    c.reload_table();
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap(), Counts { total: 7, today: 2, visitors: 0 });
    load_all(&c, &mut store, &mut last);
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap(), Counts { total: 7, today: 2, visitors: 0 });
    assert_eq!(store.history("e.com/a", &[day()]).unwrap()[0].1, 2);
}

#[test]
fn nothing_is_logged_while_the_table_loads() {
    let (_d, mut store) = setup();
    store.set("e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    assert_eq!(c.flush(&mut store, &mut last).unwrap().logged, 0);
    c.hit("e.com/a", day(), false, &mut store).unwrap();
    assert_eq!(c.flush(&mut store, &mut last).unwrap().logged, 0, "the table is not complete");
    load_all(&c, &mut store, &mut last);
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap().total, 12);
}

#[test]
fn admin_changes_reach_the_table_and_entries_made_from_it() {
    let (_d, mut store) = setup();
    store.set("e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut store, &mut last);
    // Counted on the old value from the table, then an admin sets 20.
    assert_eq!(c.hit("e.com/a", day(), false, &mut store).unwrap().counts().total, 11);
    store.set("e.com/a", 20).unwrap();
    assert_eq!(c.apply_admin_events(&store, &mut last).unwrap(), 1, "the hit on the old value is superseded");
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap().total, 20);
    // Counted on the new value: kept through the flush.
    assert_eq!(c.hit("e.com/a", day(), false, &mut store).unwrap().counts().total, 21);
    let f = c.flush(&mut store, &mut last).unwrap();
    assert_eq!((f.hits, f.superseded), (1, 0));
    assert_eq!(store.get("e.com/a").unwrap(), Some(21));
    assert_eq!(c.peek("e.com/a", day(), &store).unwrap().total, 21);
    // An import of many keys is one event for all: the table loads again.
    let rows: Vec<_> =
        (0..10_001).map(|i| Imported { key: format!("e.com/{i}"), count: 1, days: Vec::new() }).collect();
    store.import(&rows).unwrap();
    c.apply_admin_events(&store, &mut last).unwrap();
    assert!(c.table_loading());
    assert_eq!(c.peek("e.com/7", day(), &store).unwrap().total, 1);
    load_all(&c, &mut store, &mut last);
    assert_eq!(c.table_counters(), 10_002);
}

#[test]
fn one_write_takes_a_bounded_share_of_long_keys_and_the_next_the_rest() {
    let (_d, mut store) = setup();
    let c = Counter::new(10_000, 0, false);
    let mut last = store.last_event().unwrap();
    let long = "x".repeat(2000);
    let keys: Vec<String> = (0..3000).map(|i| format!("e.com/{i}/{long}")).collect();
    for k in &keys {
        c.hit(k, day(), false, &mut store).unwrap();
    }
    let first = c.flush(&mut store, &mut last).unwrap();
    assert!(first.more && first.keys < keys.len(), "{} keys in the first write", first.keys);
    let mut written = first.keys;
    // Each write takes its share: a handful of writes, not one per key.
    for _ in 0..keys.len() / first.keys {
        let next = c.flush(&mut store, &mut last).unwrap();
        written += next.keys;
        if !next.more {
            break;
        }
    }
    assert_eq!((written, c.pending_hits()), (keys.len(), 0));
    assert!(keys.iter().all(|k| store.get(k).unwrap() == Some(1)));
}

fn epoch(c: &Counter, key: &str) -> u64 {
    lock(c.shard(key)).epoch
}

/// A count read with the shard unlocked is trusted only while the epoch
/// stands still: an admin event on a key with no entry must move it (the
/// read may predate the event), and so must evicting entries.
#[test]
fn admin_events_and_evictions_move_the_shards_epoch() {
    let (_d, mut store) = setup();
    let c = Counter::new(100, 0, false);
    let mut last = store.last_event().unwrap();
    let before = epoch(&c, "e.com/a");
    store.set("e.com/a", 10).unwrap();
    c.apply_admin_events(&store, &mut last).unwrap();
    assert!(epoch(&c, "e.com/a") > before, "an event on a key without an entry");
    c.hit("e.com/b", day(), false, &mut store).unwrap();
    let before = epoch(&c, "e.com/b");
    c.flush(&mut store, &mut last).unwrap();
    assert!(epoch(&c, "e.com/b") > before, "the flushed entry was evicted");
    assert_eq!(c.hit("e.com/a", day(), false, &mut store).unwrap().counts().total, 11);
}

#[test]
fn one_write_takes_a_bounded_number_of_new_counters_and_pending_counts_the_rest() {
    let (_d, mut store) = setup();
    let c = Counter::new(100_000, 0, false);
    let mut last = store.last_event().unwrap();
    let new = crate::limits::FLUSH_NEW_COUNTERS;
    for i in 0..new + 10 {
        c.hit(&format!("e.com/{i}"), day(), false, &mut store).unwrap();
    }
    let first = c.flush(&mut store, &mut last).unwrap();
    assert_eq!((first.keys, first.more), (new, true));
    assert_eq!(c.pending_hits(), 10, "the rest is still pending");
    let second = c.flush(&mut store, &mut last).unwrap();
    assert_eq!((second.keys, second.more, c.pending_hits()), (10, false, 0));
    // Counters whose row the table knows are not bounded: one write.
    load_all(&c, &mut store, &mut last);
    for i in 0..new + 10 {
        c.hit(&format!("e.com/{i}"), day(), false, &mut store).unwrap();
    }
    let known = c.flush(&mut store, &mut last).unwrap();
    assert_eq!((known.keys, known.more, c.pending_hits()), (new + 10, false, 0));
    assert_eq!(store.get("e.com/0").unwrap(), Some(2));
}

/// The hits of a write count in `pending_hits` until it commits: while it
/// waits for the database, after it failed (and again once it is retried),
/// and not at all once committed.
#[test]
fn pending_hits_count_a_write_in_progress_or_failed_until_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (mut store, _) = Store::prepare(&path, Role::Flusher).unwrap();
    let c = Arc::new(Counter::new(100, 100, false));
    for key in ["e.com/a", "e.com/b", "e.com/a"] {
        c.hit(key, day(), false, &mut store).unwrap();
    }
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Failed: the lock is not given up within the busy timeout.
    store.raw().busy_timeout(std::time::Duration::from_millis(10)).unwrap();
    let mut last = 0;
    assert!(c.flush(&mut store, &mut last).is_err());
    assert_eq!(c.pending_hits(), 3);
    // In progress: the write waits for the lock while hits go on.
    store.raw().busy_timeout(std::time::Duration::from_secs(60)).unwrap();
    let writer = {
        let c = c.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            let flushed = c.flush(&mut store, &mut last).map(|f| f.hits);
            (flushed, store)
        })
    };
    // The write has taken the hits once no entry holds any.
    let held = |key: &str| lock(c.shard(key)).map.get(key).is_some_and(|e| e.pending > 0);
    while held("e.com/a") || held("e.com/b") {
        std::thread::yield_now();
    }
    assert_eq!(c.pending_hits(), 3, "the batch being written is pending");
    let mut mine = Store::open(&path, Role::Worker).unwrap();
    c.hit("e.com/b", day(), false, &mut mine).unwrap();
    assert_eq!(c.pending_hits(), 4);
    other.execute_batch("COMMIT").unwrap();
    let (flushed, mut store) = writer.join().unwrap();
    assert_eq!(flushed.unwrap(), 3);
    assert_eq!(c.pending_hits(), 1, "committed hits are no longer pending, the new one is");
    assert_eq!(c.flush(&mut store, &mut 0).unwrap().hits, 1);
    assert_eq!((c.pending_hits(), store.get("e.com/a").unwrap(), store.get("e.com/b").unwrap()), (0, Some(2), Some(2)));
}

/// A burst of entries (the read cache while the table loads, a flood of
/// new URLs) gives its memory back once they are written and evicted.
#[test]
fn evicted_entries_give_their_room_back() {
    let (_d, mut store) = setup();
    let c = Counter::new(100_000, 0, false);
    let mut last = store.last_event().unwrap();
    for i in 0..20_000 {
        c.hit(&format!("e.com/{i}"), day(), false, &mut store).unwrap();
    }
    let room = || c.shards.iter().map(|s| lock(s).map.capacity()).sum::<usize>();
    assert!(room() >= 20_000);
    while c.flush(&mut store, &mut last).unwrap().more {}
    c.drop_clean();
    assert!(room() <= 64 * 8, "{} entries of room left", room());
}
