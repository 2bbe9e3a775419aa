//! The server never goes deaf while still running. Under a low `ulimit -n`,
//! held idle connections exhaust the descriptors; the process must then log
//! why and exit non-zero (or, if it can keep accepting, keep serving). It
//! must also raise its soft limit to the hard limit at start.

use crate::support;

use std::net::TcpStream;
use std::time::Duration;
use support::*;

fn serve_under(prefix: &str) -> Server {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    Server::start_with(Opts {
        args: vec!["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--quiet"],
        exact: true,
        sh_prefix: Some(prefix),
        dir: Some(dir.clone()),
        ..Opts::default()
    })
}

/// (soft, hard) "Max open files" of a process.
fn nofile(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("/proc/PID/limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("Max open files line");
    let f: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    (f[0].to_string(), f[1].to_string())
}

fn hard_nofile_of_tests() -> u64 {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
    }
    r.rlim_max
}

/// Opens up to `max` idle connections (bounded by a connect timeout),
/// stopping early if the server exits.
fn hold_connections(s: &mut Server, max: usize) -> Vec<TcpStream> {
    let sa: std::net::SocketAddr = s.addr.parse().unwrap();
    let mut held = Vec::new();
    for i in 0..max {
        match TcpStream::connect_timeout(&sa, Duration::from_secs(1)) {
            Ok(c) => held.push(c),
            Err(_) => break,
        }
        if i % 8 == 0 && s.child.try_wait().unwrap().is_some() {
            break;
        }
    }
    held
}

#[test]
fn out_of_descriptors_logs_and_exits_nonzero_instead_of_going_deaf() {
    // `ulimit -n 64` in sh sets soft and hard: the binary cannot raise it.
    let mut s = serve_under("ulimit -n 64");
    let (soft, hard) = nofile(s.child.id());
    assert_eq!((soft.as_str(), hard.as_str()), ("64", "64"), "test setup: limit not applied");
    assert_eq!(peek(&s, "fd.example/x"), 0, "serves before the flood");

    let held = hold_connections(&mut s, 300);
    let n_held = held.len();
    let status = wait_exit(&mut s.child, Duration::from_secs(10));
    match status {
        Some(st) => {
            eprintln!("held {n_held} connections; the server exited with {st:?}");
            drop(held);
            assert!(st.code().is_some_and(|c| c != 0), "must exit non-zero when the listener stops; got {st:?}");
            std::thread::sleep(Duration::from_millis(100));
            let why: Vec<String> =
                log_lines(&s).into_iter().filter(|l| !is_request_line(l) && !l.contains("listening on")).collect();
            let text = why.join("\n").to_ascii_lowercase();
            assert!(
                ["accept", "too many open files", "descriptor", "listener", "emfile"].iter().any(|w| text.contains(w)),
                "the log must say why it exited: {why:#?}"
            );
        }
        None => {
            eprintln!("held {n_held} connections; the server is still running");
            // Still running: then it must not be deaf. Free the descriptors
            // and it must answer again.
            drop(held);
            let ok = eventually(Duration::from_secs(5), || {
                Request::get("/nocount?url=fd.example/x")
                    .timeout(LOAD_TIMEOUT)
                    .try_send(&s.addr)
                    .map(|r| r.status == 200)
                    .unwrap_or(false)
            });
            assert!(
                ok,
                "held {n_held} connections: the server is running but deaf (accept loop stopped, no exit); log:\n{}",
                s.log_text()
            );
        }
    }
}

#[test]
fn raises_soft_open_file_limit_to_hard() {
    let hard = hard_nofile_of_tests();
    if hard <= 256 {
        eprintln!("SKIP: hard RLIMIT_NOFILE is only {hard}");
        return;
    }
    let s = serve_under("ulimit -S -n 64");
    let (soft, hard_s) = nofile(s.child.id());
    assert_eq!(soft, hard_s, "soft open-file limit was not raised to the hard limit");
    // 100 idle connections need far more than 64 descriptors
    let sa: std::net::SocketAddr = s.addr.parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(TcpStream::connect_timeout(&sa, Duration::from_secs(2)).expect("connect"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let r = Request::get("/count?url=fd.example/raised")
        .timeout(LOAD_TIMEOUT)
        .try_send(&s.addr)
        .expect("request while 100 connections are held");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1");
    drop(held);
}
