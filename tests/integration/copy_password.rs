//! `copy` to and from a PostgreSQL role that needs a password, given with
//! `--db-password-file` for whichever side is the `postgres://` URL: the
//! counts arrive, a missing or wrong password is one clear error, and the
//! flag is refused where no side is PostgreSQL.
#![cfg(feature = "postgres")]

use crate::support;

use std::time::Duration;

use support::postgres::Postgres;
use support::*;

/// `hitcounter ARGS` with no PGPASSWORD in its environment.
fn copy(args: &[&str]) -> std::process::Output {
    let mut all = vec!["copy"];
    all.extend_from_slice(args);
    let (out, killed) = run_env(&all, &[], Duration::from_secs(60));
    assert!(!killed, "copy {args:?} still running after 60 s");
    out
}

#[test]
fn a_password_file_serves_the_postgres_side_of_a_copy() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempdir();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let (a_path, b_path) = (a.to_str().unwrap(), b.to_str().unwrap());
    admin_set(&a, "e.com/x", 30);
    admin_set(&a, "e.com/y", 7);
    let url = pg.password_role("counter", "s3cret pw", "hits");
    let (right, wrong) = (dir.path().join("pw"), dir.path().join("wrong"));
    std::fs::write(&right, "s3cret pw\n").unwrap();
    std::fs::write(&wrong, "guess\n").unwrap();

    let without = copy(&["--from", a_path, "--to", &url]);
    assert_eq!(without.status.code(), Some(1), "{}", stderr_of(&without));
    let refused = copy(&["--from", a_path, "--to", &url, "--db-password-file", wrong.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr_of(&refused));
    for out in [&without, &refused] {
        let err = stderr_of(out);
        assert!(err.contains("password") && err.lines().count() == 1, "one line naming the password: {err}");
        assert!(!err.contains("s3cret") && !err.contains("guess"), "no password shown: {err}");
    }

    let to = copy(&["--from", a_path, "--to", &url, "--db-password-file", right.to_str().unwrap()]);
    assert!(to.status.success(), "{}", stderr_of(&to));
    assert_eq!(pg.number("hits", "SELECT SUM(count) FROM counters"), 37);
    let back = copy(&["--db-password-file", right.to_str().unwrap(), "--from", &url, "--to", b_path]);
    assert!(back.status.success(), "{}", stderr_of(&back));
    assert_eq!(get_count(&b, "e.com/x"), 30);
    assert_eq!(get_count(&b, "e.com/y"), 7);
}

#[test]
fn a_password_file_without_a_postgres_side_is_refused() {
    let dir = tempdir();
    let a = dir.path().join("a.db");
    admin_set(&a, "e.com/x", 1);
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "x\n").unwrap();
    let b = dir.path().join("b.db");
    let out =
        copy(&["--from", a.to_str().unwrap(), "--to", b.to_str().unwrap(), "--db-password-file", pw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("neither --from nor --to"), "{}", stderr_of(&out));
    assert!(!b.exists(), "nothing written");
}

#[test]
fn help_copy_says_how_each_side_gives_its_password() {
    let out = run(&["help", "copy"]);
    let text = stdout_of(&out).split_whitespace().collect::<Vec<_>>().join(" ");
    for said in ["--db-password-file", "whichever side is a postgres:// URL", "PGPASSWORD", "in its URL"] {
        assert!(text.contains(said), "help copy should say {said:?}:\n{text}");
    }
}
