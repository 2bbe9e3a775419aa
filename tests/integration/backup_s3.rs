//! Backups in S3-compatible storage, against a real server that checks
//! SigV4 signatures (s3s-fs): periodic backups from the server (names,
//! `latest`, retention, nothing uploaded when nothing changed), restore on
//! start (ours, the original's SQL dump), the failures that must not start
//! an empty database, a wrong secret key, and the original's layouts
//! (AWS_PROFILE, `S3_KEY_PREFIX` with and without its `/`, the default
//! bucket `sqlite`, a prefix with `..` refused), and what the start-up log
//! says about backups.

use crate::support;

use std::time::Duration;
use support::s3::{env_refs, BUCKET, S3};
use support::*;

/// A server backing up to `s3://backups/PREFIX` every second.
fn backing_up(s3: &S3, prefix: &str, extra: &[&str], dir: Option<std::sync::Arc<tempfile::TempDir>>) -> Server {
    let env = s3.env();
    let to = format!("s3://{BUCKET}/{prefix}");
    let mut args = vec!["--backup-to", to.as_str(), "--backup-interval", "1"];
    args.extend_from_slice(extra);
    Server::start_with(Opts { args, env: env_refs(&env), dir, ..Opts::default() })
}

fn timestamped(names: &[String]) -> Vec<String> {
    names.iter().filter(|n| n.len() == 17 && n.ends_with(".db") && n != &"latest.db").cloned().collect()
}

#[test]
fn periodic_backups_name_keep_and_skip() {
    let s3 = S3::start();
    let mut s = backing_up(&s3, "site", &["--backup-keep", "2", "--metrics"], None);
    let url = uniq_url("periodic");
    hit(&s, &url);
    assert!(eventually(Duration::from_secs(10), || s3.objects("site").contains(&"latest.db".to_string())));
    // New hits every ~1.2 s: a backup each second that has changes.
    for _ in 0..4 {
        hit(&s, &url);
        std::thread::sleep(Duration::from_millis(1200));
        assert!(s3.objects("site").contains(&"latest.db".to_string()), "latest is never missing");
    }
    let names = s3.objects("site");
    assert_eq!(timestamped(&names).len(), 2, "retention keeps exactly 2: {names:?}");
    // Nothing changes: nothing new is uploaded.
    std::thread::sleep(Duration::from_millis(1500));
    let before = s3.objects("site");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(s3.objects("site"), before, "an unchanged database uploads nothing");
    let health = request(&s.addr, "GET", "/healthz", &[]);
    assert_eq!(health.status, 200, "{}", health.text());
    let metrics = request(&s.addr, "GET", "/metrics", &[]).text();
    let last: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hitcounter_backup_last_success_timestamp_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(last.abs_diff(now_secs()) < 60, "{last}");
    assert!(metrics.contains("hitcounter_backup_failures_total 0"), "{metrics}");
    assert!(s.stop().success());
    // What `latest` holds restores to the counts it had.
    let fresh = s.dir.path().join("fresh.db");
    let env = s3.env();
    let (out, _) = run_env(
        &["restore", &format!("s3://{BUCKET}/site"), "--db", fresh.to_str().unwrap()],
        &env_refs(&env),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(get_count(&fresh, &url), 5);
    let (out, _) =
        run_env(&["backups", "list", &format!("s3://{BUCKET}/site")], &env_refs(&env), Duration::from_secs(30));
    assert_eq!(stdout_of(&out).lines().count(), 3, "{}", stdout_of(&out));
}

#[test]
fn a_missing_database_is_restored_from_latest_before_listening() {
    let s3 = S3::start();
    let mut first = backing_up(&s3, "r", &["--backup-on-exit"], None);
    let url = uniq_url("restored");
    for _ in 0..3 {
        hit(&first, &url);
    }
    assert!(first.stop().success());
    assert!(s3.objects("r").contains(&"latest.db".to_string()), "the backup at exit");
    // A new machine: same bucket, no database.
    let s = backing_up(&s3, "r", &[], None);
    assert!(s.log_text().contains("restored 1 counters"), "{}", s.log_text());
    assert_eq!(peek(&s, &url), 3);
}

#[test]
fn an_empty_bucket_starts_empty_and_says_so() {
    let s3 = S3::start();
    let s = backing_up(&s3, "empty", &[], None);
    assert!(s.log_text().contains("no backup in s3://backups/empty/ yet"), "{}", s.log_text());
    assert_eq!(peek(&s, "example.com/x"), 0);
}

/// The original's `url` table holding `rows` (`('key', count), ...`),
/// dumped the way its backup script did (`sqlite3 DB .dump`).
fn originals_dump(rows: &str) -> Vec<u8> {
    let sqlite3 = need("sqlite3", "sqlite3");
    let dir = tempdir();
    let original = dir.path().join("data.db");
    let conn = rusqlite::Connection::open(&original).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE url (id INTEGER NOT NULL, url VARCHAR(1024), count INTEGER, PRIMARY KEY (id));
         INSERT INTO url (url, count) VALUES {rows};"
    ))
    .unwrap();
    drop(conn);
    let dump = std::process::Command::new(sqlite3).arg(&original).arg(".dump").output().unwrap();
    assert!(dump.status.success());
    dump.stdout
}

