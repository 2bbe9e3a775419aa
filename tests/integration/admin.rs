//! The admin commands (list, get, set, delete, export, import) on the
//! database file, and a running server showing their effect within 2 s.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::*;

fn fresh_db() -> (std::sync::Arc<tempfile::TempDir>, PathBuf) {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    (dir, db)
}

fn get(db: &Path, url: &str) -> String {
    admin_ok(db, &["get", url]).trim_end_matches('\n').to_string()
}

#[test]
fn get_set_delete() {
    let (_d, db) = fresh_db();
    admin_ok(&db, &["set", "https://user:pw@Example.COM:443/a;p?x=1#y", "42"]);
    assert_eq!(get(&db, "example.com/b"), "0", "unknown URL reads 0");
    assert_eq!(get(&db, "example.com/a"), "42", "set normalises its URL like HTTP");
    assert_eq!(get(&db, "http://EXAMPLE.com:80/a?q"), "42", "get normalises its URL like HTTP");
    assert_eq!(get(&db, "www.example.com/a"), "0");
    assert_eq!(get(&db, "example.com/a/"), "0");
    assert_eq!(admin_list(&db, &[]), vec![(42, "example.com/a".to_string())]);

    admin_ok(&db, &["set", "example.com/a", "7"]);
    assert_eq!(get(&db, "example.com/a"), "7", "set sets, it does not add");
    admin_ok(&db, &["set", "example.com/zero", "0"]);
    assert_eq!(get(&db, "example.com/zero"), "0");

    let out = run_db(&db, &["delete", "https://example.com/a"]);
    assert!(out.status.success(), "delete: {}", stderr_of(&out));
    assert_eq!(get(&db, "example.com/a"), "0");
    assert!(!admin_list(&db, &[]).iter().any(|(_, k)| k == "example.com/a"));

    let out = run_db(&db, &["delete", "example.com/a"]);
    assert_eq!(out.status.code(), Some(1), "delete of a missing counter exits 1");
    assert!(!stderr_of(&out).trim().is_empty(), "and says why");
    let out = run_db(&db, &["delete", "never.example/x"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn set_rejects_bad_counts() {
    let (_d, db) = fresh_db();
    admin_set(&db, "example.com/s", 5);
    for bad in ["abc", "-1", "1.5", "", "99999999999999999999999"] {
        let out = run_db(&db, &["set", "example.com/s", bad]);
        assert!(!out.status.success(), "set COUNT={bad:?} must fail");
        assert!(!stderr_of(&out).trim().is_empty());
    }
    for bad_url in ["", "http://", "not a url"] {
        let out = run_db(&db, &["set", bad_url, "3"]);
        assert!(!out.status.success(), "set URL={bad_url:?} must fail");
    }
    assert_eq!(admin_list(&db, &[]), vec![(5, "example.com/s".to_string())]);
}

#[test]
fn list_biggest_first_and_top() {
    let (_d, db) = fresh_db();
    admin_set(&db, "a.example/1", 5);
    admin_set(&db, "b.example/2", 50);
    admin_set(&db, "c.example/3", 500);
    admin_set(&db, "d.example/4", 1);
    let want: Vec<(u64, String)> = vec![
        (500, "c.example/3".into()),
        (50, "b.example/2".into()),
        (5, "a.example/1".into()),
        (1, "d.example/4".into()),
    ];
    assert_eq!(admin_list(&db, &[]), want);
    assert_eq!(admin_list(&db, &["--top", "2"]), want[..2].to_vec());
    assert_eq!(admin_list(&db, &["--top", "10"]), want);
    // exact bytes: COUNT<TAB>KEY lines
    assert_eq!(admin_ok(&db, &["list", "--top", "1"]), "500\tc.example/3\n");
}

fn sample(db: &Path) -> BTreeSet<(String, u64)> {
    let rows = [
        ("example.com/x", 5u64),
        ("example.com/a,b\"c'd", 12),
        ("www.example.org/", 300),
        ("example.net:8080/p/q", 1),
        ("example.com/ünï", 7),
    ];
    for (u, c) in rows {
        admin_set(db, u, c);
    }
    rows.iter().map(|(u, c)| (u.to_string(), *c)).collect()
}

fn parse_csv(text: &str) -> BTreeSet<(String, u64)> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let h = rdr.headers().expect("csv header").clone();
    assert_eq!(h.iter().collect::<Vec<_>>(), vec!["url", "count"], "csv header");
    rdr.records()
        .map(|r| {
            let r = r.expect("csv row");
            assert_eq!(r.len(), 2);
            (r[0].to_string(), r[1].parse::<u64>().expect("numeric count"))
        })
        .collect()
}

#[test]
fn export_csv_and_json() {
    let (_d, db) = fresh_db();
    let want = sample(&db);
    let csv_out = admin_ok(&db, &["export", "--format", "csv"]);
    assert!(csv_out.starts_with("url,count\n") || csv_out.starts_with("url,count\r\n"), "{csv_out}");
    assert_eq!(parse_csv(&csv_out), want);
    assert_eq!(admin_ok(&db, &["export"]), csv_out, "csv is the default format");

    let json_out = admin_ok(&db, &["export", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json_out).expect("valid JSON");
    let arr = v.as_array().expect("a JSON array");
    let got: BTreeSet<(String, u64)> = arr
        .iter()
        .map(|o| {
            let o = o.as_object().expect("objects");
            assert_eq!(o.len(), 2, "only url and count: {o:?}");
            (o["url"].as_str().expect("url string").to_string(), o["count"].as_u64().expect("count number"))
        })
        .collect();
    assert_eq!(got, want);

    let out = run_db(&db, &["export", "--format", "xml"]);
    assert!(!out.status.success(), "unknown format must fail");

    // the contract's example, exactly (modulo whitespace)
    let (_d2, db2) = fresh_db();
    admin_set(&db2, "https://example.com/x", 5);
    let j = admin_ok(&db2, &["export", "--format", "json"]);
    let compact: String = j.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(compact, r#"[{"url":"example.com/x","count":5}]"#);
    // empty db
    let (_d3, db3) = fresh_db();
    admin_set(&db3, "example.com/gone", 1);
    admin_ok(&db3, &["delete", "example.com/gone"]);
    admin_ok(&db3, &["list"]);
    let j = admin_ok(&db3, &["export", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&j).unwrap(), serde_json::json!([]));
    assert_eq!(parse_csv(&admin_ok(&db3, &["export"])), BTreeSet::new());
}

#[test]
fn import_sets_counts_and_round_trips() {
    let (d, db) = fresh_db();
    admin_set(&db, "example.com/a", 42);
    admin_set(&db, "example.com/b", 7);
    let f = d.path().join("in.csv");
    std::fs::write(&f, "url,count\nhttps://Example.com/a,5\nnew.example/z,9\n\"quoted.example/a,b\",3\n").unwrap();
    admin_ok(&db, &["import", f.to_str().unwrap()]);
    let got: BTreeSet<(u64, String)> = admin_list(&db, &[]).into_iter().collect();
    let want: BTreeSet<(u64, String)> =
        [(5, "example.com/a"), (7, "example.com/b"), (9, "new.example/z"), (3, "quoted.example/a,b")]
            .iter()
            .map(|(c, k)| (*c, k.to_string()))
            .collect();
    assert_eq!(got, want, "import SETs counts (normalised keys), leaves others alone");

    // export → import into a new db → same export
    let (d2, db2) = fresh_db();
    let want = sample(&db2);
    let exported = admin_ok(&db2, &["export"]);
    let f2 = d2.path().join("export.csv");
    std::fs::write(&f2, &exported).unwrap();
    let (_d3, db3) = fresh_db();
    admin_ok(&db3, &["import", f2.to_str().unwrap()]);
    assert_eq!(parse_csv(&admin_ok(&db3, &["export"])), want, "export/import round trip");
}

#[test]
fn import_is_all_or_nothing() {
    let (d, db) = fresh_db();
    admin_set(&db, "example.com/a", 42);
    admin_set(&db, "example.com/b", 7);
    let before = admin_list(&db, &[]);
    let good = "url,count\nexample.com/a,1\nexample.com/new,2\n";
    let bad_files = [
        format!("{good}example.com/c,abc\n"),
        format!("{good}example.com/c,-3\n"),
        format!("{good}example.com/c,1.5\n"),
        format!("{good}example.com/c\n"),
        format!("{good},5\n"),
        format!("{good}http://,5\n"),
        format!("{good}example.com/c,5,extra\n"),
        format!("{good}example.com/c,99999999999999999999999\n"),
        "link,hits\nexample.com/a,1\n".to_string(),
        "example.com/a,1\n".to_string(),
        "".to_string(),
    ];
    for (i, content) in bad_files.iter().enumerate() {
        let f = d.path().join(format!("bad{i}.csv"));
        std::fs::write(&f, content).unwrap();
        let out = run_db(&db, &["import", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "bad file {content:?} must exit 1; stderr: {}", stderr_of(&out));
        assert!(!stderr_of(&out).trim().is_empty(), "bad file {content:?}: say why");
        assert_eq!(admin_list(&db, &[]), before, "bad file {content:?} changed the db");
    }
    let out = run_db(&db, &["import", d.path().join("missing.csv").to_str().unwrap()]);
    assert!(!out.status.success(), "missing file must fail");
    assert_eq!(admin_list(&db, &[]), before);
}

#[test]
fn admin_reads_database_file_path_env() {
    let (_d, db) = fresh_db();
    admin_set(&db, "example.com/env", 11);
    let (out, killed) =
        run_env(&["get", "example.com/env"], &[("DATABASE_FILE_PATH", db.to_str().unwrap())], Duration::from_secs(15));
    assert!(!killed);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).trim(), "11");
}

/// Polls the server until `/nocount` shows `want` — within 2 s, as promised.
fn shows_within_2s(s: &Server, url: &str, want: u64) -> bool {
    shows_within(s, url, want, Duration::from_secs(2))
}

#[test]
fn running_server_shows_set_delete_import_within_2s() {
    let s = Server::start();
    let u = uniq_url("live");
    let v = uniq_url("live2");
    for _ in 0..3 {
        hit(&s, &u);
    }
    admin_ok(&s.db, &["set", &u, "100"]);
    assert!(shows_within_2s(&s, &u, 100), "set not visible within 2 s (shows {})", peek(&s, &u));
    assert_eq!(hit(&s, &u), 101, "counting continues from the set value");

    // the server's hits reach the db, so delete finds the counter
    assert!(eventually(Duration::from_secs(5), || get_count(&s.db, &u) == 101));
    admin_ok(&s.db, &["delete", &u]);
    assert!(shows_within_2s(&s, &u, 0), "delete not visible within 2 s (shows {})", peek(&s, &u));
    assert_eq!(hit(&s, &u), 1, "a deleted counter starts again from 1");

    let f = s.dir.path().join("live.csv");
    std::fs::write(&f, format!("url,count\n{u},500\n{v},77\n")).unwrap();
    admin_ok(&s.db, &["import", f.to_str().unwrap()]);
    assert!(shows_within_2s(&s, &u, 500), "import not visible within 2 s (shows {})", peek(&s, &u));
    assert!(shows_within_2s(&s, &v, 77));
    assert_eq!(hit(&s, &v), 78);
}

/// Hits still pending in memory when `set`/`delete` land must not be added
/// on top of the new value (no surprising deltas).
#[test]
fn pending_hits_do_not_resurrect_or_inflate_after_admin_change() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let u = uniq_url("pend-set");
    let v = uniq_url("pend-del");
    admin_set(&db, &u, 10);
    admin_set(&db, &v, 10);
    // a 1.5 s flush interval: the hits are very likely still pending when the
    // admin command lands (if not, the expected numbers are the same)
    let mut s = Server::start_with(Opts { args: vec!["--flush-interval", "1500"], dir: Some(dir), ..Opts::default() });
    for _ in 0..3 {
        hit(&s, &u);
        hit(&s, &v);
    }
    assert_eq!(peek(&s, &u), 13);
    admin_ok(&db, &["set", &u, "100"]);
    let out = run_db(&db, &["delete", &v]);
    assert!(out.status.success(), "delete of a stored counter with pending hits: {}", stderr_of(&out));
    assert!(shows_within_2s(&s, &u, 100), "set under pending hits: shows {}", peek(&s, &u));
    assert!(shows_within_2s(&s, &v, 0), "delete under pending hits: shows {}", peek(&s, &v));
    assert_eq!(hit(&s, &u), 101);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&db, &u), 101, "earlier pending hits were not added on top of the set value");
    assert_eq!(get_count(&db, &v), 0, "a deleted counter is not resurrected by its pending hits");
}

