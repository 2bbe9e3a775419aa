//! The backup commands: `backup DEST`, `restore SOURCE [--force]` and
//! `backups list LOCATION`. S3 credentials come from the real environment
//! (`AWS_*`, `AWS_PROFILE`), never from arguments, so they stay out of
//! shell histories and process lists.

use std::path::Path;

use super::progress::{self, Progress};
use super::Failure;
use crate::backup::{self, Location, Source};
use crate::render::number::noun;
use crate::store::{Database, OpenError};
use crate::target;

type Outcome = Result<(), Failure>;

fn real_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn fail(e: String) -> Failure {
    Failure(e, 1)
}

/// A database server is backed up as a SQLite file holding every counter
/// and day (see `store::copy`), like a file.
pub fn backup(db: &Database, to: &Location, keep: usize) -> Outcome {
    let store = db.open_read_only().map_err(|e| match e {
        OpenError::Missing => fail(format!("no database at {db}")),
        OpenError::Original => {
            fail(format!("{db} is a database of the original hit counter: run `hitcounter migrate` first"))
        }
        OpenError::Other(e) => fail(e),
    })?;
    let scratch = db.file().map_or_else(|| std::env::temp_dir().join("hitcounter.db"), Path::to_path_buf);
    let objects = match to {
        Location::File(_) => None,
        other => Some(backup::objects(other, &real_env).map_err(fail)?),
    };
    let progress = Progress::start();
    let w = backup::backup(&store, &scratch, to, objects.as_deref(), keep, &|s| progress.step(s)).map_err(fail)?;
    let pruned = match w.pruned {
        0 => String::new(),
        n => format!("; {n} old {} deleted", noun(n as u64, "copy", "copies")),
    };
    let place = if objects.is_some() { format!(" in {to}") } else { String::new() };
    let counters = noun(w.counters, "counter", "counters");
    progress.done(&format!("backed up {} {counters} ({} bytes) to {}{place}{pruned}", w.counters, w.bytes, w.name));
    Ok(())
}

pub fn restore(db: &Path, from: &str, force: bool) -> Outcome {
    // `s3://BUCKET/PREFIX/NAME.db` (or `.bak`) names one backup.
    let named = from.starts_with("s3://") && (from.ends_with(".db") || from.ends_with(".bak"));
    let (location, name) = match named.then(|| from.rsplit_once('/')).flatten() {
        Some((prefix, name)) => (Location::parse(prefix).map_err(fail)?, Some(name)),
        None => (Location::parse(from).map_err(fail)?, None),
    };
    if let Location::Dir(dir) = &location {
        if !dir.is_dir() {
            return Err(fail(format!("the folder {} does not exist", dir.display())));
        }
    }
    let objects = match &location {
        Location::File(_) => None,
        other => Some(backup::objects(other, &real_env).map_err(fail)?),
    };
    let source = match (&location, objects.as_deref()) {
        (_, Some(objects)) => Source::Objects(objects, name),
        (Location::File(path), None) => Source::File(path),
        (other, None) => return Err(fail(format!("cannot read backups from {other}"))),
    };
    let progress = Progress::start();
    let restored = backup::restore(source, db, force, target::original_key, &|s| progress.step(s))
        .map_err(fail)?
        .ok_or_else(|| fail(format!("there is no backup in {location}")))?;
    let took = progress.finish();
    for line in &restored.converted {
        eprintln!("{line}");
    }
    let (n, from) = (restored.counters, location.object(&restored.from));
    let summary = format!("restored {n} {} from {from} into {}", noun(n, "counter", "counters"), db.display());
    eprintln!("{}", took.map_or_else(|| summary.clone(), |t| progress::timed(&summary, t)));
    if let Some(kept) = restored.kept {
        eprintln!("the replaced database is at {}", kept.display());
    }
    Ok(())
}

pub fn list(at: &Location) -> Outcome {
    let objects = backup::objects(at, &real_env).map_err(fail)?;
    let mut all = objects.list().map_err(fail)?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    for o in all {
        println!("{}\t{}\t{}", o.name, o.modified, o.size);
    }
    Ok(())
}
