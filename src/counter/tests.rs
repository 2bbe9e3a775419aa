//! Unit tests of the counting table against a real SQLite file.
use super::*;
use std::sync::Arc;

fn setup() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let (conn, _) = store::prepare(&dir.path().join("t.db")).unwrap();
    (dir, conn)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

#[test]
fn totals_are_exact_before_and_after_flush() {
    let (_d, mut conn) = setup();
    store::set(&mut conn, "e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = store::last_event(&conn).unwrap();
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 11, today: 1 }));
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 11);
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(10));
    let f = c.flush(&mut conn, &mut last).unwrap();
    assert_eq!((f.hits, f.keys), (1, 1));
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(11));
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 12, today: 2 }));
    assert_eq!(c.pending_hits(), 1);
}

#[test]
fn admin_change_supersedes_pending_hits() {
    let (_d, mut conn) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    for _ in 0..3 {
        c.hit("e.com/a", day(), &mut conn).unwrap();
    }
    store::set(&mut conn, "e.com/a", 100).unwrap();
    let f = c.flush(&mut conn, &mut last).unwrap();
    assert_eq!(f.superseded, 3);
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 100);
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 101, today: 1 }));
    assert_eq!(c.pending_hits(), 1);
}

#[test]
fn failed_flush_keeps_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let (mut conn, _) = store::prepare(&path).unwrap();
    conn.busy_timeout(std::time::Duration::from_millis(10)).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    c.hit("e.com/a", day(), &mut conn).unwrap();
    let mut other = store::open(&path).unwrap();
    let blocker = store::write_tx(&mut other).unwrap();
    assert!(c.flush(&mut conn, &mut last).is_err());
    assert_eq!(c.pending_hits(), 1);
    c.hit("e.com/a", day(), &mut conn).unwrap();
    drop(blocker);
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().hits, 2);
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(2));
    assert_eq!(store::counts(&conn, "e.com/a", &store::day_text(day())).unwrap().today, 2);
}

#[test]
fn full_table_answers_without_counting_new_keys() {
    let (_d, mut conn) = setup();
    let c = Counter::new(1, 100, false);
    assert_eq!(c.hit("a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 1, today: 1 }));
    assert_eq!(c.hit("a", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 2, today: 2 }));
    assert_eq!(c.hit("b", day(), &mut conn).unwrap(), Hit::Overflow(Counts::default()));
    assert_eq!(c.take_overflow(), 1);
}

#[test]
fn write_through_commits_each_hit() {
    let (_d, mut conn) = setup();
    let c = Counter::new(100, 100, true);
    c.hit("e.com/a", day(), &mut conn).unwrap();
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(1));
    assert_eq!(c.pending_hits(), 0);
}

#[test]
fn concurrent_hits_are_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    store::prepare(&path).unwrap();
    let c = Arc::new(Counter::new(1000, 1000, false));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (c, path) = (c.clone(), path.clone());
            std::thread::spawn(move || {
                let mut conn = store::open(&path).unwrap();
                for _ in 0..500 {
                    c.hit("e.com/x", day(), &mut conn).unwrap();
                }
            })
        })
        .collect();
    let mut conn = store::open(&path).unwrap();
    let mut last = 0;
    for _ in 0..5 {
        c.flush(&mut conn, &mut last).unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    c.flush(&mut conn, &mut last).unwrap();
    assert_eq!(store::get(&conn, "e.com/x").unwrap(), Some(4000));
}

#[test]
fn hits_counted_after_an_admin_change_survive_it() {
    let (_d, mut conn) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    store::set(&mut conn, "e.com/a", 1201).unwrap();
    // The entry is loaded after the set: its total already includes it.
    for _ in 0..3 {
        c.hit("e.com/a", day(), &mut conn).unwrap();
    }
    assert_eq!(c.apply_admin_events(&conn, &mut last).unwrap(), 0);
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap(), Counts { total: 1204, today: 3 });
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().hits, 3);
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(1204));
}

fn load_all(c: &Counter, conn: &mut Connection, last: &mut i64) {
    while c.table_loading() {
        c.load_table(conn, last, day(), 2).unwrap();
    }
}

