//! The values that cross the store contract (`contract.rs`): what callers
//! hand a backend and what they get back, the same whichever backend holds
//! the counts. No SQL or driver type appears here.

use chrono::NaiveDate;

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

/// Why a read-only open failed, worded for the user.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    Missing,
    Original,
    Other(String),
}

/// What the database holds for a key at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub total: u64,
    /// Hits on the day asked for.
    pub today: u64,
    /// Unique visitors, summed over the days they were counted.
    pub visitors: u64,
    /// The newest admin event in the same snapshot: changes up to it are
    /// already in `total`.
    pub event: i64,
}

/// Hits of a counter on one day, and how many of them were a visitor's
/// first hit of that day (unique visitors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub day: NaiveDate,
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

/// The hits of one counter that a flush hands to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub key: Box<str>,
    pub hits: u64,
    /// Sums to `hits` (and to the new visitors); the newest day last.
    pub days: Vec<Day>,
    /// The counter's row id if known: the row is then updated by id (checked
    /// against `key`), skipping a lookup in the key index, which with a
    /// million counters reads a random index page per hit.
    pub id: Option<i64>,
    /// The counter's stored total, stored hits on the newest day of `days`
    /// and stored visitors, when the caller knows them for certain (with
    /// `id`): SQLite then appends the hits to its hit log instead of
    /// updating two random pages (see `sqlite/log.rs`), and what is written
    /// follows from these.
    pub known: Option<(u64, u64, u64)>,
}

impl Pending {
    /// New visitors in all of `days`.
    pub fn uniques(&self) -> u64 {
        self.days.iter().map(|d| d.uniques).sum()
    }
}

/// A counter's stored state right after a flush: its total, its hits on
/// the newest day of its batch entry, and its visitors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub id: i64,
    pub total: u64,
    pub newest_day: u64,
    pub visitors: u64,
}

/// One admin change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    /// The counter changed; `None` for "every counter" (a large import).
    pub key: Option<String>,
}
