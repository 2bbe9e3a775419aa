//! PostgreSQL as the shared store: several real instances on one real
//! database (a private cluster per test, `support/postgres.rs`), counted
//! over real HTTP. Exact totals, one row per URL, per-day rows that agree,
//! admin changes seen by every instance, the database going away and
//! coming back without a counted hit lost, and a password on the command
//! line warned about, never shown.
#![cfg(feature = "postgres")]

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::history::{seed, stats_json, utc_today};
use support::postgres::Postgres;
use support::*;

/// Requests per client thread, and threads in all (spread over the
/// instances): 8000 counted requests.
const PER_THREAD: u64 = 500;
const THREADS: usize = 16;

/// A server on the database at `url`, with the harness's usual options.
fn instance(url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--db", url, "--dedup", "cookie"];
    args.extend(["--rate-limit", "0", "--new-counters-per-hour", "0"]);
    args.extend_from_slice(extra);
    Server::start_with(Opts { args, exact: true, ..Opts::default() })
}

/// `THREADS` clients spread over `servers`, `PER_THREAD` requests each,
/// round-robin over `urls`; every one must be counted.
fn count_on(servers: &[Server], urls: &[String]) -> LoadResult {
    let n = servers.len();
    let runs: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let threads = THREADS / n + usize::from(i < THREADS % n);
            load(&s.addr, urls, threads, PER_THREAD, Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)))
        })
        .collect();
    let mut total = LoadResult::default();
    for r in runs {
        let r = r.join().expect("load");
        for (k, v) in r.ok {
            *total.ok.entry(k).or_default() += v;
        }
        total.errors += r.errors;
        total.other_status += r.other_status;
    }
    assert_eq!((total.errors, total.other_status), (0, 0), "every request answered 200: {total:?}");
    assert_eq!(total.total_ok(), PER_THREAD * THREADS as u64);
    total
}

/// What the database holds: the sum of the counters, their number, and
/// the sum of the per-day rows.
fn stored(pg: &Postgres, db: &str) -> (u64, u64, u64) {
    (
        pg.number(db, "SELECT COALESCE(SUM(count), 0) FROM counters"),
        pg.number(db, "SELECT COUNT(*) FROM counters"),
        pg.number(db, "SELECT COALESCE(SUM(hits), 0) FROM daily"),
    )
}

/// `n` instances on a fresh database, 8000 hits over `urls`: exact in the
/// database (per URL too, and per day), and every instance shows every
/// URL's total once the others flushed.
fn exact_over(pg: &Postgres, n: usize, urls: &[String]) {
    let db = uniq("hc").replace('-', "_");
    let url = pg.database(&db);
    let mut servers: Vec<Server> = (0..n).map(|_| instance(&url, &[])).collect();
    let counted = count_on(&servers, urls);
    for s in &servers {
        for (u, want) in &counted.ok {
            assert!(shows_within(s, u, *want, Duration::from_secs(10)), "{u} on {}: {} != {want}", s.addr, peek(s, u));
        }
    }
    for s in &mut servers {
        assert!(s.stop().success(), "clean exit; log:\n{}", s.log_text());
    }
    assert_eq!(stored(pg, &db), (8000, urls.len() as u64, 8000), "{n} instances");
    for (u, want) in &counted.ok {
        let key = u.replace('\'', "''");
        let row = pg.psql(&db, &format!("SELECT count FROM counters WHERE key = '{key}'")).unwrap();
        assert_eq!(row, want.to_string(), "{u}");
        let days = pg.psql(
            &db,
            &format!("SELECT SUM(d.hits) FROM daily d JOIN counters c ON c.id = d.counter_id WHERE c.key = '{key}'"),
        );
        assert_eq!(days.unwrap(), want.to_string(), "per-day rows of {u}");
    }
}

#[test]
fn two_and_three_instances_count_one_url_exactly() {
    let Some(pg) = Postgres::start() else { return };
    let urls = vec![uniq_url("one")];
    exact_over(&pg, 2, &urls);
    exact_over(&pg, 3, &urls);
}

#[test]
fn two_and_three_instances_count_100_urls_exactly() {
    let Some(pg) = Postgres::start() else { return };
    let urls: Vec<String> = (0..100).map(|_| uniq_url("many")).collect();
    exact_over(&pg, 2, &urls);
    exact_over(&pg, 3, &urls);
}

