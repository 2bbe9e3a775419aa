//! The database: the only module that knows SQL.
//!
//! One row per counter (`counters.key` is UNIQUE), per-day rows in `daily`,
//! `admin_events` (how admin commands tell a running server which counters
//! changed) and, in SQLite, `hit_log` (see `sqlite/log.rs`), a private
//! detail of the write path. Every statement is parameterised.
//!
//! The contract is [`Backend`] (`contract.rs`): every operation a database
//! offers, declared once with what it guarantees, over the values in
//! `types.rs`, with no SQL, SQLite or PostgreSQL type in it. Two backends
//! meet it: a SQLite file (`sqlite/`) and, with the `postgres` feature, a
//! PostgreSQL database several servers share (`postgres/`). One suite
//! (`tests.rs`) checks the contract on both.
//!
//! [`Store`] is what the rest of the program holds: one backend behind
//! the contract (its methods are the contract's, plus the same ones taking
//! any closure). It builds the backend; no backend knows of it. Errors are
//! [`Error`], whichever backend failed.
//!
//! Opening: [`Database`] (`location.rs`) is where the database is, parsed
//! once from `--db`; [`Database::prepare`] makes it ready for a server or
//! CGI (creating it, converting the original's, upgrading the schema),
//! while [`Database::open_read_only`] never writes anything.
//!
//! Backend-neutral files sit here: the contract, its types, [`Error`],
//! [`Database`] and whole-database copies (`copy.rs`).

use chrono::NaiveDate;
use std::path::Path;

mod contract;
pub mod copy;
mod error;
mod location;
pub mod merge;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
#[cfg(test)]
mod tests;
mod types;

pub use contract::Backend;
pub use error::{Error, Result};
pub use location::{is_postgres_url, Database};
pub use sqlite::configure_library;
pub use sqlite::library_version as sqlite_version;
pub use sqlite::snapshot::{
    adopt, check, in_use, inspect, is_sqlite_file, load_dump, mark_in_use, settle, swap_in, Snapshot,
};
pub use sqlite::{disk, original};
pub use types::{Day, DayRow, Event, Imported, OpenError, Pending, Role, Stored, Written};

use sqlite::Sqlite;

/// A connection to the database: a SQLite file or a PostgreSQL server,
/// behind the store contract. Its methods are [`Backend`]'s (through
/// `Deref`), and below the few that take any closure where the contract
/// takes `&mut dyn FnMut`, or span several calls ([`Store::snapshot`]).
pub struct Store {
    backend: Box<dyn Backend>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &(dyn Backend + 'static) {
        &*self.backend
    }
}

impl std::ops::DerefMut for Store {
    fn deref_mut(&mut self) -> &mut (dyn Backend + 'static) {
        &mut *self.backend
    }
}

impl Store {
    fn new(backend: impl Backend) -> Store {
        Store { backend: Box::new(backend) }
    }

    /// Opens an existing SQLite database read-write with the settings
    /// `role` needs. Does not create or upgrade the schema; see
    /// [`Store::prepare`].
    pub fn open(path: &Path, role: Role) -> Result<Store> {
        Ok(Store::new(Sqlite::open(path, role)?))
    }

    /// Makes the database at `path` ready for an admin change: creates the
    /// directory and file, upgrades the schema and folds hits a crashed
    /// server logged. A database of the original service is refused (see
    /// [`Store::prepare_converting`]). Returns what it did, for the log.
    pub fn prepare(path: &Path, role: Role) -> std::result::Result<(Store, Vec<String>), String> {
        Sqlite::prepare(path, role, None, false).map(|(s, notes)| (Store::new(s), notes))
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
        Sqlite::prepare(path, role, Some(keys), adopt).map(|(s, notes)| (Store::new(s), notes))
    }

    /// Opens an existing database for reading only: nothing is created,
    /// converted, folded or written, and a running server sees no change.
    pub fn open_read_only(path: &Path) -> std::result::Result<Store, OpenError> {
        Sqlite::open_read_only(path).map(Store::new)
    }

    /// Runs `f` inside one read transaction, so that everything it reads
    /// comes from one snapshot of the database.
    pub fn snapshot<T>(&mut self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.backend.begin_read()?;
        let result = f(self);
        let end = self.backend.end_read(result.is_ok());
        let value = result?;
        end.map(|()| value)
    }

    /// [`Backend::each_by_count`].
    pub fn each_by_count(
        &self,
        limit: Option<u64>,
        mut f: impl FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        self.backend.each_by_count(limit, &mut f)
    }

    /// [`Backend::each_with_days`].
    pub fn each_with_days(
        &self,
        mut f: impl FnMut(&str, u64, Option<DayRow>) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        self.backend.each_with_days(&mut f)
    }

    /// [`Backend::counters_after`].
    pub fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        mut f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        self.backend.counters_after(after, day, limit, &mut f)
    }

    /// [`Backend::changed_since`].
    pub fn changed_since(
        &self,
        mark: i64,
        day: NaiveDate,
        mut f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<Option<i64>> {
        self.backend.changed_since(mark, day, &mut f)
    }

    /// [`Backend::flush`].
    pub fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        mut apply_events: impl FnMut(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        self.backend.flush(batch, last_event, &mut apply_events)
    }

    /// The raw SQLite connection, for tests that play another process.
    #[cfg(test)]
    pub fn raw(&self) -> &rusqlite::Connection {
        let any: &dyn std::any::Any = &*self.backend;
        &any.downcast_ref::<Sqlite>().expect("not a SQLite store").conn
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
