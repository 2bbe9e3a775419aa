//! The background writer of pending hits, and the final write at shutdown.
//!
//! It wakes every tick (at most `TICK`): flushes when the flush interval has
//! passed, else only applies admin events, so that admin changes show within
//! a tick even with a long `--flush-interval`. A failing flush keeps the hits
//! in memory, is logged once per incident and retried with backoff.
//! Between flushes it fills the counter's table of every stored counter, and
//! starts that over when another process wrote to the database.

use chrono::FixedOffset;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::counter::{Counter, Flushed};
use crate::logging::info;
use crate::metrics::Metrics;
use crate::store;

/// Longest pause between retries of a failing flush.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long shutdown keeps retrying the final flush.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(30);
/// Longest sleep between looks at admin events and the overflow tally.
const TICK: Duration = Duration::from_millis(250);
/// Page cache of the flusher's connection, in KiB (negative: KiB for SQLite).
const FLUSHER_CACHE_KIB: i64 = -4 * 1024;
/// Least time between two overflow warnings.
const OVERFLOW_LOG_EVERY: Duration = Duration::from_secs(10);
/// WAL pages between checkpoints run by the flusher (see `run`).
const CHECKPOINT_PAGES: i64 = 10_000;
/// The hit log is folded into the counters this often, or sooner once
/// this many counters were logged (see `store/log.rs`): a longer period
/// folds more hits per page (cheaper), a shorter one keeps the log and the
/// lag of `counters` behind the true totals small.
const FOLD_EVERY: Duration = Duration::from_secs(5);
const FOLD_ROWS: usize = 100_000;
/// Pause after a failed fold before the next try.
const FOLD_RETRY: Duration = Duration::from_secs(1);
/// Counter ids folded per transaction, so that flushes go on between
/// slices (a sixteenth of a million counters: 0.15 s median, 0.25 s p90,
/// 0.7 s max measured under saturation).
const FOLD_SLICE_IDS: i64 = 65_536;
/// Counters loaded into the table per step (a few milliseconds' work).
const LOAD_ROWS: usize = 4096;

/// When the hit log was last folded, what was logged since, and the fold
/// in progress: counter ids `lo..=end` still to fold, `FOLD_SLICE_IDS` at
/// a time, with `logged` as it was when the round began.
struct Fold {
    logged: usize,
    next: Instant,
    failing: bool,
    round: Option<Round>,
}

struct Round {
    lo: i64,
    end: i64,
    logged_at_start: usize,
}

impl Fold {
    fn new() -> Fold {
        Fold { logged: 0, next: Instant::now() + FOLD_EVERY, failing: false, round: None }
    }
}

pub struct Flusher<'a> {
    pub counter: &'a Counter,
    pub metrics: &'a Metrics,
    pub period: Duration,
    /// For "today" in the counts loaded into the table.
    pub offset: FixedOffset,
}

