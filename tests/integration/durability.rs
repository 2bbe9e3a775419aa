//! Counted hits survive: concurrent counting is exact, SIGTERM under load
//! loses nothing, kill -9 under load never corrupts, a failing flush catches
//! up; plus the store's schema, write-through mode and the pending cap.

use crate::support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

#[test]
fn sixteen_threads_by_500_on_one_new_url_is_exactly_8000() {
    let mut s = Server::start_args(&["--quiet"]);
    let u = uniq_url("concurrent");
    let seen = Arc::new(Mutex::new(Vec::with_capacity(8000)));
    let mut hs = Vec::new();
    for _ in 0..16 {
        let addr = s.addr.clone();
        let path = format!("/count?url={}", enc(&u));
        let seen = seen.clone();
        hs.push(std::thread::spawn(move || {
            let mut mine = Vec::with_capacity(500);
            for _ in 0..500 {
                let r = Request::get(&path).timeout(LOAD_TIMEOUT).try_send(&addr).expect("request failed");
                assert_eq!(r.status, 200, "{}", r.text());
                assert!(r.header("set-cookie").is_some());
                mine.push(r.text().parse::<u64>().expect("numeric body"));
            }
            seen.lock().unwrap().extend(mine);
        }));
    }
    for h in hs {
        h.join().expect("client thread");
    }
    assert_eq!(peek(&s, &u), 8000, "the server's own answer");
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&s.db, &u), 8000, "the db after a clean stop");

    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let tables = counter_tables(&conn, &u, 8000);
    assert!(!tables.is_empty(), "no table holds {u} = 8000: {:?}", rows_with_key(&conn, &u));
    for (t, n) in &tables {
        assert_eq!(*n, 1, "exactly one counter row for the URL in {t}");
    }
    let list: Vec<_> = admin_list(&s.db, &[]).into_iter().filter(|(_, k)| *k == u).collect();
    assert_eq!(list, vec![(8000, u.clone())]);

    // each response showed its own hit: the values are exactly 1..=8000
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    let dupes = seen.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dupes, 0, "two responses showed the same count (not exact per hit)");
    assert_eq!(seen, (1..=8000).collect::<Vec<u64>>(), "responses show exact counts 1..=8000");
}

fn urls(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|_| uniq_url(tag)).collect()
}

/// Starts a load and returns once at least `at_least` 2xx were seen.
fn load_until(s: &Server, us: &[String], at_least: u64) -> (Arc<AtomicBool>, std::thread::JoinHandle<LoadResult>) {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let h = load(&s.addr, us, 8, 100_000, stop.clone(), progress.clone());
    let ok = eventually(Duration::from_secs(30), || progress.load(Ordering::SeqCst) >= at_least);
    if !ok {
        stop.store(true, Ordering::SeqCst);
        panic!("load did not reach {at_least} responses: {:?}", h.join());
    }
    (stop, h)
}

#[test]
fn sigterm_mid_load_loses_nothing() {
    let dir = tempdir();
    let us = urls("term", 4);
    let mut s = Server::start_with(Opts { args: vec!["--quiet"], dir: Some(dir.clone()), ..Opts::default() });
    let (stop, h) = load_until(&s, &us, 600);
    signal(&s.child, libc::SIGTERM);
    let st = wait_bounded(&mut s.child, Duration::from_secs(20));
    stop.store(true, Ordering::SeqCst);
    let res = h.join().unwrap();
    assert_eq!(st.code(), Some(0), "SIGTERM under load: exit status; log: {}", s.log_text());

    let s2 = Server::start_with(Opts { args: vec!["--quiet"], dir: Some(dir), ..Opts::default() });
    let mut total = 0;
    for u in &us {
        let want = res.ok.get(u).copied().unwrap_or(0);
        assert_eq!(peek(&s2, u), want, "{u}: stored count must equal the 200 responses");
        total += want;
    }
    assert!(total >= 600);
    // "finish requests in flight": those already taken get their real answer
    assert_eq!(res.other_status, 0, "non-200 responses during shutdown: {:?}", res.statuses);
}

