//! Backups on this machine: `hitcounter backup FILE` of a database a server
//! is writing under load, `restore` into a fresh path and over an existing
//! database, the refusals (no --force, a running server, a corrupt file),
//! folders as backup places, and the `.db` file alone being current once a
//! server goes quiet.

use crate::support;

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;

/// Every counter with its total and its per-day rows, each with the hits
/// of the hit log not yet folded into them (what the server and `get` read).
type Contents = BTreeMap<String, (u64, Vec<(String, u64)>)>;

fn contents(db: &Path) -> Contents {
    let conn = Connection::open(db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "{}", db.display());
    let mut out = Contents::new();
    let mut stmt = conn
        .prepare(
            "SELECT id, key, count + (SELECT COALESCE(SUM(hits), 0) FROM hit_log WHERE counter_id = id) FROM counters",
        )
        .unwrap();
    let rows: Vec<(i64, String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    for (id, key, count) in rows {
        let mut days = conn
            .prepare(
                "SELECT day, SUM(hits) FROM (SELECT day, hits FROM daily WHERE counter_id = ?1 \
                 UNION ALL SELECT day, hits FROM hit_log WHERE counter_id = ?1) GROUP BY day ORDER BY day",
            )
            .unwrap();
        let days: Vec<(String, u64)> = days
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.insert(key, (count as u64, days));
    }
    out
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run_db(db, args);
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    stderr_of(&out)
}

#[test]
fn a_backup_under_load_restores_every_count_and_day_it_held() {
    let mut s = Server::start();
    let stored = uniq_url("stored");
    for _ in 0..25 {
        hit(&s, &stored);
    }
    assert!(eventually(Duration::from_secs(30), || get_count(&s.db, &stored) == 25), "25 hits stored");
    // Load on other counters while the snapshot is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (addr, stop) = (s.addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let r = request(&addr, "GET", &format!("/count?url={}", enc(&format!("load.example/{}", n % 50))), &[]);
                assert_eq!(r.status, 200);
                n += 1;
            }
            n
        })
    };
    // The snapshot follows some of the load into the database (the order of
    // events, not a pause a busy machine can outlast).
    assert!(eventually(Duration::from_secs(30), || get_count(&s.db, "load.example/0") > 0), "no load stored");
    let snap = s.dir.path().join("snap.db");
    let said = ok(&s.db, &["backup", snap.to_str().unwrap()]);
    assert!(said.contains("backed up"), "{said}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let sent = load.join().unwrap();
    assert!(s.stop().success());

    let at_snapshot = contents(&snap);
    let (total, days) = &at_snapshot[&stored];
    assert_eq!((*total, days.iter().map(|d| d.1).sum::<u64>()), (25, 25), "the stored counter, with its day");
    let later = contents(&s.db);
    let loaded: u64 = at_snapshot.iter().filter(|(k, _)| k.starts_with("load.example/")).map(|(_, v)| v.0).sum();
    assert!(loaded > 0 && loaded <= sent, "the snapshot holds part of the load ({loaded} of {sent})");
    for (key, (count, days)) in &at_snapshot {
        // One consistent moment: each total equals its per-day rows, and
        // nothing is ahead of the database's final state.
        assert_eq!(*count, days.iter().map(|d| d.1).sum::<u64>(), "{key}: total and days agree");
        assert!(*count <= later[key].0, "{key}");
    }

    // Restore into a fresh path: exactly the snapshot.
    let fresh = s.dir.path().join("restored/hitcounter.db");
    let said = ok(&fresh, &["restore", snap.to_str().unwrap()]);
    assert!(said.contains(&format!("restored {} counters", at_snapshot.len())), "{said}");
    assert_eq!(contents(&fresh), at_snapshot);
}

#[test]
fn restore_refuses_what_would_lose_data() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    admin_set(&db, "example.com/old", 5);
    let snap = dir.path().join("snap.db");
    ok(&db, &["backup", snap.to_str().unwrap()]);
    admin_set(&db, "example.com/old", 9);

    let out = run_db(&db, &["restore", snap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    assert_eq!(get_count(&db, "example.com/old"), 9, "nothing replaced");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"SQLite format 3\0and then nothing that SQLite could read at all").unwrap();
    let out = run_db(&db, &["restore", "--force", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a corrupt backup is refused");
    assert!(stderr_of(&out).contains("not a usable snapshot"), "{}", stderr_of(&out));
    assert_eq!(get_count(&db, "example.com/old"), 9, "nothing replaced");

    let mut s = Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    let out = run_db(&db, &["restore", "--force", snap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("server is running"), "{}", stderr_of(&out));
    assert!(s.stop().success());

    let said = ok(&db, &["restore", "--force", snap.to_str().unwrap()]);
    assert!(said.contains("hitcounter.db.before-restore"), "{said}");
    assert_eq!(get_count(&db, "example.com/old"), 5);
    assert_eq!(
        get_count(&dir.path().join("hitcounter.db.before-restore"), "example.com/old"),
        9,
        "the old file is kept"
    );
}

#[test]
fn a_folder_keeps_timestamped_copies_and_latest() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let place = dir.path().join("backups");
    std::fs::create_dir(&place).unwrap();
    for n in 1..=3 {
        admin_set(&db, "example.com/a", n);
        ok(&db, &["backup", place.to_str().unwrap(), "--backup-keep", "2"]);
        std::thread::sleep(Duration::from_millis(1100));
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&place).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "two timestamped copies and latest.db: {names:?}");
    assert_eq!(names[2], "latest.db");
    assert!(names[..2].iter().all(|n| n.len() == "20261201000000.db".len() && n.ends_with(".db")), "{names:?}");
    let listed = stdout_of(&run(&["backups", "list", place.to_str().unwrap()]));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.lines().all(|l| l.split('\t').count() == 3), "name, time, size: {listed}");

    let fresh = dir.path().join("fresh.db");
    ok(&fresh, &["restore", place.to_str().unwrap()]);
    assert_eq!(get_count(&fresh, "example.com/a"), 3, "latest.db is the newest");
}

#[test]
fn the_db_file_alone_is_current_soon_after_the_server_goes_quiet() {
    let s = Server::start();
    let url = uniq_url("quiet");
    for _ in 0..7 {
        hit(&s, &url);
    }
    // What `cp hitcounter.db` would get, without its -wal.
    let copy = s.dir.path().join("copy.db");
    let current = eventually(Duration::from_secs(10), || {
        std::fs::copy(&s.db, &copy).unwrap();
        let conn = Connection::open(&copy).unwrap();
        let n: Option<i64> =
            conn.query_row("SELECT count FROM counters WHERE key = ?1", [url.as_str()], |r| r.get(0)).ok();
        n == Some(7)
    });
    assert!(current, "the .db file alone holds the hits a few seconds after the last one");
}
