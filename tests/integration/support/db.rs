//! The tests' own view of the SQLite file (through rusqlite, never the
//! `sqlite3` command): generic queries that find where a counter is stored
//! whatever the schema calls it, and seeding history straight into the
//! tables while no server runs.

use super::process::{run_db, stderr_of};
use chrono::NaiveDate;
use rusqlite::Connection;
use std::path::Path;

/// The first column of every row `sql` returns, as text.
pub fn column(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

/// For every table and TEXT-ish column, the number of rows whose column equals
/// `key`: (table, column, rows).
pub fn rows_with_key(conn: &Connection, key: &str) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    let tables: Vec<String> =
        column(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
    for t in tables {
        let cols: Vec<String> = column(conn, &format!("SELECT name FROM pragma_table_info('{t}')"));
        for c in cols {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM \"{t}\" WHERE CAST(\"{c}\" AS TEXT) = ?1"), [key], |r| {
                    r.get(0)
                })
                .unwrap();
            if n > 0 {
                out.push((t.clone(), c.clone(), n));
            }
        }
    }
    out
}

/// The tables where a row holding `key` also holds the integer `count`
/// somewhere, with the number of rows holding `key` in that table.
pub fn counter_tables(conn: &Connection, key: &str, count: i64) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (t, c, n) in rows_with_key(conn, key) {
        let cols: Vec<String> = column(conn, &format!("SELECT name FROM pragma_table_info('{t}')"));
        let mut holds = false;
        for other in &cols {
            let m: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM \"{t}\" WHERE CAST(\"{c}\" AS TEXT) = ?1 AND \"{other}\" = ?2"),
                    rusqlite::params![key, count],
                    |r| r.get(0),
                )
                .unwrap();
            if m > 0 {
                holds = true;
            }
        }
        if holds {
            out.push((t, n));
        }
    }
    out
}

/// Creates the database with the binary (so the schema is the real one) and
/// opens it. No server may be running on it while the test writes.
pub fn create_db(db: &Path) -> Connection {
    // `set` creates the database (`get` only reads one that exists).
    for args in [&["set", "seed.example/x", "0"][..], &["delete", "seed.example/x"]] {
        let out = run_db(db, args);
        assert!(out.status.success(), "hitcounter {args:?} (creates the db): {}", stderr_of(&out));
    }
    Connection::open(db).expect("open db")
}

/// `YYYY-MM-DD`, as the `daily` table stores a day.
pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Writes a counter (`total`, created at `created_at`, Unix seconds) and one
/// `daily` row per (date, hits) straight into the tables.
pub fn insert_counter(conn: &Connection, key: &str, total: u64, created_at: i64, days: &[(NaiveDate, u64)]) {
    conn.execute(
        "INSERT INTO counters (key, count, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        rusqlite::params![key, total as i64, created_at],
    )
    .expect("insert counter");
    let id = conn.last_insert_rowid();
    for (d, hits) in days {
        conn.execute(
            "INSERT INTO daily (counter_id, day, hits) VALUES (?1, ?2, ?3)",
            rusqlite::params![id, day(*d), *hits as i64],
        )
        .expect("insert daily row");
    }
}
