//! The server's writer thread: one struct, one method per duty.
//!
//! - `flush`: writes pending hits every flush interval; a failing flush
//!   keeps the hits in memory, is logged once per incident and retried with
//!   backoff. Between flushes it applies admin events (so admin changes
//!   show within a tick even with a long `--flush-interval`).
//! - `load`: fills the counter's table of every stored counter, a chunk at
//!   a time, while it waits.
//! - `reload`: when another process wrote to the database, folds and loads
//!   the table again.
//! - `fold`: asks the store to fold its hit log, a slice at a time.
//! - `checkpoint`: once writes pause, copies the WAL into the database
//!   file, so that the `.db` file alone is current on a quiet server.
//!
//! When each duty is due is decided by [`Plan`], a pure state machine over
//! the clock (tested at the bottom); `run` only carries its decisions out.

use chrono::FixedOffset;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Counter, Flushed};
use crate::logging::info;
use crate::metrics::Metrics;
use crate::store::{self, Store};

/// Longest pause between retries of a failing flush.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long shutdown keeps retrying the final flush.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(30);
/// Longest sleep between looks at admin events and the overflow tally.
const TICK: Duration = Duration::from_millis(250);
/// Least time between two overflow warnings.
const OVERFLOW_LOG_EVERY: Duration = Duration::from_secs(10);
/// The hit log is folded this often, or sooner once this many counters
/// were logged: a longer period folds more hits per page (cheaper), a
/// shorter one keeps the log small.
const FOLD_EVERY: Duration = Duration::from_secs(5);
const FOLD_ROWS: usize = 100_000;
/// Pause after a failed fold before the next try.
const FOLD_RETRY: Duration = Duration::from_secs(1);
/// Writes must pause this long before the WAL is checkpointed.
const QUIET: Duration = Duration::from_secs(2);
/// Counters loaded into the table per step (a few milliseconds' work).
const LOAD_ROWS: usize = 4096;

/// What is due when. Pure: every method takes the time from its caller.
#[derive(Debug)]
struct Plan {
    period: Duration,
    /// The current wait between flushes: the period, or a backoff.
    wait: Duration,
    next_flush: Instant,
    failing_since: Option<Instant>,
    /// Counters logged since the last fold round began.
    logged: usize,
    /// A fold round is in progress (the store knows where).
    folding: bool,
    next_fold: Instant,
    fold_failing: bool,
    /// When the last write that put anything in the WAL happened, if it
    /// was not checkpointed since.
    unchecked_write: Option<Instant>,
    next_overflow_log: Instant,
}

impl Plan {
    fn new(period: Duration, now: Instant) -> Plan {
        Plan {
            period,
            wait: period,
            next_flush: now + period,
            failing_since: None,
            logged: 0,
            folding: false,
            next_fold: now + FOLD_EVERY,
            fold_failing: false,
            unchecked_write: None,
            next_overflow_log: now,
        }
    }

    /// When the loop must next wake (it also wakes every tick).
    fn wake(&self, now: Instant) -> Instant {
        self.next_flush.min(now + TICK)
    }

    fn flush_due(&self, now: Instant) -> bool {
        now >= self.next_flush
    }

    /// After a flush: on success the period again, on failure a doubling
    /// backoff. Returns how long the failure lasted when this one ends it.
    fn flushed(&mut self, now: Instant, result: Result<&Flushed, ()>) -> Option<Duration> {
        let recovered = match result {
            Ok(f) => {
                self.logged += f.logged;
                if f.keys > 0 {
                    self.unchecked_write = Some(now);
                }
                self.wait = self.period;
                self.failing_since.take().map(|since| now - since)
            }
            Err(()) => {
                self.failing_since.get_or_insert(now);
                self.wait = (self.wait * 2).min(MAX_BACKOFF);
                None
            }
        };
        self.next_flush = now + self.wait;
        recovered
    }

    /// A fold step is due: a round in progress goes on at once (after a
    /// failure, after a pause); a new one starts every `FOLD_EVERY` when
    /// anything was logged, or sooner when much was.
    fn fold_due(&self, now: Instant) -> bool {
        if self.folding {
            return now >= self.next_fold;
        }
        self.logged > 0 && (now >= self.next_fold || (self.logged >= FOLD_ROWS && !self.fold_failing))
    }

