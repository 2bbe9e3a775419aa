//! Consistent copies of the database, and putting one in its place.
//!
//! A snapshot is a plain SQLite file made with `VACUUM INTO` inside one
//! read transaction: every count and per-day row committed when it began,
//! whatever the WAL still holds, while the server goes on writing. Before a
//! snapshot is installed it is checked (`integrity_check`, and either our
//! schema or the original service's `url` table); the original's text SQL
//! dumps (`latest.bak`) are loaded into a file first, statement by checked
//! statement.

use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

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
        let dest_str = dest.to_str().ok_or("the snapshot path is not UTF-8")?;
        self.conn.execute("VACUUM INTO ?1", [dest_str]).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        inspect(dest)
    }
}

/// Opens a snapshot read-only, runs `integrity_check` and says what it
/// holds; anything else is an error naming the reason.
pub fn inspect(path: &Path) -> Result<Snapshot, String> {
    let bad = |why: String| format!("{} is not a usable snapshot: {why}", path.display());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| bad(e.to_string()))?;
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| bad(e.to_string()))?;
    if check != "ok" {
        return Err(bad(format!("integrity_check says {check}")));
    }
    if original::is_original(&conn).map_err(|e| bad(e.to_string()))? {
        let rows =
            conn.query_row("SELECT COUNT(*) FROM url", [], |r| r.get::<_, i64>(0)).map_err(|e| bad(e.to_string()))?;
        return Ok(Snapshot::Original { rows: rows.max(0) as u64 });
    }
    schema::check_readable(&conn).map_err(|e| bad(e.to_string()))?;
    let counters =
        conn.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get::<_, i64>(0)).map_err(|e| bad(e.to_string()))?;
    Ok(Snapshot::Ours { counters: counters.max(0) as u64 })
}

/// Statements a dump of the original's database may hold; anything else
/// (ATTACH, VACUUM INTO, triggers...) is refused, since a dump is run as
/// SQL.
const DUMP_STATEMENTS: [&str; 7] = [
    "PRAGMA FOREIGN_KEYS",
    "BEGIN TRANSACTION",
    "COMMIT",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE UNIQUE INDEX",
    "INSERT INTO",
];

/// Loads a text SQL dump (`sqlite3 DB .dump`, the original service's
/// backup format) into a new database file at `dest`.
pub fn load_dump(sql: &str, dest: &Path) -> Result<(), String> {
    let conn = Connection::open(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let mut rest = sql;
    let mut n = 0;
    while !rest.trim().is_empty() {
        n += 1;
        let end = statement_end(rest).ok_or_else(|| format!("the dump's statement {n} does not end"))?;
        let stmt = rest[..end].trim();
        rest = &rest[end..];
        let upper = stmt.get(..stmt.len().min(24)).unwrap_or("").to_ascii_uppercase();
        if !DUMP_STATEMENTS.iter().any(|p| upper.starts_with(p)) {
            return Err(format!("the dump's statement {n} is not allowed in a backup: {:.60}", stmt));
        }
        if upper.starts_with("BEGIN") || upper.starts_with("COMMIT") {
            continue;
        }
        conn.execute_batch(stmt).map_err(|e| format!("the dump's statement {n} failed: {e}"))?;
    }
    Ok(())
}

/// The byte offset just past the `;` that ends the first statement, minding
/// quoted strings and identifiers.
fn statement_end(sql: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in sql.bytes().enumerate() {
        match (quote, b) {
            (None, b'\'' | b'"' | b'`') => quote = Some(b),
            (None, b'[') => quote = Some(b']'),
            (Some(q), b) if b == q => quote = None,
            (None, b';') => return Some(i + 1),
            _ => {}
        }
    }
    None
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
            let mut conn = Connection::open(path).map_err(|e| e.to_string())?;
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

/// Puts the snapshot at `from` in the place of `db`: the old file (with
/// its `-wal`) is kept as `<db>.before-restore`, a stale `-shm` removed.
/// Returns where the old file went, if there was one.
pub fn swap_in(from: &Path, db: &Path) -> Result<Option<PathBuf>, String> {
    let side = |p: &Path, suffix: &str| PathBuf::from(format!("{}{suffix}", p.display()));
    let kept = side(db, ".before-restore");
    let io = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
    let had_db = db.exists();
    if had_db {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(side(&kept, suffix));
        }
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

    #[test]
    fn statements_end_at_semicolons_outside_quotes() {
        assert_eq!(statement_end("INSERT INTO url VALUES(1,'a;b',3);\nCOMMIT;"), Some(34));
        assert_eq!(statement_end("CREATE TABLE \"x;y\" (a);"), Some(23));
        assert_eq!(statement_end("INSERT INTO url VALUES('no end"), None);
    }

    #[test]
    fn a_dump_loads_and_dangerous_statements_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCREATE TABLE url (id INTEGER NOT NULL, url VARCHAR(1024), count INTEGER, PRIMARY KEY (id));\nINSERT INTO url VALUES(1,'a.com/x;y',5);\nINSERT INTO url VALUES(2,'a.com/x;y',7);\nCOMMIT;\n";
        let dest = dir.path().join("d.db");
        load_dump(ok, &dest).unwrap();
        assert_eq!(inspect(&dest).unwrap(), Snapshot::Original { rows: 2 });
        let evil = "BEGIN TRANSACTION;\nATTACH DATABASE '/tmp/x' AS x;\nCOMMIT;";
        let err = load_dump(evil, &dir.path().join("e.db")).unwrap_err();
        assert!(err.contains("statement 2 is not allowed"), "{err}");
        assert!(load_dump("VACUUM INTO '/tmp/y';", &dir.path().join("f.db")).is_err());
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
    fn swapping_keeps_the_old_file_and_its_wal() {
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
    }
}
