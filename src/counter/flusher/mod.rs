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
//! - `watch_files`: free space, the WAL's bound, the reserve, and a
//!   database file deleted or replaced under the server (`files.rs`);
//!   `recover` then writes everything to a file at the configured path.
//! - `finish` (`finish.rs`): at shutdown, every pending hit written.
//!
//! When each duty is due is decided by [`Plan`], a pure state machine over
//! the clock (tested at the bottom); `run` only carries its decisions out.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Counter, Flushed};
use files::{File, Files};
use plan::Plan;

mod files;
mod finish;
mod plan;
use crate::logging::info;
use crate::metrics::Metrics;
use crate::store::{self, disk, Database, Store};

/// How the flusher gets a connection to the file at the configured path
/// again (after it was deleted, replaced, or became writable again), and
/// tells the request workers to do the same.
pub struct Reopen {
    pub db: Database,
    pub open: Box<dyn Fn() -> Result<Store, String> + Send>,
    /// Bumped after each reopen; workers reopen when theirs is older.
    pub generation: Arc<AtomicU64>,
}

/// Counters loaded into the table per step (a few milliseconds' work).
const LOAD_ROWS: usize = 4096;

/// The flusher and what it owns: its connection and the newest admin
/// event the counter has applied.
pub struct Flusher {
    counter: Arc<Counter>,
    metrics: Arc<Metrics>,
    store: Store,
    last_event: i64,
    /// For "today" in the counts loaded into the table.
    offset: crate::clock::Zone,
    plan: Plan,
    /// `data_version` as last seen: another process's commit changes it.
    version: Option<i64>,
    /// Where the store's record of writes stood when the table was last
    /// brought up to date (`Store::change_mark`); `None` where the store
    /// keeps none, and a change means a reload.
    mark: Option<i64>,
    load_started: Option<Instant>,
    /// When free heap pages were last given back (`allocator::give_back`).
    gave_back: Instant,
    load_failing: bool,
    told_dropped: bool,
    /// The database file's watch; none for a database server.
    files: Option<Files>,
    reopen: Reopen,
    /// The file at the path is being recovered; the failure was logged.
    recovering: bool,
}