    /// After a fold step; `Ok(true)` when the round is complete. Returns
    /// true when this ends a run of failures.
    fn folded(&mut self, now: Instant, result: Result<bool, ()>) -> bool {
        let recovered = result.is_ok() && std::mem::take(&mut self.fold_failing);
        match result {
            Ok(false) => {
                if !self.folding {
                    // A new round: what is logged from now on waits for the next.
                    self.logged = 0;
                }
                self.folding = true;
                self.next_fold = now;
            }
            Ok(true) => {
                if !self.folding {
                    self.logged = 0;
                }
                self.folding = false;
                self.next_fold = now + FOLD_EVERY;
            }
            Err(()) => {
                self.fold_failing = true;
                // The hits are stored (in the log) and counted in memory:
                // no hurry.
                self.next_fold = now + FOLD_RETRY;
            }
        }
        if result.is_ok() {
            self.unchecked_write = Some(now);
        }
        recovered
    }

    /// The whole log was folded (before a reload).
    fn folded_all(&mut self, now: Instant) {
        self.logged = 0;
        self.folding = false;
        self.next_fold = now + FOLD_EVERY;
        self.unchecked_write = Some(now);
    }

    fn checkpoint_due(&self, now: Instant) -> bool {
        self.unchecked_write.is_some_and(|at| now >= at + QUIET) && !self.folding
    }

    fn checkpointed(&mut self) {
        self.unchecked_write = None;
    }

    /// Whether the overflow tally may be logged now (at most every ten
    /// seconds while there is something to report).
    fn overflow_log_due(&self, now: Instant) -> bool {
        now >= self.next_overflow_log
    }

    fn overflow_logged(&mut self, now: Instant) {
        self.next_overflow_log = now + OVERFLOW_LOG_EVERY;
    }
}

/// The flusher and what it owns: its connection and the newest admin
/// event the counter has applied.
pub struct Flusher {
    counter: Arc<Counter>,
    metrics: Arc<Metrics>,
    store: Store,
    last_event: i64,
    /// For "today" in the counts loaded into the table.
    offset: FixedOffset,
    plan: Plan,
    /// `data_version` as last seen: another process's commit changes it.
    version: Option<i64>,
    load_started: Option<Instant>,
    load_failing: bool,
    told_dropped: bool,
}

impl Flusher {
    pub fn new(
        counter: Arc<Counter>,
        metrics: Arc<Metrics>,
        store: Store,
        last_event: i64,
        period: Duration,
        offset: FixedOffset,
    ) -> Flusher {
        let version = store.data_version().ok();
        let plan = Plan::new(period, Instant::now());
        Flusher {
            counter,
            metrics,
            store,
            last_event,
            offset,
            plan,
            version,
            load_started: None,
            load_failing: false,
            told_dropped: false,
        }
    }

    /// Runs until `shutdown`, then returns itself for [`Flusher::finish`].
    pub fn run(mut self, shutdown: &AtomicBool) -> Flusher {
        loop {
            let wake = self.plan.wake(Instant::now());
            while Instant::now() < wake && !shutdown.load(Ordering::SeqCst) {
                if !self.counter.table_loading() || !self.load() {
                    std::thread::sleep(wake.saturating_duration_since(Instant::now()).min(Duration::from_millis(20)));
                }
            }
            if shutdown.load(Ordering::SeqCst) {
                return self;
            }
            self.notices();
            self.reload_if_changed();
            if self.plan.fold_due(Instant::now()) {
                self.fold();
            }
            if self.plan.flush_due(Instant::now()) {
                self.flush();
            } else if let Ok(dropped) = self.counter.apply_admin_events(&self.store, &mut self.last_event) {
                log_superseded(dropped);
            }
            if self.plan.checkpoint_due(Instant::now()) {
                self.checkpoint();
            }
        }
    }

    /// Loads one chunk of the table; false when that failed (the caller
    /// then pauses). Requests read the database meanwhile.
    fn load(&mut self) -> bool {
        let started = *self.load_started.get_or_insert_with(Instant::now);
        let today = crate::clock::today(self.offset);
        match self.counter.load_table(&mut self.store, &mut self.last_event, today, LOAD_ROWS) {
            Ok(dropped) => {
                log_superseded(dropped);
                self.load_failing = false;
                if !self.counter.table_loading() {
                    self.load_started = None;
                    if !self.counter.table_dropped() {
                        info(&format!(
                            "counts of all {} stored counters are in memory (loaded in {:.0} ms)",
                            self.counter.table_counters(),
                            started.elapsed().as_secs_f64() * 1000.0
                        ));
                    }
                }
                true
            }
            Err(e) => {
                if !std::mem::replace(&mut self.load_failing, true) {
                    info(&format!("warning: loading counts into memory failed ({e}); retrying"));
                }
                false
            }
        }
    }

