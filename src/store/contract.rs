//! The store contract: every operation a database backend offers, declared
//! once, with what it guarantees. SQLite (`sqlite/`) and PostgreSQL
//! (`postgres/`) implement it; [`super::Store`] holds one of them and is
//! what the rest of the program calls. One test suite (`tests.rs`) runs
//! every guarantee below against both.
//!
//! Guarantees shared by every method:
//! - Reads are exact: whatever a backend keeps aside for speed (SQLite's
//!   hit log) is added, so no caller has to fold anything first.
//! - Keys are compared as bytes, and listed in byte order.
//! - A write is one transaction: it happens entirely or not at all.

use chrono::NaiveDate;
use std::path::Path;

use super::copy::Copied;
use super::{DayRow, Event, Imported, Pending, Result, Snapshot, Stored, Written};

/// What [`Backend::each_with_days`] calls: `f(key, total, day)`.
pub type EachDay<'a> = dyn FnMut(&str, u64, Option<DayRow>) -> std::io::Result<()> + 'a;

/// A database the counts live in. Object safe: closures are passed as
/// `&mut dyn FnMut` (the [`super::Store`] methods of the same names take
/// any closure).
pub trait Backend: std::any::Any + Send {
    // Read transactions.

    /// Starts a read transaction: every read until [`Backend::end_read`]
    /// sees one snapshot of the database. Use [`super::Store::snapshot`].
    fn begin_read(&self) -> Result<()>;

    /// Ends the read transaction (committed when `ok`, else rolled back).
    fn end_read(&self, ok: bool) -> Result<()>;

    // Reads.

    /// A key's total, its hits on `day` and its visitors (zeros for an
    /// unknown key), with the newest admin event id, all from one snapshot.
    fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored>;

    /// A key's total; `None` when it has no counter.
    fn get(&self, key: &str) -> Result<Option<u64>>;

    /// A key's hits on each of `days`, in the order given, with its unique
    /// visitors (`None` where they were not recorded: days before visitors
    /// were counted); days without hits, and every day of an unknown key,
    /// are left out.
    fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>>;

    /// Number of counters.
    fn counter_rows(&self) -> Result<u64>;

