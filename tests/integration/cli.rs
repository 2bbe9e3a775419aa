//! The command-line contract: --help, exit 2 on bad flags and values, a
//! flag beats its environment variable, defaults, the startup line,
//! per-request log lines and --quiet, SIGTERM and SIGINT exit 0.

use crate::support;

use std::time::Duration;
use support::*;

const FLAGS: &[&str] = &[
    "--listen",
    "--db",
    "--quiet",
    "--cookie-window",
    "--public-url",
    "--flush-interval",
    "--workers",
    "--max-pending",
    "--top-domains",
    "--timezone",
    "--metrics",
    "--metrics-prefix",
    "--trust-proxy",
    "--tls-cert",
    "--tls-key",
    "--enable-ssl",
];
const SUBCOMMANDS: &[&str] = &["serve", "list", "get", "set", "delete", "export", "import", "cgi"];

fn run5(args: &[&str], env: &[(&str, &str)]) -> (std::process::Output, bool) {
    run_env(args, env, Duration::from_secs(5))
}

#[test]
fn help_mentions_every_flag_env_var_and_command() {
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let (out, killed) = run5(args, &[]);
        assert!(!killed, "{args:?} did not exit");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
        let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
        for f in FLAGS {
            assert!(text.contains(f), "{args:?}: help does not mention {f}:\n{text}");
        }
        for e in env_vars() {
            assert!(text.contains(e), "{args:?}: help does not mention {e}:\n{text}");
        }
        if args == ["--help"] {
            for c in SUBCOMMANDS {
                assert!(text.contains(c), "help does not mention the `{c}` command:\n{text}");
            }
            // the documented defaults
            assert!(text.contains("127.0.0.1:8080"), "help should show the default listen address");
            assert!(text.contains("hitcounter.db"), "help should show the default db path");
        }
    }
}

#[test]
fn bad_flags_and_values_exit_2_with_one_line() {
    let dir = tempdir();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let safe = ["--listen", "127.0.0.1:0", "--db", db];
    let with = |v: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        if a.first().map(|s| s.as_str()) == Some("serve") {
            a.extend(safe.iter().map(|s| s.to_string()));
        }
        a
    };
    let cases: Vec<Vec<String>> = vec![
        with(&["--bogus"]),
        with(&["serve", "--bogus"]),
        with(&["serve", "--cookie-window", "abc"]),
        with(&["serve", "--cookie-window", "-1"]),
        with(&["serve", "--flush-interval", "soon"]),
        with(&["serve", "--workers", "many"]),
        with(&["serve", "--max-pending", "lots"]),
        with(&["serve", "--top-domains", "ten"]),
        with(&["serve", "extra-positional-argument"]),
        with(&["frobnicate"]),
        vec!["serve".into(), "--db".into(), db.into(), "--listen".into(), "not-an-address".into()],
        vec!["serve".into(), "--db".into(), db.into(), "--listen".into()],
    ];
    for args in &cases {
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (out, killed) = run5(&a, &[]);
        check_exit2(&out, killed, &format!("{a:?}"));
    }
    let env_cases: &[(&str, &str)] = &[
        ("HITCOUNTER_COOKIE_WINDOW", "abc"),
        ("HITCOUNTER_FLUSH_INTERVAL", "soon"),
        ("HITCOUNTER_LISTEN", "not-an-address"),
        ("NUM_TOP_DOMAINS", "ten"),
    ];
    for (k, v) in env_cases {
        let args: Vec<&str> = if *k == "HITCOUNTER_LISTEN" { vec!["serve", "--db", db] } else { safe_args(&safe) };
        let (out, killed) = run5(&args, &[(k, v)]);
        check_exit2(&out, killed, &format!("{k}={v}"));
    }
}

fn safe_args<'a>(safe: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["serve"];
    a.extend_from_slice(safe);
    a
}

fn check_exit2(out: &std::process::Output, killed: bool, what: &str) {
    assert!(!killed, "{what}: still running after 5 s (should have exited 2)");
    assert_eq!(out.status.code(), Some(2), "{what}: exit code; stderr: {}", stderr_of(out));
    let err = stderr_of(out);
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{what}: stderr must be exactly one line: {err:?}");
    assert!(!lines[0].trim().is_empty(), "{what}: empty error");
    assert!(out.stdout.is_empty(), "{what}: stdout not empty: {}", stdout_of(out));
}

