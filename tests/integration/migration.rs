//! Migration from the original service's database: a backup copy,
//! duplicates merged by max, keys normalised (collisions summed), every old
//! embed keeps its number, the log says what happened.

use crate::support;

use std::path::Path;
use support::*;

/// Rows as the original stored them (key = netloc + path, never normalised;
/// duplicate rows from its racy first-hit insert).
const ORIGINAL_ROWS: &[(&str, i64)] = &[
    ("example.com/a", 10),
    ("example.com/a", 7),
    ("example.com/a", 10),
    ("Example.com/b", 3),
    ("example.com/b", 4),
    ("example.com/b", 4),
    ("example.com:80/c", 5),
    ("example.com/c", 6),
    ("EXAMPLE.COM:443/c", 20),
    ("user:pw@example.com/d", 12),
    ("www.example.com/a", 100),
    ("www.example.com/a", 99),
    ("example.com/a/", 50),
    ("example.com:8080/e", 9),
    ("example.com", 1),
    ("other.org/x/y", 998),
    ("other.org/x/y", 1000),
    ("other.org/x/y", 999),
];

/// Expected counters after migration, biggest first.
fn expected() -> Vec<(u64, String)> {
    [
        (1000, "other.org/x/y"),
        (100, "www.example.com/a"),
        (50, "example.com/a/"),
        (31, "example.com/c"),
        (12, "example.com/d"),
        (10, "example.com/a"),
        (9, "example.com:8080/e"),
        (7, "example.com/b"),
        (1, "example.com"),
    ]
    .iter()
    .map(|(c, k)| (*c, k.to_string()))
    .collect()
}

/// Old embeds (as users wrote them in their pages) and the number each showed.
const OLD_EMBEDS: &[(&str, u64)] = &[
    ("https://example.com/a", 10),
    ("https://example.com/a?utm=x#top", 10),
    ("https://Example.com/b", 7),
    ("example.com/b", 7),
    ("http://example.com:80/c", 31),
    ("https://EXAMPLE.COM:443/c", 31),
    ("https://user:pw@example.com/d", 12),
    ("https://www.example.com/a", 100),
    ("https://example.com/a/", 50),
    ("http://example.com:8080/e", 9),
    ("https://example.com", 1),
    ("https://other.org/x/y", 1000),
];

fn make_original(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url VARCHAR(256), count INTEGER);").unwrap();
    for (u, c) in ORIGINAL_ROWS {
        conn.execute("INSERT INTO url (url, count) VALUES (?1, ?2)", rusqlite::params![u, c]).unwrap();
    }
    drop(conn); // checkpoints and removes the -wal file
    assert!(!path.with_extension("db-wal").exists());
}

fn bak_of(db: &Path) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".pre-hitcounter.bak");
    s.into()
}

/// The backup holds exactly the original table and rows (a byte copy or a
/// consistent copy such as `VACUUM INTO` both qualify).
fn assert_original(bak: &Path) {
    let conn = rusqlite::Connection::open_with_flags(bak, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("backup {} does not open: {e}", bak.display()));
    let tables = support::column(&conn, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
    assert_eq!(tables, vec!["url".to_string()], "the backup is the original schema");
    let rows: Vec<(i64, String, i64)> = conn
        .prepare("SELECT id, url, count FROM url ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let want: Vec<(i64, String, i64)> =
        ORIGINAL_ROWS.iter().enumerate().map(|(i, (u, c))| (i as i64 + 1, u.to_string(), *c)).collect();
    assert_eq!(rows, want, "the backup holds the original rows, duplicates included");
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 0, "the backup is untouched (user_version 0)");
}

fn check_migrated(s: &Server, original: &[u8], db: &Path) {
    let bak = bak_of(db);
    assert!(bak.exists(), "{} missing", bak.display());
    assert_original(&bak);
    let _ = original;
    // "It logs what it did": a line saying it converted/migrated the db and
    // where the copy is
    let log = s.log_text();
    assert!(
        log.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            (l.contains("migrat") || l.contains("convert")) && l.contains(".pre-hitcounter.bak")
        }),
        "the log should say the db was converted and where the copy is:\n{log}"
    );
    for (embed, n) in OLD_EMBEDS {
        assert_eq!(peek(s, embed), *n, "old embed {embed}");
        let r = s.get(&format!("/nocount/tag.svg?url={}", enc(embed)));
        assert_eq!(parse_svg(&r.text()).title, Some(format!("hits: {n}")), "old badge {embed}");
    }
    // embeds that relied on the Referer
    let r = s.get_h("/nocount", &[("Referer", "https://www.example.com/a")]);
    assert_eq!(r.text(), "100");
    let r = s.get_h("/nocount/tag.svg", &[("Referer", "https://other.org/x/y?page=2")]);
    assert_eq!(parse_svg(&r.text()).title.as_deref(), Some("hits: 1000"));
}

