//! Consistent copies of the database, and putting one in its place.
//!
//! A snapshot is a plain SQLite file made with `VACUUM INTO` inside one
//! read transaction: every count and per-day row committed when it began,
//! whatever the WAL still holds, while the server goes on writing. Before a
//! snapshot is installed it is checked (`integrity_check`, and either our
//! schema or the original service's `url` table, and nothing else: no
//! trigger, view or foreign table); the original's text SQL dumps
//! (`latest.bak`) are read as data (`dump.rs`) into a file of ours first.

use rusqlite::OpenFlags;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::dump::{self, Dump};
use super::{open_guarded, vacuum_into};
use super::{original, schema, Sqlite};

/// What a checked snapshot holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// Ours: this many counters (and their per-day rows).
    Ours { counters: u64 },
    /// The original service's `url` table with this many rows.
    Original { rows: u64 },
}

impl Sqlite {
    /// Writes a consistent copy of the database to `dest` (which must not
    /// exist yet) and checks it. Folds nothing and writes nothing here.
    pub fn snapshot_to(&self, dest: &Path) -> Result<Snapshot, String> {
        vacuum_into(&self.conn, dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        // The database may be adopted: its own tables, triggers and views
        // are copied too, as they were accepted at start.
        examine(dest, true).map_err(|why| format!("{} is not a usable snapshot: {why}", dest.display()))
    }
}

/// Opens a snapshot read-only, runs `integrity_check` and says what it
/// holds; anything else (a trigger, a view, another table too) is an
/// error naming the file and the reason.
pub fn inspect(path: &Path) -> Result<Snapshot, String> {
    check(path).map_err(|why| format!("{} is not a usable snapshot: {why}", path.display()))
}

/// [`inspect`], the error saying only why (for a file under a temporary
/// name).
pub fn check(path: &Path) -> Result<Snapshot, String> {
    examine(path, false)
}

/// [`check`]; `adopted`: another application's tables, triggers and views
/// are accepted beside ours (see `schema::foreign_objects`).
fn examine(path: &Path, adopted: bool) -> Result<Snapshot, String> {
    let conn = open_guarded(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| e.to_string())?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("integrity_check says {check}"));
    }
    let found = schema::foreign_objects(&conn, adopted).map_err(|e| e.to_string())?;
    if !found.is_empty() {
        return Err(schema::Foreign::refusal(&found));
    }
    if original::is_original(&conn).map_err(|e| e.to_string())? {
        let rows = conn.query_row("SELECT COUNT(*) FROM url", [], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string())?;
        return Ok(Snapshot::Original { rows: rows.max(0) as u64 });
    }
    schema::check_readable(&conn).map_err(|e| e.to_string())?;
    let counters =
        conn.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string())?;
    Ok(Snapshot::Ours { counters: counters.max(0) as u64 })
}

/// Loads the original service's SQL dump (`sqlite3 DB .dump`, its backup
/// format) at `from` into a new database file at `dest`, holding its
/// `url` table. The dump is read as data, statement by statement
/// (`dump.rs`), and each row written with bound parameters: nothing of it
/// runs as SQL. On a refusal `dest` may hold part of the rows; the caller
/// removes it.
pub fn load_dump(from: &Path, dest: &Path) -> Result<(), String> {
    let file = File::open(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let mut dump = Dump::new(std::io::BufReader::new(file), crate::limits::MAX_DUMP_STATEMENT);
    let mut conn =
        open_guarded(dest, OpenFlags::default()).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let fail = |e: rusqlite::Error| format!("cannot write {}: {e}", dest.display());
    let tx = conn.transaction().map_err(fail)?;
    tx.execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER)").map_err(fail)?;
    {
        let mut insert = tx.prepare("INSERT INTO url (id, url, count) VALUES (?1, ?2, ?3)").map_err(fail)?;
        while let Some(row) = dump.next_row().map_err(|r| r.to_string())? {
            let value = |v: dump::Value| match v {
                dump::Value::Null => rusqlite::types::Value::Null,
                dump::Value::Integer(n) => rusqlite::types::Value::Integer(n),
                dump::Value::Real(f) => rusqlite::types::Value::Real(f),
                dump::Value::Text(t) => rusqlite::types::Value::Text(t),
            };
            insert.execute(rusqlite::params![value(row.id), value(row.url), value(row.count)]).map_err(|e| {
                format!("the dump's statement {} (line {}) is refused: {e}", dump.statement(), dump.line())
            })?;
        }
    }
    tx.commit().map_err(fail)
}

/// Leaves the file at `path` in rollback-journal mode, its WAL (if any)
/// copied in and gone: a file made by `VACUUM INTO` from a WAL database is
/// in WAL mode, and each later open would leave a `-wal` and `-shm` beside
/// a temporary name. `serve` switches the database to WAL again.
pub fn settle(path: &Path) -> Result<(), String> {
    let conn = open_guarded(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "DELETE").map_err(|e| format!("cannot settle {}: {e}", path.display()))
}

/// Whether a file starts like an SQLite database (else it may be a dump).
pub fn is_sqlite_file(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let n = File::open(path)?.read(&mut head)?;
    Ok(n == 16 && &head == b"SQLite format 3\0")
}

/// Turns a checked snapshot file into one of our databases, in place:
/// an original's is converted (no extra copy: the snapshot is one).
pub fn adopt(path: &Path, keys: original::KeyRule) -> Result<Option<original::Report>, String> {
    match inspect(path)? {
        Snapshot::Ours { .. } => Ok(None),
        Snapshot::Original { .. } => {
            let mut conn = open_guarded(path, OpenFlags::default()).map_err(|e| e.to_string())?;
            original::convert_without_copy(&mut conn, keys).map(Some)
        }
    }
}