/// `(database: PATH)` from a startup line.
fn startup_line(s: &Server) -> String {
    // the harness records the line just after it reports the address
    wait_log(s, Duration::from_secs(5), |l| l.contains("listening on http://"));
    log_lines(s).into_iter().find(|l| l.contains("listening on http://")).expect("startup line")
}

#[test]
fn startup_line_is_exact() {
    let s = Server::start();
    let line = startup_line(&s);
    // Every log line starts with an RFC 3339 UTC timestamp.
    let (stamp, rest) = line.split_once(' ').expect("timestamp, then the message");
    assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "timestamp: {stamp}");
    assert_eq!(rest, format!("hitcounter listening on http://{} (database: {})", s.addr, s.db.display()));
    let port: u16 = s.addr.strip_prefix("127.0.0.1:").expect("loopback").parse().unwrap();
    assert_ne!(port, 0, "the real port, not 0");
}

#[test]
fn flag_beats_env() {
    let dir = tempdir();
    let env_db = dir.path().join("from-env.db");
    let env_db_s = env_db.to_str().unwrap().to_string();
    let mut s = Server::start_with(Opts {
        args: vec!["--cookie-window", "300"],
        env: vec![
            ("DATABASE_FILE_PATH", env_db_s.as_str()),
            ("HITCOUNTER_DB", env_db_s.as_str()),
            ("HITCOUNTER_LISTEN", "127.0.0.1:1"),
            ("HITCOUNTER_COOKIE_WINDOW", "0"),
        ],
        ..Opts::default()
    });
    assert!(!s.addr.ends_with(":1"), "--listen beats HITCOUNTER_LISTEN: {}", s.addr);
    assert!(startup_line(&s).ends_with(&format!("(database: {})", s.db.display())), "--db beats DATABASE_FILE_PATH");
    let u = uniq_url("flagenv");
    let r = s.get(&format!("/count?url={}", enc(&u)));
    assert_eq!(the_cookie(&r).attrs.get("max-age").map(|x| x.as_str()), Some("300"), "--cookie-window beats env");
    assert_eq!(s.stop().code(), Some(0));
    assert!(!env_db.exists(), "the env db must not be created");
    assert_eq!(get_count(&s.db, &u), 1);
}

#[test]
fn env_vars_alone_configure_serve() {
    // HITCOUNTER_LISTEN + DATABASE_FILE_PATH, no flags at all (no subcommand either)
    let dir = tempdir();
    let db = dir.path().join("sub").join("data.db");
    let mut s = Server::start_with(Opts {
        exact: true,
        env: vec![("HITCOUNTER_LISTEN", "127.0.0.1:0"), ("DATABASE_FILE_PATH", db.to_str().unwrap())],
        db: Some(db.clone()),
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    assert!(startup_line(&s).ends_with(&format!("(database: {})", db.display())), "{}", startup_line(&s));
    let u = uniq_url("envonly");
    assert_eq!(hit(&s, &u), 1);
    assert_eq!(s.stop().code(), Some(0));
    assert!(db.exists(), "DATABASE_FILE_PATH db created (parent dir too)");
    assert_eq!(get_count(&db, &u), 1);

    // HITCOUNTER_DB alias
    let db2 = dir.path().join("alias.db");
    let mut s = Server::start_with(Opts {
        args: vec!["serve", "--listen", "127.0.0.1:0"],
        exact: true,
        env: vec![("HITCOUNTER_DB", db2.to_str().unwrap())],
        db: Some(db2.clone()),
        ..Opts::default()
    });
    assert_eq!(hit(&s, &u), 1);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&db2, &u), 1);
}

