//! Runs the HTTP server: worker threads over tiny_http, the flusher, signal
//! handling and an orderly shutdown that stores every counted hit.
//!
//! tiny_http's accept loop ends for good when `accept()` fails (for example
//! when the process is out of file descriptors) while the process lives on,
//! refusing everyone. It reports that failure once through `recv`; we then
//! log why and exit non-zero so a supervisor restarts us.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ServeConfig;
use crate::counter::{Counter, Flushed};
use crate::logging::{self, info};
use crate::metrics::Metrics;
use crate::routes::{self, Ctx, Resp};
use crate::{request, store};

/// Longest pause between retries of a failing flush.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long shutdown keeps retrying the final flush.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(30);
/// Clean counters kept in memory as a read cache.
const CACHE_ENTRIES: usize = 50_000;

pub fn serve(cfg: ServeConfig) -> i32 {
    raise_fd_limit();
    let (conn, notes) = match store::prepare(&cfg.db) {
        Ok(ok) => ok,
        Err(e) => {
            info(&format!("error: {e}"));
            return 1;
        }
    };
    for note in notes {
        info(&note);
    }
    let mut last_event = match store::last_event(&conn) {
        Ok(id) => id,
        Err(e) => {
            info(&format!("error: cannot read database {}: {e}", cfg.db.display()));
            return 1;
        }
    };
    drop(conn);
    let server = match tiny_http::Server::http(&cfg.listen) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            info(&format!("error: cannot listen on {}: {e}", cfg.listen));
            return 1;
        }
    };
    let bound = server.server_addr().to_string();
    info(&format!("hitcounter listening on http://{bound} (database: {})", cfg.db.display()));

    let counter = Arc::new(Counter::new(cfg.max_pending, CACHE_ENTRIES, cfg.flush_interval_ms == 0));
    let shutdown = Arc::new(AtomicBool::new(false));
    let fatal = Arc::new(AtomicBool::new(false));
    watch_signals(shutdown.clone());

    let metrics = Arc::new(Metrics::default());
    let flusher = {
        let (counter, metrics, shutdown, db) = (counter.clone(), metrics.clone(), shutdown.clone(), cfg.db.clone());
        let period = cfg.flush_period();
        thread::Builder::new()
            .name("flusher".into())
            .spawn(move || {
                let flusher = Flusher { counter: &counter, metrics: &metrics, period };
                flusher.run(&db, &shutdown, &mut last_event).map(|c| (c, last_event))
            })
            .expect("spawn flusher")
    };

    let ctx = Arc::new(Ctx::new(cfg.clone(), counter.clone(), metrics, bound));
    let workers: Vec<_> = (0..cfg.workers)
        .map(|i| {
            let (server, ctx, shutdown, fatal) = (server.clone(), ctx.clone(), shutdown.clone(), fatal.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(&server, &ctx, &shutdown, &fatal))
                .expect("spawn worker")
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    // Stop accepting before the last flush; requests not yet taken by a
    // worker are closed unanswered, so none of them was counted.
    drop(server);
    let (mut conn, mut last_event) = match flusher.join() {
        Ok(Ok(state)) => state,
        _ => {
            info("error: the flusher failed; pending hits could not be written");
            return 1;
        }
    };
    let ok = final_flush(&counter, &mut conn, &mut last_event);
    if fatal.load(Ordering::SeqCst) || !ok {
        return 1;
    }
    info("stopped cleanly; every counted hit is stored");
    0
}

fn worker(server: &tiny_http::Server, ctx: &Ctx, shutdown: &AtomicBool, fatal: &AtomicBool) {
    let mut conn = match store::open(&ctx.cfg.db) {
        Ok(c) => c,
        Err(e) => {
            info(&format!("error: worker cannot open the database: {e}"));
            fatal.store(true, Ordering::SeqCst);
            shutdown.store(true, Ordering::SeqCst);
            return;
        }
    };
    while !shutdown.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(rq)) => serve_one(rq, ctx, &mut conn),
            Ok(None) => {}
            Err(e) => {
                info(&format!(
                    "error: the listener stopped accepting connections ({e}); exiting so that a supervisor can restart hitcounter (raise the open-file limit, e.g. LimitNOFILE=65536)"
                ));
                fatal.store(true, Ordering::SeqCst);
                shutdown.store(true, Ordering::SeqCst);
            }
        }
    }
}

