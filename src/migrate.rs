//! Converts a database made by the original Python service in place.
//!
//! The original kept `url(id, url, count)` with no UNIQUE constraint, and its
//! racy insert left duplicate rows for one URL whose counts were all bumped
//! together; so exact duplicates are merged by their largest count, while
//! distinct old keys that become one key after normalisation are summed.
//! A consistent copy of the file is written first.

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{store, target};

/// True when the database has the original's `url` table and none of ours.
pub fn is_original(conn: &Connection) -> rusqlite::Result<bool> {
    let has = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
    };
    Ok(has("url")? && !has("counters")?)
}

/// Where the pre-conversion copy goes; never overwrites an earlier copy.
fn backup_path(db: &Path) -> PathBuf {
    let base = PathBuf::from(format!("{}.pre-hitcounter.bak", db.display()));
    if !base.exists() {
        return base;
    }
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    PathBuf::from(format!("{}.pre-hitcounter.{stamp}.bak", db.display()))
}

/// Merges the original's rows into counter keys: max over exact duplicates,
/// then sum over keys that normalise to the same key. Rows whose URL cannot
/// be normalised keep their trimmed text as key; empty ones are dropped.
pub fn merge(rows: &[(String, i64)]) -> (BTreeMap<String, u64>, usize, usize) {
    let mut exact: BTreeMap<&str, i64> = BTreeMap::new();
    for (url, count) in rows {
        let e = exact.entry(url.as_str()).or_insert(0);
        *e = (*e).max(*count);
    }
    let (mut kept_raw, mut dropped) = (0, 0);
    let mut keys: BTreeMap<String, u64> = BTreeMap::new();
    for (url, count) in exact {
        let key = match target::key_from_url(url) {
            Ok(k) => k,
            Err(_) if !url.trim().is_empty() => {
                kept_raw += 1;
                url.trim().to_string()
            }
            Err(_) => {
                dropped += 1;
                continue;
            }
        };
        *keys.entry(key).or_insert(0) += count.max(0) as u64;
    }
    (keys, kept_raw, dropped)
}

/// Backs up and converts; returns log lines describing what happened.
pub fn from_original(conn: &mut Connection, db: &Path) -> Result<Vec<String>, String> {
    let backup = backup_path(db);
    let backup_str = backup.to_str().ok_or("backup path is not UTF-8")?;
    conn.execute("VACUUM INTO ?1", [backup_str])
        .map_err(|e| format!("cannot back up original database to {}: {e}", backup.display()))?;
    let fail = |e: rusqlite::Error| format!("converting the original database failed (unchanged): {e}");
    let tx = store::write_tx(conn).map_err(fail)?;
    let rows: Vec<(String, i64)> = {
        let mut stmt =
            tx.prepare("SELECT CAST(url AS TEXT), COALESCE(count, 0) FROM url WHERE url IS NOT NULL").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)?
    };
    let (keys, kept_raw, dropped) = merge(&rows);
    store::create(&tx).map_err(fail)?;
    let now = chrono::Utc::now().timestamp();
    {
        let mut insert = tx
            .prepare("INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)")
            .map_err(fail)?;
        for (key, count) in &keys {
            insert.execute(rusqlite::params![key, *count as i64, now]).map_err(fail)?;
        }
    }
    tx.execute_batch("DROP TABLE url").map_err(fail)?;
    tx.pragma_update(None, "user_version", store::SCHEMA_VERSION).map_err(fail)?;
    tx.commit().map_err(fail)?;
    let mut notes = vec![
        format!("converted a database of the original hit counter; a copy of it is at {}", backup.display()),
        format!("{} old rows became {} counters (duplicates merged by largest count)", rows.len(), keys.len()),
    ];
    if kept_raw > 0 {
        notes.push(format!("{kept_raw} old keys were not URLs and were kept as they were"));
    }
    if dropped > 0 {
        notes.push(format!("{dropped} rows with an empty URL were dropped"));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(u, c)| (u.to_string(), *c)).collect()
    }

    #[test]
    fn duplicates_take_the_max_and_collisions_sum() {
        let (keys, _, _) = merge(&rows(&[
            ("example.com/a", 10),
            ("example.com/a", 12),
            ("Example.com/a", 5),
            ("example.com:443/a", 1),
            ("other.com", 3),
        ]));
        assert_eq!(keys.get("example.com/a"), Some(&18));
        assert_eq!(keys.get("other.com"), Some(&3));
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn odd_rows_are_kept_or_dropped() {
        let (keys, kept, dropped) = merge(&rows(&[("  ", 4), ("/only/path", 2), ("x.com", -3)]));
        assert_eq!(keys.get("/only/path"), Some(&2));
        assert_eq!(keys.get("x.com"), Some(&0));
        assert_eq!((kept, dropped), (1, 1));
    }
}