#[test]
fn a_loaded_table_answers_without_the_database() {
    let (_d, mut conn) = setup();
    for (k, n) in [("e.com/a", 10), ("e.com/b", 20), ("e.com/c", 30)] {
        store::set(&mut conn, k, n).unwrap();
    }
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut conn, &mut last);
    assert_eq!(c.table_counters(), 3);
    // Behind the table's back (no admin event): the table still answers.
    conn.execute("DELETE FROM counters", []).unwrap();
    assert_eq!(c.peek("e.com/b", day(), &conn).unwrap().total, 20);
    assert_eq!(c.peek("e.com/new", day(), &conn).unwrap().total, 0);
    assert_eq!(c.hit("e.com/c", day(), &mut conn).unwrap(), Hit::Counted(Counts { total: 31, today: 1 }));
    // What the flusher does when another process wrote: reload.
    c.reload_table();
    assert_eq!(c.peek("e.com/b", day(), &conn).unwrap().total, 0);
    load_all(&c, &mut conn, &mut last);
    assert_eq!(c.table_counters(), 0);
}

#[test]
fn hits_of_other_processes_show_after_the_reload_and_logged_hits_fold_exactly() {
    let (_d, mut conn) = setup();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut conn, &mut last);
    c.hit("e.com/a", day(), &mut conn).unwrap();
    // A new counter: written to its row, and what it holds is read back.
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().logged, 0);
    // A CGI process counts 5 more.
    conn.execute("UPDATE counters SET count = count + 5 WHERE key = 'e.com/a'", []).unwrap();
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap().counts().total, 2, "from memory, not yet current");
    // The table knows it now: its hit goes to the log.
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().logged, 1);
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(6), "the logged hit is not in the row yet");
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap(), Counts { total: 2, today: 2 });
    // What the flusher does on another process's commit: fold, reload.
    store::fold_log(&mut conn).unwrap();
    c.reload_table();
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap(), Counts { total: 7, today: 2 });
    load_all(&c, &mut conn, &mut last);
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap(), Counts { total: 7, today: 2 });
    assert_eq!(store::history(&conn, "e.com/a", &[store::day_text(day())]).unwrap()[0].1, 2);
}

#[test]
fn nothing_is_logged_while_the_table_loads() {
    let (_d, mut conn) = setup();
    store::set(&mut conn, "e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    c.hit("e.com/a", day(), &mut conn).unwrap();
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().logged, 0);
    c.hit("e.com/a", day(), &mut conn).unwrap();
    assert_eq!(c.flush(&mut conn, &mut last).unwrap().logged, 0, "the table is not complete");
    load_all(&c, &mut conn, &mut last);
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 12);
}

#[test]
fn admin_changes_reach_the_table_and_entries_made_from_it() {
    let (_d, mut conn) = setup();
    store::set(&mut conn, "e.com/a", 10).unwrap();
    let c = Counter::new(100, 100, false);
    let mut last = 0;
    load_all(&c, &mut conn, &mut last);
    // Counted on the old value from the table, then an admin sets 20.
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap().counts().total, 11);
    store::set(&mut conn, "e.com/a", 20).unwrap();
    assert_eq!(c.apply_admin_events(&conn, &mut last).unwrap(), 1, "the hit on the old value is superseded");
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 20);
    // Counted on the new value: kept through the flush.
    assert_eq!(c.hit("e.com/a", day(), &mut conn).unwrap().counts().total, 21);
    let f = c.flush(&mut conn, &mut last).unwrap();
    assert_eq!((f.hits, f.superseded), (1, 0));
    assert_eq!(store::get(&conn, "e.com/a").unwrap(), Some(21));
    assert_eq!(c.peek("e.com/a", day(), &conn).unwrap().total, 21);
    // An import of many keys is one event for all: the table loads again.
    store::import(&mut conn, &(0..10_001).map(|i| (format!("e.com/{i}"), 1)).collect::<Vec<_>>()).unwrap();
    c.apply_admin_events(&conn, &mut last).unwrap();
    assert!(c.table_loading());
    assert_eq!(c.peek("e.com/7", day(), &conn).unwrap().total, 1);
    load_all(&c, &mut conn, &mut last);
    assert_eq!(c.table_counters(), 10_002);
}
