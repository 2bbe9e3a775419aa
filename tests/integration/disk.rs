//! The disk under the database: full, read-only, deleted, or another
//! application's file. Real filesystems where it matters: a small tmpfs
//! (mounted by the test; skipped, saying why, when `mount` is not
//! permitted) and an unprivileged user via `setpriv`.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

/// A tmpfs of `size` mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _parent: std::sync::Arc<tempfile::TempDir>,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let parent = tempdir();
        let dir = parent.path().join("fs");
        std::fs::create_dir(&dir).unwrap();
        let out =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir, _parent: parent }),
            Ok(o) => {
                eprintln!("SKIPPED: cannot mount a tmpfs here: {}", String::from_utf8_lossy(&o.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    /// Writes a file until the filesystem is full; returns its path.
    fn fill(&self) -> PathBuf {
        self.fill_as("filler")
    }

    fn fill_as(&self, name: &str) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![7u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn start_on(db: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--dedup", "off"];
    args.extend(["--rate-limit", "0", "--new-counters-per-hour", "0"]);
    args.extend_from_slice(extra);
    let cmd = Cmd { args, ..Cmd::default() }.command();
    Server::launch(cmd, db.to_path_buf(), tempdir()).unwrap_or_else(|(log, st)| panic!("no start ({st:?}): {log:?}"))
}

/// Counts `hits` hits on each URL; returns how many got a 200.
fn count_all(s: &Server, urls: &[String], hits: usize) -> Vec<u64> {
    urls.iter()
        .map(|u| (0..hits).filter(|_| s.get(&format!("/count?url={}", enc(u))).status == 200).count() as u64)
        .collect()
}

fn stop_cleanly(s: &mut Server) {
    signal(&s.child, libc::SIGTERM);
    let st = wait_bounded(&mut s.child, Duration::from_secs(60));
    assert_eq!(st.code(), Some(0), "clean stop; log: {}", s.log_text());
}

fn assert_stored(db: &Path, urls: &[String], answered: &[u64]) {
    for (u, n) in urls.iter().zip(answered) {
        assert_eq!(get_count(db, u), *n, "{u}: the stored count equals the 200 responses");
    }
}

fn lines_with(s: &Server, needle: &str) -> usize {
    log_lines(s).iter().filter(|l| l.contains(needle)).count()
}

#[test]
fn a_full_disk_loses_no_answered_hit_and_reads_still_work() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let db = fs.dir.join("hitcounter.db");
    let mut s = start_on(&db, &["--quiet", "--metrics"]);
    let before: Vec<String> = (0..20).map(|_| uniq_url("before-full")).collect();
    let mut answered = count_all(&s, &before, 2);
    std::thread::sleep(Duration::from_millis(500));

    let filler = fs.fill();
    assert!(
        eventually(Duration::from_secs(5), || s.get("/healthz").status == 503),
        "/healthz reports the full disk: {}",
        s.get("/healthz").text()
    );
    // The reserve is given up for the first writes; then the space it
    // freed is taken too, so the hits must wait in memory.
    let during: Vec<String> = (0..600).map(|_| uniq_url("while-full")).collect();
    answered.extend(count_all(&s, &during[..300], 2));
    assert!(
        wait_log(&s, Duration::from_secs(10), |l| l.contains("released the reserve")),
        "the reserve is given up: {}",
        s.log_text()
    );
    let filler2 = fs.fill_as("filler2");
    answered.extend(count_all(&s, &during[300..], 2));
    assert!(
        wait_log(&s, Duration::from_secs(10), |l| l.contains("writing hits failed")),
        "the disk really filled: {}",
        s.log_text()
    );
    let wal = std::fs::metadata(fs.dir.join("hitcounter.db-wal")).map_or(0, |m| m.len());
    assert!(wal <= 16 << 20, "the WAL stays within its bound: {wal}");
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("hitcounter_disk_free_bytes "), "{metrics}");
    // Read-only commands open the database on the full disk.
    assert_eq!(get_count(&db, &before[0]), 2);
    assert!(!admin_list(&db, &[]).is_empty());
    let csv = admin_ok(&db, &["export", "--format", "csv"]);
    assert!(csv.contains(&before[0]), "export works on the full disk");

    std::fs::remove_file(filler).unwrap();
    std::fs::remove_file(filler2).unwrap();
    assert!(
        eventually(Duration::from_secs(15), || s.get("/healthz").status == 200),
        "/healthz recovers once space is freed: {}; log: {}",
        s.get("/healthz").text(),
        s.log_text()
    );
    stop_cleanly(&mut s);
    let all: Vec<String> = before.iter().chain(&during).cloned().collect();
    assert_stored(&db, &all, &answered);
    assert!(lines_with(&s, "disk holding") <= 1, "one line per incident: {}", s.log_text());
    assert_eq!(lines_with(&s, "writing hits failed"), 1, "one line per incident: {}", s.log_text());
    assert!(wait_log(&s, Duration::ZERO, |l| l.contains("flush recovered")), "{}", s.log_text());
}

#[test]
fn a_server_starts_on_a_full_disk_and_catches_up() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let db = fs.dir.join("hitcounter.db");
    let mut s = start_on(&db, &["--quiet"]);
    let u = uniq_url("full-start");
    assert_eq!(hit(&s, &u), 1);
    stop_cleanly(&mut s);

    let filler = fs.fill();
    let mut s = start_on(&db, &["--quiet"]);
    assert_eq!(peek(&s, &u), 1, "counts are served from the full disk");
    assert_eq!(hit(&s, &u), 2);
    assert!(eventually(Duration::from_secs(5), || s.get("/healthz").status == 503), "/healthz: low space");
    std::fs::remove_file(filler).unwrap();
    stop_cleanly(&mut s);
    assert_eq!(get_count(&db, &u), 2);
}

#[test]
fn a_deleted_database_directory_is_recreated_with_every_hit() {
    let dir = tempdir();
    let sub = dir.path().join("data");
    let db = sub.join("hitcounter.db");
    let mut s = start_on(&db, &["--quiet"]);
    let urls: Vec<String> = (0..10).map(|_| uniq_url("vanish")).collect();
    let mut answered = count_all(&s, &urls, 3);
    std::thread::sleep(Duration::from_millis(400));

    std::fs::remove_dir_all(&sub).unwrap();
    let more = count_all(&s, &urls, 2);
    for (a, m) in answered.iter_mut().zip(more) {
        *a += m;
    }
    assert!(
        wait_log(&s, Duration::from_secs(10), |l| l.contains("recovered:")),
        "the server notices and recreates the file: {}",
        s.log_text()
    );
    assert!(db.exists());
    assert!(s.get("/healthz").status == 200, "{}", s.get("/healthz").text());
    let after = count_all(&s, &urls, 1);
    for (a, m) in answered.iter_mut().zip(after) {
        *a += m;
    }
    stop_cleanly(&mut s);
    assert_stored(&db, &urls, &answered);
    assert_eq!(lines_with(&s, "was deleted"), 1, "one line per incident: {}", s.log_text());
}

#[test]
fn a_replaced_database_is_reopened_and_written_to() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let mut s = start_on(&db, &["--quiet", "--flush-interval", "2000"]);
    let u = uniq_url("replaced");
    assert_eq!(hit(&s, &u), 1);
    // Another database put in its place (a restore by hand, say).
    let other = dir.path().join("other.db");
    admin_set(&other, "example.com/theirs", 7);
    std::fs::rename(&other, &db).unwrap();
    assert!(
        wait_log(&s, Duration::from_secs(10), |l| l.contains("recovered:")),
        "the server writes what it holds into the new file: {}",
        s.log_text()
    );
    assert_eq!(hit(&s, &u), 2, "memory still holds the count");
    stop_cleanly(&mut s);
    assert_eq!(get_count(&db, "example.com/theirs"), 7, "the new file's counts are kept");
    assert_eq!(get_count(&db, &u), 2, "the hits held in memory went into the new file");
    assert_eq!(lines_with(&s, "was replaced"), 1, "one line per incident: {}", s.log_text());
}