    /// Log lines about the table and hits not counted.
    fn notices(&mut self) {
        if !self.told_dropped && self.counter.table_dropped() {
            self.told_dropped = true;
            info(&format!(
                "more than {} counters: counts are read from SQLite instead of memory",
                super::TABLE_MAX_COUNTERS
            ));
        }
        if self.plan.overflow_log_due(Instant::now()) && self.log_overflow() {
            self.plan.overflow_logged(Instant::now());
        }
    }

    /// Our own commits leave `data_version` alone: a change means another
    /// process (admin command, CGI, a second server) wrote, and neither the
    /// table nor clean entries hold its hits. Reads are exact whatever the
    /// log holds, but folding first keeps the reload's reads cheap.
    fn reload_if_changed(&mut self) {
        let now_version = self.store.data_version().ok();
        if now_version == self.version {
            return;
        }
        match self.store.fold() {
            Ok(_) => self.plan.folded_all(Instant::now()),
            Err(e) => {
                self.fold_failed(&e);
                return;
            }
        }
        self.version = now_version;
        self.counter.reload_table();
    }

    /// One flush, recorded in the metrics and the plan.
    fn flush(&mut self) {
        let result = self.flush_now();
        let now = Instant::now();
        match &result {
            Ok(f) => {
                if let Some(lasted) = self.plan.flushed(now, Ok(f)) {
                    info(&format!(
                        "flush recovered after {:.1}s; wrote {} hits on {} counters",
                        lasted.as_secs_f64(),
                        f.hits,
                        f.keys
                    ));
                }
            }
            Err(e) => {
                let first = self.plan.failing_since.is_none();
                self.plan.flushed(now, Err(()));
                if first {
                    info(&format!(
                        "error: writing hits failed ({e}); {} hits kept in memory, retrying with backoff",
                        self.counter.pending_hits()
                    ));
                }
            }
        }
    }