/// A shared lock on the database file that a server holds while it runs,
/// so that `restore` can tell it must not swap the file.
pub struct InUse(#[allow(dead_code)] File);

/// Takes the shared "a server uses this database" lock.
pub fn mark_in_use(db: &Path) -> std::io::Result<InUse> {
    let f = File::open(db)?;
    // SAFETY: flock only reads the descriptor we pass, which `f` owns.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(InUse(f))
}

/// Whether a running server holds the database (see [`mark_in_use`]).
pub fn in_use(db: &Path) -> bool {
    let Ok(f) = File::open(db) else { return false };
    // SAFETY: as in `mark_in_use`; an exclusive lock we get is released
    // when `f` closes.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}

/// Where the database replaced by a restore goes: `<db>.before-restore`,
/// else the first free `<db>.before-restore.N`, so that no earlier copy is
/// ever overwritten.
fn kept_path(db: &Path) -> PathBuf {
    let free = |p: &PathBuf| !p.exists() && !side(p, "-wal").exists();
    let first = side(db, ".before-restore");
    if free(&first) {
        return first;
    }
    (2u64..).map(|n| side(db, &format!(".before-restore.{n}"))).find(free).unwrap_or(first)
}

/// `path` with `suffix` added to its name.
fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Puts the snapshot at `from` in the place of `db`: the old file (with
/// its `-wal`) is kept (see [`kept_path`]), a stale `-shm` removed.
/// Returns where the old file went, if there was one.
pub fn swap_in(from: &Path, db: &Path) -> Result<Option<PathBuf>, String> {
    let kept = kept_path(db);
    let io = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
    let had_db = db.exists();
    if had_db {
        std::fs::rename(db, &kept).map_err(|e| io(&format!("move {} aside", db.display()), e))?;
        let wal = side(db, "-wal");
        if wal.exists() {
            std::fs::rename(&wal, side(&kept, "-wal")).map_err(|e| io("move the old -wal aside", e))?;
        }
    }
    let _ = std::fs::remove_file(side(db, "-wal"));
    let _ = std::fs::remove_file(side(db, "-shm"));
    File::open(from).and_then(|f| f.sync_all()).map_err(|e| io(&format!("sync {}", from.display()), e))?;
    std::fs::rename(from, db).map_err(|e| io(&format!("move the snapshot to {}", db.display()), e))?;
    if let Some(dir) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(had_db.then_some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use rusqlite::Connection;

    #[test]
    fn a_dump_loads_as_data_and_anything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE url (id INTEGER NOT NULL, url VARCHAR(1024), count INTEGER, PRIMARY KEY (id));\nINSERT INTO url VALUES(1,'a.com/x;y',5);\nINSERT INTO url VALUES(2,'a.com/x;y',7);\nCOMMIT;\n";
        let (sql, dest) = (dir.path().join("ok.sql"), dir.path().join("d.db"));
        std::fs::write(&sql, ok).unwrap();
        load_dump(&sql, &dest).unwrap();
        assert_eq!(inspect(&dest).unwrap(), Snapshot::Original { rows: 2 });
        std::fs::write(&sql, "BEGIN TRANSACTION;\nATTACH DATABASE '/tmp/x' AS x;\nCOMMIT;").unwrap();
        let err = load_dump(&sql, &dir.path().join("e.db")).unwrap_err();
        assert!(err.contains("statement 2 (line 2) is refused: ATTACH DATABASE"), "{err}");
    }

    #[test]
    fn triggers_views_and_foreign_tables_make_a_file_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER);").unwrap();
        assert_eq!(inspect(&path).unwrap(), Snapshot::Original { rows: 0 });
        conn.execute_batch(
            "CREATE TRIGGER boom AFTER INSERT ON url BEGIN SELECT 1; END; CREATE VIEW v AS SELECT 1; CREATE TABLE k(x);",
        )
        .unwrap();
        let err = inspect(&path).unwrap_err();
        assert!(err.contains("trigger `boom` on `url`, view `v`, table `k`"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn a_snapshot_of_a_live_database_is_complete_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::prepare(&dir.path().join("t.db"), super::super::Role::Flusher).unwrap();
        store.set("e.com/a", 5).unwrap();
        let dest = dir.path().join("snap.db");
        assert_eq!(store.snapshot_to(&dest).unwrap(), Snapshot::Ours { counters: 1 });
        assert!(store.snapshot_to(&dest).is_err(), "never over an existing file");
        std::fs::write(dir.path().join("junk.db"), b"SQLite format 3\0 but then junk").unwrap();
        assert!(inspect(&dir.path().join("junk.db")).is_err());
    }

    #[test]
    fn swapping_keeps_every_old_file_and_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        std::fs::write(&db, b"old").unwrap();
        std::fs::write(dir.path().join("t.db-wal"), b"old wal").unwrap();
        std::fs::write(dir.path().join("t.db-shm"), b"shm").unwrap();
        let new = dir.path().join("new.tmp");
        std::fs::write(&new, b"new").unwrap();
        let kept = swap_in(&new, &db).unwrap().unwrap();
        assert_eq!(std::fs::read(&db).unwrap(), b"new");
        assert_eq!(std::fs::read(&kept).unwrap(), b"old");
        assert_eq!(std::fs::read(dir.path().join("t.db.before-restore-wal")).unwrap(), b"old wal");
        assert!(!dir.path().join("t.db-shm").exists() && !dir.path().join("t.db-wal").exists());
        std::fs::write(&new, b"newer").unwrap();
        let again = swap_in(&new, &db).unwrap().unwrap();
        assert_eq!(again, dir.path().join("t.db.before-restore.2"));
        assert_eq!((std::fs::read(&kept).unwrap(), std::fs::read(&again).unwrap()), (b"old".to_vec(), b"new".to_vec()));
    }
}
