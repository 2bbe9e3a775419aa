//! The admin commands' bodies, run once the command line is parsed
//! (`cli/` builds the `Command`; nothing here reads arguments): list, get,
//! export (read-only), set, delete, merge, prune, import (changes a running
//! server picks up within a tick), migrate (converting the original
//! service's database file), backup, restore, backups list and copy.
//! They need no token: whoever can run them can read the database. This
//! file holds what they share (opening the database, the failure type);
//! the children use it and it uses none of them.

use std::io::Write;
use std::path::Path;

use crate::decide::sites::Sites;
use progress::Progress;

use crate::store::{original, Database, OpenError, Role, Store};
use crate::target;

pub mod backups;
pub mod copy;
pub mod export;
pub mod import;
pub mod merge;
pub mod progress;

/// The file formats of export and import.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Csv,
    Json,
}

/// An admin failure: the message and the exit code.
#[derive(Debug)]
pub struct Failure(pub String, pub i32);

type Outcome = Result<(), Failure>;

/// The database for a change: created when missing, upgraded when old.
pub(super) fn writable(db: &Database) -> Result<Store, Failure> {
    let (store, notes) = db.prepare(Role::Admin, None, false).map_err(|e| Failure(e, 1))?;
    for note in notes {
        eprintln!("{note}");
    }
    Ok(store)
}

/// The database for reading: never created, converted or written.
pub(super) fn readable(db: &Database) -> Result<Store, Failure> {
    db.open_read_only().map_err(|e| match e {
        OpenError::Missing => Failure(format!("no database at {db}"), 1),
        OpenError::Original => Failure(
            format!(
                "{db} is a database of the original hit counter: convert it with `hitcounter migrate` (try --dry-run first)"
            ),
            1,
        ),
        OpenError::Other(e) => Failure(e, 1),
    })
}

fn key(url: &str) -> Result<String, Failure> {
    target::key_from_url(url).map_err(|e| Failure(format!("{url:?}: {}", e.message()), 2))
}

pub(super) fn io(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string(), 1)
}

