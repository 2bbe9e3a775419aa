//! `hitcounter merge FROM INTO [--dry-run]` with the real binary on SQLite
//! and PostgreSQL: INTO ends with the sums of both counters (total, per-day
//! hits and visitors, as `stats.json` reports them), FROM is gone, a
//! running server shows it within 2 s, any spelling of a URL names its
//! counter, `--dry-run` writes nothing, and merging a counter into itself
//! or from no counter is refused.

use crate::support;

use chrono::{Days, NaiveDate};
use std::path::Path;
use std::time::Duration;
use support::history::{stats_json, utc_today};
use support::*;

const FROM: &str = "example.com/old";
const INTO: &str = "example.com/new";

/// The seed, as `import` reads it: FROM 12 hits over two days (visitors on
/// one of them not recorded), INTO 28 over two, one day shared.
fn seed_csv(today: NaiveDate) -> String {
    let day = |n: u64| (today - Days::new(n)).format("%Y-%m-%d").to_string();
    format!(
        "url,count,day,hits,uniques\n\
         {FROM},12,{},5,\n{FROM},12,{},7,4\n\
         {INTO},28,{},10,6\n{INTO},28,{},18,9\n",
        day(2),
        day(1),
        day(1),
        day(0)
    )
}

/// `hitcounter ARGS --db DB` (a file or a postgres:// URL).
fn admin(db: &str, args: &[&str]) -> std::process::Output {
    let mut full = args.to_vec();
    full.extend(["--db", db]);
    run(&full)
}

fn admin_ok(db: &str, args: &[&str]) -> String {
    let out = admin(db, args);
    assert!(out.status.success(), "hitcounter {args:?}: {}", stderr_of(&out));
    stderr_of(&out)
}

fn import_seed(dir: &Path, db: &str, today: NaiveDate) {
    let csv = dir.join("seed.csv");
    std::fs::write(&csv, seed_csv(today)).unwrap();
    admin_ok(db, &["import", csv.to_str().unwrap()]);
}

/// A day of `stats.json`: (date, hits, visitors or None).
type Day = (String, u64, Option<u64>);

fn days(v: &serde_json::Value) -> Vec<Day> {
    let days = v["days"].as_array().unwrap_or_else(|| panic!("no days: {v}"));
    days.iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), d["hits"].as_u64().unwrap(), d["visitors"].as_u64()))
        .collect()
}

/// Day by day, the sum of two counters' days: visitors stay unrecorded
/// (`None`) only where no side with hits that day recorded them.
fn sum_days(a: &[Day], b: &[Day]) -> Vec<Day> {
    assert_eq!(a.len(), b.len(), "one window");
    a.iter()
        .zip(b)
        .map(|((date, h1, v1), (date2, h2, v2))| {
            assert_eq!(date, date2);
            let sides: Vec<Option<u64>> =
                [(h1, v1), (h2, v2)].iter().filter(|(h, _)| **h > 0).map(|(_, v)| **v).collect();
            let v = match sides[..] {
                [] => Some(0),
                [None, None] | [None] => None,
                _ => Some(sides.iter().map(|v| v.unwrap_or(0)).sum()),
            };
            (date.clone(), h1 + h2, v)
        })
        .collect()
}

/// Seeds FROM and INTO into `db`, starts a server on it with `start`,
/// merges them under other spellings of their URLs, and checks what the
/// running server shows (within 2 s) against the sums read before.
fn merge_keeps_totals_and_days(dir: &Path, db: &str, start: impl FnOnce() -> Server) {
    let today = utc_today();
    import_seed(dir, db, today);
    let s = start();
    let (from, into) = (stats_json(&s, FROM, ""), stats_json(&s, INTO, ""));
    assert_eq!((from["total"].as_u64(), into["total"].as_u64()), (Some(12), Some(28)), "{from} {into}");
    let want_days = sum_days(&days(&from), &days(&into));
    let want_visitors = from["visitors"].as_u64().unwrap() + into["visitors"].as_u64().unwrap();
    // The server now holds both counters in memory.
    assert_eq!((peek(&s, FROM), peek(&s, INTO)), (12, 28));

    let said = admin_ok(db, &["merge", "HTTP://Example.COM/old?utm=x#top", "https://EXAMPLE.com:443/new"]);
    assert_eq!(said.trim(), "merged example.com/old (12 hits) into example.com/new: now 40 hits");

    let shows = shows_within(&s, INTO, 40, Duration::from_secs(2));
    assert!(shows, "the server does not show the merge within 2 s: {}", peek(&s, INTO));
    let merged = stats_json(&s, INTO, "");
    assert_eq!(merged["total"], 40, "{merged}");
    assert_eq!(days(&merged), want_days, "per-day hits and visitors are the sums");
    assert_eq!(merged["visitors"].as_u64(), Some(want_visitors));
    assert!(want_days.iter().any(|d| d.2.is_none()), "a day's visitors stay unrecorded");
    assert!(shows_within(&s, FROM, 0, Duration::from_secs(2)), "FROM is gone from the server");
    assert!(days(&stats_json(&s, FROM, "")).iter().all(|d| d.1 == 0), "and its days with it");
    assert_eq!(hit(&s, INTO), 41, "counting goes on from the merged total");

    let out = admin(db, &["merge", FROM, INTO]);
    assert_eq!(out.status.code(), Some(1), "FROM is gone: {}", stderr_of(&out));
    assert_eq!(stderr_of(&out).trim(), "hitcounter: no counter for example.com/old");
}

