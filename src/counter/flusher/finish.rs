//! The flusher's last duty: at shutdown, every pending hit written (the
//! write retried for a while, the database file checked to be the one at
//! the configured path), then the hit log folded and the WAL checkpointed,
//! so that the database alone is complete. False when hits could not be
//! stored: the caller exits non-zero.

use std::time::{Duration, Instant};

use super::files::File;
use super::plan::MAX_BACKOFF;
use super::Flusher;
use crate::logging::info;
use crate::store;

/// How long shutdown keeps retrying the final flush: with the 3 s given to
/// requests in flight, the whole shutdown fits a container's 10 s stop.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(6);

impl Flusher {
    /// Writes everything still pending, retrying for a while, then folds
    /// and checkpoints so that the `.db` file alone is complete. False if
    /// hits could not be stored.
    pub fn finish(mut self) -> bool {
        let until = Instant::now() + FINAL_FLUSH_LIMIT;
        self.log_overflow();
        let mut wait = Duration::from_millis(50);
        loop {
            self.watch_files(true);
            let written = if self.recovering { Err(None) } else { self.flush_mending().map_err(Some) };
            // Stored means in the file at the configured path.
            let in_place = written.is_ok() && self.look(true) == File::Same;
            if in_place {
                break;
            }
            if Instant::now() >= until {
                let why = match written {
                    Err(Some(e)) => e.to_string(),
                    _ => format!("{} is not the file written to", self.reopen.db),
                };
                info(&format!("error: {} counted hits could not be stored: {why}", self.counter.pending_hits()));
                return false;
            }
            if wait == Duration::from_millis(50) {
                info(&format!(
                    "the final write failed ({}); retrying for up to {} s",
                    written.err().flatten().map_or("the database file moved".into(), |e| e.to_string()),
                    FINAL_FLUSH_LIMIT.as_secs()
                ));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(MAX_BACKOFF);
        }
        // Every hit is stored now. Logged hits that cannot be folded are
        // still stored: the next start folds them.
        if let Err(e) = retry(until, "folding the hit log", || self.store.fold().map(|_| ())) {
            info(&format!("warning: the hit log could not be folded ({e}); the next start folds it"));
        }
        let _ = self.store.checkpoint();
        true
    }
}

/// Runs `f` until it succeeds or `until` passes, with a doubling pause;
/// the first failure is logged as `what` failing.
fn retry(until: Instant, what: &str, mut f: impl FnMut() -> store::Result<()>) -> store::Result<()> {
    let mut wait = Duration::from_millis(50);
    loop {
        match f() {
            Err(e) if Instant::now() < until => {
                if wait == Duration::from_millis(50) {
                    info(&format!("{what} failed ({e}); retrying"));
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(MAX_BACKOFF);
            }
            done => return done,
        }
    }
}