#[test]
fn the_originals_sql_dump_restores_and_converts() {
    let s3 = S3::start();
    // With the duplicate rows the original's racy insert left.
    let dump = originals_dump("('github.com/me/repo', 40), ('github.com/me/repo', 42), ('blog.example/post;1', 7)");
    // S3_BUCKET and S3_KEY_PREFIX, used as the original did.
    std::fs::write(s3.bucket_dir.join("hits-latest.bak"), &dump).unwrap();
    let mut env = s3.env();
    env.push(("S3_BUCKET", BUCKET.into()));
    env.push(("S3_KEY_PREFIX", "hits-".into()));
    let s = Server::start_with(Opts { env: env_refs(&env), ..Opts::default() });
    assert_eq!(peek(&s, "github.com/me/repo"), 42, "duplicates merged by the largest count");
    assert_eq!(peek(&s, "blog.example/post;1"), 7);
}

#[test]
fn a_failed_restore_stops_the_server_and_overwrites_nothing() {
    let s3 = S3::start();
    std::fs::create_dir(s3.bucket_dir.join("bad")).unwrap();
    std::fs::write(s3.bucket_dir.join("bad/latest.db"), b"SQLite format 3\0 torn upload, nothing more").unwrap();
    let env = s3.env();
    let dir = tempdir();
    let args = vec!["--backup-to", "s3://backups/bad"];
    let err = Server::try_start(Opts { args, env: env_refs(&env), dir: Some(dir.clone()), ..Opts::default() }).err();
    let (log, status) = err.expect("the server must not start");
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{log:?}");
    assert!(log.iter().any(|l| l.contains("not a usable snapshot")), "{log:?}");
    assert!(!dir.path().join("hitcounter.db").exists(), "no empty database was made");
}

#[test]
fn a_wrong_secret_is_named_and_the_server_keeps_serving() {
    let s3 = S3::start();
    let mut env = s3.env();
    env[1].1 = "not-the-secret".into();
    // No database: the restore fails, and the server does not start.
    let (log, status) =
        Server::try_start(Opts { args: vec!["--backup-to", "s3://backups/w"], env: env_refs(&env), ..Opts::default() })
            .err()
            .expect("no start on a failed restore");
    assert_eq!(status.and_then(|s| s.code()), Some(1));
    assert!(log.iter().any(|l| l.contains("SignatureDoesNotMatch")), "{log:?}");
    assert!(!log.iter().any(|l| l.contains("not-the-secret")), "the secret is never logged");
    // A database exists: the server serves, logs the failure once, retries.
    let dir = tempdir();
    admin_set(&dir.path().join("hitcounter.db"), "example.com/w", 1);
    let s = Server::start_with(Opts {
        args: vec!["--backup-to", "s3://backups/w", "--backup-interval", "1"],
        env: env_refs(&env),
        dir: Some(dir),
        ..Opts::default()
    });
    assert!(wait_log(&s, Duration::from_secs(10), |l| l.contains("SignatureDoesNotMatch")), "{}", s.log_text());
    assert_eq!(hit(&s, "example.com/w"), 2, "counting goes on");
    assert!(
        eventually(Duration::from_secs(10), || request(&s.addr, "GET", "/healthz", &[]).status == 503),
        "/healthz reports backups that keep failing"
    );
    let health = request(&s.addr, "GET", "/healthz", &[]).text();
    assert!(health.contains("backup"), "{health}");
    assert_eq!(s.log_text().matches("SignatureDoesNotMatch").count(), 1, "logged once per incident");
    assert!(!s.log_text().contains("not-the-secret"));
}

