//! `hitcounter merge FROM INTO [--dry-run]`: folds one counter into
//! another (total, per-day hits and visitors) and deletes it, as one admin
//! change of the store (`Backend::merge`), which records an event for both
//! keys so that a running server drops what it holds of either.

use super::{io, key, readable, writable, Failure};
use crate::render::number::noun;
use crate::store::Database;

pub fn merge(db: &Database, from: &str, into: &str, dry_run: bool) -> Result<(), Failure> {
    let (from, into) = (key(from)?, key(into)?);
    if from == into {
        return Err(Failure(format!("cannot merge {from} into itself"), 2));
    }
    // Read first, never creating a database for a merge that cannot happen.
    let reader = readable(db)?;
    let moved = reader.get(&from).map_err(io)?.ok_or_else(|| no_counter(&from))?;
    let had = reader.get(&into).map_err(io)?;
    drop(reader);
    if dry_run {
        let then = moved.saturating_add(had.unwrap_or(0));
        let had = had.map_or_else(|| "no counter yet".to_string(), hits);
        eprintln!(
            "dry run: would merge {from} ({}) into {into} ({had}): then {}; nothing was changed",
            hits(moved),
            hits(then)
        );
        return Ok(());
    }
    let mut store = writable(db)?;
    // `None`: FROM went away since it was read (another admin command).
    store.merge(&from, &into).map_err(io)?.ok_or_else(|| no_counter(&from))?;
    // Read after the merge: the total INTO has, hits a server counted on
    // either key meanwhile included.
    let now = store.get(&into).map_err(io)?.unwrap_or(0);
    eprintln!("merged {from} ({}) into {into}: now {}", hits(moved), hits(now));
    Ok(())
}

fn no_counter(key: &str) -> Failure {
    Failure(format!("no counter for {key}"), 1)
}

fn hits(n: u64) -> String {
    format!("{n} {}", noun(n, "hit", "hits"))
}