#[test]
fn merge_on_sqlite_keeps_totals_and_days_and_a_running_server_shows_it() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let start = || Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    merge_keeps_totals_and_days(dir.path(), db.to_str().unwrap(), start);
}

#[cfg(feature = "postgres")]
#[test]
fn merge_on_postgres_keeps_totals_and_days_and_a_running_server_shows_it() {
    let Some(pg) = support::postgres::Postgres::start() else { return };
    let url = pg.database("merge");
    let dir = tempdir();
    let start = || {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--db", &url, "--dedup", "cookie"];
        args.extend(["--rate-limit", "0", "--new-counters-per-hour", "0"]);
        Server::start_with(Opts { args, exact: true, ..Opts::default() })
    };
    merge_keeps_totals_and_days(dir.path(), &url, start);
    assert_eq!(pg.number("merge", "SELECT COUNT(*) FROM counters WHERE key = 'example.com/old'"), 0);
    let last_two =
        "SELECT string_agg(key, ',' ORDER BY id) FROM (SELECT id, key FROM admin_events ORDER BY id DESC LIMIT 2) AS t";
    assert_eq!(pg.psql("merge", last_two).unwrap(), "example.com/old,example.com/new", "an event for each key");
}

#[test]
fn into_a_missing_counter_the_counter_moves_with_its_days() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let db = db.to_str().unwrap();
    import_seed(dir.path(), db, utc_today());
    let export = |rename: bool| {
        let out = stdout_of(&admin(db, &["export", "--history"]));
        let renamed = if rename { out.replace(FROM, "example.com/moved/") } else { out };
        let mut lines: Vec<String> = renamed.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let before = export(true);
    let said = admin_ok(db, &["merge", FROM, "example.com/moved/"]);
    assert_eq!(said.trim(), "merged example.com/old (12 hits) into example.com/moved/: now 12 hits");
    let after = export(false);
    assert_eq!(after, before, "the same counter and days, renamed");
}

#[test]
fn dry_run_says_what_would_happen_and_writes_nothing() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let db_arg = db.to_str().unwrap();
    import_seed(dir.path(), db_arg, utc_today());
    let bytes = std::fs::read(&db).unwrap();
    let said = admin_ok(db_arg, &["merge", FROM, INTO, "--dry-run"]);
    assert_eq!(
        said.trim(),
        "dry run: would merge example.com/old (12 hits) into example.com/new (28 hits): then 40 hits; nothing was changed"
    );
    let said = admin_ok(db_arg, &["merge", FROM, "example.com/else", "--dry-run"]);
    assert!(said.contains("(no counter yet): then 12 hits"), "{said}");
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "the database file is unchanged");
    assert_eq!((get_count(&db, FROM), get_count(&db, INTO)), (12, 28));

    let missing = dir.path().join("none.db");
    let out = admin(missing.to_str().unwrap(), &["merge", FROM, INTO, "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(!missing.exists(), "no database is created");
}

#[test]
fn merging_a_counter_into_itself_or_from_nothing_is_refused() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let db_arg = db.to_str().unwrap();
    admin_set(&db, "example.com/x", 5);
    for args in [
        &["merge", "HTTP://Example.COM/x", "example.com/x"][..],
        &["merge", "example.com/x?a=1", "//EXAMPLE.com/x", "--dry-run"],
    ] {
        let out = admin(db_arg, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert_eq!(stderr_of(&out), "hitcounter: cannot merge example.com/x into itself\n");
    }
    let out = admin(db_arg, &["merge", "example.com/none", "example.com/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_of(&out), "hitcounter: no counter for example.com/none\n");
    let out = admin(db_arg, &["merge", "not a url", "example.com/x"]);
    assert_eq!(out.status.code(), Some(2), "a bad URL is a usage error: {}", stderr_of(&out));
    let out = admin(db_arg, &["merge", "example.com/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr_of(&out), "hitcounter: usage: hitcounter merge FROM INTO [--dry-run]\n");
    assert_eq!(admin_list(&db, &[]), vec![(5, "example.com/x".to_string())], "nothing changed");
}

/// Hits a server still holds for FROM when the merge lands (a long flush
/// interval) follow the admin rule: they were counted on FROM's old value,
/// so they are dropped rather than bringing FROM back; whatever the merge
/// said INTO holds is what the server shows and keeps.
#[test]
fn pending_hits_on_from_do_not_bring_it_back() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    admin_set(&db, FROM, 10);
    admin_set(&db, INTO, 5);
    let mut s = Server::start_with(Opts { args: vec!["--flush-interval", "1500"], dir: Some(dir), ..Opts::default() });
    for _ in 0..3 {
        hit(&s, FROM);
    }
    assert_eq!((peek(&s, FROM), peek(&s, INTO)), (13, 5));
    let said = admin_ok(db.to_str().unwrap(), &["merge", FROM, INTO]);
    let now: u64 = said.trim().rsplit_once("now ").and_then(|(_, n)| n.strip_suffix(" hits")?.parse().ok()).unwrap();
    assert!(now == 15 || now == 18, "the hits were flushed before the merge or not: {said}");
    assert!(shows_within(&s, INTO, now, Duration::from_secs(2)), "shows {}", peek(&s, INTO));
    assert!(shows_within(&s, FROM, 0, Duration::from_secs(2)), "shows {}", peek(&s, FROM));
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!((get_count(&db, FROM), get_count(&db, INTO)), (0, now));
    assert!(admin_list(&db, &[]).iter().all(|(_, k)| k != FROM), "FROM is not resurrected");
}