    /// Counters by total, biggest first (then by key); `limit` None for
    /// all. Calls `f` per row, so exports of millions of rows stream
    /// instead of filling memory; an error from `f` stops the scan and is
    /// returned.
    fn each_by_count(
        &self,
        limit: Option<u64>,
        f: &mut dyn FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String>;

    /// Every counter with its per-day rows, by key then day, for `export
    /// --history`: `f(key, total, day)` once per day row, or once with
    /// `None` for a counter without any. Streams like
    /// [`Backend::each_by_count`].
    fn each_with_days(&self, f: &mut EachDay<'_>) -> std::result::Result<(), String>;

    /// Views summed per domain (the key before its first `/`), biggest
    /// first. Fetches `limit` domains; the caller filters out local hosts.
    fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>>;

    /// Up to `limit` counters with an id above `after`, in id order, with
    /// their hits on `day` and their visitors:
    /// `f(id, key, total, hits on day, visitors)`. For loading every counter
    /// into memory a chunk at a time.
    fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        f: &mut dyn FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()>;

    // What other writers did.

    /// Changes when another connection (any process, any instance) flushes
    /// or otherwise commits hits; this connection's own commits leave it
    /// alone. Only equality means anything.
    fn data_version(&self) -> Result<i64>;

    /// Where the database's record of writes stands, for
    /// [`Backend::changed_since`]. `None` (the default): the backend keeps
    /// no such record, and another writer's commit means reading
    /// everything again.
    fn change_mark(&self) -> Result<Option<i64>> {
        Ok(None)
    }

    /// The counters any writer wrote since `mark` (what `change_mark` or an
    /// earlier call returned), each once, with their hits on `day` and
    /// their visitors: `f(id, key, total, hits on day, visitors)`. Returns
    /// the new mark: no write it covers is left to come. Call it inside
    /// [`super::Store::snapshot`]. `None` (the default, calling `f` never)
    /// where the backend cannot tell, as for [`Backend::change_mark`].
    fn changed_since(
        &self,
        _mark: i64,
        _day: NaiveDate,
        _f: &mut dyn FnMut(i64, &str, u64, u64, u64),
    ) -> Result<Option<i64>> {
        Ok(None)
    }

    // Writes of counted hits.

    /// Writes `batch` in one transaction. The admin events newer than
    /// `*last_event` are read inside it first and handed to `apply_events`
    /// (called once, and only when there are any), which takes the hits
    /// they supersede out of the batch and returns how many; no admin
    /// change can commit between that read and the write. `*last_event`
    /// advances only when the flush commits. Returns what each remaining
    /// counter holds now, in batch order (with whatever other writers
    /// added), and the hits superseded. A [`Pending::known`] entry may be
    /// written more cheaply, but reads see the same counts either way.
    fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: &mut dyn FnMut(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)>;

    /// Adds one hit (a visitor's first of `day` when `unique`) and commits
    /// it; returns the counts as of that transaction (with whatever other
    /// writers added) and the newest admin event.
    fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored>;

    // Admin changes and their events.

    /// Admin events after `after`, oldest first. Event ids follow commit
    /// order: a poller that saw an id never misses a smaller one later.
    fn events_since(&self, after: i64) -> Result<Vec<Event>>;

    /// The newest admin event id (0 when there is none).
    fn last_event(&self) -> Result<i64>;

    /// Sets a counter to `count`, creating it, and records an event. Per-day
    /// history is kept. Hits counted before it cannot land on top of it.
    fn set(&mut self, key: &str, count: u64) -> Result<()>;

    /// Deletes a counter and its history, recording an event. Returns false
    /// (and records nothing) when there was none.
    fn delete(&mut self, key: &str) -> Result<bool>;

    /// Folds counter `from` into `into` in one transaction: `into` gets the
    /// sum of both totals, per-day hits and visitors (a day's visitors stay
    /// unrecorded only where neither side recorded them), or `from` is
    /// renamed when `into` has no counter; `from` is gone afterwards and an
    /// event is recorded for each key. Returns `None` (and changes nothing)
    /// when `from` has no counter, else whether `into` had one.
    fn merge(&mut self, from: &str, into: &str) -> Result<Option<bool>>;

    /// Sets many counters, and the days of history given with them, in one
    /// transaction: all or nothing. The last row of a key wins. A day given
    /// replaces that day of the counter; a counter's visitor total moves by
    /// what its days' visitors change by. Records an event per key, or one
    /// "every counter" event for a large import.
    fn import(&mut self, rows: &[Imported]) -> Result<()>;

    // Whole-database copies.

    /// Every counter as stored, with its days, in id order. Call it inside
    /// [`super::Store::snapshot`] (see [`super::Store::dump`]), on a
    /// database made ready with `Database::prepare` (SQLite: its hit log
    /// is then folded).
    fn dump(&self) -> Result<Vec<Copied>>;

    /// Writes `rows` into this (empty) database in one transaction, and
    /// records an "every counter" event. Calls `written(n)` as each `n`
    /// more counters are written (uncommitted until the end), for progress.
    fn load(&mut self, rows: &[Copied], written: &mut dyn FnMut(u64)) -> Result<()>;

    /// Writes a consistent SQLite copy of the database to `dest` (which
    /// must not exist yet) and checks it: the format of every backup.
    fn snapshot_to(&self, dest: &Path) -> std::result::Result<Snapshot, String>;

    // Upkeep: what only a SQLite file needs; no-ops by default.

    /// Copies what the WAL holds into the database file, without waiting
    /// for readers: afterwards the `.db` file alone is current (unless a
    /// reader held an old snapshot).
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    /// Copies the whole WAL into the database and truncates it to nothing,
    /// waiting (up to the busy timeout) for readers of older snapshots.
    fn checkpoint_truncate(&self) -> Result<()> {
        Ok(())
    }

    /// Folds the whole hit log into the counters now; returns the rows
    /// applied (0 without a log). Counts read the same before and after.
    fn fold(&mut self) -> Result<usize> {
        Ok(0)
    }

    /// Folds the next slice of the hit log; true when a round is complete
    /// (always, without a log).
    fn fold_step(&mut self) -> Result<bool> {
        Ok(true)
    }
}
