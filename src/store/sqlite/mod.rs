//! SQLite: opening a database file with the settings each role needs,
//! making it ready (creating, converting the original's, upgrading the
//! schema), and the upkeep only a file needs (WAL checkpoints). The reads,
//! writes and admin changes are in `read.rs`, `write.rs` and `admin.rs`,
//! the hit log in `log.rs`, the schema in `schema.rs`; `backend.rs` is
//! where they meet the store contract. Also SQLite's alone: whole-file
//! copies (`copy.rs`, `snapshot.rs`), the original service's databases
//! and SQL dumps (`original.rs`, `dump.rs`) and the filesystem under a
//! database file (`disk.rs`).

use rusqlite::{Connection, Error, OpenFlags, Result};
use std::path::Path;
use std::time::Duration;

use super::{count, now, sql, Day, DayRow, Event, Imported, OpenError, Pending, Role, Stored, Written};

mod admin;
mod backend;
mod copy;
pub mod disk;
mod dump;
mod log;
mod memory;
pub mod original;
mod read;
pub(super) mod schema;
pub(super) mod snapshot;
#[cfg(test)]
mod tests;
mod write;

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Days are stored as ISO dates, readable in `sqlite3`.
fn day_text(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The version (`3.x.y`) the SQLite library linked in reports at run time.
pub fn library_version() -> &'static str {
    rusqlite::version()
}

/// A connection to a SQLite database file.
pub(crate) struct Sqlite {
    pub(super) conn: Connection,
    /// The fold in progress (see `log.rs`).
    fold: log::Round,
}

/// SQLite's global memory settings, before the process opens any database:
/// no bulk allocation of each connection's page cache (20 pages, written
/// through at every open whether the connection reads them or not: 1.3 MB
/// over a server's workers, and page faults a CGI process pays for), and
/// for a process that answers one request (`one_request`, CGI) no lookaside
/// scratch space either (48 KiB a connection, likewise written through),
/// which only pays off over many statements. For one request in the static
/// build, SQLite allocates from the arena the rest of the process does
/// (`allocator::one_request`).
pub fn configure_library(one_request: bool) {
    use rusqlite::ffi;
    use std::ffi::{c_int, c_void};
    if one_request && crate::allocator::ONE_REQUEST_ARENA {
        memory::use_global_allocator();
    }
    // SAFETY: sqlite3_config before the library is initialised (the first
    // open) only sets global defaults; later it returns SQLITE_MISUSE and
    // changes nothing, which leaves the defaults (more memory, no harm).
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_PAGECACHE, std::ptr::null_mut::<c_void>(), 0 as c_int, 0 as c_int);
        if one_request {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_LOOKASIDE, 0 as c_int, 0 as c_int);
        }
    }
}

/// Page cache per role, in KiB (SQLite takes negative numbers as KiB).
fn cache_kib(role: Role) -> Option<i64> {
    match role {
        // A worker reads the database only for counts the counter's table
        // does not hold (while it loads, or past its size), one random
        // page per level of the key index: enough for the upper levels,
        // as there is one such cache per worker.
        Role::Worker => Some(256),
        // Flushes touch index pages again and again: SQLite's default
        // holds the upper levels of a million counters' indexes.
        Role::Flusher => Some(2 * 1024),
        Role::Cgi | Role::Admin => None,
    }
}

/// WAL pages between automatic checkpoints on the flusher's connection:
/// a page dirtied by many flushes is copied into the database once, not
/// once per flush, and the fsync comes ten times less often than at
/// SQLite's default of 1000. A quiet server checkpoints at once (see
/// [`Sqlite::checkpoint`]).
const FLUSHER_CHECKPOINT_PAGES: i64 = 10_000;

impl Sqlite {
    /// Opens an existing database read-write with the settings `role` needs.
    /// Does not create or upgrade the schema; see [`Sqlite::prepare`].
    pub(super) fn open(path: &Path, role: Role) -> Result<Sqlite> {
        Sqlite::with_role(configure_retrying(open_plain(path)?)?, role)
    }

    /// A connection opened by [`open_plain`] and set up by
    /// [`configure_retrying`], with the settings `role` needs.
    fn with_role(conn: Connection, role: Role) -> Result<Sqlite> {
        if let Some(kib) = cache_kib(role) {
            conn.pragma_update(None, "cache_size", -kib)?;
        }
        match role {
            Role::Flusher => conn.pragma_update(None, "wal_autocheckpoint", FLUSHER_CHECKPOINT_PAGES)?,
            // Each CGI process is the database's last connection when it
            // exits, and SQLite would then checkpoint the WAL (with an
            // fsync) and delete it, on every hit. Nor automatically: CGI
            // mode truncates the WAL itself once it is long (`CGI_WAL_BYTES`
            // in src/serve/cgi.rs).
            Role::Cgi => {
                conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
                conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            }
            Role::Worker | Role::Admin => {}
        }
        Ok(Sqlite { conn, fold: log::Round::default() })
    }