#[test]
fn a_database_made_read_only_while_running_is_reported_once_each_way() {
    use std::os::unix::fs::{chown, PermissionsExt};
    // SAFETY: geteuid() has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    // Root may write anything: then the server runs as nobody (setpriv).
    let base = std::env::temp_dir().join(format!("hc-ro-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let db = base.join("hitcounter.db");
    if root {
        chown(&base, Some(65534), Some(65534)).unwrap();
    }
    let mut args = vec![];
    if root {
        args.extend(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
    }
    args.extend(["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--dedup", "off", "--quiet"]);
    args.extend(["--rate-limit", "0", "--new-counters-per-hour", "0"]);
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]);
    if !root {
        cmd = Cmd { args: args.clone(), ..Cmd::default() }.command();
    }
    let mut s = Server::launch(cmd, db.clone(), tempdir()).unwrap_or_else(|(l, st)| panic!("no start ({st:?}): {l:?}"));
    let urls: Vec<String> = (0..5).map(|_| uniq_url("ro")).collect();
    let mut answered = count_all(&s, &urls, 2);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o555)).unwrap();
    let more = count_all(&s, &urls, 2);
    let told = wait_log(&s, Duration::from_secs(10), |l| l.contains("is not writable"));
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    for (a, m) in answered.iter_mut().zip(more) {
        *a += m;
    }
    assert!(told, "the change is reported: {}", s.log_text());
    assert!(wait_log(&s, Duration::from_secs(10), |l| l.contains("is writable again")), "{}", s.log_text());
    stop_cleanly(&mut s);
    assert_stored(&db, &urls, &answered);
    let _ = std::fs::remove_dir_all(&base);
    assert_eq!(lines_with(&s, "is not writable"), 1, "one line each way: {}", s.log_text());
    assert_eq!(lines_with(&s, "is writable again"), 1, "one line each way: {}", s.log_text());
}

