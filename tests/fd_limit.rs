//! The server under the open-file limit: the default connection cap leaves
//! room for everything else the process holds, so that twice that many
//! slow clients get `503`s while the process stays up and serves again
//! once they leave; with a limit too low even for that, running out of
//! descriptors still never stops it (nor makes its watchdog call the
//! listener deaf). At start it raises its soft limit to the hard one.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use support::*;

fn serve_under(prefix: &str) -> Server {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    // Slow clients are held for the whole test, not closed by the server.
    let args =
        vec!["serve", "--listen", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--quiet", "--head-timeout", "600"];
    Server::start_with(Opts { args, exact: true, sh_prefix: Some(prefix), dir: Some(dir.clone()), ..Opts::default() })
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

/// The cap the server computed, from its startup line about the limit.
fn default_cap(s: &Server) -> usize {
    let line = log_lines(s).into_iter().find(|l| l.contains("leaves room for")).expect("the cap is logged");
    let rest = line.split("leaves room for ").nth(1).unwrap();
    rest.split_whitespace().next().unwrap().parse().expect("a number of connections")
}

/// Opens `n` slow clients, each stopped in the middle of its request line
/// (bounded by a connect timeout; stops early if the server exits).
fn hold_slow_clients(s: &mut Server, n: usize) -> Vec<TcpStream> {
    let sa: std::net::SocketAddr = s.addr.parse().unwrap();
    let mut held = Vec::new();
    for i in 0..n {
        match TcpStream::connect_timeout(&sa, Duration::from_secs(2)) {
            Ok(mut c) => {
                let _ = c.write_all(b"GET /nocount?url=slow.exa");
                held.push(c);
            }
            Err(_) => break,
        }
        if i % 8 == 0 && s.child.try_wait().unwrap().is_some() {
            break;
        }
    }
    held
}

/// While `held` are open the server stays up and a normal client gets an
/// answer; once they close it serves normally again. The watchdog probes
/// every second and gave up after three failures, so the clients are held
/// past several probes.
fn survives(mut s: Server, held: Vec<TcpStream>) {
    let n = held.len();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(1));
        assert!(
            s.child.try_wait().unwrap().is_none(),
            "the server exited with {n} clients held; log:\n{}",
            s.log_text()
        );
        let r = Request::get("/nocount?url=fd.example/x").timeout(LOAD_TIMEOUT).try_send(&s.addr);
        let status = r.map(|r| r.status).unwrap_or_else(|e| panic!("no answer with {n} clients held: {e}"));
        assert!([200, 503].contains(&status), "with {n} clients held: {status}");
    }
    drop(held);
    let ok = eventually(Duration::from_secs(20), || {
        Request::get("/nocount?url=fd.example/x").timeout(LOAD_TIMEOUT).try_send(&s.addr).is_ok_and(|r| r.status == 200)
    });
    assert!(ok, "no 200 after {n} clients left; log:\n{}", s.log_text());
    assert!(s.child.try_wait().unwrap().is_none(), "the server exited; log:\n{}", s.log_text());
    let errors: Vec<String> = log_lines(&s).into_iter().filter(|l| l.contains("error:")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(s.stop().success(), "a clean stop after the flood");
}

#[test]
fn twice_the_default_cap_of_slow_clients_are_refused_and_the_server_stays_up() {
    let mut s = serve_under("ulimit -n 256");
    assert_eq!(nofile(s.child.id()), ("256".into(), "256".into()), "test setup: limit not applied");
    let cap = default_cap(&s);
    assert!((1..128).contains(&cap), "under 256 descriptors the cap is well below half of them: {cap}");
    let held = hold_slow_clients(&mut s, 2 * cap);
    assert_eq!(held.len(), 2 * cap, "every client connected");
    // Past the cap, clients are answered `503` rather than left waiting.
    let r = Request::get("/nocount?url=fd.example/x").timeout(LOAD_TIMEOUT).send(&s.addr);
    assert_eq!(r.status, 503, "{}", r.text());
    survives(s, held);
}

#[test]
fn out_of_descriptors_the_server_refuses_clients_and_stays_up() {
    // `ulimit -n 64` in sh sets soft and hard: the binary cannot raise it,
    // and 64 cannot even hold the reserve for lingering refusals, so the
    // process runs out of descriptors: accept() fails with EMFILE.
    let mut s = serve_under("ulimit -n 64");
    assert_eq!(nofile(s.child.id()), ("64".into(), "64".into()), "test setup: limit not applied");
    assert_eq!(default_cap(&s), 1);
    assert_eq!(peek(&s, "fd.example/x"), 0, "serves before the flood");
    let held = hold_slow_clients(&mut s, 300);
    assert_eq!(held.len(), 300, "every client connected (or waits in the queue)");
    survives(s, held);
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