#[test]
fn an_admin_set_shows_in_every_instance_within_2_s() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("admin");
    let servers: Vec<Server> = (0..2).map(|_| instance(&url, &[])).collect();
    let page = uniq_url("set");
    for s in &servers {
        hit(s, &page);
    }
    let out = run(&["set", &page, "1234", "--db", &url]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    for s in &servers {
        assert!(shows_within(s, &page, 1234, Duration::from_secs(2)), "{}: {}", s.addr, peek(s, &page));
    }
    // Counting goes on from the new value, everywhere.
    assert_eq!(hit(&servers[0], &page), 1235);
    assert!(shows_within(&servers[1], &page, 1235, Duration::from_secs(5)));
}

#[test]
fn admin_commands_work_against_postgres() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("cli");
    let ok = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", &url]);
        let out = run(&all);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        stdout_of(&out)
    };
    ok(&["set", "e.com/a", "5"]);
    ok(&["set", "e.com/b", "7"]);
    assert_eq!(ok(&["get", "e.com/a"]).trim(), "5");
    assert_eq!(ok(&["list"]), "7\te.com/b\n5\te.com/a\n");
    let dir = tempdir();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "url,count\ne.com/c,3\ne.com/a,9\n").unwrap();
    ok(&["import", csv.to_str().unwrap()]);
    assert_eq!(ok(&["export", "--format", "csv"]), "url,count\ne.com/a,9\ne.com/b,7\ne.com/c,3\n");
    ok(&["delete", "e.com/b"]);
    assert_eq!(ok(&["get", "e.com/b"]).trim(), "0");
    assert_eq!(pg.number("cli", "SELECT COUNT(*) FROM counters"), 2);
    // A backup is a SQLite file with every count.
    let snapshot = dir.path().join("snapshot.db");
    ok(&["backup", snapshot.to_str().unwrap()]);
    let out = run(&["export", "--format", "csv", "--db", snapshot.to_str().unwrap()]);
    assert_eq!(stdout_of(&out), "url,count\ne.com/a,9\ne.com/c,3\n", "{}", stderr_of(&out));
    // The password never shows, even in an error.
    let out = run(&["get", "e.com/a", "--db", &format!("postgres://postgres:s3cret@127.0.0.1:{}/nodb", pg.port)]);
    assert!(!out.status.success());
    assert!(!stderr_of(&out).contains("s3cret"), "{}", stderr_of(&out));
}