/// No exception: admin changes show within 2 s whatever the flush
/// interval.
#[test]
fn admin_change_visible_within_2s_with_a_long_flush_interval() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let u = uniq_url("longflush");
    admin_set(&db, &u, 10);
    let s = Server::start_with(Opts { args: vec!["--flush-interval", "10000"], dir: Some(dir), ..Opts::default() });
    assert_eq!(peek(&s, &u), 10);
    // a busy counter: the server holds it in memory with a hit not yet written
    assert_eq!(hit(&s, &u), 11);
    admin_ok(&db, &["set", &u, "200"]);
    assert!(
        shows_within_2s(&s, &u, 200),
        "--flush-interval 10000: set not visible within 2 s (shows {})",
        peek(&s, &u)
    );
}

/// One CGI request on `db`, answered by the binary itself (no web server).
fn cgi_hit(db: &Path, url: &str) -> String {
    let query = format!("url={}", enc(url));
    let env = [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", "/count"),
        ("QUERY_STRING", query.as_str()),
        ("DATABASE_FILE_PATH", db.to_str().unwrap()),
    ];
    let (out, killed) = run_env(&[], &env, Duration::from_secs(15));
    assert!(!killed && out.status.success(), "CGI run failed: {}", stderr_of(&out));
    stdout_of(&out)
}