#[test]
fn aws_profile_in_the_originals_wasabi_layout() {
    let s3 = S3::start();
    let home = tempdir();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    let config = format!(
        "[default]\nregion = us-east-1\n\n[profile wasabi]\nregion = eu-central-1\ns3 =\n    endpoint_url = {}\n    signature_version = s3v4\n",
        s3.endpoint
    );
    std::fs::write(home.path().join(".aws/config"), config).unwrap();
    let env = [
        ("HOME", home.path().to_str().unwrap()),
        ("AWS_PROFILE", "wasabi"),
        ("AWS_ACCESS_KEY_ID", support::s3::KEY),
        ("AWS_SECRET_ACCESS_KEY", support::s3::SECRET),
    ];
    let db = home.path().join("hitcounter.db");
    admin_set(&db, "example.com/p", 12);
    let (out, _) =
        run_env(&["backup", "s3://backups/wasabi", "--db", db.to_str().unwrap()], &env, Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(timestamped(&s3.objects("wasabi")).len(), 1);
    assert!(s3.objects("wasabi").contains(&"latest.db".to_string()));
}

/// The second version of the original's backup script adds a `/` to a
/// prefix without one: `S3_KEY_PREFIX=hits` wrote `hits/latest.bak`.
#[test]
fn the_originals_prefix_without_a_slash_restores_from_the_folder_too() {
    let s3 = S3::start();
    std::fs::create_dir(s3.bucket_dir.join("hits")).unwrap();
    std::fs::write(s3.bucket_dir.join("hits/latest.bak"), originals_dump("('example.com/a', 9)")).unwrap();
    let mut env = s3.env();
    env.push(("S3_BUCKET", BUCKET.into()));
    env.push(("S3_KEY_PREFIX", "hits".into()));
    let s = Server::start_with(Opts { env: env_refs(&env), ..Opts::default() });
    assert_eq!(peek(&s, "example.com/a"), 9);
    let log = s.log_text();
    assert!(log.contains("backups: every 900s to s3://backups/hits"), "{log}");
    assert!(log.contains("restored 1 counters from s3://backups/hits/latest.bak into "), "{log}");
}

/// The original's environment without `S3_BUCKET` uses its bucket `sqlite`:
/// restored from there on start, backed up there.
#[test]
fn the_originals_environment_without_a_bucket_uses_the_bucket_sqlite() {
    let s3 = S3::start();
    let default_bucket = s3.bucket_dir.parent().unwrap().join("sqlite");
    std::fs::create_dir(&default_bucket).unwrap();
    std::fs::write(default_bucket.join("latest.bak"), originals_dump("('example.com/b', 4)")).unwrap();
    let mut env = s3.env();
    env.push(("BKPINTERVAL", "1".into()));
    let s = Server::start_with(Opts { env: env_refs(&env), ..Opts::default() });
    assert_eq!(peek(&s, "example.com/b"), 4);
    let log = s.log_text();
    assert!(log.contains("backups: every 1s to s3://sqlite/"), "{log}");
    assert!(log.contains("restored 1 counters from s3://sqlite/latest.bak into "), "{log}");
    hit(&s, "example.com/b");
    assert!(
        eventually(Duration::from_secs(10), || default_bucket.join("latest.db").exists()),
        "backed up to the bucket sqlite: {}",
        s.log_text()
    );
}

/// Start-up says why there are no backups: none asked for, or the
/// original's environment without credentials.
#[test]
fn the_start_up_log_says_why_there_are_no_backups() {
    let s = Server::start();
    assert!(s.log_text().contains("backups: none (neither --backup-to nor S3_BUCKET is set)"), "{}", s.log_text());
    let home = tempdir();
    let env = vec![("HOME", home.path().to_str().unwrap()), ("S3_KEY_PREFIX", "hits/")];
    let s = Server::start_with(Opts { env, ..Opts::default() });
    let log = s.log_text();
    assert!(log.contains("backups: none (S3_KEY_PREFIX is set, but there are no S3 credentials"), "{log}");
}

/// A prefix with `.` or `..` segments could name another bucket: refused
/// with one line, nothing started.
#[test]
fn a_prefix_with_dot_segments_is_refused_with_one_line() {
    let s3 = S3::start();
    for (args, prefix) in
        [(&[][..], "../other/"), (&[][..], "hits/./x"), (&["--backup-to", "s3://backups/a/../b"][..], "")]
    {
        let mut env = s3.env();
        if !prefix.is_empty() {
            env.push(("S3_BUCKET", BUCKET.into()));
            env.push(("S3_KEY_PREFIX", prefix.into()));
        }
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (out, _) = run_env(&all, &env_refs(&env), Duration::from_secs(30));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?} {prefix}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        assert!(err.contains("`.` or `..` segment"), "{err}");
    }
}
