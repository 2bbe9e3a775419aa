//! PostgreSQL as the shared store: several real instances on one real
//! database (a private cluster per test, `support/postgres.rs`), counted
//! over real HTTP. Exact totals, one row per URL, per-day rows that agree,
//! admin changes seen by every instance, the database going away and
//! coming back without a counted hit lost, a password on the command
//! line warned about, never shown, and the connections an instance holds:
//! twenty instances on a server that takes 100, and a request that finds
//! every pooled connection busy answered 503 instead of hanging.
#![cfg(feature = "postgres")]

use crate::support;

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

#[test]
fn counters_whose_keys_now_collide_are_merged_at_the_first_start() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.database("rekey");
    let mut first = instance(&url, &[]);
    assert_eq!(first.stop().code(), Some(0));
    // The keys a version before wrote, with days and visitors; then the
    // schema that version left.
    let sql = "INSERT INTO counters (key, count, uniques, created_at, updated_at) VALUES
            ('bücher.example/a', 10, 3, 5, 5), ('xn--bcher-kva.example/a', 5, 2, 1, 9), ('BÜCHER.example./a', 7, 0, 3, 3);
        INSERT INTO daily (day, counter_id, hits, uniques)
            SELECT d, id, h, u FROM counters, (VALUES ('bücher.example/a', date '2026-01-01', 4, 2),
                ('bücher.example/a', date '2026-01-02', 6, 1), ('xn--bcher-kva.example/a', date '2026-01-01', 5, 2),
                ('BÜCHER.example./a', date '2026-01-02', 3, NULL), ('BÜCHER.example./a', date '2026-01-03', 4, NULL))
                AS t(k, d, h, u) WHERE key = k;
        UPDATE schema_version SET version = 1;";
    pg.psql("rekey", sql).unwrap_or_else(|e| panic!("{e}"));

    let mut s = instance(&url, &[]);
    assert_eq!(peek(&s, "bücher.example/a"), 22);
    assert_eq!(s.stop().code(), Some(0));
    let log = s.log_text();
    for from in ["BÜCHER.example./a", "bücher.example/a"] {
        let line = format!(r#"merged counter "{from}" into "xn--bcher-kva.example/a""#);
        assert_eq!(log.matches(&line).count(), 1, "logged once: {line}: {log}");
    }
    let rows = pg
        .psql(
            "rekey",
            "SELECT key, count, uniques, created_at, updated_at FROM counters ORDER BY key;
             SELECT day, hits, coalesce(uniques::text, 'NULL') FROM daily ORDER BY day",
        )
        .unwrap();
    assert_eq!(
        rows, "xn--bcher-kva.example/a|22|5|1|9\n2026-01-01|9|4\n2026-01-02|9|1\n2026-01-03|4|NULL",
        "one counter; totals, visitors and days summed"
    );
    assert_eq!(pg.number("rekey", "SELECT version FROM schema_version"), 2);
}

/// The connections each `application_name` holds on database `db`.
fn connections_by_name(pg: &Postgres, db: &str) -> Vec<(String, u64)> {
    let rows = pg
        .psql(
            "postgres",
            &format!(
                "SELECT application_name, COUNT(*) FROM pg_stat_activity WHERE datname = '{db}' \
                 GROUP BY 1 ORDER BY 1"
            ),
        )
        .unwrap();
    rows.lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(name, n)| (name.to_string(), n.parse().expect("a count")))
        .collect()
}

#[test]
fn twenty_instances_on_a_server_that_takes_100_connections_start_and_count_exactly() {
    let Some(pg) = Postgres::start_limited(100) else { return };
    let db = "twenty";
    let base = pg.database(db);
    let urls: Vec<String> = (0..5).map(|_| uniq_url("twenty")).collect();
    // Each instance named, to count its connections; the default
    // --workers (16) and --db-connections (4).
    let mut servers: Vec<Server> = (0..20).map(|i| instance(&format!("{base}?application_name=hc{i}"), &[])).collect();
    let per_instance = 25;
    let runs: Vec<_> = servers
        .iter()
        .map(|s| load(&s.addr, &urls, 1, per_instance, Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0))))
        .collect();
    let mut counted = 0;
    for r in runs {
        let r = r.join().expect("load");
        assert_eq!((r.errors, r.other_status), (0, 0), "every request answered 200: {r:?}");
        counted += r.total_ok();
    }
    assert_eq!(counted, 20 * per_instance);
    // Under load every instance opened what it needed, and no more.
    let held = connections_by_name(&pg, db);
    let ours: Vec<_> = held.iter().filter(|(name, _)| name.starts_with("hc")).collect();
    assert_eq!(ours.len(), 20, "every instance is connected: {held:?}");
    assert!(ours.iter().all(|(_, n)| *n <= 4), "at most 4 connections per instance: {held:?}");
    for s in &mut servers {
        assert!(s.stop().success(), "clean exit; log:\n{}", s.log_text());
    }
    assert_eq!(stored(&pg, db), (counted, urls.len() as u64, counted), "every counted hit stored once");
}

#[test]
fn a_request_that_finds_every_pooled_connection_busy_gets_503_not_a_hang() {
    let Some(pg) = Postgres::start() else { return };
    let db = "busy";
    let base = pg.database(db);
    // The flusher's connection and a pool of one for requests.
    let mut s = instance(&format!("{base}?application_name=busy"), &["--db-connections", "2"]);
    let url = uniq_url("busy");
    assert_eq!(hit(&s, &url), 1);
    let stored_one = eventually(Duration::from_secs(10), || stored(&pg, db).2 == 1);
    assert!(stored_one, "the hit's day row is written");
    // A transaction of the test's own holds the per-day rows, so a
    // history request waits inside PostgreSQL on the one pooled connection.
    let mut locker = ::postgres::Client::connect(&base, ::postgres::NoTls).expect("connect");
    locker.batch_execute("BEGIN; LOCK TABLE daily IN ACCESS EXCLUSIVE MODE").expect("lock");
    let path = format!("/nocount/stats.json?url={}", enc(&url));
    let addr = s.addr.clone();
    let first = {
        let path = path.clone();
        std::thread::spawn(move || Request::get(&path).timeout(Duration::from_secs(60)).send(&addr))
    };
    let waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'busy' AND wait_event_type = 'Lock'";
    assert!(
        eventually(Duration::from_secs(20), || pg.number("postgres", waiting) == 1),
        "the first request waits on the lock, holding the pooled connection"
    );
    let second = s.get(&path);
    assert_eq!(second.status, 503, "{}", second.text());
    assert_eq!(second.header("retry-after"), Some("1"));
    assert!(
        wait_log(&s, Duration::from_secs(5), |l| l.contains("no database connection came free")),
        "the log says why: {}",
        s.log_text()
    );
    locker.batch_execute("COMMIT").expect("unlock");
    let first = first.join().expect("first request");
    assert_eq!(first.status, 200, "the waiting request is answered once the lock goes: {}", first.text());
    assert!(
        connections_by_name(&pg, db).iter().all(|(name, n)| name != "busy" || *n <= 2),
        "{:?}",
        connections_by_name(&pg, db)
    );
    assert!(s.stop().success(), "clean exit; log:\n{}", s.log_text());
}
