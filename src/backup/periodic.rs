//! Backups inside the server: a thread of its own, with its own database
//! connection, so the request path never waits for a snapshot or an
//! upload. The first backup comes soon after start, then one every
//! interval; nothing is uploaded when the database has not changed since
//! the last backup; a failure is logged once per incident and retried with
//! a doubling pause (never longer than the interval).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{backup, Location, Objects, Written};
use crate::logging::info;
use crate::metrics::Metrics;
use crate::store::Store;

/// The first backup after start comes after this, or after one interval
/// if that is shorter.
const FIRST_AFTER: Duration = Duration::from_secs(30);
/// The first pause after a failed backup; it doubles up to the interval.
const FIRST_RETRY: Duration = Duration::from_secs(5);

/// What the server was told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub to: Location,
    pub interval: Duration,
    /// Timestamped copies kept; 0 keeps all.
    pub keep: usize,
    /// One more backup after the final flush at a clean shutdown.
    pub on_exit: bool,
}

/// Whether a server backs up, or why not (the start-up log says which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backups {
    On(Config),
    Off(String),
}

pub struct Periodic {
    cfg: Config,
    objects: Box<dyn Objects>,
    store: Store,
    db: PathBuf,
    metrics: Arc<Metrics>,
    /// `data_version` when the last backup was taken.
    backed_up: Option<i64>,
    failing_since: Option<Instant>,
    retry: Duration,
}

impl Periodic {
    pub fn new(cfg: Config, objects: Box<dyn Objects>, store: Store, db: PathBuf, metrics: Arc<Metrics>) -> Periodic {
        metrics.backups_every(cfg.interval);
        Periodic { cfg, objects, store, db, metrics, backed_up: None, failing_since: None, retry: FIRST_RETRY }
    }

    /// Backs up now and then until `shutdown`; returns itself for a last
    /// backup at exit.
    pub fn run(mut self, shutdown: &AtomicBool) -> Periodic {
        let mut next = Instant::now() + FIRST_AFTER.min(self.cfg.interval);
        loop {
            while Instant::now() < next {
                if shutdown.load(Ordering::SeqCst) {
                    return self;
                }
                std::thread::sleep(Duration::from_millis(100).min(next - Instant::now()));
            }
            next = Instant::now() + if self.once() { self.cfg.interval } else { self.retry_pause() };
        }
    }

    /// The backup at a clean shutdown, when configured (after the final
    /// flush, so it holds every counted hit).
    pub fn at_exit(mut self) {
        if self.cfg.on_exit {
            self.once();
        }
    }

    fn retry_pause(&mut self) -> Duration {
        let pause = self.retry;
        self.retry = (self.retry * 2).min(self.cfg.interval.max(FIRST_RETRY));
        pause
    }

    /// One backup unless nothing changed; true when the database is backed
    /// up (now or before).
    fn once(&mut self) -> bool {
        let version = self.store.data_version().ok();
        if version.is_some() && version == self.backed_up {
            self.metrics.backup_done();
            return true;
        }
        let started = Instant::now();
        match backup(&self.store, &self.db, &self.cfg.to, Some(self.objects.as_ref()), self.cfg.keep, &|_| {}) {
            Ok(w) => {
                self.backed_up = version;
                self.metrics.backup_done();
                self.retry = FIRST_RETRY;
                if let Some(since) = self.failing_since.take() {
                    info(&format!("backups work again after {:.0}s", since.elapsed().as_secs_f64()));
                }
                self.log(&w, started);
                true
            }
            Err(e) => {
                self.metrics.backup_failed();
                if self.failing_since.is_none() {
                    self.failing_since = Some(Instant::now());
                    info(&format!("error: backup to {} failed: {e}; retrying with backoff", self.cfg.to));
                }
                false
            }
        }
    }

    fn log(&self, w: &Written, started: Instant) {
        let pruned = if w.pruned > 0 { format!(", {} old copies deleted", w.pruned) } else { String::new() };
        info(&format!(
            "backup {} written to {} ({} counters, {} bytes, {:.1}s{pruned})",
            w.name,
            self.cfg.to,
            w.counters,
            w.bytes,
            started.elapsed().as_secs_f64()
        ));
    }
}
