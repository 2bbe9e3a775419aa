//! The flusher's watch over the database's files, once a second: free
//! space (for `/healthz` and `/metrics`), write access, the WAL's bound,
//! the reserve given up when the disk fills, and the file being deleted or
//! replaced under the running server. Each change of state is logged once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::limits::{LOW_DISK_BYTES, LOW_DISK_PERCENT, RESERVE_BYTES, RESERVE_PERCENT, WAL_CHECKPOINT_BYTES};
use crate::logging::info;
use crate::metrics::Metrics;
use crate::store::disk::{self, Identity, Reserve, Space};
use crate::store::Store;

const LOOK_EVERY: Duration = Duration::from_secs(1);

/// What a look found about the file at the configured path.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum File {
    Same,
    /// Deleted (perhaps with its directory): the server writes into a file
    /// nobody will ever see again.
    Vanished,
    /// Another file is at the path now.
    Replaced,
}

pub(super) struct Files {
    db: PathBuf,
    identity: Option<Identity>,
    reserve: Reserve,
    next_look: Instant,
    told_not_writable: bool,
    told_low: bool,
    told_no_reserve: bool,
}

impl Files {
    pub(super) fn new(db: &Path) -> Files {
        let bytes = disk::space(db).map_or(RESERVE_BYTES, |s| reserve_bytes(&s));
        let mut files = Files {
            db: db.to_path_buf(),
            identity: disk::identity(db),
            reserve: Reserve::new(db, bytes),
            next_look: Instant::now(),
            told_not_writable: false,
            told_low: false,
            told_no_reserve: false,
        };
        files.keep_reserve(disk::space(db));
        files
    }

    /// The file now at the path is the one the server uses (after a
    /// recovery).
    pub(super) fn adopt_current(&mut self) {
        self.identity = disk::identity(&self.db);
    }

    /// Looks at the files if a second has passed (or `now` is forced by
    /// the caller with `always`).
    pub(super) fn look(&mut self, now: Instant, always: bool, metrics: &Metrics) -> File {
        if !always && now < self.next_look {
            return File::Same;
        }
        self.next_look = now + LOOK_EVERY;
        let space = disk::space(&self.db);
        let low = space.is_some_and(|s| s.is_low(LOW_DISK_BYTES, LOW_DISK_PERCENT));
        metrics.disk(space.map(|s| (s.free, s.total)), low, disk::wal_bytes(&self.db), self.reserve.held());
        if low != self.told_low {
            self.told_low = low;
            match (low, space) {
                (true, Some(s)) => info(&format!(
                    "warning: low disk space: {} free of {} for {}",
                    mib(s.free),
                    mib(s.total),
                    self.db.display()
                )),
                _ => info(&format!("disk space for {} is no longer low", self.db.display())),
            }
        }
        self.keep_reserve(space);
        let now_identity = disk::identity(&self.db);
        if now_identity.is_none() {
            return File::Vanished;
        }
        if now_identity != self.identity {
            return File::Replaced;
        }
        let writable = disk::writable(&self.db);
        if writable.is_err() != self.told_not_writable {
            self.told_not_writable = writable.is_err();
            match writable {
                Err(e) => info(&format!(
                    "warning: {e}; writes still go through the open file, but a restart would fail: fix the owner or mode"
                )),
                Ok(()) => info(&format!("{} is writable again", self.db.display())),
            }
        }
        File::Same
    }

    /// Makes the reserve again once there is room for it and some.
    fn keep_reserve(&mut self, space: Option<Space>) {
        if self.reserve.held() {
            return;
        }
        let room =
            space.is_some_and(|s| !s.is_low(LOW_DISK_BYTES, LOW_DISK_PERCENT) && s.free > 4 * reserve_bytes(&s).max(1));
        if !room {
            return;
        }
        match self.reserve.make() {
            Ok(()) => self.told_no_reserve = false,
            Err(e) if !self.told_no_reserve => {
                self.told_no_reserve = true;
                info(&format!("warning: cannot make the reserve {}: {e}", self.reserve.path().display()));
            }
            Err(_) => {}
        }
    }

    /// After a write: a WAL past its bound is copied into the database and
    /// truncated, so that it never takes much more than the bound (or half
    /// the free space) however fast writes come.
    pub(super) fn bound_wal(&self, store: &Store) {
        let wal = disk::wal_bytes(&self.db);
        let free = disk::space(&self.db).map_or(u64::MAX, |s| s.free);
        if wal > WAL_CHECKPOINT_BYTES || (wal > 0 && wal > free / 2) {
            let _ = store.checkpoint_truncate();
        }
    }

    /// A write failed for want of space: truncates the WAL and gives up
    /// the reserve. True when the write is worth retrying at once.
    pub(super) fn disk_full(&mut self, store: &Store, pending: u64) -> bool {
        let _ = store.checkpoint_truncate();
        if !self.reserve.release() {
            return false;
        }
        info(&format!(
            "error: the disk holding {} is full; released the reserve {} so that the {pending} hits held in memory can be written: free some space",
            self.db.display(),
            self.reserve.path().display()
        ));
        true
    }
}

/// The reserve: `RESERVE_BYTES`, or a smaller share of a small filesystem.
fn reserve_bytes(s: &Space) -> u64 {
    RESERVE_BYTES.min(s.total / 100 * RESERVE_PERCENT)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
