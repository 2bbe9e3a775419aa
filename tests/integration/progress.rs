//! Progress of long admin work: under a pseudo-terminal (util-linux's
//! `script`), `import`, `export` (to a file), `migrate`, `copy`, `backup`
//! and `restore` draw their steps and end with a summary saying how long
//! they took; in a pipe they print only their usual lines, with no
//! terminal codes and no timing.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::*;

/// A database of the original service with two rows (rollback journal, so
/// `migrate` has nothing to warn about).
fn original(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE url (id INTEGER PRIMARY KEY, url VARCHAR(256), count INTEGER);
         INSERT INTO url (url, count) VALUES ('example.com/a', 3), ('example.com/b', 4);",
    )
    .unwrap();
}

/// One command as a shell command line, the summary it ends with on a
/// terminal, and what it says in a pipe (empty: nothing).
struct Case {
    line: String,
    summary: String,
    piped: String,
}

/// The six commands over files in `dir`, in an order where each has what
/// it needs.
fn commands(dir: &Path) -> Vec<Case> {
    let p = |name: &str| dir.join(name).display().to_string();
    let csv = p("counts.csv");
    let rows: String = (0..500).map(|i| format!("example.com/{i},{i}\n")).collect();
    std::fs::write(&csv, format!("url,count\n{rows}")).unwrap();
    original(&dir.join("data.db"));
    let (db, copy, snap, back) = (p("a.db"), p("b.db"), p("snap.db"), p("restored.db"));
    let case = |line: String, summary: String, piped: &str| {
        let piped = if piped == "=" { summary.clone() } else { piped.to_string() };
        Case { line, summary, piped }
    };
    vec![
        case(format!("{BIN} import {csv} --db {db}"), format!("imported 500 counters from {csv}"), "="),
        case(format!("{BIN} export --db {db} > {}", p("out.csv")), "exported 500 counters".into(), ""),
        case(
            format!("{BIN} migrate --db {}", p("data.db")),
            format!("converted {}", p("data.db")),
            "2 rows of the original became 2 counters",
        ),
        case(format!("{BIN} copy --from {db} --to {copy}"), "copied 500 counters (124750 hits".into(), "="),
        case(format!("{BIN} backup {snap} --db {db}"), "backed up 500 counters".into(), "="),
        case(
            format!("{BIN} restore {snap} --db {back}"),
            format!("restored 500 counters from {snap} into {back}"),
            "=",
        ),
    ]
}

/// `line` run by `sh -c` with the harness's variables cleared, stdout and
/// stderr on a pseudo-terminal when `tty`, else on pipes; everything the
/// command wrote, both streams.
fn sh(line: &str, tty: bool) -> String {
    let mut cmd = if tty {
        let mut c = Command::new(need("script", "bsdutils"));
        c.args(["-qec", line, "/dev/null"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", line]);
        c
    };
    clear_env(&mut cmd).env("TERM", "xterm").env("SHELL", "/bin/sh");
    let (out, killed): (Output, bool) = run_bounded(cmd, Duration::from_secs(60));
    assert!(!killed, "{line} still running after 60 s");
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(out.status.success(), "{line}:\n{text}");
    text
}

/// "... (0.3 s)" (or "(2 min 05 s)") at the end of `line`.
fn ends_with_time(line: &str) -> bool {
    let Some((_, took)) = line.trim_end().rsplit_once(" (") else { return false };
    took.ends_with(" s)") && took.chars().next().is_some_and(|c| c.is_ascii_digit())
}

#[test]
fn on_a_terminal_long_work_shows_progress_and_how_long_it_took() {
    let dir = tempdir();
    for Case { line, summary, .. } in commands(dir.path()) {
        let shown = sh(&line, true);
        let summary_line = shown
            .split(['\r', '\n'])
            .find(|l| l.contains(&summary))
            .unwrap_or_else(|| panic!("{line}: no {summary:?} in {shown:?}"));
        assert!(ends_with_time(summary_line), "{line}: no elapsed time in {summary_line:?}");
        // A bar or spinner was drawn, then cleared (a terminal control
        // sequence), before the summary.
        let before = &shown[..shown.find(&summary).unwrap()];
        assert!(before.contains('\u{1b}'), "{line}: nothing drawn before the summary: {shown:?}");
    }
    let exported = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(exported.lines().count(), 501, "the export itself is whole");
    assert!(!exported.contains('\u{1b}'), "no drawing in the exported file");
}

#[test]
fn in_a_pipe_only_the_usual_lines() {
    let dir = tempdir();
    for Case { line, piped, .. } in commands(dir.path()) {
        let said = sh(&line, false);
        assert!(!said.contains('\u{1b}') && !said.contains('\r'), "{line}: terminal codes in a pipe: {said:?}");
        assert!(said.lines().all(|l| !ends_with_time(l)), "{line}: timing in a pipe: {said:?}");
        if piped.is_empty() {
            assert_eq!(said, "", "{line}: nothing beside its data in a pipe");
        } else {
            assert!(said.contains(&piped), "{line}: no {piped:?} in {said:?}");
        }
    }
}

/// The stdin of `import -` has no known size: the bytes read so far, then
/// the summary, on a terminal.
#[test]
fn import_from_standard_input_on_a_terminal() {
    let dir = tempdir();
    let csv: PathBuf = dir.path().join("in.csv");
    std::fs::write(&csv, "url,count\nexample.com/x,5\n").unwrap();
    let db = dir.path().join("s.db");
    let shown = sh(&format!("{BIN} import - --db {} < {}", db.display(), csv.display()), true);
    let summary = shown.split(['\r', '\n']).find(|l| l.contains("imported 1 counter from -"));
    assert!(summary.is_some_and(ends_with_time), "{shown:?}");
    assert_eq!(get_count(&db, "example.com/x"), 5);
}