#[test]
fn kill_9_under_load_never_corrupts() {
    let dir = tempdir();
    let us = urls("kill", 4);
    let mut s = Server::start_with(Opts { args: vec!["--quiet"], dir: Some(dir.clone()), ..Opts::default() });
    // 50 hits per URL that must be safely stored before the crash
    for u in &us {
        for _ in 0..50 {
            hit(&s, u);
        }
    }
    let db = s.db.clone();
    let flushed = eventually(Duration::from_secs(10), || us.iter().all(|u| get_count(&db, u) == 50));
    assert!(flushed, "the first 50 hits per URL never reached the db");

    let (stop, h) = load_until(&s, &us, 600);
    s.child.kill().unwrap();
    let _ = s.child.wait();
    stop.store(true, Ordering::SeqCst);
    let res = h.join().unwrap();

    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok", "db corrupted by kill -9");
    }
    let mut s2 = Server::start_with(Opts { args: vec!["--quiet"], dir: Some(dir), ..Opts::default() });
    for u in &us {
        let ok = res.ok.get(u).copied().unwrap_or(0);
        let got = peek(&s2, u);
        assert!(got >= 50, "{u}: lost hits that were already stored ({got})");
        assert!(got <= 50 + ok, "{u}: {got} > {} responses: extra hits", 50 + ok);
    }
    assert_eq!(hit(&s2, &us[0]), peek(&s2, &us[0]), "restarted server counts");
    assert_eq!(s2.stop().code(), Some(0));
    let conn = rusqlite::Connection::open(&s2.db).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn write_through_commits_before_responding() {
    let mut s = Server::start_args(&["--flush-interval", "0", "--quiet"]);
    let u = uniq_url("wt");
    for i in 1..=15u64 {
        assert_eq!(hit(&s, &u), i);
        assert_eq!(get_count(&s.db, &u), i, "--flush-interval 0: hit {i} not committed before its response");
    }
    // kill -9 under load: every 200 is in the db, at most the in-flight extra
    let us = vec![u.clone()];
    let (stop, h) = load_until(&s, &us, 200);
    s.child.kill().unwrap();
    let _ = s.child.wait();
    stop.store(true, Ordering::SeqCst);
    let res = h.join().unwrap();
    let ok = 15 + res.ok.get(&u).copied().unwrap_or(0);
    let got = get_count(&s.db, &u);
    assert!(got >= ok, "write-through lost hits: {got} < {ok} responses");
    assert!(got <= ok + 8, "{got} is more than the responses plus in-flight requests ({ok} + 8)");
}

/// The server's log line when a flush fails (hits kept in memory).
const FLUSH_FAILED: &str = "writing hits failed";

#[test]
fn locked_database_flush_failure_loses_nothing() {
    let mut s = Server::start_args(&["--quiet"]);
    let u = uniq_url("locked");
    for i in 1..=20u64 {
        assert_eq!(hit(&s, &u), i);
    }
    assert!(eventually(Duration::from_secs(10), || get_count(&s.db, &u) == 20), "first hits not flushed");

    // Another connection holds a write transaction until a flush has
    // failed on it (the order of events: the log says so), counting on.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut n = 20u64;
    for _ in 0..30 {
        n += 1;
        assert_eq!(hit(&s, &u), n, "counting while the db is locked");
    }
    assert!(
        wait_log(&s, Duration::from_secs(60), |l| l.contains(FLUSH_FAILED)),
        "no failed flush while locked: {}",
        s.log_text()
    );
    n += 1;
    assert_eq!(hit(&s, &u), n, "counting after a failed flush");
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    for _ in 0..20 {
        n += 1;
        assert_eq!(hit(&s, &u), n);
    }
    assert!(
        eventually(Duration::from_secs(60), || get_count(&s.db, &u) == n),
        "the flush did not catch up after the lock cleared: db has {} of {n}",
        get_count(&s.db, &u)
    );
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&s.db, &u), n, "no loss after a clean stop");
}

