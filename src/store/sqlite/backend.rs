//! SQLite's side of the store contract (`store/contract.rs`): each
//! operation handed to the file that does it (`read.rs`, `write.rs`,
//! `admin.rs`, `log.rs`, `copy.rs`, `snapshot.rs`), its error made a
//! [`super::super::Error`]. SQLite keeps no record of what changed
//! (`change_mark`: the default), and has the upkeep a file needs.

use chrono::NaiveDate;
use std::path::Path;

use super::super::contract::EachDay;
use super::super::copy::Copied;
use super::super::{Backend, Result, Snapshot};
use super::{Event, Imported, Pending, Sqlite, Stored, Written};

impl Backend for Sqlite {
    fn begin_read(&self) -> Result<()> {
        Ok(Sqlite::begin_read(self)?)
    }

    fn end_read(&self, ok: bool) -> Result<()> {
        Ok(Sqlite::end_read(self, ok)?)
    }

    fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored> {
        Ok(Sqlite::counts(self, key, day)?)
    }

    fn get(&self, key: &str) -> Result<Option<u64>> {
        Ok(Sqlite::get(self, key)?)
    }

    fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>> {
        Ok(Sqlite::history(self, key, days)?)
    }

    fn counter_rows(&self) -> Result<u64> {
        Ok(Sqlite::counter_rows(self)?)
    }

    fn each_by_count(
        &self,
        limit: Option<u64>,
        f: &mut dyn FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        Sqlite::each_by_count(self, limit, f)
    }

    fn each_with_days(&self, f: &mut EachDay<'_>) -> std::result::Result<(), String> {
        Sqlite::each_with_days(self, f)
    }

    fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>> {
        Ok(Sqlite::top_domains(self, limit)?)
    }

    fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        f: &mut dyn FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        Ok(Sqlite::counters_after(self, after, day, limit, f)?)
    }

    fn data_version(&self) -> Result<i64> {
        Ok(Sqlite::data_version(self)?)
    }

    fn flush(
        &mut self,
        batch: &mut Vec<Pending>,
        last_event: &mut i64,
        apply_events: &mut dyn FnMut(&[Event], &mut Vec<Pending>) -> u64,
    ) -> Result<(Vec<Written>, u64)> {
        Ok(Sqlite::flush(self, batch, last_event, apply_events)?)
    }

    fn add_one(&mut self, key: &str, day: NaiveDate, unique: bool) -> Result<Stored> {
        Ok(Sqlite::add_one(self, key, day, unique)?)
    }

    fn events_since(&self, after: i64) -> Result<Vec<Event>> {
        Ok(Sqlite::events_since(self, after)?)
    }

    fn last_event(&self) -> Result<i64> {
        Ok(Sqlite::last_event(self)?)
    }

    fn set(&mut self, key: &str, count: u64) -> Result<()> {
        Ok(Sqlite::set(self, key, count)?)
    }

    fn delete(&mut self, key: &str) -> Result<bool> {
        Ok(Sqlite::delete(self, key)?)
    }

    fn merge(&mut self, from: &str, into: &str) -> Result<Option<bool>> {
        Ok(Sqlite::merge(self, from, into)?)
    }

    fn import(&mut self, rows: &[Imported]) -> Result<()> {
        Ok(Sqlite::import(self, rows)?)
    }

    fn dump(&self) -> Result<Vec<Copied>> {
        Ok(Sqlite::dump(self)?)
    }

    fn load(&mut self, rows: &[Copied], written: &mut dyn FnMut(u64)) -> Result<()> {
        Ok(Sqlite::load(self, rows, written)?)
    }

    /// `VACUUM INTO`: one read transaction, whatever the WAL holds.
    fn snapshot_to(&self, dest: &Path) -> std::result::Result<Snapshot, String> {
        Sqlite::snapshot_to(self, dest)
    }

    fn checkpoint(&self) -> Result<()> {
        Ok(Sqlite::checkpoint(self)?)
    }

    fn checkpoint_truncate(&self) -> Result<()> {
        Ok(Sqlite::checkpoint_truncate(self)?)
    }

    fn fold(&mut self) -> Result<usize> {
        Ok(Sqlite::fold(self)?)
    }

    fn fold_step(&mut self) -> Result<bool> {
        Ok(Sqlite::fold_step(self)?)
    }
}
