//! The schema and its upgrades, versioned by `PRAGMA user_version`.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::original::KeyRule;
use crate::store::merge;

use rusqlite::Result;

/// Schema version written to `PRAGMA user_version`.
/// Version 2 keys `daily` by (day, counter_id): a day's new rows land
/// together instead of all over the table (fewer pages per flush, and
/// today's rows stay in the page cache). Version 3 adds `hit_log` (see
/// `log.rs`). Version 4 adds `uniques` (unique visitors) to `counters`
/// (the sum since they are counted), to `daily` (NULL on days from before:
/// not recorded, never invented) and to `hit_log`. Version 5: every key's
/// host has its one spelling (UTS-46 A-labels, no trailing dot); counters
/// whose keys now collide were merged (see `merge.rs`).
pub const SCHEMA_VERSION: i64 = 5;

/// The last version an upgrade without a key rule can reach: version 5
/// needs the rule, and waits for the next start of a server.
const WITHOUT_KEY_RULE: i64 = 4;

fn version(conn: &Connection) -> Result<i64> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(plain(format!(
            "it was written by a newer hitcounter (schema version {version}; this one knows up to \
             {SCHEMA_VERSION}): run that version, or restore a backup made by this one"
        )));
    }
    Ok(version)
}

/// An error whose text is the whole message (rusqlite prints an
/// `SqliteFailure` with a message as just the message).
fn plain(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR), Some(message))
}

/// The tables hitcounter makes, and the original service's (`url`, which
/// `serve` converts).
const KNOWN_TABLES: &[&str] = &["counters", "daily", "admin_events", "hit_log", "daily_v2", "url"];

/// Something in a database's schema that hitcounter did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// `table`, `view` or `trigger`.
    pub kind: String,
    pub name: String,
    /// The table a trigger is on.
    pub on: String,
}

impl Foreign {
    /// `trigger `t` on `hit_log`, view `v``: each named once.
    pub fn list(found: &[Foreign]) -> String {
        let one = |f: &Foreign| match f.kind.as_str() {
            "trigger" => format!("trigger `{}` on `{}`", f.name, f.on),
            kind => format!("{kind} `{}`", f.name),
        };
        found.iter().map(one).collect::<Vec<_>>().join(", ")
    }

    /// The one line that refuses a file holding `found`.
    pub fn refusal(found: &[Foreign]) -> String {
        format!(
            "it holds {}, which hitcounter neither made nor runs: remove {} (sqlite3's DROP TRIGGER, DROP VIEW, \
             DROP TABLE) or use a clean copy",
            Foreign::list(found),
            if found.len() == 1 { "it" } else { "them" }
        )
    }
}

/// Whether a view's SQL names one of our (or the original's) tables.
fn reads_ours(sql: &str) -> bool {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| KNOWN_TABLES.iter().any(|t| word.eq_ignore_ascii_case(t)))
}

/// Triggers, views and tables that are neither hitcounter's nor the
/// original's (SQLite's own `sqlite_*` tables aside). A trigger runs its
/// SQL inside our writes and a view can stand in for a table, so neither
/// is accepted; with `adopt` (a file another application shares) only
/// those on our tables are, and its tables are left alone.
pub fn foreign_objects(conn: &Connection, adopt: bool) -> Result<Vec<Foreign>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master
         WHERE type IN ('table', 'view', 'trigger')
         ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?)))?;
    let mut found = Vec::new();
    for row in rows {
        let (kind, name, on, sql): (String, String, String, String) = row?;
        let ours = |n: &str| KNOWN_TABLES.iter().any(|t| n.eq_ignore_ascii_case(t));
        let foreign = match kind.as_str() {
            "table" => !adopt && !name.starts_with("sqlite_") && !ours(&name),
            "view" => !adopt || ours(&name) || reads_ours(&sql),
            _ => !adopt || ours(&on),
        };
        if foreign {
            found.push(Foreign { kind, name, on });
        }
    }
    Ok(found)
}