#[test]
fn no_subcommand_means_serve() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let mut s = Server::start_with(Opts {
        args: vec!["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()],
        exact: true,
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    assert_eq!(hit(&s, &uniq_url("nosub")), 1);
    assert_eq!(s.stop().code(), Some(0));
}

#[test]
fn default_db_is_hitcounter_db_in_cwd() {
    let dir = tempdir();
    let mut s = Server::start_with(Opts {
        args: vec!["serve", "--listen", "127.0.0.1:0"],
        exact: true,
        cwd: Some(dir.path().to_path_buf()),
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    let line = startup_line(&s);
    let shown = line.rsplit("(database: ").next().unwrap().trim_end_matches(')').to_string();
    let shown = std::path::Path::new(&shown);
    let resolved = if shown.is_absolute() { shown.to_path_buf() } else { dir.path().join(shown) };
    assert_eq!(
        std::fs::canonicalize(&resolved).ok(),
        std::fs::canonicalize(dir.path().join("hitcounter.db")).ok(),
        "default db is ./hitcounter.db: {line}"
    );
    let u = uniq_url("defdb");
    assert_eq!(hit(&s, &u), 1);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(get_count(&dir.path().join("hitcounter.db"), &u), 1);
}

#[test]
fn default_listen_is_127_0_0_1_8080() {
    if std::net::TcpListener::bind("127.0.0.1:8080").is_err() {
        eprintln!("SKIP: 127.0.0.1:8080 is busy on this machine");
        return;
    }
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let mut s = Server::start_with(Opts {
        args: vec!["serve", "--db", db.to_str().unwrap()],
        exact: true,
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    assert_eq!(s.addr, "127.0.0.1:8080");
    assert_eq!(hit(&s, &uniq_url("def8080")), 1);
    assert_eq!(s.stop().code(), Some(0));
}

#[test]
fn one_log_line_per_request() {
    let s = Server::start();
    let u = uniq_url("logline");
    let start = chrono::Utc::now();
    hit(&s, &u);
    s.get("/nope?secret=1");
    s.req("HEAD", &format!("/nocount?url={}", enc(&u)), &[]);
    s.req("POST", &format!("/count?url={}", enc(&u)), &[("Content-Length", "0")]);
    s.get(&format!("/count/tag.svg?url={}", enc(&u)));
    let want = [
        ("GET", "/count", 200u16),
        ("GET", "/nope", 404),
        ("HEAD", "/nocount", 200),
        ("POST", "/count", 405),
        ("GET", "/count/tag.svg", 200),
    ];
    let got = || -> Vec<(String, String, u16)> {
        log_lines(&s).iter().filter_map(|l| parse_request_line(l)).map(|(_, m, p, st, _)| (m, p, st)).collect()
    };
    assert!(eventually(Duration::from_secs(5), || got().len() >= want.len()), "log: {:#?}", log_lines(&s));
    let mut got = got();
    let mut want: Vec<(String, String, u16)> =
        want.iter().map(|(m, p, st)| (m.to_string(), p.to_string(), *st)).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "one line per request, path without query");
    for l in log_lines(&s).iter().filter(|l| is_request_line(l)) {
        let (t, ..) = parse_request_line(l).unwrap();
        let d = (t - start).num_seconds().abs();
        assert!(d < 120, "timestamp {t} far from now ({start}): {l}");
        assert!(!l.contains("secret") && !l.contains(&u), "query leaked into the log: {l}");
    }
}

#[test]
fn quiet_silences_request_lines() {
    for opts in [
        Opts { args: vec!["--quiet"], ..Opts::default() },
        Opts { env: vec![("HITCOUNTER_QUIET", "true")], ..Opts::default() },
    ] {
        let what = format!("{:?} {:?}", opts.args, opts.env);
        let s = Server::start_with(opts);
        let u = uniq_url("quiet");
        hit(&s, &u);
        s.get("/nope");
        peek(&s, &u);
        std::thread::sleep(Duration::from_millis(500));
        let lines = log_lines(&s);
        assert!(lines.iter().all(|l| !is_request_line(l)), "{what}: request lines logged: {lines:#?}");
        assert!(lines.iter().any(|l| l.contains("listening on")), "{what}: startup line still printed");
    }
}

#[test]
fn sigterm_and_sigint_exit_0_with_hits_saved() {
    for sig in [15, 2] {
        let mut s = Server::start();
        let u = uniq_url("sig");
        for _ in 0..25 {
            hit(&s, &u);
        }
        signal(&s.child, sig);
        let st = wait_bounded(&mut s.child, Duration::from_secs(20));
        assert_eq!(st.code(), Some(0), "signal {sig}: exit status {st:?}; log: {}", s.log_text());
        assert_eq!(get_count(&s.db, &u), 25, "signal {sig}: every counted hit is in the db");
    }
}
