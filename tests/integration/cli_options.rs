//! The table-driven command line, through the real binary: unknown
//! config-file keys are a one-line error (exit 2), every command has its own
//! `--help` page listing only its options, `hitcounter --help` names every
//! flag and environment variable of the option table, and `migrate` is
//! dispatched. Self-contained: each run gets an empty environment (plus
//! PATH and HOME) and its own config file, so nothing leaks in.

use crate::support::option_table_entries;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hitcounter");

/// Runs `hitcounter ARGS` with `config` as its config file; kills it after 10 s.
fn run(dir: &Path, args: &[&str], config: &str) -> Output {
    let file = dir.join("hitcounter.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().env("HITCOUNTER_CONFIG", &file).current_dir(dir);
    for var in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("{args:?} still running after 10 s: {:?}", child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, nothing on stdout, one line on stderr; returns the line.
fn usage_error(out: &Output, what: &str) -> String {
    assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
    assert!(out.stdout.is_empty(), "{what}: stdout {:?}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err:?}");
    err.trim_end().to_string()
}

#[test]
fn an_unknown_config_key_is_one_line_naming_it_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hitcounter.toml");
    let config = "# settings\n[hitcounter]\ndb = \"x.db\"\ncookie-windw = 60\n";
    for args in [&["serve", "--listen", "127.0.0.1:0"][..], &["list"], &["--help"]] {
        let line = usage_error(&run(dir.path(), args, config), &format!("{args:?}"));
        for part in ["cookie-windw", "line 4", &file.display().to_string()] {
            assert!(line.contains(part), "{args:?}: {line:?} lacks {part:?}");
        }
    }
    for config in ["HITCOUNTER_CONFIG = other.toml\n", "GATEWAY_INTERFACE = CGI/1.1\n", "top = 3\n"] {
        let name = config.split(' ').next().unwrap();
        let line = usage_error(&run(dir.path(), &["list"], config), config);
        assert!(line.contains(name) && line.contains("line 1"), "{line:?}");
    }
}

#[test]
fn config_keys_reach_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.db");
    for config in [format!("db = \"{}\"\n", db.display()), format!("hitcounter_db = {}\n", db.display())] {
        let out = run(dir.path(), &["set", "example.com/a", "5"], &config);
        assert!(out.status.success(), "{config}: {out:?}");
        let out = run(dir.path(), &["get", "example.com/a"], &config);
        assert_eq!((out.status.code(), stdout(&out).trim()), (Some(0), "5"), "{config}: {out:?}");
    }
    // a bad value from the file is reported like one from the environment
    let line = usage_error(&run(dir.path(), &["serve"], "workers = many\n"), "workers = many");
    assert!(line.contains("HITCOUNTER_WORKERS"), "{line}");
}

#[test]
fn command_help_shows_its_usage_and_only_its_options() {
    let dir = tempfile::tempdir().unwrap();
    // arguments, usage line, options shown, options not shown
    type Case = (&'static [&'static str], &'static str, &'static [&'static str], &'static [&'static str]);
    let cases: &[Case] = &[
        (&["list", "--help"], "hitcounter list [--top N]", &["--top N", "--db PATH"], &["--listen", "--format"]),
        (&["help", "export"], "hitcounter export [--format csv|json]", &["--format", "--db"], &["--listen", "--top"]),
        (&["help", "migrate"], "hitcounter migrate [--dry-run]", &["--dry-run", "--db"], &["--listen", "--top"]),
        (&["get", "-h"], "hitcounter get URL", &["--db", "DATABASE_FILE_PATH"], &["--listen", "--top"]),
        (
            &["serve", "--help"],
            "hitcounter serve [OPTIONS]",
            &["--listen", "--quiet"],
            &["--top N", "--format", "--dry-run"],
        ),
    ];
    for (args, usage, has, lacks) in cases {
        let out = run(dir.path(), args, "");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(usage), "{args:?} lacks {usage:?}:\n{text}");
        for flag in *has {
            assert!(text.contains(flag), "{args:?} lacks {flag}:\n{text}");
        }
        for flag in *lacks {
            assert!(!text.contains(flag), "{args:?} mentions {flag}:\n{text}");
        }
    }
    let line = usage_error(&run(dir.path(), &["help", "frobnicate"], ""), "help frobnicate");
    assert!(line.contains("frobnicate"), "{line}");
}

#[test]
fn overview_help_names_every_table_entry() {
    let flags = option_table_entries("flag:");
    let vars = option_table_entries("env:");
    for known in ["listen", "db", "quiet", "top", "format", "dry-run"] {
        assert!(flags.contains(&known), "read the table: {flags:?}");
    }
    for known in ["DATABASE_FILE_PATH", "HITCOUNTER_DB", "NUM_TOP_DOMAINS", "EXPOSE_METRICS", "METRICS_PREFIX"] {
        assert!(vars.contains(&known), "read the table: {vars:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    for flag in &flags {
        assert!(text.contains(&format!("--{flag}")), "--help lacks --{flag}:\n{text}");
    }
    for var in vars.iter().chain(&["HITCOUNTER_CONFIG", "GATEWAY_INTERFACE"]) {
        assert!(text.contains(var), "--help lacks {var}:\n{text}");
    }
    for command in ["serve", "list", "get", "set", "delete", "export", "import", "migrate", "cgi", "help"] {
        assert!(text.contains(&format!("hitcounter {command}")) || command == "serve", "--help lacks {command}");
    }
    assert!(text.contains("only\nread the database"), "the read-only commands are named:\n{text}");
    assert!(text.lines().all(|l| l.len() <= 80), "lines fit 80 columns");
}

#[test]
fn migrate_is_dispatched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hitcounter.db");
    let db = db.to_str().unwrap();
    let out = run(dir.path(), &["migrate", "--dry-run", "--db", db], "");
    assert_eq!(out.status.code(), Some(1), "a missing database: {out:?}");
    assert!(stderr(&out).contains("no database"), "{}", stderr(&out));
    assert!(run(dir.path(), &["set", "example.com/a", "1", "--db", db], "").status.success());
    for args in [&["migrate", "--dry-run", "--db", db][..], &["migrate", "--db", db]] {
        let out = run(dir.path(), args, "");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(stdout(&out).contains("nothing to convert"), "{args:?}: {}", stdout(&out));
    }
    let line = usage_error(&run(dir.path(), &["list", "--dry-run"], ""), "list --dry-run");
    assert!(line.contains("--dry-run"), "{line}");
}

#[test]
fn under_a_web_server_a_config_error_is_a_500_page_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hitcounter.toml");
    std::fs::write(&file, "cookie-windw = 60\n").unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("HITCOUNTER_CONFIG", &file)
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "GET")
        .env("PATH_INFO", "/count")
        .env("QUERY_STRING", "url=example.com")
        .output()
        .unwrap();
    let page = stdout(&out);
    assert!(page.starts_with("Status: 500 "), "{page}");
    assert!(page.contains("cookie-windw"), "the visitor's page names the key: {page}");
    assert!(stderr(&out).contains("cookie-windw"), "and the web server's log too");
    assert_eq!(out.status.code(), Some(1));
}