    fn flush_now(&mut self) -> store::Result<Flushed> {
        let start = Instant::now();
        self.metrics.flush_begins();
        let result = self.counter.flush(&mut self.store, &mut self.last_event);
        self.metrics.flushed(start.elapsed(), result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if let Ok(f) = &result {
            log_superseded(f.superseded);
        }
        result
    }

    /// One slice of the hit log. A failure is logged once per incident: the
    /// hits stay in the log (stored, and counted in memory).
    fn fold(&mut self) {
        match self.store.fold_step() {
            Ok(done) => {
                if self.plan.folded(Instant::now(), Ok(done)) {
                    info("folding the hit log works again");
                }
            }
            Err(e) => self.fold_failed(&e),
        }
    }

    fn fold_failed(&mut self, e: &store::Error) {
        if !self.plan.fold_failing {
            info(&format!("warning: folding the hit log into the counters failed ({e}); retrying"));
        }
        self.plan.folded(Instant::now(), Err(()));
    }

    /// Copies the WAL into the database file; a failure is harmless (the
    /// WAL still holds everything) and tried again after the next write.
    fn checkpoint(&mut self) {
        let _ = self.store.checkpoint();
        self.plan.checkpointed();
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

    /// Writes everything still pending, retrying for a while, then folds
    /// and checkpoints so that the `.db` file alone is complete. False if
    /// hits could not be stored.
    pub fn finish(mut self) -> bool {
        let start = Instant::now();
        let mut wait = Duration::from_millis(50);
        self.log_overflow();
        loop {
            match self.flush_now() {
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
        // Every hit is stored now. Logged hits that cannot be folded are
        // still stored: the next start folds them.
        loop {
            match self.store.fold() {
                Ok(_) => break,
                Err(e) if start.elapsed() < FINAL_FLUSH_LIMIT => {
                    info(&format!("folding the hit log failed ({e}); retrying"));
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    info(&format!("warning: the hit log could not be folded ({e}); the next start folds it"));
                    break;
                }
            }
        }
        let _ = self.store.checkpoint();
        true
    }
}

fn log_superseded(dropped: u64) {
    if dropped > 0 {
        info(&format!("{dropped} unsaved hits dropped: their counters were changed by an admin command"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(100);

    fn flushed(keys: usize, logged: usize) -> Flushed {
        Flushed { hits: keys as u64, keys, superseded: 0, logged }
    }

    #[test]
    fn flushes_every_period_and_back_off_while_failing() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        assert!(!plan.flush_due(t0) && plan.flush_due(t0 + P));
        assert_eq!(plan.wake(t0), t0 + P);
        assert_eq!(plan.flushed(t0 + P, Err(())), None);
        assert_eq!(plan.next_flush, t0 + 3 * P, "the wait doubles");
        plan.flushed(t0 + 3 * P, Err(()));
        assert_eq!(plan.next_flush, t0 + 7 * P);
        for i in 0..10 {
            plan.flushed(t0 + 7 * P + MAX_BACKOFF * i, Err(()));
        }
        assert_eq!(plan.wait, MAX_BACKOFF, "capped");
        let end = t0 + Duration::from_secs(60);
        assert_eq!(plan.flushed(end, Ok(&flushed(1, 0))), Some(end - (t0 + P)), "the incident's length");
        assert_eq!(plan.next_flush, end + P);
        assert_eq!(plan.flushed(end + P, Ok(&flushed(1, 0))), None);
    }

    #[test]
    fn a_fold_round_starts_when_due_and_goes_on_slice_by_slice() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        assert!(!plan.fold_due(t0 + FOLD_EVERY), "nothing logged");
        plan.flushed(t0 + P, Ok(&flushed(10, 10)));
        assert!(!plan.fold_due(t0 + P), "not yet");
        assert!(plan.fold_due(t0 + FOLD_EVERY));
        let t = t0 + FOLD_EVERY;
        plan.folded(t, Ok(false));
        assert_eq!(plan.logged, 0, "the round takes what was logged");
        plan.flushed(t, Ok(&flushed(5, 5)));
        assert!(plan.fold_due(t), "the round goes on at once");
        plan.folded(t, Ok(true));
        assert!(!plan.fold_due(t + P));
        assert_eq!(plan.logged, 5, "logged during the round: the next round's");
        assert!(plan.fold_due(t + FOLD_EVERY));
    }

    #[test]
    fn much_logged_folds_early_and_a_failed_fold_waits_a_little() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        plan.flushed(t0 + P, Ok(&flushed(FOLD_ROWS, FOLD_ROWS)));
        assert!(plan.fold_due(t0 + P));
        assert!(!plan.folded(t0 + P, Err(())));
        assert!(!plan.fold_due(t0 + P), "no retry within the pause");
        assert!(plan.fold_due(t0 + P + FOLD_RETRY));
        assert!(plan.folded(t0 + P + FOLD_RETRY, Ok(true)), "recovered");
        assert!(!plan.fold_due(t0 + P + FOLD_RETRY));
    }

    #[test]
    fn a_checkpoint_follows_a_pause_in_writes() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        assert!(!plan.checkpoint_due(t0 + QUIET * 10), "nothing written");
        plan.flushed(t0 + P, Ok(&flushed(0, 0)));
        assert!(!plan.checkpoint_due(t0 + QUIET * 10), "an empty flush writes nothing");
        plan.flushed(t0 + P, Ok(&flushed(3, 0)));
        assert!(!plan.checkpoint_due(t0 + P + QUIET / 2));
        plan.flushed(t0 + P + QUIET / 2, Ok(&flushed(3, 0)));
        assert!(!plan.checkpoint_due(t0 + P + QUIET), "writes went on");
        assert!(plan.checkpoint_due(t0 + P + QUIET / 2 + QUIET));
        plan.checkpointed();
        assert!(!plan.checkpoint_due(t0 + QUIET * 10));
    }

    #[test]
    fn overflow_is_reported_at_most_every_ten_seconds() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        assert!(plan.overflow_log_due(t0) && plan.overflow_log_due(t0 + P), "nothing logged yet");
        plan.overflow_logged(t0 + P);
        assert!(!plan.overflow_log_due(t0 + P * 2));
        assert!(plan.overflow_log_due(t0 + P + OVERFLOW_LOG_EVERY));
    }
}
