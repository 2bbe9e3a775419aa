//! The database: the only module that knows SQL.
//!
//! One row per counter (`counters.key` is UNIQUE), per-day rows in `daily`,
//! `admin_events` (how admin commands tell a running server which counters
//! changed) and, in SQLite, `hit_log` (see `log.rs`), a private detail of
//! the write path. Every statement is parameterised.
//!
//! The boundary is [`Store`]: what the rest of the program may ask of a
//! database, with no SQL, SQLite or PostgreSQL type in it. Behind it is a
//! SQLite file (`sqlite.rs` opens it; `read.rs`, `write.rs`, `admin.rs`)
//! or, with the `postgres` feature, a PostgreSQL database several servers
//! share (`postgres/`): the same methods, dispatched by `on!`.
//! - Reads are exact: in SQLite they add the hits the log holds, so no
//!   caller has to fold anything first.
//! - A flush hands over a batch of [`Pending`] hits and gets back what
//!   each counter now holds ([`Written`]), after the admin events newer
//!   than the caller's are applied in the same transaction.
//! - Admin changes: set, delete, import, and the events a server polls
//!   for them.
//! - Upkeep (SQLite only; no-ops on PostgreSQL): [`Store::fold_step`] (the
//!   hit log) and [`Store::checkpoint`].
//!
//! Opening: [`Database`] (`location.rs`) is where the database is, parsed
//! once from `--db`; [`Database::prepare`] makes it ready for a server or
//! CGI (creating it, converting the original's, upgrading the schema),
//! while [`Database::open_read_only`] never writes anything.

use chrono::NaiveDate;
use std::path::Path;
use std::time::Duration;

#[path = "sqlite/admin.rs"]
mod admin;
pub mod copy;
#[path = "sqlite/disk.rs"]
pub mod disk;
mod error;
mod location;
#[path = "sqlite/log.rs"]
mod log;
#[path = "sqlite/original.rs"]
pub mod original;
#[cfg(feature = "postgres")]
mod postgres;
#[path = "sqlite/read.rs"]
mod read;
#[path = "sqlite/schema.rs"]
mod schema;
#[path = "sqlite/snapshot.rs"]
mod snapshot;
mod sqlite;
#[path = "sqlite/write.rs"]
mod write;

pub use error::{is_disk_full, is_read_only, Error, Result};
pub use location::Database;
use sqlite::Sqlite;

pub use admin::Event;
pub use read::Stored;
pub use snapshot::{adopt, in_use, inspect, is_sqlite_file, load_dump, mark_in_use, swap_in, Snapshot};
pub use write::{Pending, Written};

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection is for; each gets its own cache and checkpoint
/// settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A request worker of the server: counts come from memory, so it reads
    /// little (history, top sites, the rare key memory cannot answer).
    Worker,
    /// The server's writer: flushes, folds, loads, checkpoints.
    Flusher,
    /// One CGI request in a short-lived process.
    Cgi,
    /// An admin command.
    Admin,
}

/// Hits of a counter on one day, and how many of them were a visitor's
/// first hit of that day (unique visitors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub day: chrono::NaiveDate,
    pub hits: u64,
    pub uniques: u64,
}

/// One day of a counter's history: its hits and unique visitors (`None`
/// on days from before visitors were counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRow {
    pub day: NaiveDate,
    pub hits: u64,
    pub uniques: Option<u64>,
}

/// A counter to import: its total and the days of history to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub key: String,
    pub count: u64,
    pub days: Vec<DayRow>,
}

/// A connection to the database: a SQLite file or a PostgreSQL server.
/// Every method means the same on both; what only a file has (the hit
/// log, WAL checkpoints, copies made with `VACUUM INTO`) is a no-op or an
/// error on PostgreSQL.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(Sqlite),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::Pg>),
}

/// `$body` run on whichever backend `$self` holds, as `$b` (the same
/// method names on both), its error made a [`Error`].
macro_rules! on {
    ($self:ident, $b:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($b) => $body.map_err(Error::from),
            #[cfg(feature = "postgres")]
            Backend::Postgres($b) => $body.map_err(Error::from),
        }
    };
    (mut $self:ident, $b:ident => $body:expr) => {
        match &mut $self.backend {
            Backend::Sqlite($b) => $body.map_err(Error::from),
            #[cfg(feature = "postgres")]
            Backend::Postgres($b) => $body.map_err(Error::from),
        }
    };
}

