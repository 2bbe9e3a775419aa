//! `/healthz` over real HTTP against the real binary: 200 `ok`; 503 with a
//! reason while another connection holds the write lock, back to 200 after.
//! Every wait is bounded polling.

use crate::support;

use std::time::{Duration, Instant};
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
    let held = Instant::now();
    let mut unhealthy: Option<(Duration, Resp)> = None;
    let mut statuses = Vec::new();
    while held.elapsed() < Duration::from_millis(2000) {
        let r = s.get("/healthz");
        statuses.push(r.status);
        if r.status == 503 {
            unhealthy = Some((held.elapsed(), r));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    conn.execute_batch("COMMIT").expect("release the write lock");
    drop(conn);
    let released = Instant::now();
    let mut recovered = None;
    let back = eventually(Duration::from_secs(15), || {
        let r = s.get("/healthz");
        let ok = r.status == 200 && r.text().trim() == "ok";
        if ok && recovered.is_none() {
            recovered = Some(released.elapsed());
        }
        ok
    });
    assert!(back, "/healthz did not return to 200 ok within 15 s of releasing the lock");
    assert!(
        eventually(Duration::from_secs(10), || get_count(&s.db, &url) == 1),
        "the hit held back by the lock was written after the release"
    );
    let (after, r) = unhealthy.unwrap_or_else(|| {
        panic!(
            "/healthz never answered 503 during 2 s of a held write lock with --flush-interval 50 \
             (statuses seen: {statuses:?}); log:\n{}",
            s.log_text()
        )
    });
    eprintln!("503 after {after:?}; back to 200 {recovered:?} after release");
    assert_one_line_plain(&r, "/healthz 503");
    assert_ne!(r.text().trim(), "ok", "503 carries a reason");
}