    /// Makes the database at `path` ready: creates the directory and file,
    /// converts a database of the original service when `keys` is given
    /// (else refuses it), upgrades the schema and folds hits a crashed
    /// server logged (not for a CGI request: reads add the log, and the
    /// next server start folds it). Returns what it did, for the log.
    pub(super) fn prepare(
        path: &Path,
        role: Role,
        keys: Option<original::KeyRule>,
        adopt: bool,
    ) -> std::result::Result<(Sqlite, Vec<String>), String> {
        disk::writable(path).map_err(|e| format!("cannot write database {}: {e}", path.display()))?;
        let cannot_open = |e: Error| format!("cannot open database {}: {e}", path.display());
        // One connection: the file is looked at before anything switches it
        // to WAL or adds a table, then set up for its role.
        let existing = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
        let conn = open_plain(path).map_err(cannot_open)?;
        if existing {
            refuse_foreign(&conn, path, adopt)?;
        }
        let mut store = configure_retrying(conn).and_then(|c| Sqlite::with_role(c, role)).map_err(cannot_open)?;
        if store.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            return Err(format!("cannot write database {}: SQLite opened it read-only", path.display()));
        }
        let mut notes = Vec::new();
        if original::is_original(&store.conn).map_err(|e| e.to_string())? {
            let Some(keys) = keys else {
                return Err(format!(
                    "{} is a database of the original hit counter: convert it with `hitcounter migrate` first",
                    path.display()
                ));
            };
            notes.extend(original::convert(&mut store.conn, path, keys)?.lines());
        }
        let setup = |e: Error| format!("cannot set up database {}: {e}", path.display());
        notes.extend(schema::migrate(&mut store.conn, keys).map_err(setup)?);
        if role == Role::Cgi {
            return Ok((store, notes));
        }
        match log::fold_all(&mut store.conn) {
            // Reads add the log, so counts stay exact; the flusher folds it
            // once there is room.
            Err(e) if disk_full(&e) => notes.push("the disk is full: the hit log is folded later".into()),
            other => other.map(|_| ()).map_err(setup)?,
        }
        Ok((store, notes))
    }

    /// Opens an existing database for reading only: nothing is created,
    /// converted, folded or written, and a running server sees no change.
    pub(super) fn open_read_only(path: &Path) -> std::result::Result<Sqlite, OpenError> {
        if !path.exists() {
            return Err(OpenError::Missing);
        }
        let other = |e: Error| OpenError::Other(format!("cannot read database {}: {e}", path.display()));
        let conn = open_for_reading(path).map_err(other)?;
        if original::is_original(&conn).map_err(other)? {
            return Err(OpenError::Original);
        }
        schema::check_readable(&conn).map_err(other)?;
        Ok(Sqlite { conn, fold: log::Round::default() })
    }

    /// Changes whenever another connection (any process) commits to the
    /// database; this connection's own commits leave it alone.
    pub fn data_version(&self) -> Result<i64> {
        self.conn.pragma_query_value(None, "data_version", |r| r.get(0))
    }

    /// Copies what the WAL holds into the database file, without waiting
    /// for readers: afterwards the `.db` file alone is current (unless a
    /// reader held an old snapshot).
    pub fn checkpoint(&self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    }

    /// Copies the whole WAL into the database and truncates it to nothing,
    /// waiting (up to the busy timeout) for readers of older snapshots.
    pub fn checkpoint_truncate(&self) -> Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
    }

    /// Starts the read transaction of `Store::snapshot`.
    pub(super) fn begin_read(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN DEFERRED")
    }

    /// Ends it: committed if everything read went well.
    pub(super) fn end_read(&self, ok: bool) -> Result<()> {
        self.conn.execute_batch(if ok { "COMMIT" } else { "ROLLBACK" })
    }
}

/// Looks at an existing file before anything switches it to WAL or adds a
/// table: one that holds another application's tables is not ours to take
/// (unless adopted), and triggers or views would run foreign SQL inside
/// our writes and reads.
fn refuse_foreign(conn: &Connection, path: &Path, adopt: bool) -> std::result::Result<(), String> {
    let unreadable = |e: Error| format!("cannot read database {}: {e}", path.display());
    let found = schema::foreign_objects(conn, adopt).map_err(unreadable)?;
    if found.is_empty() {
        return Ok(());
    }
    if found.iter().all(|f| f.kind == "table") {
        return Err(format!(
            "{} holds {}, which is neither hitcounter's nor the original hit counter's: \
             it looks like another application's database; pass --adopt to add hitcounter's tables to it anyway",
            path.display(),
            schema::Foreign::list(&found)
        ));
    }
    Err(format!("{}: {}", path.display(), schema::Foreign::refusal(&found)))
}