/// Why a read-only open failed, worded for the user.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    Missing,
    Original,
    Other(String),
}

impl Store {
    fn sqlite(inner: Sqlite) -> Store {
        Store { backend: Backend::Sqlite(inner) }
    }

    /// Opens an existing SQLite database read-write with the settings
    /// `role` needs. Does not create or upgrade the schema; see
    /// [`Store::prepare`].
    pub fn open(path: &Path, role: Role) -> Result<Store> {
        Ok(Store::sqlite(Sqlite::open(path, role)?))
    }

    /// Makes the database at `path` ready for an admin change: creates the
    /// directory and file, upgrades the schema and folds hits a crashed
    /// server logged. A database of the original service is refused (see
    /// [`Store::prepare_converting`]). Returns what it did, for the log.
    pub fn prepare(path: &Path, role: Role) -> std::result::Result<(Store, Vec<String>), String> {
        Sqlite::prepare(path, role, None, false).map(|(s, notes)| (Store::sqlite(s), notes))
    }

    /// [`Store::prepare`] for a server or CGI, which also converts a
    /// database of the original service (a copy is written first), making
    /// keys of its URLs with `keys`. `adopt`: add our tables to a file that
    /// holds another application's (refused otherwise).
    pub fn prepare_converting(
        path: &Path,
        role: Role,
        keys: original::KeyRule,
        adopt: bool,
    ) -> std::result::Result<(Store, Vec<String>), String> {
        Sqlite::prepare(path, role, Some(keys), adopt).map(|(s, notes)| (Store::sqlite(s), notes))
    }

    /// Opens an existing database for reading only: nothing is created,
    /// converted, folded or written, and a running server sees no change.
    pub fn open_read_only(path: &Path) -> std::result::Result<Store, OpenError> {
        Sqlite::open_read_only(path).map(Store::sqlite)
    }

    /// Changes whenever another connection (any process, any instance)
    /// commits to the database; this connection's own commits leave it
    /// alone.
    pub fn data_version(&self) -> Result<i64> {
        on!(self, b => b.data_version())
    }

    /// SQLite: copies what the WAL holds into the database file, without
    /// waiting for readers: afterwards the `.db` file alone is current
    /// (unless a reader held an old snapshot).
    pub fn checkpoint(&self) -> Result<()> {
        on!(self, b => b.checkpoint())
    }

    /// SQLite: copies the whole WAL into the database and truncates it to
    /// nothing, waiting (up to the busy timeout) for readers of older
    /// snapshots.
    pub fn checkpoint_truncate(&self) -> Result<()> {
        on!(self, b => b.checkpoint_truncate())
    }

    /// Runs `f` inside one read transaction, so that everything it reads
    /// comes from one snapshot of the database.
    pub fn snapshot<T>(&mut self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        on!(self, b => b.begin_read())?;
        let result = f(self);
        let end = on!(self, b => b.end_read(result.is_ok()));
        let value = result?;
        end.map(|()| value)
    }

    /// A key's total and its hits on `day` (zeros for an unknown key), read
    /// in one statement, so one snapshot.
    pub fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored> {
        on!(self, b => b.counts(key, day))
    }

    /// A key's total; `None` when it has no counter.
    pub fn get(&self, key: &str) -> Result<Option<u64>> {
        on!(self, b => b.get(key))
    }

    /// A key's hits on each of `days`, with its unique visitors (`None`
    /// where they were not recorded: days before visitors were counted);
    /// days without hits are left out.
    pub fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>> {
        on!(self, b => b.history(key, days))
    }

    /// Number of counters.
    pub fn counter_rows(&self) -> Result<u64> {
        on!(self, b => b.counter_rows())
    }

