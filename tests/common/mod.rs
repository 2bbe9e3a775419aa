//! Shared harness for the integration tests: start the real `hitcounter`
//! binary on a free loopback port with a temporary database, and speak raw
//! HTTP/1.1 to it over a `TcpStream` (raw so tests control every byte).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_hitcounter");

/// A running server. Killed (SIGKILL) on drop if the test did not stop it.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub db: PathBuf,
    pub dir: Arc<tempfile::TempDir>,
    pub log: Arc<Mutex<Vec<String>>>,
}

#[derive(Default)]
pub struct Opts<'a> {
    pub args: Vec<&'a str>,
    pub env: Vec<(&'a str, &'a str)>,
    /// Reuse a directory (and its `hitcounter.db`) from an earlier server.
    pub dir: Option<Arc<tempfile::TempDir>>,
}

pub fn tempdir() -> Arc<tempfile::TempDir> {
    Arc::new(tempfile::tempdir().expect("tempdir"))
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(Opts::default())
    }

    pub fn start_args(args: &[&str]) -> Server {
        Server::start_with(Opts { args: args.to_vec(), ..Opts::default() })
    }

    /// Starts `hitcounter serve --listen 127.0.0.1:0 --db DIR/hitcounter.db ARGS`
    /// and waits for the startup line, which names the bound address.
    pub fn start_with(opts: Opts) -> Server {
        let dir = opts.dir.unwrap_or_else(tempdir);
        let db = dir.path().join("hitcounter.db");
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--db").arg(&db);
        cmd.args(&opts.args);
        for var in ["HITCOUNTER_LISTEN", "DATABASE_FILE_PATH", "ENABLE_SSL", "NUM_TOP_DOMAINS"] {
            cmd.env_remove(var);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        Server::launch(cmd, db, dir).unwrap_or_else(|(log, status)| {
            panic!("server did not print its listen line (exit: {status:?}); log: {log:?}")
        })
    }

    /// Spawns `cmd` with stderr captured and waits (at most 20 s) for the
    /// startup line. On failure: the log so far and the exit status, if the
    /// process ended (a process still running is killed).
    pub fn launch(
        mut cmd: Command,
        db: PathBuf,
        dir: Arc<tempfile::TempDir>,
    ) -> Result<Server, (Vec<String>, Option<ExitStatus>)> {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn hitcounter");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let addr = parse_listen_line(&line);
                // Logged before the address is announced, so a test that
                // reads the log right after start sees the startup line.
                log2.lock().unwrap().push(line);
                if let Some(addr) = addr {
                    let _ = tx.send(addr);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => Ok(Server { child, addr, db, dir, log }),
            Err(_) => {
                let start = Instant::now();
                let mut status = None;
                while status.is_none() && start.elapsed() < Duration::from_secs(5) {
                    status = child.try_wait().expect("try_wait");
                    std::thread::sleep(Duration::from_millis(10));
                }
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                std::thread::sleep(Duration::from_millis(50));
                let lines = log.lock().unwrap().clone();
                Err((lines, status))
            }
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        request(&self.addr, "GET", path, &[])
    }

    pub fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(&self.addr, "GET", path, headers)
    }

    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(&self.addr, method, path, headers)
    }

    /// Sends SIGTERM and waits for the exit status (bounded).
    pub fn stop(&mut self) -> ExitStatus {
        signal(&self.child, libc_sigterm());
        wait_bounded(&mut self.child, Duration::from_secs(20))
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The startup line is `hitcounter listening on http://ADDR (database: PATH)`.
fn parse_listen_line(line: &str) -> Option<String> {
    let rest = line.split("listening on ").nth(1)?;
    let rest = rest.strip_prefix("http://").or_else(|| rest.strip_prefix("https://"))?;
    Some(rest.split_whitespace().next()?.trim_end_matches('/').to_string())
}

pub fn libc_sigterm() -> i32 {
    15
}

pub fn signal(child: &Child, sig: i32) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
}

pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `hitcounter ARGS` (an admin command) to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_FILE_PATH")
        .env_remove("HITCOUNTER_LISTEN")
        .stdin(Stdio::null())
        .output()
        .expect("run hitcounter")
}

pub fn run_db(db: &Path, args: &[&str]) -> Output {
    let mut full: Vec<&str> = args.to_vec();
    full.push("--db");
    let db = db.to_str().expect("utf-8 path");
    full.push(db);
    run(&full)
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header names lower-cased; repeated headers joined with "\n".
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(|s| s.as_str())
    }
    pub fn count(&self) -> u64 {
        assert_eq!(self.status, 200, "body: {}", self.text());
        self.text().trim().parse().expect("numeric body")
    }
}

/// One request on a fresh connection with `Connection: close`.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw_request(addr, raw.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Sends raw bytes and parses one response (read to EOF).
pub fn raw_request(addr: &str, bytes: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(bytes)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("head not utf-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 =
        status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            headers
                .entry(k)
                .and_modify(|e| {
                    e.push('\n');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
    }
    let mut body = buf[end + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    }
    Ok(Resp { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..pos])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 || b.len() < pos + 2 + size {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[(pos + 4 + size).min(b.len())..];
    }
    out
}

/// Polls `f` every 50 ms until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Counts rows of a real SQLite file with the sqlite3-free rusqlite-less
/// approach: ask the binary itself.
pub fn get_count(db: &Path, url: &str) -> u64 {
    let out = run_db(db, &["get", url]);
    assert!(out.status.success(), "get failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric get")
}

pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