/// Opens a connection that runs only what hitcounter asks: no foreign
/// SQL from the file's schema (`trusted_schema` off, defensive mode, so
/// no writable schema or shadow tables) and no `ATTACH` (only
/// [`vacuum_into`] lifts that, for its own statement).
pub(super) fn open_guarded<P: AsRef<Path>>(path: P, flags: OpenFlags) -> Result<Connection> {
    use rusqlite::config::DbConfig;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // An `i32` in rusqlite 0.32, a `Result` later; 0 is always in range.
    let _ = conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0);
    Ok(conn)
}

/// `VACUUM INTO dest`, which SQLite runs through an `ATTACH`: the one
/// statement for which a connection may attach a database.
pub(super) fn vacuum_into(conn: &Connection, dest: &Path) -> Result<()> {
    use rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED;
    let dest = dest.to_str().ok_or_else(|| Error::InvalidPath(dest.to_path_buf()))?;
    let _ = conn.set_limit(SQLITE_LIMIT_ATTACHED, 1);
    let done = conn.execute("VACUUM INTO ?1", [dest]).map(|_| ());
    let _ = conn.set_limit(SQLITE_LIMIT_ATTACHED, 0);
    done
}

/// A read-only connection. Reading a WAL database needs its `-shm` file,
/// which a full disk (or a read-only directory) may not let SQLite create;
/// when there is no WAL to read (after a clean shutdown) the file alone is
/// complete and is opened as immutable instead.
fn open_for_reading(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let first = open_guarded(path, flags).and_then(|mut conn| {
        conn.busy_handler(Some(wait_for_lock))?;
        conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
        Ok(conn)
    });
    match first {
        Err(e) if disk::wal_bytes(path) == 0 => open_guarded(immutable_uri(path), flags).map_err(|_| e),
        other => other,
    }
}

/// `file:PATH?immutable=1`, with the characters a URI gives meaning to
/// escaped.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri + "?immutable=1"
}

/// A read-write connection (the file is created if missing) that waits
/// for other writers' locks; not yet switched to WAL (see
/// [`configure_retrying`]).
fn open_plain(path: &Path) -> Result<Connection> {
    let mut conn = open_guarded(path, OpenFlags::default())?;
    conn.busy_handler(Some(wait_for_lock))?;
    Ok(conn)
}

fn configure_retrying(conn: Connection) -> Result<Connection> {
    // Switching a new file to WAL takes a lock that SQLite does not wait for
    // through busy_timeout, so many CGI processes opening a brand-new
    // database at once can see SQLITE_BUSY here: retry for a while.
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match configure(&conn) {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
            Ok(()) => return Ok(conn),
        }
    }
}

/// Connection settings; only the switch of a new file to WAL writes.
fn configure(conn: &Connection) -> Result<()> {
    // WAL lets readers run beside the single writer; NORMAL sync is durable
    // against process crashes (the WAL is fsynced at checkpoints).
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A WAL that grew is cut back to this size whenever it is reset, so the
    // space a burst took is given back.
    conn.pragma_update(None, "journal_size_limit", crate::limits::WAL_CHECKPOINT_BYTES as i64)?;
    // The C call, not `PRAGMA foreign_keys`: one statement less to compile
    // in every CGI hit.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)?;
    Ok(())
}

/// Waits for another connection's lock for up to [`BUSY_TIMEOUT`], in short
/// sleeps: SQLite's own busy timeout sleeps up to 100 ms at a time, which
/// showed as ~1 s tail latency when several writers take turns
/// (`--flush-interval 0`, many CGI processes).
fn wait_for_lock(retries: i32) -> bool {
    const FINE: i32 = 200; // 200 x 0.1 ms, then 1 ms steps
    let fine = Duration::from_micros(100);
    let coarse = Duration::from_millis(1);
    let spent = fine * retries.min(FINE) as u32 + coarse * (retries - FINE).max(0) as u32;
    if spent >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(if retries < FINE { fine } else { coarse });
    true
}

/// SQLITE_FULL: the disk (or a file size limit) is full.
pub(super) fn disk_full(e: &Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull))
}

/// SQLITE_READONLY, or an I/O error such as a read-only remount: the
/// connection may work again once reopened.
pub(super) fn read_only(e: &Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ReadOnly)
            | Some(rusqlite::ErrorCode::SystemIoFailure)
            | Some(rusqlite::ErrorCode::CannotOpen)
    )
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock.
fn is_busy(e: &Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
}
