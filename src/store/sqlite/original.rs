//! Converts a database made by the original Python service, in place.
//!
//! The original kept `url(id, url, count)` with no UNIQUE constraint, and
//! its racy insert left duplicate rows for one URL whose counts were all
//! bumped together; so exact duplicates are merged by their largest count,
//! while distinct old URLs that become one key after normalisation are
//! summed. Rows that cannot become a counter are dropped and reported.
//! Before a conversion a consistent copy of the file is written; a
//! conversion that fails leaves the file as it was and removes that copy.
//!
//! How a URL becomes a key is the caller's rule ([`KeyRule`]): the store
//! only knows where keys are kept.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{now, schema, sql};
use crate::render::number::noun;

/// Turns one of the original's URLs into a counter key; `None` when it is
/// not a URL (the trimmed text is then kept as the key).
pub type KeyRule = fn(&str) -> Option<String>;

/// True when the database has the original's `url` table and none of ours.
pub fn is_original(conn: &Connection) -> rusqlite::Result<bool> {
    let has = |name: &str| -> rusqlite::Result<bool> {
        // Cached: compiled once for both names (every CGI hit asks).
        conn.prepare_cached("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1")?
            .query_row([name], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)
    };
    Ok(has("url")? && !has("counters")?)
}

/// What a conversion does (or would do), row by row summed up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Rows in the original's `url` table.
    pub rows: usize,
    /// Rows merged into another row with the same URL (largest count kept).
    pub duplicates: usize,
    /// Distinct URLs added to a counter another URL normalised to.
    pub collisions: usize,
    /// URLs kept as they were because they are not URLs.
    pub kept_raw: usize,
    /// Counts that were negative or missing, taken as 0.
    pub zeroed: usize,
    /// Dropped rows: (row id, why), in row order.
    pub dropped: Vec<(i64, String)>,
    /// The counters made, by key.
    pub counters: BTreeMap<String, u64>,
    /// Where the copy of the original file went (not on a dry run).
    pub backup: Option<PathBuf>,
}

impl Report {
    /// One line per fact, for the log or the terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = &self.backup {
            out.push(format!("converted a database of the original hit counter; a copy of it is at {}", b.display()));
        }
        let (rows, counters) = (self.rows as u64, self.counters.len() as u64);
        out.push(format!(
            "{rows} {} of the original became {counters} {}",
            noun(rows, "row", "rows"),
            noun(counters, "counter", "counters")
        ));
        if self.duplicates > 0 {
            let n = self.duplicates as u64;
            out.push(format!("{n} duplicate {} merged (the largest count of a URL kept)", noun(n, "row", "rows")));
        }
        if self.collisions > 0 {
            let n = self.collisions as u64;
            out.push(format!("{n} {} summed into a counter another form of the URL also has", noun(n, "URL", "URLs")));
        }
        if self.kept_raw > 0 {
            let n = self.kept_raw as u64;
            let kept =
                noun(n, "key was not a URL and was kept as it was", "keys were not URLs and were kept as they were");
            out.push(format!("{n} {kept}"));
        }
        if self.zeroed > 0 {
            let n = self.zeroed as u64;
            out.push(format!("{n} {} a missing or negative count, taken as 0", noun(n, "row had", "rows had")));
        }
        if !self.dropped.is_empty() {
            let n = self.dropped.len() as u64;
            out.push(format!("{n} {} dropped:", noun(n, "row", "rows")));
            out.extend(self.dropped.iter().map(|(id, why)| format!("  row id {id}: {why}")));
        }
        out
    }
}

/// Reads the original's rows and works out what they become, writing
/// nothing: the whole of a dry run, and the first step of a conversion.
pub fn plan(conn: &Connection, keys: KeyRule) -> Result<Report, String> {
    let fail = |e: rusqlite::Error| format!("cannot read the original's url table: {e}");
    let mut stmt = conn.prepare("SELECT rowid, url, count FROM url ORDER BY rowid").map_err(fail)?;
    let mut rows = stmt.query([]).map_err(fail)?;
    let mut report = Report::default();
    // URL -> largest count, in first-seen order of the URL.
    let mut exact: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(row) = rows.next().map_err(fail)? {
        report.rows += 1;
        let id: i64 = row.get(0).map_err(fail)?;
        let url = match row.get_ref(1).map_err(fail)? {
            ValueRef::Null => {
                report.dropped.push((id, "the URL is NULL".into()));
                continue;
            }
            ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            ValueRef::Integer(n) => n.to_string(),
            ValueRef::Real(f) => f.to_string(),
        };
        if url.trim().is_empty() {
            report.dropped.push((id, "the URL is empty".into()));
            continue;
        }
        if url.len() > crate::limits::MAX_URL {
            let why = format!("the URL is longer than {} bytes ({} bytes)", crate::limits::MAX_URL, url.len());
            report.dropped.push((id, why));
            continue;
        }
        let count = match row.get_ref(2).map_err(fail)? {
            ValueRef::Null => Some(0),
            ValueRef::Integer(n) => Some(n),
            ValueRef::Real(f) if f.is_finite() => Some(f as i64),
            ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|t| t.trim().parse::<i64>().ok()),
            _ => None,
        };
        let count = match count {
            None => {
                report.dropped.push((id, format!("the count of {url:?} is not a number")));
                continue;
            }
            Some(n) if n > 0 => n as u64,
            Some(n) => {
                report.zeroed += usize::from(n < 0 || matches!(row.get_ref(2).map_err(fail)?, ValueRef::Null));
                0
            }
        };
        match exact.get_mut(&url) {
            Some(c) => {
                report.duplicates += 1;
                *c = (*c).max(count);
            }
            None => {
                exact.insert(url, count);
            }
        }
    }
    for (url, count) in exact {
        let key = match keys(&url) {
            Some(k) => k,
            None => {
                report.kept_raw += 1;
                url.trim().to_string()
            }
        };
        match report.counters.get_mut(&key) {
            Some(c) => {
                report.collisions += 1;
                *c = c.saturating_add(count);
            }
            None => {
                report.counters.insert(key, count);
            }
        }
    }
    Ok(report)
}