fn serve_one(rq: tiny_http::Request, ctx: &Ctx, conn: &mut rusqlite::Connection) {
    let start = Instant::now();
    let req = request::parse(&rq);
    let resp = catch_unwind(AssertUnwindSafe(|| routes::handle(&req, ctx, conn))).unwrap_or_else(|_| {
        info(&format!("error: handler panicked on {} {}", req.method.as_str(), req.path));
        routes::internal_error(&req, ctx)
    });
    let status = resp.status;
    let _ = rq.respond(to_tiny(resp));
    ctx.metrics.request(&req.path, status);
    if !ctx.cfg.quiet {
        logging::request(req.method.as_str(), &req.path, status, start.elapsed());
    }
}

fn to_tiny(resp: Resp) -> tiny_http::Response<Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
    let content_type = tiny_http::Header::from_bytes("Content-Type", resp.content_type);
    for header in std::iter::once(content_type)
        .chain(resp.headers.iter().map(|(k, v)| tiny_http::Header::from_bytes(*k, v.as_bytes())))
        .flatten()
    {
        r.add_header(header);
    }
    r
}

/// The background writer of pending hits.
struct Flusher<'a> {
    counter: &'a Counter,
    metrics: &'a Metrics,
    period: Duration,
}

impl Flusher<'_> {
    /// Flushes every `period` until shutdown; returns its connection for the
    /// final flush. A failing flush keeps the hits in memory, is logged once
    /// per incident and retried with backoff.
    fn run(
        &self,
        db: &std::path::Path,
        shutdown: &AtomicBool,
        last_event: &mut i64,
    ) -> Result<rusqlite::Connection, ()> {
        let mut conn = store::open(db).map_err(|e| info(&format!("error: flusher cannot open the database: {e}")))?;
        let mut wait = self.period;
        let mut failing_since: Option<Instant> = None;
        let mut next_overflow_log = Instant::now();
        loop {
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline && !shutdown.load(Ordering::SeqCst) {
                thread::sleep((deadline - Instant::now()).min(Duration::from_millis(20)));
            }
            if shutdown.load(Ordering::SeqCst) {
                return Ok(conn);
            }
            match self.flush(&mut conn, last_event) {
                Ok(f) => {
                    if let Some(since) = failing_since.take() {
                        info(&format!(
                            "flush recovered after {:.1}s; wrote {} hits on {} counters",
                            since.elapsed().as_secs_f64(),
                            f.hits,
                            f.keys
                        ));
                    }
                    wait = self.period;
                }
                Err(e) => {
                    if failing_since.is_none() {
                        failing_since = Some(Instant::now());
                        info(&format!(
                            "error: writing hits failed ({e}); {} hits kept in memory, retrying with backoff",
                            self.counter.pending_hits()
                        ));
                    }
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
            if Instant::now() >= next_overflow_log {
                let dropped = self.counter.take_overflow();
                if dropped > 0 {
                    info(&format!(
                        "warning: {dropped} hits on new URLs were answered but not counted: too many URLs with unsaved hits (--max-pending)"
                    ));
                    next_overflow_log = Instant::now() + Duration::from_secs(10);
                }
            }
        }
    }

    /// One flush, recorded in the metrics.
    fn flush(&self, conn: &mut rusqlite::Connection, last_event: &mut i64) -> rusqlite::Result<Flushed> {
        let start = Instant::now();
        let result = self.counter.flush(conn, last_event);
        self.metrics.flushed(start.elapsed(), result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if let Ok(f) = &result {
            if f.superseded > 0 {
                info(&format!(
                    "{} unsaved hits dropped: their counters were changed by an admin command",
                    f.superseded
                ));
            }
        }
        result
    }
}

fn final_flush(counter: &Counter, conn: &mut rusqlite::Connection, last_event: &mut i64) -> bool {
    let start = Instant::now();
    let mut wait = Duration::from_millis(50);
    loop {
        match counter.flush(conn, last_event) {
            Ok(_) => return true,
            Err(e) if start.elapsed() < FINAL_FLUSH_LIMIT => {
                info(&format!("final write failed ({e}); retrying"));
                thread::sleep(wait);
                wait = (wait * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                info(&format!("error: {} counted hits could not be stored: {e}", counter.pending_hits()));
                return false;
            }
        }
    }
}

fn watch_signals(shutdown: Arc<AtomicBool>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            info(&format!("warning: cannot watch signals: {e}"));
            return;
        }
    };
    thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            info(&format!("received signal {sig}; finishing requests in flight and storing pending hits"));
            shutdown.store(true, Ordering::SeqCst);
        }
    });
}

/// Each held connection costs tiny_http a thread and two descriptors, so the
/// default soft limit of 1024 runs out near 500 connections.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                info("warning: could not raise the open-file limit");
            }
        }
    }
}
