//! Files from elsewhere (a backup, the original's SQL dump, another
//! application's database): a hostile dump is refused with the live
//! database's bytes unchanged and no file made; the original's real dumps
//! restore exactly; triggers and views are refused at restore and at
//! start (and on our tables with `--adopt`); a restore leaves no
//! temporary file and never overwrites an earlier `before-restore` copy;
//! the size limits and a missing folder are one clear line each.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::*;

/// src/limits.rs: MAX_DUMP_BYTES and MAX_RESTORE_BYTES.
const MAX_DUMP_BYTES: u64 = 2 << 30;
const MAX_RESTORE_BYTES: u64 = 16 << 30;

/// Names in a folder.
fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// A database of ours holding one counter, in a folder of its own.
fn live() -> (std::sync::Arc<tempfile::TempDir>, PathBuf) {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    admin_set(&db, "example.com/live", 9);
    (dir, db)
}

/// Runs `restore --force FROM` and returns its one-line refusal, checking
/// that the live database and its folder are exactly as they were.
fn refused(db: &Path, from: &Path) -> String {
    let dir = db.parent().unwrap();
    let (bytes, names) = (std::fs::read(db).unwrap(), listing(dir));
    let out = run_db(db, &["restore", "--force", from.to_str().unwrap()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{}: {err}", from.display());
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(std::fs::read(db).unwrap() == bytes, "the live database's bytes are unchanged: {err}");
    assert_eq!(listing(dir), names, "no file made or left: {err}");
    err
}

const HEAD: &str = "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n\
    CREATE TABLE url (id INTEGER PRIMARY KEY, url VARCHAR(256), count INTEGER);\n\
    INSERT INTO url VALUES(1,'example.com/a',5);\n";

#[test]
fn hostile_dumps_are_refused_and_change_nothing() {
    let (_dir, db) = live();
    let elsewhere = tempdir();
    let planted = elsewhere.path().join("authorized_keys");
    let hostile = [
        (
            format!(
                "{HEAD}INSERT INTO url VALUES(2,'a',5) -- '\n; ATTACH DATABASE '{}' AS p; CREATE TABLE p.k(x); \
                 INSERT INTO p.k VALUES(1); -- '\nCOMMIT;\n",
                planted.display()
            ),
            "statement 6 (line 6) is refused: ATTACH DATABASE",
        ),
        (
            format!(
                "{HEAD}CREATE TABLE pad AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c \
                 LIMIT 10000000) SELECT randomblob(100) FROM c;\nCOMMIT;\n"
            ),
            "statement 5 (line 5) is refused: it creates table pad",
        ),
        (
            format!(
                "{HEAD}CREATE TRIGGER t AFTER INSERT ON url BEGIN INSERT INTO url VALUES(NULL,'x',1); END;\nCOMMIT;\n"
            ),
            "statement 5 (line 5) is refused: CREATE TRIGGER T",
        ),
        (
            format!("{HEAD}CREATE VIEW v AS SELECT * FROM url;\nCOMMIT;\n"),
            "statement 5 (line 5) is refused: CREATE VIEW V",
        ),
        (
            format!("{HEAD}INSERT INTO url VALUES(2,'{}',5);\nCOMMIT;\n", "x".repeat(300_000)),
            "statement 5 (line 5) is refused: it is longer than 65536 bytes",
        ),
        (
            "Dear admin,\nhere is the old hit counter's data; enjoy.\n".to_string(),
            "neither a SQLite database nor an SQL dump",
        ),
    ];
    for (i, (sql, says)) in hostile.iter().enumerate() {
        let dump = elsewhere.path().join(format!("hostile-{i}.bak"));
        std::fs::write(&dump, sql).unwrap();
        let err = refused(&db, &dump);
        assert!(err.contains(says), "{says}: {err}");
        assert!(err.len() < 300, "the statement is not echoed: {err}");
        assert!(!err.contains("statement 1 "), "{err}");
    }
    assert!(!planted.exists(), "ATTACH made no file");
    assert_eq!(get_count(&db, "example.com/live"), 9);
}

/// The original's table in both of its shapes, with the duplicate rows of
/// its racy insert, NULLs, odd case, a line break and an overlong URL.
fn original_db(path: &Path, create: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(create).unwrap();
    let long = format!("example.com/{}", "l".repeat(3000));
    let rows: [(Option<&str>, Option<i64>); 10] = [
        (Some("github.com/me/repo"), Some(40)),
        (Some("github.com/me/repo"), Some(42)),
        (Some("GitHub.com/me/repo"), Some(3)),
        (Some("blog.example/post;1"), Some(7)),
        (Some("it's.example/a'b"), Some(2)),
        (Some("line.example/a\nb"), Some(1)),
        (None, Some(5)),
        (Some("null-count.example/x"), None),
        (Some("neg.example/x"), Some(-4)),
        (Some(&long), Some(6)),
    ];
    for (url, count) in rows {
        conn.execute("INSERT INTO url (url, count) VALUES (?1, ?2)", rusqlite::params![url, count]).unwrap();
    }
}

/// Counters as `hitcounter list` shows them.
fn counters(db: &Path) -> Vec<String> {
    let out = run_db(db, &["list"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn the_originals_real_dumps_restore_exactly() {
    let sqlite3 = need("sqlite3", "sqlite3");
    let shapes = [
        "CREATE TABLE url (id INTEGER PRIMARY KEY, url VARCHAR(256), count INTEGER);",
        "CREATE TABLE url (\n\tid INTEGER NOT NULL, \n\turl VARCHAR(1024), \n\tcount INTEGER, \n\tPRIMARY KEY (id)\n);",
    ];
    for create in shapes {
        let dir = tempdir();
        let original = dir.path().join("data.db");
        original_db(&original, create);
        let dump = std::process::Command::new(&sqlite3).arg(&original).arg(".dump").output().unwrap();
        assert!(dump.status.success());
        let bak = dir.path().join("latest.bak");
        std::fs::write(&bak, &dump.stdout).unwrap();

        // What converting the same file in place gives is what the dump
        // must give.
        let migrated = dir.path().join("migrated.db");
        std::fs::copy(&original, &migrated).unwrap();
        assert!(run_db(&migrated, &["migrate"]).status.success());
        let restored = dir.path().join("restored.db");
        let out = run_db(&restored, &["restore", bak.to_str().unwrap()]);
        let err = stderr_of(&out);
        assert!(out.status.success(), "{create}: {err}");
        assert!(err.contains("row id 10: the URL is longer than 2048 bytes"), "{err}");
        assert!(err.contains("row id 7: the URL is NULL"), "{err}");
        let got = counters(&restored);
        assert_eq!(got, counters(&migrated), "{create}");
        assert_eq!(get_count(&restored, "github.com/me/repo"), 45, "duplicates by max, odd case summed");
        assert_eq!(get_count(&restored, "blog.example/post;1"), 7);
        assert_eq!(get_count(&restored, "it's.example/a'b"), 2);
    }
}

/// A database of ours to which `sql` added something foreign.
fn ours_with(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let db = dir.join(name);
    admin_set(&db, "example.com/a", 3);
    rusqlite::Connection::open(&db).unwrap().execute_batch(sql).unwrap();
    db
}

#[test]
fn triggers_and_views_are_refused_at_restore_and_at_start() {
    let (_dir, db) = live();
    let other = tempdir();
    let cases = [
        (
            "CREATE TRIGGER boom AFTER INSERT ON hit_log BEGIN INSERT INTO hit_log SELECT * FROM hit_log; END;",
            "trigger `boom` on `hit_log`",
        ),
        ("CREATE VIEW peek AS SELECT key FROM counters;", "view `peek`"),
    ];
    for (i, (sql, says)) in cases.iter().enumerate() {
        let bad = ours_with(other.path(), &format!("bad-{i}.db"), sql);
        let err = refused(&db, &bad);
        assert!(err.contains(says) && err.contains("not a usable snapshot"), "{err}");
        let out = run(&["serve", "--listen", "127.0.0.1:0", "--db", bad.to_str().unwrap()]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says) && err.trim_end().lines().count() == 1, "{err}");
    }
    // The original's file is looked at before it is converted.
    let original = other.path().join("data.db");
    original_db(&original, "CREATE TABLE url (id INTEGER PRIMARY KEY, url TEXT, count INTEGER);");
    rusqlite::Connection::open(&original)
        .unwrap()
        .execute_batch("CREATE TRIGGER t2 BEFORE DELETE ON url BEGIN SELECT RAISE(ABORT, 'no'); END;")
        .unwrap();
    let out = run_db(&original, &["migrate"]);
    let err = stderr_of(&out);
    assert!(out.status.code() == Some(1) && err.contains("trigger `t2` on `url`"), "{err}");
}

#[test]
fn adopt_leaves_foreign_tables_alone_but_refuses_triggers_on_ours() {
    let dir = tempdir();
    let db = dir.path().join("app.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TRIGGER users_log AFTER INSERT ON users BEGIN SELECT 1; END;
             CREATE VIEW names AS SELECT name FROM users;",
        )
        .unwrap();
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--adopt"];
        args.extend_from_slice(extra);
        Server::try_start(Opts { args, exact: true, ..Opts::default() })
    };
    let mut s = serve(&[]).unwrap_or_else(|(log, st)| panic!("--adopt: no start ({st:?}): {log:?}"));
    assert_eq!(hit(&s, "example.com/adopted"), 1);
    assert!(s.stop().success());
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER more AFTER UPDATE ON counters BEGIN UPDATE counters SET count = count + 1000; END;",
        )
        .unwrap();
    let out = run(&["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--adopt"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("trigger `more` on `counters`") && !err.contains("users_log"), "{err}");
}

#[test]
fn restore_leaves_no_temporary_file_and_keeps_every_replaced_database() {
    let (dir, db) = live();
    let snap = dir.path().join("snap.db");
    let out = run_db(&db, &["backup", snap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    admin_set(&db, "example.com/live", 10);
    for _ in 0..2 {
        let out = run_db(&db, &["restore", "--force", snap.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let names: Vec<String> = listing(dir.path()).into_iter().collect();
    assert_eq!(
        names,
        ["hitcounter.db", "hitcounter.db.before-restore", "hitcounter.db.before-restore.2", "snap.db"],
        "no temporary file is left"
    );
    assert_eq!(get_count(&dir.path().join("hitcounter.db.before-restore"), "example.com/live"), 10);
    assert_eq!(get_count(&dir.path().join("hitcounter.db.before-restore.2"), "example.com/live"), 9);
    assert_eq!(get_count(&db, "example.com/live"), 9);
}

#[test]
fn oversized_backups_and_missing_folders_are_one_clear_line() {
    let (_dir, db) = live();
    let other = tempdir();
    // Sparse files: their size is all that is looked at.
    let dump = other.path().join("huge.bak");
    let f = std::fs::File::create(&dump).unwrap();
    f.set_len(MAX_DUMP_BYTES + 1).unwrap();
    let err = refused(&db, &dump);
    assert!(err.contains(&format!("more than an SQL dump may be ({MAX_DUMP_BYTES} bytes)")), "{err}");
    let file = other.path().join("huge.db");
    std::fs::write(&file, b"SQLite format 3\0").unwrap();
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(MAX_RESTORE_BYTES + 1).unwrap();
    let err = refused(&db, &file);
    assert!(err.contains(&format!("more than an SQLite backup may be ({MAX_RESTORE_BYTES} bytes)")), "{err}");
    let missing = format!("{}/", other.path().join("no-such-folder").display());
    let err = refused(&db, Path::new(&missing));
    assert!(err.contains("does not exist") && err.contains("no-such-folder"), "{err}");
}