impl Flusher<'_> {
    /// Runs until `shutdown`; returns its connection for the final flush.
    pub fn run(&self, mut conn: Connection, shutdown: &AtomicBool, last_event: &mut i64) -> Result<Connection, ()> {
        // Flushes touch index pages again and again; a little more cache than
        // SQLite's 2 MB default keeps the upper levels in memory. (16 MB
        // measured no faster with a million counters and cost ~15 MB RSS.)
        let _ = conn.pragma_update(None, "cache_size", FLUSHER_CACHE_KIB);
        // Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a page
        // dirtied by many flushes (hits spread over many counters) is then
        // copied into the database once, not once per flush, and the fsync
        // comes ten times less often. Measured replaying flushes over a
        // million counters: a quarter less CPU, half the wall time.
        let _ = conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES);
        let mut wait = self.period;
        let mut next_flush = Instant::now() + wait;
        let mut failing_since: Option<Instant> = None;
        let mut next_overflow_log = Instant::now();
        let mut version = store::data_version(&conn).ok();
        let mut fold = Fold::new();
        let mut load_started: Option<Instant> = None;
        let mut load_failed = false;
        let mut told_dropped = false;
        loop {
            let wake = next_flush.min(Instant::now() + TICK);
            while Instant::now() < wake && !shutdown.load(Ordering::SeqCst) {
                if self.counter.table_loading() {
                    let started = *load_started.get_or_insert_with(Instant::now);
                    match self.load_step(&mut conn, last_event, started) {
                        Ok(done) => {
                            load_failed = false;
                            if done {
                                load_started = None;
                            }
                        }
                        // Requests keep reading the database meanwhile.
                        Err(e) => {
                            if !load_failed {
                                info(&format!("warning: loading counts into memory failed ({e}); retrying"));
                                load_failed = true;
                            }
                            std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(20)));
                        }
                    }
                } else {
                    std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(20)));
                }
            }
            if shutdown.load(Ordering::SeqCst) {
                return Ok(conn);
            }
            if !told_dropped && self.counter.table_dropped() {
                told_dropped = true;
                info(&format!(
                    "more than {} counters: counts are read from SQLite instead of memory",
                    crate::counter::TABLE_MAX_COUNTERS
                ));
            }
            if Instant::now() >= next_overflow_log && self.log_overflow() {
                next_overflow_log = Instant::now() + OVERFLOW_LOG_EVERY;
            }
            // Our own commits leave the version alone: a change means another
            // process (admin command, CGI, a second server) wrote.
            let now_version = store::data_version(&conn).ok();
            // Fold first: once the table is empty, requests read the rows.
            // If that fails the reload waits for the next tick.
            if now_version != version && self.fold(&mut conn, &mut fold) {
                version = now_version;
                self.counter.reload_table();
            }
            if fold.round.is_none() && fold.logged > 0 && (Instant::now() >= fold.next || fold.logged >= FOLD_ROWS) {
                self.start_round(&conn, &mut fold);
            }
            if fold.round.is_some() && Instant::now() >= fold.next {
                self.fold_step(&mut conn, &mut fold);
            }
            if Instant::now() < next_flush {
                if let Ok(dropped) = self.counter.apply_admin_events(&conn, last_event) {
                    log_superseded(dropped);
                }
                continue;
            }
            match self.flush(&mut conn, last_event) {
                Ok(f) => {
                    fold.logged += f.logged;
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
            next_flush = Instant::now() + wait;
        }
    }

    /// Loads one chunk of the table; true (and a log line) when complete.
    fn load_step(&self, conn: &mut Connection, last_event: &mut i64, started: Instant) -> rusqlite::Result<bool> {
        let dropped = self.counter.load_table(conn, last_event, crate::clock::today(self.offset), LOAD_ROWS)?;
        log_superseded(dropped);
        if self.counter.table_loading() {
            return Ok(false);
        }
        if self.counter.table_dropped() {
            return Ok(true);
        }
        info(&format!(
            "counts of all {} stored counters are in memory (loaded in {:.0} ms)",
            self.counter.table_counters(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
        Ok(true)
    }

    /// One flush, recorded in the metrics.
    fn flush(&self, conn: &mut Connection, last_event: &mut i64) -> rusqlite::Result<Flushed> {
        let start = Instant::now();
        self.metrics.flush_begins();
        let result = self.counter.flush(conn, last_event);
        self.metrics.flushed(start.elapsed(), result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if let Ok(f) = &result {
            log_superseded(f.superseded);
        }
        result
    }

    /// Folds the hit log; true when it is empty afterwards. A failure is
    /// logged once per incident: the hits stay in the log (counted, and in
    /// memory) and the next tick tries again.
    fn fold(&self, conn: &mut Connection, fold: &mut Fold) -> bool {
        match store::fold_log(conn) {
            Ok(_) => {
                if fold.failing {
                    info("folding the hit log works again");
                }
                *fold = Fold::new();
                true
            }
            Err(e) => {
                self.fold_failed(fold, &e);
                false
            }
        }
    }

    fn start_round(&self, conn: &Connection, fold: &mut Fold) {
        match store::log_id_span(conn) {
            Ok(Some((lo, end))) => {
                fold.round = Some(Round { lo, end, logged_at_start: fold.logged });
                fold.next = Instant::now();
            }
            Ok(None) => *fold = Fold::new(),
            Err(e) => self.fold_failed(fold, &e),
        }
    }

    /// Folds the next slice of the round in progress.
    fn fold_step(&self, conn: &mut Connection, fold: &mut Fold) {
        let Some(round) = fold.round.as_mut() else { return };
        let hi = round.lo.saturating_add(FOLD_SLICE_IDS);
        match store::fold_slice(conn, round.lo, hi) {
            Ok(_) if hi > round.end => {
                // Hits logged during the round for slices already folded
                // wait for the next one.
                let since = fold.logged - round.logged_at_start;
                let failing = std::mem::take(&mut fold.failing);
                if failing {
                    info("folding the hit log works again");
                }
                *fold = Fold { logged: since, ..Fold::new() };
            }
            Ok(_) => round.lo = hi,
            Err(e) => self.fold_failed(fold, &e),
        }
    }

    fn fold_failed(&self, fold: &mut Fold, e: &rusqlite::Error) {
        if !fold.failing {
            info(&format!("warning: folding the hit log into the counters failed ({e}); retrying"));
        }
        fold.failing = true;
        // The hits are stored (in the log) and counted in memory: no hurry.
        fold.next = Instant::now() + FOLD_RETRY;
    }

    /// Reports hits that were answered but not counted; true if any.
    fn log_overflow(&self) -> bool {
        let dropped = self.counter.take_overflow();
        if dropped > 0 {
            info(&format!(
                "warning: {dropped} hits on new URLs were answered but not counted: too many URLs with unsaved hits (--max-pending)"
            ));
        }
        dropped > 0
    }

    /// Writes everything still pending, retrying for a while; false if hits
    /// could not be stored.
    pub fn finish(&self, conn: &mut Connection, last_event: &mut i64) -> bool {
        let start = Instant::now();
        let mut wait = Duration::from_millis(50);
        self.log_overflow();
        loop {
            match self.flush(conn, last_event) {
                Ok(_) => break,
                Err(e) if start.elapsed() < FINAL_FLUSH_LIMIT => {
                    info(&format!("final write failed ({e}); retrying"));
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    info(&format!("error: {} counted hits could not be stored: {e}", self.counter.pending_hits()));
                    return false;
                }
            }
        }
        // Every hit is stored now; folding leaves `counters` and `daily`
        // complete for whoever reads the file next. Logged hits that cannot
        // be folded are still stored: the next start folds them.
        loop {
            match store::fold_log(conn) {
                Ok(_) => return true,
                Err(e) if start.elapsed() < FINAL_FLUSH_LIMIT => {
                    info(&format!("folding the hit log failed ({e}); retrying"));
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    info(&format!("warning: the hit log could not be folded ({e}); the next start folds it"));
                    return true;
                }
            }
        }
    }
}

fn log_superseded(dropped: u64) {
    if dropped > 0 {
        info(&format!("{dropped} unsaved hits dropped: their counters were changed by an admin command"));
    }
}