    /// Counters by total, biggest first; `limit` None for all. Calls `f`
    /// per row so exports of millions of rows stream instead of filling
    /// memory.
    pub fn each_by_count(
        &self,
        limit: Option<u64>,
        f: impl FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        match &self.backend {
            Backend::Sqlite(b) => b.each_by_count(limit, f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(b) => b.each_by_count(limit, f),
        }
    }

    /// Every counter with its per-day rows, by key (in byte order) then
    /// day, for `export --history`: `f(key, total, day)` once per day row,
    /// or once with `None` for a counter without any.
    pub fn each_with_days(
        &self,
        f: impl FnMut(&str, u64, Option<DayRow>) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        match &self.backend {
            Backend::Sqlite(b) => b.each_with_days(f),
            #[cfg(feature = "postgres")]
            Backend::Postgres(b) => b.each_with_days(f),
        }
    }

    /// Views summed per domain (text before the first `/`), biggest first.
    /// Fetches `limit` domains; the caller filters out local hosts.
    pub fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>> {
        on!(self, b => b.top_domains(limit))
    }

    /// Up to `limit` counters with an id above `after`, in id order, with
    /// their hits on `day` and their visitors:
    /// `f(id, key, total, hits on day, visitors)`. For loading every counter
    /// into memory a chunk at a time.
    pub fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        on!(self, b => b.counters_after(after, day, limit, f))
    }

    /// Where the database's record of writes stands, for
    /// [`Store::changed_since`]; `None` where the backend keeps none
    /// (SQLite: another writer's commit means reading everything again).
    pub fn change_mark(&self) -> Result<Option<i64>> {
        on!(self, b => b.change_mark())
    }

    /// The counters any writer wrote since `mark` (what `change_mark` or an
    /// earlier call returned), with their hits on `day` and their visitors:
    /// `f(id, key, total, hits on day, visitors)`; returns the new mark, or
    /// `None` when the backend cannot tell. Call it inside
    /// [`Store::snapshot`].
    pub fn changed_since(
        &self,
        mark: i64,
        day: NaiveDate,
        f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<Option<i64>> {
        on!(self, b => b.changed_since(mark, day, f))
    }

    /// Writes `batch` in one transaction. The admin events newer than
    /// `*last_event` are read inside it first and handed to `apply_events`,
    /// which takes the hits they supersede out of the batch and returns how
    /// many; `*last_event` advances only when the flush commits. Returns
    /// what each remaining counter holds now (in batch order) and the hits
    /// superseded.
    pub fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: impl FnOnce(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        on!(mut self, b => b.flush(batch, last_event, apply_events))
    }

    /// Adds one hit (a visitor's first today when `unique`) and commits
    /// it; returns the counts in the same transaction (with whatever other
    /// processes added).
    pub fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored> {
        on!(mut self, b => b.add_one(key, day, unique))
    }

    /// Admin events after `after`, oldest first.
    pub fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        on!(self, b => b.events_since(after))
    }

    /// The newest admin event id (0 when there is none).
    pub fn last_event(&self) -> Result<i64> {
        on!(self, b => b.last_event())
    }

    /// Sets a counter to `count`, creating it. Per-day history is kept.
    pub fn set(&mut self, key: &str, count: u64) -> Result<()> {
        on!(mut self, b => b.set(key, count))
    }

    /// Deletes a counter and its history. Returns false when there was none.
    pub fn delete(&mut self, key: &str) -> Result<bool> {
        on!(mut self, b => b.delete(key))
    }

    /// Sets many counters, and the days of history given with them, in one
    /// transaction: all or nothing. A day given replaces that day of the
    /// counter; a counter's visitor total moves by what its days' visitors
    /// change by.
    pub fn import(&mut self, rows: &[Imported]) -> Result<()> {
        on!(mut self, b => b.import(rows))
    }

    /// Folds the whole hit log now (SQLite; PostgreSQL has none).
    pub fn fold(&mut self) -> Result<usize> {
        on!(mut self, b => b.fold())
    }

    /// Folds the next slice of the hit log; true when a round is complete.
    pub fn fold_step(&mut self) -> Result<bool> {
        on!(mut self, b => b.fold_step())
    }

    /// Writes a consistent SQLite copy of the database to `dest` (which
    /// must not exist yet) and checks it.
    pub fn snapshot_to(&self, dest: &Path) -> std::result::Result<Snapshot, String> {
        match &self.backend {
            Backend::Sqlite(b) => b.snapshot_to(dest),
            #[cfg(feature = "postgres")]
            Backend::Postgres(b) => copy::into_file(b, dest),
        }
    }

    /// The raw SQLite connection, for tests that play another process.
    #[cfg(test)]
    pub fn raw(&self) -> &rusqlite::Connection {
        match &self.backend {
            Backend::Sqlite(b) => &b.conn,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => panic!("not a SQLite store"),
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Days are stored as ISO dates, readable in `sqlite3`.
fn day_text(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