#[test]
fn locked_database_at_shutdown_still_writes_everything() {
    let mut s = Server::start_args(&["--quiet"]);
    let u = uniq_url("locked-stop");
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 1..=30u64 {
        assert_eq!(hit(&s, &u), i);
    }
    // SIGTERM while locked; the lock is released once the server has begun
    // its shutdown (the order of events, not a pause).
    signal(&s.child, libc::SIGTERM);
    assert!(
        wait_log(&s, Duration::from_secs(30), |l| l.contains("received signal")),
        "no shutdown line: {}",
        s.log_text()
    );
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    let st = wait_bounded(&mut s.child, Duration::from_secs(30));
    assert_eq!(st.code(), Some(0), "log: {}", s.log_text());
    assert_eq!(get_count(&s.db, &u), 30, "every counted hit is in the db after SIGTERM");
}

#[test]
fn pending_cap_never_drops_silently() {
    // a tiny cap and a long interval: overflow must be visible, not silent
    let mut s = Server::start_args(&["--max-pending", "10", "--flush-interval", "60000", "--metrics"]);
    let us = urls("cap", 40);
    for u in &us {
        let r = s.get(&format!("/count/tag.svg?url={}", enc(u)));
        assert_eq!(r.status, 200, "past the cap, counted requests still get their badge");
        assert!(r.header("content-type").unwrap_or("").starts_with("image/svg+xml"));
        parse_svg(&r.text());
    }
    let health = s.get("/healthz");
    assert_eq!(health.status, 503, "at the cap /healthz says so");
    assert!(health.text().contains("--max-pending"), "{}", health.text());
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("hitcounter_hits_not_counted_total{reason=\"pending_cap\"} 30"), "{metrics}");
    assert_eq!(s.stop().code(), Some(0));
    let stored: u64 = us.iter().map(|u| get_count(&s.db, u)).sum();
    if stored < 40 {
        let log = s.log_text().to_ascii_lowercase();
        assert!(
            ["overflow", "max-pending", "dropped", "cap"].iter().any(|w| log.contains(w)),
            "{} hits missing and the log does not report an overflow:\n{log}",
            40 - stored
        );
    }
}

/// The store: WAL, a versioned schema, one UNIQUE row per counter, and
/// per-day (UTC) counts kept from day one.
#[test]
fn store_is_wal_versioned_unique_with_per_day_rows() {
    let mut s = Server::start_args(&["--quiet"]);
    let u = uniq_url("store");
    for _ in 0..7 {
        hit(&s, &u);
    }
    assert_eq!(s.stop().code(), Some(0));
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert!(v >= 1, "versioned schema: user_version = {v}");

    // the counter table: one row, and its key column is UNIQUE
    let holders = rows_with_key(&conn, &u);
    let (table, column, rows) = holders
        .iter()
        .find(|(t, _, _)| counter_tables(&conn, &u, 7).iter().any(|(ct, _)| ct == t))
        .cloned()
        .unwrap_or_else(|| panic!("no table holds {u} = 7: {holders:?}"));
    assert_eq!(rows, 1);
    let mut unique = false;
    let idx: Vec<(String, i64)> = conn
        .prepare(&format!("SELECT name, \"unique\" FROM pragma_index_list('{table}')"))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (name, uniq) in idx {
        let cols: Vec<String> = support::column(&conn, &format!("SELECT name FROM pragma_index_info('{name}')"));
        if uniq == 1 && cols == vec![column.clone()] {
            unique = true;
        }
    }
    assert!(unique, "{table}.{column} has no UNIQUE index of its own");

    // a per-day row for today (UTC) holding 7
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap(); // the test may straddle midnight
    let forms = |d: chrono::NaiveDate| {
        vec![
            d.format("%Y-%m-%d").to_string(),
            d.format("%Y%m%d").to_string(),
            (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days().to_string(),
        ]
    };
    let dates: Vec<String> = forms(today).into_iter().chain(forms(yesterday)).collect();
    let tables: Vec<String> =
        support::column(&conn, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
    let mut found = false;
    for t in tables.iter().filter(|t| **t != table) {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let rows: Vec<Vec<String>> = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        let v: rusqlite::types::Value = r.get(i)?;
                        Ok(match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(s) => s,
                            rusqlite::types::Value::Real(f) => f.to_string(),
                            _ => String::new(),
                        })
                    })
                    .collect()
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        if rows.iter().any(|r| r.iter().any(|c| dates.contains(c)) && r.iter().any(|c| c == "7")) {
            found = true;
        }
    }
    assert!(found, "no per-day row for today (UTC) with 7 hits in tables {tables:?}");
}

