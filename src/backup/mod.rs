//! Backups: consistent snapshots of the database, kept in a folder or in
//! S3-compatible storage, and restored from there.
//!
//! A backup is a plain SQLite file (`store::snapshot`): it opens with any
//! `sqlite3`, and `hitcounter restore` checks it before it takes the
//! database's place. In a folder or under an S3 prefix each backup is
//! written twice, first as `YYYYmmddHHMMSS.db` (UTC) and then as
//! `latest.db`, so `latest` is never missing, not even for a moment; only
//! the newest `keep` timestamped copies are kept. The original service's
//! backups (`latest.bak`, a text SQL dump of its `url` table) are read too.
//!
//! `periodic.rs` runs backups inside the server; `aws.rs` finds S3
//! credentials and endpoints the way AWS tools do; `s3.rs` and `dir.rs`
//! store the objects.

use std::path::{Path, PathBuf};

use crate::store::{self, original::KeyRule, Snapshot, Store};

#[cfg(feature = "s3")]
mod aws;
mod dir;
pub mod periodic;
#[cfg(feature = "s3")]
mod s3;

/// The name of the newest backup, and of the original service's.
pub const LATEST: &str = "latest.db";
pub const ORIGINAL_LATEST: &str = "latest.bak";
/// The bucket the original's backup scripts use when `S3_BUCKET` is unset.
pub const ORIGINAL_BUCKET: &str = "sqlite";

/// Where backups go or come from, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A single file (`backup FILE`, `restore FILE`).
    File(PathBuf),
    /// A folder holding timestamped copies and `latest.db`.
    Dir(PathBuf),
    /// A bucket and a key prefix (empty, or ending in `/` unless it came
    /// from `S3_KEY_PREFIX`, which is used as it is, as the original did).
    /// It has no `.` or `..` segment: in a path-style URL those would name
    /// another folder or bucket.
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `s3://BUCKET/PREFIX`, an existing folder, or a file path.
    pub fn parse(s: &str) -> Result<Location, String> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.len() < 3 || !bucket.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                return Err(format!("{s:?} needs a bucket name like s3://my-bucket/prefix"));
            }
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
            check_prefix(&prefix)?;
            return Ok(Location::S3 { bucket: bucket.to_string(), prefix });
        }
        if s.is_empty() {
            return Err("the backup location must not be empty".into());
        }
        let path = PathBuf::from(s);
        Ok(if path.is_dir() || s.ends_with('/') { Location::Dir(path) } else { Location::File(path) })
    }

    /// The S3 location the original's environment names (`S3_BUCKET`,
    /// `S3_KEY_PREFIX`).
    pub fn from_original_env(bucket: &str, prefix: &str) -> Result<Location, String> {
        check_prefix(prefix)?;
        Ok(Location::S3 { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }

    /// Where the object `name` of this location is, as a user would write
    /// it (a file location is the object itself).
    pub fn object(&self, name: &str) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Dir(p) => p.join(name).display().to_string(),
            Location::S3 { .. } => format!("{self}{name}"),
        }
    }
}

/// Refuses a key prefix with a `.` or `..` segment.
fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(format!("the S3 key prefix {prefix:?} has a `.` or `..` segment; name the folder plainly"));
    }
    Ok(())
}

/// The names a restore of the newest backup tries under `prefix`, in this
/// order: ours, the original's and, when the prefix does not end in `/`
/// (`S3_KEY_PREFIX=hits`), the original's under `hits/`, where the second
/// version of its backup script wrote it.
fn latest_names(prefix: &str) -> Vec<String> {
    let mut names = vec![LATEST.to_string(), ORIGINAL_LATEST.to_string()];
    if !prefix.is_empty() && !prefix.ends_with('/') {
        names.push(format!("/{ORIGINAL_LATEST}"));
    }
    names
}

/// Whether S3 credentials can be found (in the environment or an AWS
/// profile); never what they are.
#[cfg(feature = "s3")]
pub fn has_credentials(env: &dyn Fn(&str) -> Option<String>) -> bool {
    aws::has_credentials(env)
}

