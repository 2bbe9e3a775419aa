//! PostgreSQL's side of the store contract (`store/contract.rs`): each
//! operation handed to the file that does it (`read.rs`, `write.rs`,
//! `admin.rs`, `copy.rs`). No hit log and no WAL file of ours, so the
//! upkeep is the contract's no-op defaults; what other instances wrote is
//! found through `changes` (`change_mark`, `changed_since`).

use chrono::NaiveDate;
use std::path::Path;

use super::super::contract::EachDay;
use super::super::copy::{self, Copied};
use super::super::{Backend, Event, Imported, Pending, Result, Snapshot, Stored, Written};
use super::Pg;

impl Backend for Pg {
    fn begin_read(&self) -> Result<()> {
        Pg::begin_read(self)
    }

    fn end_read(&self, ok: bool) -> Result<()> {
        Pg::end_read(self, ok)
    }

    fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored> {
        Pg::counts(self, key, day)
    }

    fn get(&self, key: &str) -> Result<Option<u64>> {
        Pg::get(self, key)
    }

    fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>> {
        Pg::history(self, key, days)
    }

    fn counter_rows(&self) -> Result<u64> {
        Pg::counter_rows(self)
    }

    fn each_by_count(
        &self,
        limit: Option<u64>,
        f: &mut dyn FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        Pg::each_by_count(self, limit, f)
    }

    fn each_with_days(&self, f: &mut EachDay<'_>) -> std::result::Result<(), String> {
        Pg::each_with_days(self, f)
    }

    fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>> {
        Pg::top_domains(self, limit)
    }

    fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        f: &mut dyn FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        Pg::counters_after(self, after, day, limit, f)
    }

    fn data_version(&self) -> Result<i64> {
        Pg::data_version(self)
    }

    fn change_mark(&self) -> Result<Option<i64>> {
        Pg::change_mark(self)
    }

    fn changed_since(
        &self,
        mark: i64,
        day: NaiveDate,
        f: &mut dyn FnMut(i64, &str, u64, u64, u64),
    ) -> Result<Option<i64>> {
        Pg::changed_since(self, mark, day, f)
    }

    fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: &mut dyn FnMut(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        Pg::flush(self, batch, last_event, apply_events)
    }

    fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored> {
        Pg::add_one(self, key, day, unique)
    }

    fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        Pg::events_since(self, after)
    }

    fn last_event(&self) -> Result<i64> {
        Pg::last_event(self)
    }

    fn set(&mut self, key: &str, count: u64) -> Result<()> {
        Pg::set(self, key, count)
    }

    fn delete(&mut self, key: &str) -> Result<bool> {
        Pg::delete(self, key)
    }

    fn merge(&mut self, from: &str, into: &str) -> Result<Option<bool>> {
        Pg::merge(self, from, into)
    }

    fn import(&mut self, rows: &[Imported]) -> Result<()> {
        Pg::import(self, rows)
    }

    fn dump(&self) -> Result<Vec<Copied>> {
        Pg::dump(self)
    }

    fn load(&mut self, rows: &[Copied], written: &mut dyn FnMut(u64)) -> Result<()> {
        Pg::load(self, rows, written)
    }

    /// Not a file: every counter and day copied into a new SQLite one.
    fn snapshot_to(&self, dest: &Path) -> std::result::Result<Snapshot, String> {
        copy::into_file(self, dest)
    }
}