/// [`plan`] for the file at `path`, opened read-only; a file holding
/// triggers, views or other tables is refused as the conversion would.
pub fn plan_file(path: &Path, keys: KeyRule) -> Result<Report, String> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let unreadable = |e: rusqlite::Error| format!("cannot read {}: {e}", path.display());
    let conn = super::open_guarded(path, flags).map_err(unreadable)?;
    // What the conversion itself would refuse (see `sqlite::refuse_foreign`).
    let found = schema::foreign_objects(&conn, false).map_err(unreadable)?;
    if !found.is_empty() {
        return Err(format!("{}: {}", path.display(), schema::Foreign::refusal(&found)));
    }
    plan(&conn, keys)
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

/// Backs the file up, then converts it in one transaction. On failure the
/// database is unchanged and the copy is removed again.
pub fn convert(conn: &mut Connection, db: &Path, keys: KeyRule) -> Result<Report, String> {
    let mut report = plan(conn, keys)?;
    let backup = backup_path(db);
    super::vacuum_into(conn, &backup)
        .map_err(|e| format!("cannot back up the original database to {}: {e}", backup.display()))?;
    match write(conn, &report) {
        Ok(()) => {
            report.backup = Some(backup);
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&backup);
            Err(format!("converting the original database failed, nothing changed: {e}"))
        }
    }
}

/// Converts in place without a copy first: for a file that is itself a
/// copy (a backup being restored).
pub fn convert_without_copy(conn: &mut Connection, keys: KeyRule) -> Result<Report, String> {
    let report = plan(conn, keys)?;
    write(conn, &report).map_err(|e| format!("converting the original database failed: {e}"))?;
    Ok(report)
}

fn write(conn: &mut Connection, report: &Report) -> Result<(), String> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
    schema::create(&tx).map_err(|e| e.to_string())?;
    {
        let mut insert = tx
            .prepare("INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)")
            .map_err(|e| e.to_string())?;
        let t = now();
        for (key, count) in &report.counters {
            insert.execute(rusqlite::params![key, sql(*count), t]).map_err(|e| format!("counter {key:?}: {e}"))?;
        }
    }
    tx.execute_batch("DROP TABLE url").map_err(|e| e.to_string())?;
    tx.pragma_update(None, "user_version", schema::SCHEMA_VERSION).map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(url: &str) -> Option<String> {
        let u = url.trim().trim_start_matches("https://").trim_start_matches("http://");
        (u.contains('.') && !u.starts_with('/')).then(|| u.to_ascii_lowercase().replace(":443", ""))
    }

    fn original(rows: &str) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!("CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER); {rows}"))
            .unwrap();
        (dir, path, conn)
    }

    #[test]
    fn duplicates_take_the_max_and_collisions_sum() {
        let (_d, _p, conn) = original(
            "INSERT INTO url (url, count) VALUES ('example.com/a', 10), ('example.com/a', 12),
             ('Example.com/a', 5), ('example.com:443/a', 1), ('other.com', 3);",
        );
        let r = plan(&conn, keys).unwrap();
        assert_eq!(r.counters.get("example.com/a"), Some(&18));
        assert_eq!(r.counters.get("other.com"), Some(&3));
        assert_eq!((r.rows, r.duplicates, r.collisions, r.counters.len()), (5, 1, 2, 2));
    }

    #[test]
    fn every_odd_row_is_kept_zeroed_or_dropped_and_reported() {
        let (_d, _p, conn) = original(
            "INSERT INTO url (id, url, count) VALUES (1, '  ', 4), (2, '/only/path', 2), (3, 'x.com', -3),
             (4, NULL, 9), (5, 'y.com', 'lots'), (6, 'z.com', NULL), (7, 'w.com', '12'),
             (8, 'v.com/' || hex(zeroblob(1100)), 3);",
        );
        let r = plan(&conn, keys).unwrap();
        assert_eq!(r.counters.get("/only/path"), Some(&2));
        assert_eq!(
            (r.counters.get("x.com"), r.counters.get("z.com"), r.counters.get("w.com")),
            (Some(&0), Some(&0), Some(&12))
        );
        assert_eq!((r.kept_raw, r.zeroed), (1, 2));
        let ids: Vec<i64> = r.dropped.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 4, 5, 8]);
        assert!(r.dropped[3].1.contains("longer than 2048 bytes"), "{:?}", r.dropped);
        assert!(r.dropped[2].1.contains("not a number"), "{:?}", r.dropped);
        assert!(r.lines().iter().any(|l| l.contains("row id 4: the URL is NULL")));
    }

    #[test]
    fn a_conversion_keeps_one_copy_and_a_failed_one_none() {
        let (dir, path, mut conn) = original("INSERT INTO url (url, count) VALUES ('a.com', 1);");
        // Make the write fail: a table in the way of ours.
        conn.execute_batch("CREATE VIEW counters AS SELECT 1").unwrap();
        assert!(convert(&mut conn, &path, keys).unwrap_err().contains("nothing changed"));
        conn.execute_batch("DROP VIEW counters").unwrap();
        let copies = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".bak"))
                .count()
        };
        assert_eq!(copies(), 0, "a failed conversion leaves no copy behind");
        let r = convert(&mut conn, &path, keys).unwrap();
        assert_eq!((copies(), r.counters.len()), (1, 1));
        assert!(!is_original(&conn).unwrap());
    }
}