#[cfg(not(feature = "s3"))]
pub fn has_credentials(_env: &dyn Fn(&str) -> Option<String>) -> bool {
    false
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) | Location::Dir(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// One stored backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The name under the prefix or in the folder.
    pub name: String,
    pub size: u64,
    /// When it was written, as the storage reports it.
    pub modified: String,
}

/// A place that keeps named files: a folder or an S3 prefix.
pub trait Objects: Send {
    /// Uploads `file` as `name`, replacing what was there.
    fn put(&self, name: &str, file: &Path) -> Result<(), String>;
    /// Downloads `name` to `to`; false when there is no such object.
    fn get(&self, name: &str, to: &Path) -> Result<bool, String>;
    /// The objects directly under the prefix (not in sub-folders).
    fn list(&self) -> Result<Vec<Object>, String>;
    fn delete(&self, name: &str) -> Result<(), String>;
    /// The names a restore of the newest backup tries, in order.
    fn latest_names(&self) -> Vec<String> {
        latest_names("")
    }
}

/// Opens the storage of a folder or S3 location (`None` for a file).
pub fn objects(location: &Location, env: &dyn Fn(&str) -> Option<String>) -> Result<Box<dyn Objects>, String> {
    match location {
        Location::File(_) => Err("a single file is not a place for timestamped backups".into()),
        Location::Dir(path) => Ok(Box::new(dir::Dir::new(path.clone()))),
        #[cfg(feature = "s3")]
        Location::S3 { bucket, prefix } => {
            let settings = aws::resolve(env)?;
            Ok(Box::new(s3::S3::new(bucket, prefix, &settings)?))
        }
        #[cfg(not(feature = "s3"))]
        Location::S3 { .. } => {
            let _ = env;
            Err("this build has no S3 support (built without the s3 feature)".into())
        }
    }
}

/// `YYYYmmddHHMMSS.db` for a backup taken now.
fn timestamped_name() -> String {
    format!("{}.db", chrono::Utc::now().format("%Y%m%d%H%M%S"))
}

/// Whether `name` is one of our timestamped backups.
fn is_timestamped(name: &str) -> bool {
    name.strip_suffix(".db").is_some_and(|stem| stem.len() == 14 && stem.bytes().all(|b| b.is_ascii_digit()))
}

/// A temporary file beside `near` (same filesystem, so renames are atomic;
/// a snapshot may be large, so not in a small `/tmp`).
fn temp_beside(near: &Path, what: &str) -> PathBuf {
    let dir = near.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = near.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{what}-{}.tmp", std::process::id()))
}

/// Removes a temporary file, and the journal files SQLite may have made
/// beside it, when dropped.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = self.0.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Written {
    pub name: String,
    pub bytes: u64,
    pub counters: u64,
    /// Timestamped copies deleted by the retention rule.
    pub pruned: usize,
}

/// Takes a snapshot of `store` (the database file at `db`; for a database
/// server, a path in a scratch directory) and writes it to a file
/// (atomically: a temporary file, then a rename) or as a timestamped copy
/// plus `latest.db` into `objects`, keeping the newest `keep` (0: all). The
/// temporary file for an upload goes beside `db`. `step` is told what
/// each step is about to do (for a progress display).
pub fn backup(
    store: &Store,
    db: &Path,
    to: &Location,
    objects: Option<&dyn Objects>,
    keep: usize,
    step: &dyn Fn(String),
) -> Result<Written, String> {
    let target = match to {
        Location::File(path) => path.clone(),
        _ => db.to_path_buf(),
    };
    let tmp = Temp(temp_beside(&target, "backup"));
    let _ = std::fs::remove_file(&tmp.0);
    step("writing a snapshot".into());
    let counters = match store.snapshot_to(&tmp.0)? {
        Snapshot::Ours { counters } => counters,
        Snapshot::Original { .. } => return Err("the database is not converted yet".into()),
    };
    let bytes = std::fs::metadata(&tmp.0).map(|m| m.len()).unwrap_or(0);
    let Some(objects) = objects else {
        std::fs::rename(&tmp.0, &target).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        return Ok(Written { name: target.display().to_string(), bytes, counters, pruned: 0 });
    };
    // The timestamped copy first: were the upload of `latest` to fail, the
    // backup is there all the same, and `latest` is the previous one.
    let name = timestamped_name();
    for object in [name.as_str(), LATEST] {
        step(format!("uploading {object} ({bytes} bytes)"));
        objects.put(object, &tmp.0)?;
    }
    step("deleting old copies".into());
    let pruned = if keep == 0 { 0 } else { prune(objects, keep)? };
    Ok(Written { name, bytes, counters, pruned })
}