#[test]
fn sigterm_right_after_the_startup_line_is_an_orderly_exit() {
    // Scripts wait for the "listening on" line and may stop the server at
    // once; the signal must already be handled (exit 0), not kill it.
    for _ in 0..10 {
        let mut s = Server::start_args(&["--quiet"]);
        assert_eq!(s.stop().code(), Some(0), "log:\n{}", s.log_text());
    }
}

/// Reads without a round trip: the server loads every stored
/// counter into memory in chunks after start; counts stay exact through it.
#[test]
fn stored_counters_are_loaded_into_memory_and_stay_exact() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let csv = dir.path().join("many.csv");
    let n = 20_000;
    let mut text = String::from("url,count\n");
    for i in 0..n {
        text.push_str(&format!("many.example/p{i},{}\n", i % 97));
    }
    std::fs::write(&csv, text).unwrap();
    admin_ok(&db, &["import", csv.to_str().unwrap()]);
    let mut s = Server::start_with(Opts { dir: Some(dir), ..Opts::default() });
    assert!(
        eventually(Duration::from_secs(20), || s
            .log_text()
            .contains(&format!("counts of all {n} stored counters are in memory"))),
        "no load line in the log:\n{}",
        s.log_text()
    );
    for i in [0, 1, 4095, 4096, 4097, 12_345, n - 1] {
        assert_eq!(peek(&s, &format!("many.example/p{i}")), (i % 97) as u64, "p{i}");
    }
    assert_eq!(peek(&s, "many.example/not-there"), 0);
    assert_eq!(hit(&s, "many.example/p4096"), 4096 % 97 + 1);
    assert_eq!(hit(&s, "many.example/new"), 1);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&db, "many.example/p4096"), 4096 % 97 + 1);
    assert_eq!(get_count(&db, "many.example/new"), 1);
}

#[test]
fn a_second_sigterm_during_a_blocked_shutdown_exits_at_once() {
    let mut s = Server::start_args(&["--quiet"]);
    let u = uniq_url("second-term");
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    for _ in 0..5 {
        hit(&s, &u);
    }
    // The order of events: the second signal after the first was taken,
    // and the exit while the lock is still held (the orderly shutdown would
    // wait for it, then give up with another message).
    signal(&s.child, libc::SIGTERM);
    assert!(
        wait_log(&s, Duration::from_secs(30), |l| l.contains("received signal")),
        "no shutdown line: {}",
        s.log_text()
    );
    signal(&s.child, libc::SIGTERM);
    let st = wait_bounded(&mut s.child, Duration::from_secs(30));
    conn.execute_batch("COMMIT").unwrap();
    assert_eq!(st.code(), Some(1), "log: {}", s.log_text());
    let log = s.log_text();
    assert!(log.contains("again; exiting now: 5 counted hits were not stored"), "says what was lost: {log}");
    assert!(!log.contains("could not be stored"), "the second signal, not the final write's limit, ended it: {log}");
}