impl Flusher {
    pub fn new(
        counter: Arc<Counter>,
        metrics: Arc<Metrics>,
        store: Store,
        last_event: i64,
        period: Duration,
        offset: crate::clock::Zone,
        reopen: Reopen,
    ) -> Flusher {
        let version = store.data_version().ok();
        let mark = store.change_mark().ok().flatten();
        let plan = Plan::new(period, Instant::now());
        Flusher {
            files: reopen.db.file().map(Files::new),
            reopen,
            recovering: false,
            counter,
            metrics,
            store,
            last_event,
            offset,
            plan,
            version,
            mark,
            load_started: None,
            gave_back: Instant::now(),
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
            self.watch_files(false);
            self.reload_if_changed();
            if self.plan.fold_due(Instant::now()) {
                self.fold();
            }
            if self.plan.flush_due(Instant::now()) {
                self.flush();
                crate::allocator::give_back(&mut self.gave_back);
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
                "more than {} counters: counts are read from the database instead of memory",
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
    /// A store that can tell which counters changed (PostgreSQL) has only
    /// those read again. A database that cannot be asked (a server that is
    /// down) is taken as unchanged: dropping the table then would only send
    /// every request to the database that cannot answer.
    fn reload_if_changed(&mut self) {
        let Ok(now_version) = self.store.data_version().map(Some) else { return };
        if now_version == self.version {
            return;
        }
        if let (Some(mark), false) = (&mut self.mark, self.counter.table_dropped()) {
            let today = crate::clock::today(self.offset);
            match self.counter.refresh_table(&mut self.store, &mut self.last_event, today, mark) {
                Ok(Some(dropped)) => {
                    log_superseded(dropped);
                    self.version = now_version;
                    return;
                }
                Ok(None) => {}
                // Asked again at the next tick.
                Err(_) => return,
            }
        }
        match self.store.fold() {
            Ok(_) => self.plan.folded_all(Instant::now()),
            Err(e) => {
                self.fold_failed(&e);
                return;
            }
        }
        self.version = now_version;
        // The table loads what was written up to this mark, or later.
        self.mark = self.store.change_mark().ok().flatten();
        self.counter.reload_table();
    }

    /// One flush, recorded in the metrics and the plan.
    fn flush(&mut self) -> bool {
        let result = self.flush_mending();
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
        result.is_ok()
    }

    /// A flush; when it fails for want of space, the WAL is truncated and
    /// the reserve given up and it is tried again at once; when the file
    /// cannot be written (a read-only remount), the connection is opened
    /// again for the next try.
    fn flush_mending(&mut self) -> store::Result<Flushed> {
        let result = self.flush_now();
        match &result {
            Err(e) if e.is_disk_full() => {
                let pending = self.counter.pending_hits();
                if self.files.as_mut().is_some_and(|f| f.disk_full(&self.store, pending)) {
                    return self.flush_now();
                }
            }
            Err(e) if e.is_read_only() => {
                if let Ok(store) = (self.reopen.open)() {
                    self.store = store;
                }
            }
            Ok(_) => {
                if let Some(files) = &self.files {
                    files.bound_wal(&self.store);
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Looks at the database's files; a deleted or replaced file is
    /// recovered.
    fn watch_files(&mut self, always: bool) {
        match self.look(always) {
            File::Same => {}
            found => self.recover(found),
        }
    }

    /// What is at the database file's path (a database server is always
    /// the same).
    fn look(&mut self, always: bool) -> File {
        match &mut self.files {
            Some(files) => files.look(Instant::now(), always, &self.metrics),
            None => File::Same,
        }
    }

    /// The file at the configured path is not the one being written: puts
    /// everything this server holds there (a copy of the deleted file,
    /// made through the connection still open on it, then the hits in
    /// memory), reopens every connection on it, and logs the incident once
    /// and its end once. `/healthz` is 503 meanwhile.
    fn recover(&mut self, found: File) {
        let Some(db) = self.reopen.db.file().map(Path::to_path_buf) else { return };
        let what = if found == File::Vanished { "was deleted" } else { "was replaced by another file" };
        if !self.recovering {
            self.recovering = true;
            info(&format!(
                "error: the database file {} {what} while in use; writing everything this server holds to {}",
                db.display(),
                db.display()
            ));
            self.metrics.file_problem(Some(format!("the database file {what}; recovering")));
        }
        if found == File::Vanished {
            let tmp = disk::suffixed(&db, "-recovering");
            let _ = std::fs::remove_file(&tmp);
            let copied = disk::writable(&db)
                .and_then(|()| self.store.snapshot_to(&tmp).map(|_| ()))
                .and_then(|()| std::fs::rename(&tmp, &db).map_err(|e| format!("cannot rename {}: {e}", tmp.display())));
            if copied.is_err() {
                return;
            }
        }
        if found == File::Replaced {
            // Our WAL is still at the path: emptied into the old file first,
            // or the new file would be read through it.
            let _ = self.store.checkpoint_truncate();
        }
        let Ok(store) = (self.reopen.open)() else { return };
        if found == File::Replaced {
            // Another file's admin events and rows: start over from it.
            self.last_event = store.last_event().unwrap_or(0);
            self.counter.reload_table();
        }
        self.version = store.data_version().ok();
        self.store = store;
        if let Some(files) = &mut self.files {
            files.adopt_current();
        }
        self.reopen.generation.fetch_add(1, Ordering::SeqCst);
        let pending = self.counter.pending_hits();
        if self.flush() {
            self.recovering = false;
            self.metrics.file_problem(None);
            info(&format!("recovered: {} is in place again; {pending} hits held in memory were written", db.display()));
        }
    }

    fn flush_now(&mut self) -> store::Result<Flushed> {
        let start = Instant::now();
        self.metrics.flush_begins();
        let result = self.counter.flush(&mut self.store, &mut self.last_event);
        self.metrics.flushed(start.elapsed(), result.as_ref().map(|f| f.keys).map_err(|e| e.to_string()));
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
}

fn log_superseded(dropped: u64) {
    if dropped > 0 {
        info(&format!("{dropped} unsaved hits dropped: their counters were changed by an admin command"));
    }
}