#[test]
fn a_read_only_database_file_or_directory_is_refused_at_start() {
    use std::os::unix::fs::{chown, PermissionsExt};
    // SAFETY: geteuid() has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root to run the server as another user (setpriv)");
        return;
    }
    const NOBODY: u32 = 65534;
    // (what, the directory's owner, the file's owner and mode): the server
    // runs as nobody.
    for (what, dir_owner, file_owner, file_mode) in [("file", NOBODY, 0, 0o444), ("directory", 0, NOBODY, 0o644)] {
        let base = std::env::temp_dir().join(format!("hc-ro-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let db = base.join("hitcounter.db");
        admin_set(&db, "example.com/ro", 5);
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        chown(&base, Some(dir_owner), Some(dir_owner)).unwrap();
        chown(&db, Some(file_owner), Some(file_owner)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(file_mode)).unwrap();
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&base);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "read-only {what} refused: {err}");
        assert_eq!(err.lines().count(), 1, "read-only {what}: one clear line, no loop: {err}");
        assert!(err.contains("not writable") && err.contains(db.to_str().unwrap()), "read-only {what}: {err}");
    }
}

#[test]
fn another_applications_database_is_refused_without_adopt() {
    let dir = tempdir();
    let db = dir.path().join("app.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a');")
            .unwrap();
    }
    let out = run(&["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`users`") && err.contains("--adopt"), "{err}");
    let c = rusqlite::Connection::open(&db).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete", "the file was not switched to WAL");
    let tables: i64 =
        c.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'counters'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 0, "no table was added");
    drop(c);

    let mut s = start_on(&db, &["--adopt"]);
    assert_eq!(hit(&s, "example.com/adopted"), 1);
    stop_cleanly(&mut s);
}

#[test]
fn a_database_from_a_newer_hitcounter_is_reported_plainly() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    admin_set(&db, "example.com/new", 1);
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let out = run(&["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("newer hitcounter") && !err.contains("Invalid parameter"), "{err}");
}
