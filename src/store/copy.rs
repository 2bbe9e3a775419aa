//! Whole-database copies between backends (`hitcounter copy`): every
//! counter with its total, visitors, creation time and per-day rows, read
//! in one snapshot and written in one transaction (all or nothing), so
//! that the counts match exactly afterwards. This file holds the shared
//! row type and what works on any backend through the contract
//! ([`Backend::dump`], [`Backend::load`]); each backend's side is its
//! `copy.rs`.

use chrono::NaiveDate;
use std::path::Path;

use super::sqlite::Sqlite;
use super::{count, Backend, Error, Role, Snapshot, Store};

/// One counter as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub key: String,
    pub count: u64,
    pub uniques: u64,
    pub created_at: i64,
    /// Hits and visitors (`None`: not recorded) per day, oldest first.
    pub days: Vec<(NaiveDate, u64, Option<u64>)>,
}

/// Totals to compare a copy with its source: counters, the sum of their
/// counts, per-day rows and the sum of their hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub counters: u64,
    pub hits: u64,
    pub day_rows: u64,
    pub day_hits: u64,
}

impl Totals {
    pub fn of(rows: &[Copied]) -> Totals {
        Totals {
            counters: rows.len() as u64,
            hits: rows.iter().map(|r| r.count).sum(),
            day_rows: rows.iter().map(|r| r.days.len() as u64).sum(),
            day_hits: rows.iter().flat_map(|r| &r.days).map(|d| d.1).sum(),
        }
    }
}

/// Appends a row of `(key, count, uniques, created_at, day, hits,
/// day uniques)` (day columns NULL for a counter without days) to `out`,
/// grouping rows of one key, which must come together.
pub(super) fn push_row(
    out: &mut Vec<Copied>,
    head: (String, i64, i64, i64),
    day: Option<(NaiveDate, i64, Option<i64>)>,
) {
    let same = out.last().is_some_and(|c| c.key == head.0);
    if !same {
        out.push(Copied {
            key: head.0,
            count: count(head.1),
            uniques: count(head.2),
            created_at: head.3,
            days: Vec::new(),
        });
    }
    if let (Some(last), Some((d, hits, uniques))) = (out.last_mut(), day) {
        last.days.push((d, count(hits), uniques.map(count)));
    }
}

/// A consistent copy of `from` as a new SQLite file at `dest`, which a
/// backup then handles like a SQLite snapshot: every counter and day, read
/// in one snapshot, written in one transaction, then checked. For backends
/// that are not a SQLite file themselves.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) fn into_file(from: &dyn Backend, dest: &Path) -> std::result::Result<Snapshot, String> {
    let read = |e: Error| format!("cannot read the database: {e}");
    from.begin_read().map_err(read)?;
    let rows = from.dump();
    from.end_read(rows.is_ok()).map_err(read)?;
    let rows = rows.map_err(read)?;
    let (mut file, _) = Sqlite::prepare(dest, Role::Admin, None, false)?;
    Backend::load(&mut file, &rows, &mut |_| {}).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    drop(file);
    super::inspect(dest)
}

impl Store {
    /// Every counter with its days, from one snapshot, in id order.
    pub fn dump(&mut self) -> super::Result<Vec<Copied>> {
        self.snapshot(|store| store.backend.dump())
    }
}