/// The server keeps every stored count in memory; hits another process
/// writes to the same file (a CGI copy, a second server) still show up.
#[test]
fn running_server_shows_hits_written_by_another_process() {
    let s = Server::start();
    let u = uniq_url("shared-known");
    let v = uniq_url("shared-new");
    for _ in 0..3 {
        hit(&s, &u);
    }
    assert!(eventually(Duration::from_secs(5), || get_count(&s.db, &u) == 3), "hits reach the database");
    assert_eq!(peek(&s, &v), 0);
    let body = cgi_hit(&s.db, &u);
    assert!(body.ends_with("\r\n\r\n4") || body.ends_with("\n\n4"), "CGI counted on the stored 3: {body:?}");
    cgi_hit(&s.db, &v);
    assert!(
        eventually(Duration::from_secs(3), || peek(&s, &u) == 4 && peek(&s, &v) == 1),
        "server shows {} and {} instead of 4 and 1",
        peek(&s, &u),
        peek(&s, &v)
    );
    assert_eq!(hit(&s, &u), 5);
    assert_eq!(hit(&s, &v), 2);
}

/// `hitcounter import - ARGS --db DB` with `input` on standard input.
fn import_stdin(db: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut cmd = std::process::Command::new(BIN);
    clear_env(&mut cmd);
    cmd.arg("import").arg("-").args(args).arg("--db").arg(db);
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn import_reads_the_json_export_writes_and_standard_input() {
    let (d, db) = fresh_db();
    let want = sample(&db);
    let json = admin_ok(&db, &["export", "--format", "json"]);
    let f = d.path().join("export.json");
    std::fs::write(&f, &json).unwrap();
    let (_d2, db2) = fresh_db();
    admin_ok(&db2, &["import", f.to_str().unwrap()]);
    assert_eq!(parse_csv(&admin_ok(&db2, &["export"])), want, "JSON by its extension");

    let (_d3, db3) = fresh_db();
    let out = import_stdin(&db3, &["--format", "json"], &json);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(parse_csv(&admin_ok(&db3, &["export"])), want, "JSON from standard input");

    let (_d4, db4) = fresh_db();
    let out = import_stdin(&db4, &[], &admin_ok(&db, &["export"]));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(parse_csv(&admin_ok(&db4, &["export"])), want, "CSV from standard input");

    let out = import_stdin(&db4, &["--format", "json"], "[{\"url\": \"x.example/a\", \"count\": \"many\"}]");
    assert_eq!(out.status.code(), Some(1), "a bad row: nothing imported");
    assert_eq!(parse_csv(&admin_ok(&db4, &["export"])), want);
}

/// A database with history: seeded days from before visitors were counted
/// (no uniques), then real hits through a server (today's row, with its
/// visitors).
fn sample_with_history(dir: &std::sync::Arc<tempfile::TempDir>, db: &Path) -> String {
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    support::history::seed(
        db,
        &[
            ("history.example/a", 40, vec![(d("2026-03-28"), 10), (d("2026-03-29"), 30)]),
            ("history.example/b,\"quoted\"", 5, vec![(d("2025-12-31"), 5)]),
            ("history.example/none", 3, vec![]),
        ],
    );
    let mut s = Server::start_with(Opts { dir: Some(dir.clone()), db: Some(db.to_path_buf()), ..Opts::default() });
    hit(&s, "history.example/a");
    hit(&s, "history.example/new");
    assert_eq!(s.stop().code(), Some(0));
    admin_ok(db, &["export", "--history"])
}

#[test]
fn export_history_round_trips_in_csv_and_json_from_files_and_stdin() {
    let (d, db) = fresh_db();
    let csv = sample_with_history(&d, &db);
    let today = support::history::utc_today().format("%Y-%m-%d").to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "url,count,day,hits,uniques");
    for want in [
        "history.example/a,41,2026-03-28,10,".to_string(),
        "history.example/a,41,2026-03-29,30,".to_string(),
        format!("history.example/a,41,{today},1,1"),
        "\"history.example/b,\"\"quoted\"\"\",5,2025-12-31,5,".to_string(),
        "history.example/none,3,,,".to_string(),
        format!("history.example/new,1,{today},1,1"),
    ] {
        assert!(lines.contains(&want.as_str()), "{want:?} missing from\n{csv}");
    }
    assert_eq!(lines.len(), 7, "{csv}");
    let json = admin_ok(&db, &["export", "--history", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let a = parsed.as_array().unwrap().iter().find(|c| c["url"] == "history.example/a").unwrap();
    assert_eq!(a["count"], 41);
    assert_eq!(a["days"][0], serde_json::json!({"day": "2026-03-28", "hits": 10, "uniques": null}));
    assert_eq!(a["days"][2], serde_json::json!({"day": today, "hits": 1, "uniques": 1}));
    let none = parsed.as_array().unwrap().iter().find(|c| c["url"] == "history.example/none").unwrap();
    assert_eq!(none["days"], serde_json::json!([]));

    // Each form, from a file and from standard input, restores the same
    // counters and days (and a plain export agrees).
    let plain = admin_ok(&db, &["export"]);
    for (name, text, args) in [("h.csv", &csv, &[][..]), ("h.json", &json, &["--format", "json"][..])] {
        let (d2, db2) = fresh_db();
        let f = d2.path().join(name);
        std::fs::write(&f, text).unwrap();
        let out = admin_ok(&db2, &["import", f.to_str().unwrap()]);
        assert_eq!(admin_ok(&db2, &["export", "--history"]), csv, "{name} from a file ({out})");
        assert_eq!(admin_ok(&db2, &["export", "--history", "--format", "json"]), json, "{name} from a file");
        assert_eq!(admin_ok(&db2, &["export"]), plain);

        let (_d3, db3) = fresh_db();
        let out = import_stdin(&db3, args, text);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains("and 5 days of history"), "{}", stderr_of(&out));
        assert_eq!(admin_ok(&db3, &["export", "--history"]), csv, "{name} from standard input");
    }

    // The restored days are what the history views show.
    let (d4, db4) = fresh_db();
    let f = d4.path().join("h.csv");
    std::fs::write(&f, &csv).unwrap();
    admin_ok(&db4, &["import", f.to_str().unwrap()]);
    let s = Server::start_with(Opts { dir: Some(d4.clone()), db: Some(db4.clone()), ..Opts::default() });
    let stats = support::history::stats_json(&s, "history.example/a", "&days=366");
    assert_eq!(support::history::num(&stats, "total"), 41, "{stats}");
}

#[test]
fn history_imports_refuse_disagreeing_rows() {
    let (d, db) = fresh_db();
    let f = d.path().join("bad.csv");
    std::fs::write(
        &f,
        "url,count,day,hits,uniques\na.example,9,2026-11-30,4,2\na.example,8,2026-12-01,1,\na.example,9,2026-11-30,1,1\n",
    )
    .unwrap();
    let out = run_db(&db, &["import", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("2 invalid rows, nothing imported"), "{err}");
    assert!(err.contains("differs") && err.contains("given twice"), "{err}");
}
