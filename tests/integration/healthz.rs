//! `/healthz` over real HTTP against the real binary: 200 `ok`; 503 with a
//! reason while another connection holds the write lock, back to 200 after.
//! Every wait is bounded polling.

use crate::support;

use std::time::Duration;
use support::*;

#[test]
fn healthz_is_ok_normally() {
    let s = Server::start();
    let r = s.get("/healthz");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text().trim(), "ok");
    assert!(r.header("content-type").unwrap_or("").starts_with("text/plain"));
    assert_eq!(s.req("HEAD", "/healthz", &[]).status, 200);
    // Still ok with traffic.
    assert_eq!(s.get(&format!("/count?url={}", enc(&uniq_url("h")))).status, 200);
    assert_eq!(s.get("/healthz").text().trim(), "ok");
}

#[test]
fn healthz_reports_503_while_the_database_is_locked() {
    let s = Server::start_args(&["--flush-interval", "50"]);
    let url = uniq_url("locked");
    assert_eq!(s.get("/healthz").status, 200);
    let conn = rusqlite::Connection::open(&s.db).expect("open db");
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    // A hit that cannot be written while the lock is held.
    assert_eq!(s.get(&format!("/count?url={}", enc(&url))).count(), 1);
    // The order of events, with no clock: the lock is held until /healthz
    // says 503 (however long a busy machine takes to try a flush), and only
    // then released.
    let mut statuses = Vec::new();
    let mut unhealthy = None;
    eventually(Duration::from_secs(30), || {
        let r = s.get("/healthz");
        statuses.push(r.status);
        let bad = r.status == 503;
        if bad {
            unhealthy = Some(r);
        }
        bad
    });
    conn.execute_batch("COMMIT").expect("release the write lock");
    drop(conn);
    let r = unhealthy.unwrap_or_else(|| {
        panic!(
            "/healthz never answered 503 during 30 s of a held write lock with --flush-interval 50 \
             (statuses seen: {statuses:?}); log:\n{}",
            s.log_text()
        )
    });
    let back = eventually(Duration::from_secs(30), || {
        let r = s.get("/healthz");
        r.status == 200 && r.text().trim() == "ok"
    });
    assert!(back, "/healthz did not return to 200 ok within 30 s of releasing the lock");
    assert!(
        eventually(Duration::from_secs(30), || get_count(&s.db, &url) == 1),
        "the hit held back by the lock was written after the release"
    );
    assert_one_line_plain(&r, "/healthz 503");
    assert_ne!(r.text().trim(), "ok", "503 carries a reason");
}