/// Deletes the oldest timestamped backups beyond the newest `keep`.
fn prune(objects: &dyn Objects, keep: usize) -> Result<usize, String> {
    let mut names: Vec<String> = objects.list()?.into_iter().map(|o| o.name).filter(|n| is_timestamped(n)).collect();
    names.sort_unstable();
    let old = names.len().saturating_sub(keep);
    for name in &names[..old] {
        objects.delete(name)?;
    }
    Ok(old)
}

/// Where a restore reads from.
pub enum Source<'a> {
    File(&'a Path),
    /// A named object, or the newest backup (the first of
    /// [`Objects::latest_names`] there is).
    Objects(&'a dyn Objects, Option<&'a str>),
}

/// Refuses a backup larger than the limits before any work: an SQLite
/// file past [`crate::limits::MAX_RESTORE_BYTES`], a dump past
/// [`crate::limits::MAX_DUMP_BYTES`].
fn within_limits(path: &Path, name: &str) -> Result<(), String> {
    use crate::limits::{MAX_DUMP_BYTES, MAX_RESTORE_BYTES};
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read {name}: {e}"))?.len();
    let sqlite = store::is_sqlite_file(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let (limit, what) = if sqlite { (MAX_RESTORE_BYTES, "an SQLite backup") } else { (MAX_DUMP_BYTES, "an SQL dump") };
    if size > limit {
        return Err(format!("{name} is {size} bytes, more than {what} may be ({limit} bytes): refused"));
    }
    Ok(())
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The object (its name in the storage) or file it came from.
    pub from: String,
    pub counters: u64,
    /// Lines about converting the original's data, if it was that.
    pub converted: Vec<String>,
    /// Where the replaced database went.
    pub kept: Option<PathBuf>,
}

/// Restores a backup into `db`: refuses an existing database without
/// `force` and a database a running server holds; fetches and checks the
/// snapshot (loading and converting the original's SQL dumps); then swaps
/// it in. `Ok(None)` when the storage holds no backup at all. `step` is
/// told what each step is about to do.
pub fn restore(
    from: Source,
    db: &Path,
    force: bool,
    keys: KeyRule,
    step: &dyn Fn(String),
) -> Result<Option<Restored>, String> {
    if db.exists() && !force {
        return Err(format!(
            "{} exists: pass --force to replace it (the old file is kept as {}.before-restore[.N])",
            db.display(),
            db.display()
        ));
    }
    if store::in_use(db) {
        return Err(format!("a hitcounter server is running on {}: stop it first", db.display()));
    }
    if let Some(dir) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    let fetched = Temp(temp_beside(db, "download"));
    step("fetching the backup".into());
    let from = match from {
        Source::File(path) => {
            within_limits(path, &path.display().to_string())?;
            std::fs::copy(path, &fetched.0).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            path.display().to_string()
        }
        Source::Objects(objects, Some(name)) => {
            if !objects.get(name, &fetched.0)? {
                return Err(format!("there is no backup called {name}"));
            }
            name.to_string()
        }
        Source::Objects(objects, None) => match objects
            .latest_names()
            .into_iter()
            .find_map(|name| objects.get(&name, &fetched.0).map(|found| found.then_some(name)).transpose())
        {
            Some(found) => found?,
            None => return Ok(None),
        },
    };
    within_limits(&fetched.0, &from)?;
    step(format!("checking {from}"));
    let loaded = Temp(temp_beside(db, "restore"));
    let _ = std::fs::remove_file(&loaded.0);
    if store::is_sqlite_file(&fetched.0).map_err(|e| e.to_string())? {
        std::fs::rename(&fetched.0, &loaded.0).map_err(|e| e.to_string())?;
        store::check(&loaded.0).map_err(|e| format!("{from} is not a usable snapshot: {e}"))?;
        store::settle(&loaded.0).map_err(|e| format!("{from}: {e}"))?;
    } else {
        store::load_dump(&fetched.0, &loaded.0).map_err(|e| format!("{from}: {e}"))?;
    }
    let converted = store::adopt(&loaded.0, keys).map_err(|e| format!("{from}: {e}"))?;
    let counters = match store::inspect(&loaded.0).map_err(|e| format!("{from}: {e}"))? {
        Snapshot::Ours { counters } => counters,
        Snapshot::Original { .. } => return Err(format!("{from}: the original's data could not be converted")),
    };
    step(format!("putting it in place of {}", db.display()));
    let kept = store::swap_in(&loaded.0, db)?;
    Ok(Some(Restored { from, counters, converted: converted.map(|r| r.lines()).unwrap_or_default(), kept }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("s3://bkt/hits/daily/").unwrap(),
            Location::S3 { bucket: "bkt".into(), prefix: "hits/daily/".into() }
        );
        assert_eq!(Location::parse("s3://bkt").unwrap(), Location::S3 { bucket: "bkt".into(), prefix: String::new() });
        assert!(
            Location::parse("s3://").is_err() && Location::parse("s3://a b/x").is_err() && Location::parse("").is_err()
        );
        assert_eq!(Location::parse("/nonexistent/x.db").unwrap(), Location::File("/nonexistent/x.db".into()));
        assert_eq!(Location::parse("/tmp").unwrap(), Location::Dir("/tmp".into()));
        assert_eq!(Location::parse("s3://bkt/p").unwrap().to_string(), "s3://bkt/p/");
    }

    #[test]
    fn dot_segments_are_refused_and_objects_are_named_in_full() {
        for bad in ["s3://bkt/..", "s3://bkt/a/../b", "s3://bkt/./x/"] {
            assert!(Location::parse(bad).unwrap_err().contains("`.` or `..` segment"), "{bad}");
        }
        for bad in ["..", "../x", "a/./", "a/.."] {
            assert!(Location::from_original_env("bkt", bad).is_err(), "{bad}");
        }
        for fine in ["", "hits", "hits-", "a..b/", ".hidden/"] {
            assert!(Location::from_original_env("bkt", fine).is_ok(), "{fine}");
        }
        let hits = Location::from_original_env("sqlite", "hits").unwrap();
        assert_eq!(hits.object("/latest.bak"), "s3://sqlite/hits/latest.bak");
        assert_eq!(hits.object("latest.bak"), "s3://sqlite/hitslatest.bak");
        assert_eq!(Location::Dir("/b".into()).object("latest.db"), "/b/latest.db");
    }

    #[test]
    fn a_prefix_without_a_slash_also_looks_in_its_folder() {
        assert_eq!(latest_names(""), ["latest.db", "latest.bak"]);
        assert_eq!(latest_names("hits/"), ["latest.db", "latest.bak"]);
        assert_eq!(latest_names("hits"), ["latest.db", "latest.bak", "/latest.bak"]);
    }

    #[test]
    fn only_our_timestamped_names_are_pruned() {
        assert!(is_timestamped("20261130235959.db"));
        for other in ["latest.db", "latest.bak", "20261130235959.bak", "2026113023595.db", "x20261130235959.db"] {
            assert!(!is_timestamped(other), "{other}");
        }
    }

    #[test]
    fn retention_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir::Dir::new(dir.path().to_path_buf());
        for name in ["20260101000000.db", "20260102000000.db", "20260103000000.db", "latest.db", "latest.bak"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        assert_eq!(prune(&objects, 2).unwrap(), 1);
        let mut left: Vec<String> = objects.list().unwrap().into_iter().map(|o| o.name).collect();
        left.sort();
        assert_eq!(left, ["20260102000000.db", "20260103000000.db", "latest.bak", "latest.db"]);
    }
}