#[test]
fn migrates_an_original_database_in_place() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    make_original(&db);
    let original = std::fs::read(&db).unwrap();

    let mut s = Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    check_migrated(&s, &original, &db);
    assert_eq!(hit(&s, "https://example.com/a"), 11, "counting continues from the migrated number");
    assert_eq!(s.stop().code(), Some(0));

    let mut want = expected();
    want.iter_mut().for_each(|(c, k)| {
        if k == "example.com/a" {
            *c = 11;
        }
    });
    assert_eq!(admin_list(&db, &[]), want, "one counter per key, merged as specified");

    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert!(v >= 1, "versioned schema: user_version = {v}");
        // one row per key in whatever table holds the counters
        for (c, k) in &want {
            let tables = counter_tables(&conn, k, *c as i64);
            assert!(!tables.is_empty(), "no table holds {k} = {c}");
            for (t, n) in tables {
                assert_eq!(n, 1, "{k}: {n} rows in {t}");
            }
        }
    }

    // a second start does not migrate again, and keeps the first backup
    let bak_bytes = std::fs::read(bak_of(&db)).unwrap();
    let s = Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    assert_eq!(peek(&s, "https://example.com/a"), 11);
    assert_eq!(peek(&s, "https://other.org/x/y"), 1000);
    assert!(std::fs::read(bak_of(&db)).unwrap() == bak_bytes, "the backup was rewritten on restart");
    let baks: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bak"))
        .collect();
    assert_eq!(baks.len(), 1, "a second start made another backup: {baks:?}");
    let _ = original;
}

#[test]
fn drop_in_with_data_db_via_database_file_path() {
    let dir = tempdir();
    let db = dir.path().join("data.db");
    make_original(&db);
    let original = std::fs::read(&db).unwrap();
    let mut s = Server::start_with(Opts {
        args: vec!["serve", "--listen", "127.0.0.1:0"],
        exact: true,
        env: vec![("DATABASE_FILE_PATH", db.to_str().unwrap())],
        db: Some(db.clone()),
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    check_migrated(&s, &original, &db);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(admin_list(&db, &[]), expected());
}

#[test]
fn admin_export_of_a_migrated_db_matches() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    make_original(&db);
    let mut s = Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    assert_eq!(s.stop().code(), Some(0));
    let j: serde_json::Value = serde_json::from_str(&admin_ok(&db, &["export", "--format", "json"])).unwrap();
    let mut got: Vec<(u64, String)> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["count"].as_u64().unwrap(), o["url"].as_str().unwrap().to_string()))
        .collect();
    got.sort_by(|a, b| b.cmp(a));
    let mut want = expected();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(got, want);
}

/// The original's `data.db` copied while it ran (its latest rows still in
/// `data.db-wal`): without the `-wal`, `migrate` converts what the file
/// holds and warns, in one line, that recent hits may be missing; with it,
/// every row arrives and nothing is said.
#[test]
fn migrate_warns_when_the_originals_wal_was_left_behind() {
    let dir = tempdir();
    let live = dir.path().join("data.db");
    let conn = rusqlite::Connection::open(&live).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch("CREATE TABLE url (id INTEGER PRIMARY KEY, url VARCHAR(256), count INTEGER);").unwrap();
    let insert = |(u, c): &(&str, i64)| {
        conn.execute("INSERT INTO url (url, count) VALUES (?1, ?2)", rusqlite::params![u, c]).unwrap();
    };
    insert(&ORIGINAL_ROWS[0]);
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    conn.execute_batch("PRAGMA wal_autocheckpoint=0;").unwrap();
    ORIGINAL_ROWS[1..].iter().for_each(insert);
    let (alone, with_wal) = (dir.path().join("alone"), dir.path().join("with-wal"));
    for (to, files) in [(&alone, &["data.db"][..]), (&with_wal, &["data.db", "data.db-wal"])] {
        std::fs::create_dir(to).unwrap();
        for f in files {
            std::fs::copy(dir.path().join(f), to.join(f)).unwrap();
        }
    }
    drop(conn);

    let db = alone.join("data.db");
    for args in [&["migrate", "--dry-run"][..], &["migrate"]] {
        let out = run_db(&db, args);
        assert!(out.status.success(), "{}", stderr_of(&out));
        let warnings: Vec<String> =
            stderr_of(&out).lines().filter(|l| l.contains("warning")).map(String::from).collect();
        assert_eq!(warnings.len(), 1, "{args:?}: {}", stderr_of(&out));
        for said in ["WAL", "data.db-wal", "may be missing", "stop the original"] {
            assert!(warnings[0].contains(said), "{said:?}: {}", warnings[0]);
        }
    }
    assert_eq!(admin_list(&db, &[]), [(10, "example.com/a".to_string())], "only the checkpointed row");

    let db = with_wal.join("data.db");
    let out = run_db(&db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
    assert_eq!(admin_list(&db, &[]), expected());
}
