//! `hitcounter copy --from DB --to DB`: moves a whole database between
//! SQLite and PostgreSQL (either way, or file to file), then checks that
//! the copy holds exactly what the source held.

use super::progress::{Progress, Unit};
use super::{readable, writable, Failure};
use crate::render::number::noun;
use crate::store::copy::Totals;
use crate::store::Database;

pub fn copy(from: &Database, to: &Database) -> Result<(), Failure> {
    if from == to {
        return Err(Failure("--from and --to are the same database".into(), 2));
    }
    // Missing is an error (never create the source); then prepared, which
    // folds a SQLite file's hit log so that its rows are complete.
    drop(readable(from)?);
    let progress = Progress::start();
    progress.step(format!("reading {from}"));
    let mut source = writable(from)?;
    let mut rows = source.dump().map_err(|e| Failure(format!("cannot read {from}: {e}"), 1))?;
    let mut dest = writable(to)?;
    let held = dest.counter_rows().map_err(|e| Failure(format!("cannot read {to}: {e}"), 1))?;
    if held > 0 {
        return Err(Failure(format!("{to} already holds {held} counters: copy into an empty database"), 1));
    }
    let t = Totals::of(&rows);
    let counters = noun(t.counters, "counter", "counters");
    progress.counting(format!("writing into {to} (one transaction)"), Some(t.counters), Unit::Items);
    dest.load(&rows, &mut |n| progress.add(n))
        .map_err(|e| Failure(format!("copy into {to} failed, nothing written: {e}"), 1))?;
    progress.step(format!("checking {to}"));
    let mut copied = dest.dump().map_err(|e| Failure(format!("cannot read {to} back: {e}"), 1))?;
    rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    copied.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    if copied != rows {
        return Err(Failure(format!("{to} does not hold what {from} holds after the copy"), 1));
    }
    progress.done(&format!(
        "copied {} {counters} ({} {}, {} per-day {} with {} {}) from {from} to {to}; every count and day matches",
        t.counters,
        t.hits,
        noun(t.hits, "hit", "hits"),
        t.day_rows,
        noun(t.day_rows, "row", "rows"),
        t.day_hits,
        noun(t.day_hits, "hit", "hits")
    ));
    Ok(())
}
