//! `hitcounter healthcheck [URL]` (for container health checks) and
//! `--version`.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn healthcheck_exits_0_on_ok_and_1_otherwise() {
    let mut s = Server::start();
    let out = run(&["healthcheck", &format!("http://{}/healthz", s.addr)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).trim(), "ok");
    // Without a URL: the listen address from the environment.
    let (out, _) = run_env(&["healthcheck"], &[("HITCOUNTER_LISTEN", &s.addr)], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    // ... or PORT, as serve reads it.
    let port = s.addr.rsplit(':').next().unwrap().to_string();
    let (out, _) = run_env(&["healthcheck"], &[("PORT", &port)], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "PORT={port}: {}", stderr_of(&out));
    // The wildcard address a container listens on is asked on loopback.
    let (out, _) =
        run_env(&["healthcheck"], &[("HITCOUNTER_LISTEN", &format!("0.0.0.0:{port}"))], Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    // A path that is not /healthz answers 404: not healthy.
    let out = run(&["healthcheck", &format!("http://{}/nope", s.addr)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(s.stop().code(), Some(0));
    let out = run(&["healthcheck", &format!("http://{}/healthz", s.addr)]);
    assert_eq!(out.status.code(), Some(1), "nobody listening");
    assert!(stderr_of(&out).contains("healthcheck"), "{}", stderr_of(&out));
}

#[test]
fn version_names_the_commit_and_features() {
    let out = run(&["--version"]);
    let v = stdout_of(&out);
    assert!(
        v.starts_with("hitcounter ") && v.contains("(commit ") && v.contains("; SQLite 3.") && v.contains("features: "),
        "{v}"
    );
}

#[test]
fn port_from_the_environment_on_loopback_when_no_address_is_given() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let args = vec!["serve", "--db", db.to_str().unwrap()];
    let args: Vec<&'static str> = args.into_iter().map(|a| &*Box::leak(a.to_string().into_boxed_str())).collect();
    let mut s =
        Server::start_with(Opts { args, exact: true, env: vec![("PORT", "0")], dir: Some(dir), ..Opts::default() });
    assert!(s.addr.starts_with("127.0.0.1:"), "loopback: {}", s.addr);
    assert_eq!(s.stop().code(), Some(0));
    let (out, _) = run_env(&["serve", "--db", "/nonexistent/x.db"], &[("PORT", "http")], Duration::from_secs(15));
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("PORT must be a port number"), "{}", stderr_of(&out));
}