/// Checks that a read-only connection can read this database with the
/// current queries. An older database gets temporary views (in memory,
/// private to the connection, found before the file's tables of the same
/// name) that add what it lacks: no visitors, an empty hit log. The file is
/// not touched.
pub fn check_readable(conn: &Connection) -> Result<()> {
    let version = version(conn)?;
    if version < 1 {
        return Err(plain("the file is not a hitcounter database".into()));
    }
    if version < 4 {
        conn.execute_batch(
            "CREATE TEMP VIEW counters AS SELECT *, 0 AS uniques FROM main.counters;
             CREATE TEMP VIEW daily AS SELECT *, NULL AS uniques FROM main.daily;",
        )?;
    }
    if version < 3 {
        conn.execute_batch(
            "CREATE TEMP TABLE hit_log (counter_id INTEGER NOT NULL, day TEXT NOT NULL, hits INTEGER NOT NULL,
                uniques INTEGER NOT NULL DEFAULT 0)",
        )?;
    } else if version < 4 {
        conn.execute_batch("CREATE TEMP VIEW hit_log AS SELECT *, 0 AS uniques FROM main.hit_log;")?;
    }
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`], or to [`WITHOUT_KEY_RULE`]
/// when `keys` is `None`; returns what it did, for the log.
pub fn migrate(conn: &mut Connection, keys: Option<KeyRule>) -> Result<Vec<String>> {
    let target = if keys.is_some() { SCHEMA_VERSION } else { WITHOUT_KEY_RULE };
    let version = version(conn)?;
    if version >= target {
        // The common case, and the only one on a CGI request: no write lock.
        return Ok(Vec::new());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 1 {
        create(&tx)?;
    }
    if version == 1 {
        tx.execute_batch(
            "CREATE TABLE daily_v2 (
                day TEXT NOT NULL,
                counter_id INTEGER NOT NULL REFERENCES counters(id) ON DELETE CASCADE,
                hits INTEGER NOT NULL,
                PRIMARY KEY (day, counter_id)
            ) WITHOUT ROWID;
            INSERT INTO daily_v2 (day, counter_id, hits) SELECT day, counter_id, hits FROM daily;
            DROP TABLE daily;
            ALTER TABLE daily_v2 RENAME TO daily;",
        )?;
    }
    if (1..=2).contains(&version) {
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS hit_log (counter_id INTEGER NOT NULL, day TEXT NOT NULL, hits INTEGER NOT NULL);",
        )?;
    }
    if (1..=3).contains(&version) {
        tx.execute_batch(
            "ALTER TABLE counters ADD COLUMN uniques INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE daily ADD COLUMN uniques INTEGER;
             ALTER TABLE hit_log ADD COLUMN uniques INTEGER NOT NULL DEFAULT 0;",
        )?;
    }
    let mut notes = Vec::new();
    match keys {
        Some(keys) if (1..=4).contains(&version) => notes = rekey(&tx, keys)?,
        None if version >= 1 => {
            tx.pragma_update(None, "user_version", WITHOUT_KEY_RULE)?;
            return tx.commit().map(|()| notes);
        }
        _ => {}
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit().map(|()| notes)
}

/// Merges the counters whose keys `keys` makes alike, each logged once.
fn rekey(tx: &Transaction, keys: KeyRule) -> Result<Vec<String>> {
    let all: Vec<String> =
        tx.prepare("SELECT key FROM counters")?.query_map([], |r| r.get(0))?.collect::<Result<_>>()?;
    let mut notes = Vec::new();
    for m in merge::plan(all, keys) {
        if let Some(joined) = super::admin::merge_in(tx, &m.from, &m.into)? {
            super::admin::record_event(tx, Some(&m.from))?;
            super::admin::record_event(tx, Some(&m.into))?;
            notes.push(merge::note(&m, joined));
        }
    }
    Ok(notes)
}

/// Appended to by each flush, folded into `counters` and `daily` by a
/// compaction. No foreign key: a check per appended row would cost a lookup
/// in `counters`, and admin changes fold the log before they delete.
const HIT_LOG: &str = "CREATE TABLE IF NOT EXISTS hit_log (
    counter_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    hits INTEGER NOT NULL,
    uniques INTEGER NOT NULL DEFAULT 0
);";

/// Creates the current schema. Public for the original-database conversion.
pub fn create(conn: &Connection) -> Result<()> {
    conn.execute_batch(HIT_LOG)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS counters (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            uniques INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS daily (
            day TEXT NOT NULL,
            counter_id INTEGER NOT NULL REFERENCES counters(id) ON DELETE CASCADE,
            hits INTEGER NOT NULL,
            uniques INTEGER,
            PRIMARY KEY (day, counter_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS admin_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT,
            at INTEGER NOT NULL
        );",
    )
}
