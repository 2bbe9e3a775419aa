//! When each of the flusher's duties is due: a pure state machine over the
//! clock. Every method takes the time from its caller, so the tests below
//! can walk it through minutes in microseconds.

use std::time::{Duration, Instant};

use crate::counter::Flushed;

/// Longest pause between retries of a failing flush.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);
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

/// What is due when. Pure: every method takes the time from its caller.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) period: Duration,
    /// The current wait between flushes: the period, or a backoff.
    pub(super) wait: Duration,
    pub(super) next_flush: Instant,
    pub(super) failing_since: Option<Instant>,
    /// Counters logged since the last fold round began.
    pub(super) logged: usize,
    /// A fold round is in progress (the store knows where).
    pub(super) folding: bool,
    pub(super) next_fold: Instant,
    pub(super) fold_failing: bool,
    /// When the last write that put anything in the WAL happened, if it
    /// was not checkpointed since.
    pub(super) unchecked_write: Option<Instant>,
    pub(super) next_overflow_log: Instant,
}

impl Plan {
    pub(super) fn new(period: Duration, now: Instant) -> Plan {
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
    pub(super) fn wake(&self, now: Instant) -> Instant {
        self.next_flush.min(now + TICK)
    }

    pub(super) fn flush_due(&self, now: Instant) -> bool {
        now >= self.next_flush
    }

    /// After a flush: on success the period again, on failure a doubling
    /// backoff. Returns how long the failure lasted when this one ends it.
    pub(super) fn flushed(&mut self, now: Instant, result: Result<&Flushed, ()>) -> Option<Duration> {
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
        // A write that left hits behind is followed by the next at once.
        self.next_flush = if matches!(result, Ok(f) if f.more) { now } else { now + self.wait };
        recovered
    }

    /// A fold step is due: a round in progress goes on at once (after a
    /// failure, after a pause); a new one starts every `FOLD_EVERY` when
    /// anything was logged, or sooner when much was.
    pub(super) fn fold_due(&self, now: Instant) -> bool {
        if self.folding {
            return now >= self.next_fold;
        }
        self.logged > 0 && (now >= self.next_fold || (self.logged >= FOLD_ROWS && !self.fold_failing))
    }

    /// After a fold step; `Ok(true)` when the round is complete. Returns
    /// true when this ends a run of failures.
    pub(super) fn folded(&mut self, now: Instant, result: Result<bool, ()>) -> bool {
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
    pub(super) fn folded_all(&mut self, now: Instant) {
        self.logged = 0;
        self.folding = false;
        self.next_fold = now + FOLD_EVERY;
        self.unchecked_write = Some(now);
    }

    pub(super) fn checkpoint_due(&self, now: Instant) -> bool {
        self.unchecked_write.is_some_and(|at| now >= at + QUIET) && !self.folding
    }

    pub(super) fn checkpointed(&mut self) {
        self.unchecked_write = None;
    }

    /// Whether the overflow tally may be logged now (at most every ten
    /// seconds while there is something to report).
    pub(super) fn overflow_log_due(&self, now: Instant) -> bool {
        now >= self.next_overflow_log
    }

    pub(super) fn overflow_logged(&mut self, now: Instant) {
        self.next_overflow_log = now + OVERFLOW_LOG_EVERY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(100);

    fn flushed(keys: usize, logged: usize) -> Flushed {
        Flushed { hits: keys as u64, keys, superseded: 0, logged, more: false }
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
    fn a_write_that_left_hits_behind_is_followed_at_once() {
        let t0 = Instant::now();
        let mut plan = Plan::new(P, t0);
        plan.flushed(t0 + P, Ok(&Flushed { more: true, ..flushed(5, 0) }));
        assert!(plan.flush_due(t0 + P), "the rest is written at once");
        plan.flushed(t0 + P, Ok(&flushed(5, 0)));
        assert_eq!(plan.next_flush, t0 + 2 * P, "then the period again");
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