/// `denied`: only the counters those lists refuse.
pub fn list(path: &Database, top: Option<u64>, denied: Option<&Sites>) -> Outcome {
    let store = readable(path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let shown = |key: &str| denied.is_none_or(|s| !s.permits(key));
    store
        .each_by_count(top, |key, count| if shown(key) { writeln!(out, "{count}\t{key}") } else { Ok(()) })
        .map_err(io)?;
    out.flush().map_err(io)
}

/// Deletes (or with `dry_run` lists) the counters `sites` refuse.
pub fn prune(path: &Database, sites: &Sites, dry_run: bool) -> Outcome {
    if !sites.restricts() {
        return Err(Failure("prune --denied needs --allow or --deny (or their variables)".into(), 2));
    }
    let mut keys = Vec::new();
    readable(path)?
        .each_by_count(None, |key, _| {
            if !sites.permits(key) {
                keys.push(key.to_string());
            }
            Ok(())
        })
        .map_err(io)?;
    if dry_run {
        for k in &keys {
            println!("{k}");
        }
        eprintln!("dry run: {} counters would be deleted; nothing was changed", keys.len());
        return Ok(());
    }
    let mut store = writable(path)?;
    for k in &keys {
        store.delete(k).map_err(io)?;
    }
    eprintln!("{} counters deleted", keys.len());
    Ok(())
}

pub fn get(path: &Database, url: &str) -> Outcome {
    let key = key(url)?;
    let store = readable(path)?;
    let count = store.get(&key).map_err(io)?.unwrap_or(0);
    println!("{count}");
    Ok(())
}

pub fn set(path: &Database, url: &str, count: u64) -> Outcome {
    let key = key(url)?;
    check_count(count)?;
    let mut store = writable(path)?;
    store.set(&key, count).map_err(io)?;
    eprintln!("{key} set to {count}");
    Ok(())
}

pub fn delete(path: &Database, url: &str) -> Outcome {
    let key = key(url)?;
    let mut store = writable(path)?;
    if store.delete(&key).map_err(io)? {
        eprintln!("{key} deleted");
        Ok(())
    } else {
        Err(Failure(format!("no counter for {key}"), 1))
    }
}

/// Converts a database of the original service, or brings one of ours to
/// the current schema (merging counters whose keys now collide); with
/// `dry_run`, says what it would do.
pub fn migrate(path: &Path, dry_run: bool) -> Outcome {
    // Looked at before anything opens the file (and may make a `-wal`).
    let wal_missing = wal_missing(path);
    match Store::open_read_only(path) {
        Err(OpenError::Original) if wal_missing => eprintln!(
            "warning: {0} is in WAL mode and no {0}-wal with anything in it is beside it: if it was copied \
             while the original ran, its latest hits may be missing (copy {0}-wal and {0}-shm along, or stop \
             the original first)",
            path.display()
        ),
        Err(OpenError::Original) => {}
        Err(OpenError::Missing) => return Err(Failure(format!("no database at {}", path.display()), 1)),
        Err(OpenError::Other(e)) => return Err(Failure(e, 1)),
        Ok(store) if dry_run => return preview_merges(path, &store),
        Ok(_) => {
            let (_, notes) = Database::File(path.to_path_buf())
                .prepare(Role::Admin, Some(target::original_key), false)
                .map_err(|e| Failure(e, 1))?;
            println!("{} is a hitcounter database: nothing to convert", path.display());
            for note in notes {
                println!("{note}");
            }
            return Ok(());
        }
    }
    let progress = Progress::start();
    if dry_run {
        progress.step(format!("reading {}", path.display()));
        let report = original::plan_file(path, target::original_key).map_err(|e| Failure(e, 1))?;
        drop(progress);
        println!("dry run: {} is a database of the original hit counter; converting it would do this:", path.display());
        for line in report.lines() {
            println!("{line}");
        }
        println!("nothing was changed");
        return Ok(());
    }
    progress.step(format!("converting {} in one transaction", path.display()));
    let (_, notes) =
        Store::prepare_converting(path, Role::Admin, target::original_key, false).map_err(|e| Failure(e, 1))?;
    let took = progress.finish();
    for note in notes {
        println!("{note}");
    }
    if let Some(t) = took {
        eprintln!("{}", progress::timed(&format!("converted {}", path.display()), t));
    }
    Ok(())
}

/// Whether `path` is a SQLite file in WAL mode with no `-wal` file beside
/// it, or an empty one (what a read-only look such as `--dry-run` leaves).
/// A clean close removes the `-wal`, so this is normal for a database
/// copied after its server stopped, and a loss for one copied while it ran.
fn wal_missing(path: &Path) -> bool {
    let mut header = [0u8; 20];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_empty = std::fs::metadata(&wal).map_or(true, |m| m.len() == 0);
    read.is_ok() && in_wal_mode(&header) && wal_empty
}

/// A SQLite header whose file format versions (bytes 18 and 19) say WAL.
fn in_wal_mode(header: &[u8; 20]) -> bool {
    header.starts_with(b"SQLite format 3\0") && header[18] == 2 && header[19] == 2
}

/// `migrate --dry-run` on a hitcounter database: the counters an upgrade
/// would merge, one line each.
fn preview_merges(path: &Path, store: &Store) -> Outcome {
    let mut keys = Vec::new();
    store
        .each_by_count(None, |key, _| {
            keys.push(key.to_string());
            Ok(())
        })
        .map_err(|e| Failure(e, 1))?;
    println!("dry run: {} is a hitcounter database: nothing to convert", path.display());
    for line in crate::store::merge::preview(keys, target::original_key) {
        println!("would have {line}");
    }
    println!("nothing was changed");
    Ok(())
}

pub(super) fn check_count(count: u64) -> Outcome {
    if count > i64::MAX as u64 {
        return Err(Failure(format!("count {count} is too large"), 2));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_tells_wal_mode() {
        let header = |write: u8, read: u8| {
            let mut h = [0u8; 20];
            h[..16].copy_from_slice(b"SQLite format 3\0");
            (h[18], h[19]) = (write, read);
            h
        };
        assert!(in_wal_mode(&header(2, 2)));
        assert!(!in_wal_mode(&header(1, 1)), "rollback journal");
        let mut other = header(2, 2);
        other[0] = b'X';
        assert!(!in_wal_mode(&other), "not SQLite");
    }
}