#[test]
fn the_database_stopped_under_load_loses_no_counted_hit() {
    let Some(mut pg) = Postgres::start() else { return };
    let url = pg.database("down");
    let mut servers: Vec<Server> = (0..2).map(|_| instance(&url, &[])).collect();
    let pages: Vec<String> = (0..5).map(|_| uniq_url("down")).collect();
    // Known to each instance before the database goes: counting them needs
    // no read.
    for s in &servers {
        for p in &pages {
            hit(s, p);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let runs: Vec<_> =
        servers.iter().map(|s| load(&s.addr, &pages, 4, 100_000, stop.clone(), progress.clone())).collect();
    assert!(eventually(Duration::from_secs(20), || progress.load(Ordering::SeqCst) > 500));
    pg.stop();
    for s in &servers {
        let down = eventually(Duration::from_secs(10), || s.get("/healthz").status == 503);
        assert!(down, "/healthz 503 while the database is down: {}", s.get("/healthz").text());
    }
    let before = progress.load(Ordering::SeqCst);
    assert!(eventually(Duration::from_secs(20), || progress.load(Ordering::SeqCst) > before + 500), "counting goes on");
    pg.run();
    for s in &servers {
        let up = eventually(Duration::from_secs(20), || s.get("/healthz").status == 200);
        assert!(up, "/healthz 200 again: {}\n{}", s.get("/healthz").text(), s.log_text());
    }
    stop.store(true, Ordering::SeqCst);
    let mut counted = pages.len() as u64 * servers.len() as u64;
    for r in runs {
        counted += r.join().expect("load").total_ok();
    }
    for s in &mut servers {
        assert!(s.stop().success(), "clean exit; log:\n{}", s.log_text());
    }
    assert!(servers.iter().any(|s| s.log_text().contains("recovered")), "{}", servers[0].log_text());
    let (total, rows, days) = stored(&pg, "down");
    assert_eq!((total, rows, days), (counted, pages.len() as u64, counted), "pg.log:\n{}", pg.log());
}

#[test]
fn shutdown_with_the_database_down_says_what_was_not_stored() {
    let Some(mut pg) = Postgres::start() else { return };
    let url = pg.database("gone");
    let mut s = instance(&url, &[]);
    let page = uniq_url("gone");
    hit(&s, &page);
    assert!(
        eventually(Duration::from_secs(10), || pg.number("gone", "SELECT COALESCE(SUM(count), 0) FROM counters") == 1)
    );
    pg.stop();
    for _ in 0..3 {
        hit(&s, &page);
    }
    let status = s.stop();
    assert!(!status.success(), "exit non-zero: {status:?}");
    assert!(
        wait_log(&s, Duration::from_secs(5), |l| l.contains("3 counted hits could not be stored")),
        "{}",
        s.log_text()
    );
}

/// Every counter and per-day row of a SQLite file, as text.
fn file_rows(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    column(
        &conn,
        "SELECT c.key || ' ' || c.count || ' ' || c.uniques || ' ' || c.created_at || ' ' || IFNULL(d.day, '-')
                || ' ' || IFNULL(d.hits, '-') || ' ' || IFNULL(d.uniques, '-')
         FROM counters c LEFT JOIN daily d ON d.counter_id = c.id ORDER BY c.key, d.day",
    )
}

#[test]
fn copy_sqlite_to_postgres_and_back_keeps_every_count_and_day() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempdir();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let day = |n: i64| utc_today() - chrono::Duration::days(n);
    seed(&a, &[("e.com/x", 30, vec![(day(2), 10), (day(1), 20)]), ("e.com/y", 5, vec![(day(0), 5)])]);
    // Hits counted by a server too: today's rows with visitors.
    let mut s = Server::start_with(Opts { args: vec!["--db", a.to_str().unwrap()], ..Opts::default() });
    hit(&s, "e.com/y");
    hit(&s, "e.com/z");
    assert!(s.stop().success());
    let url = pg.database("copy");
    let copy = |from: &str, to: &str| run(&["copy", "--from", from, "--to", to]);
    let out = copy(a.to_str().unwrap(), &url);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("copied 3 counters"), "{}", stderr_of(&out));
    assert_eq!(pg.number("copy", "SELECT SUM(count) FROM counters"), 37);
    assert_eq!(pg.number("copy", "SELECT COUNT(*) FROM daily"), 4);
    // Into a database that holds counters: refused, nothing changed.
    let again = copy(a.to_str().unwrap(), &url);
    assert!(!again.status.success() && stderr_of(&again).contains("empty database"), "{}", stderr_of(&again));
    let out = copy(&url, b.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(file_rows(&b), file_rows(&a));
    // A server on the copy shows the counts and the history.
    let s = instance(&url, &[]);
    assert_eq!(peek(&s, "e.com/x"), 30);
    let history = stats_json(&s, "e.com/x", "&days=7");
    let hits: Vec<(String, u64)> = history["days"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .map(|d| (d["date"].as_str().unwrap_or_default().to_string(), d["hits"].as_u64().unwrap_or_default()))
        .filter(|(_, h)| *h > 0)
        .collect();
    let date = |n: i64| day(n).format("%Y-%m-%d").to_string();
    assert_eq!(hits, vec![(date(2), 10), (date(1), 20)], "{history}");
}

#[test]
fn two_instances_behind_an_nginx_upstream_count_exactly() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("upstream");
    let mut servers: Vec<Server> = (0..2).map(|_| instance(&url, &["--trust-proxy"])).collect();
    let addrs: Vec<&str> = servers.iter().map(|s| s.addr.as_str()).collect();
    let Some(nginx) = support::proxy::Upstream::start(&addrs) else { return };
    let page = uniq_url("upstream");
    let run = load(
        &nginx.addr,
        std::slice::from_ref(&page),
        THREADS,
        PER_THREAD,
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let counted = run.join().expect("load");
    assert_eq!((counted.total_ok(), counted.errors, counted.other_status), (8000, 0, 0), "{counted:?}");
    for s in &servers {
        let answered = log_lines(s).iter().filter(|l| l.contains(" /count ")).count();
        assert!(answered > 0, "nginx sent {} nothing", s.addr);
        assert!(shows_within(s, &page, 8000, Duration::from_secs(10)), "{}: {}", s.addr, peek(s, &page));
    }
    for s in &mut servers {
        assert!(s.stop().success(), "{}", s.log_text());
    }
    assert_eq!(stored(&pg, "upstream"), (8000, 1, 8000));
}

#[test]
fn tls_to_a_database_that_asks_for_it() {
    let Some(pg) = Postgres::start_tls() else { return };
    let url = pg.database("tls");
    // This server takes TLS connections only.
    let plain = run(&["get", "e.com/tls", "--db", &format!("{url}?sslmode=disable")]);
    assert!(!plain.status.success(), "a plain connection is refused");
    assert!(stderr_of(&plain).contains("no encryption"), "{}", stderr_of(&plain));
    // sslmode=prefer (the default) and require use it.
    let s = instance(&format!("{url}?sslmode=require"), &[]);
    assert_eq!(hit(&s, "e.com/tls"), 1);
    let encrypted = "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                     WHERE a.application_name = 'hitcounter'";
    assert_eq!(pg.psql("tls", encrypted).unwrap(), "t");
    let get = |db: &str| run(&["get", "e.com/tls", "--db", db]);
    assert!(eventually(Duration::from_secs(10), || stdout_of(&get(&url)).trim() == "1"), "{}", stderr_of(&get(&url)));
    // With sslrootcert the certificate is checked: our CA passes, a
    // certificate that is not a CA does not.
    let checked = format!("{url}?sslrootcert={}", pg.ca_cert().display());
    let out = get(&checked);
    assert!(out.status.success() && stdout_of(&out).trim() == "1", "{}", stderr_of(&out));
    let wrong = format!("{url}?sslrootcert={}", pg.ca_cert().with_file_name("server.crt").display());
    let out = get(&wrong);
    assert!(!out.status.success(), "an unknown issuer is refused");
}

#[test]
fn export_history_from_postgres_matches_the_file_and_imports_back() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempdir();
    let a = dir.path().join("a.db");
    let day = |n: i64| utc_today() - chrono::Duration::days(n);
    seed(
        &a,
        &[("e.com/x", 30, vec![(day(2), 10), (day(1), 20)]), ("e.com/y,\"q\"", 5, vec![]), ("e.com/n", 1, vec![])],
    );
    let mut s = Server::start_with(Opts { args: vec!["--db", a.to_str().unwrap()], ..Opts::default() });
    hit(&s, "e.com/x");
    assert!(s.stop().success());
    let export = |db: &str, format: &str| {
        let out = run(&["export", "--history", "--format", format, "--db", db]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        stdout_of(&out)
    };
    let (csv, json) = (export(a.to_str().unwrap(), "csv"), export(a.to_str().unwrap(), "json"));
    assert_eq!(csv.lines().count(), 6, "{csv}");
    // Into PostgreSQL from each form, then out again: the same text.
    for (name, text) in [("h.csv", &csv), ("h.json", &json)] {
        let url = pg.database(&format!("hist_{}", name.replace('.', "_")));
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let out = run(&["import", f.to_str().unwrap(), "--db", &url]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(export(&url, "csv"), csv, "{name}");
        assert_eq!(export(&url, "json"), json, "{name}");
        let visitors = pg.number(&format!("hist_{}", name.replace('.', "_")), "SELECT SUM(uniques) FROM counters");
        assert_eq!(visitors, 1, "the visitor total follows the days");
    }
}

#[test]
fn hits_counted_by_one_instance_show_on_the_other_within_a_flush_or_so() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("visible");
    let (a, b) = (instance(&url, &[]), instance(&url, &[]));
    let (known, new) = (uniq_url("known"), uniq_url("new"));
    assert_eq!(hit(&a, &known), 1);
    assert!(shows_within(&b, &known, 1, Duration::from_secs(5)));
    // A counter `a` has in memory, and one it has never seen.
    for _ in 0..5 {
        hit(&b, &known);
        hit(&b, &new);
    }
    assert!(shows_within(&a, &known, 6, Duration::from_secs(5)), "{}", peek(&a, &known));
    assert!(shows_within(&a, &new, 5, Duration::from_secs(5)), "{}", peek(&a, &new));
    assert_eq!(hit(&a, &new), 6);
}

#[test]
fn a_password_in_the_db_url_is_warned_about_once_and_never_shown() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("warned").replace("postgres@", "postgres:s3cret-pw@");
    let mut s = instance(&url, &[]);
    assert_eq!(hit(&s, "e.com/warned"), 1);
    assert_eq!(s.stop().code(), Some(0));
    let log = s.log_text();
    assert_eq!(log.matches("password in the --db URL").count(), 1, "{log}");
    assert!(log.contains("--db-password-file") && !log.contains("s3cret-pw"), "{log}");
    let first = log.lines().next().unwrap_or_default();
    assert!(first.contains("password in the --db URL"), "warned before anything else: {log}");

    // Given in the environment, it is not on the command line.
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"];
    args.extend(["--new-counters-per-hour", "0"]);
    let mut s = Server::start_with(Opts { args, exact: true, env: vec![("HITCOUNTER_DB", &url)], ..Opts::default() });
    assert_eq!(s.stop().code(), Some(0));
    assert!(!s.log_text().contains("--db URL"), "{}", s.log_text());
}
