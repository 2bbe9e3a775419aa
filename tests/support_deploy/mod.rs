//! Helpers for the deployment tests (`nginx.rs`, `cgi_apache.rs`): real
//! daemons started on free loopback ports in their own process group, every
//! wait bounded, everything killed on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{raw_request, Resp};

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

/// The path of a daemon binary (`/usr/sbin` is not always on a user's PATH).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A missing daemon: a skip message on a developer machine, a failure in CI
/// (where `.ci/run` installs the package).
pub fn require(name: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = find_tool(name) {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "{name} is required in CI: apt-get install -y {package}");
    eprintln!("SKIPPED: {name} is not installed (apt-get install -y --no-install-recommends {package})");
    None
}

pub fn is_root() -> bool {
    // SAFETY: geteuid() has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A daemon in its own process group. Drop sends SIGTERM, waits (bounded),
/// then SIGKILLs the whole group (workers, CGI children).
pub struct Daemon {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    /// Spawns `cmd` with stdout/stderr to `log` and waits until every port
    /// accepts connections (at most 10 s). Panics with the log otherwise.
    pub fn start(name: &str, mut cmd: Command, log: &Path, ports: &[u16], extra_log: Option<&Path>) -> Daemon {
        let out = std::fs::File::create(log).expect("daemon log");
        cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut daemon = Daemon { name: name.to_string(), child, log: log.to_path_buf() };
        let start = Instant::now();
        for port in ports {
            loop {
                if TcpStream::connect(("127.0.0.1", *port)).is_ok() {
                    break;
                }
                let exited = daemon.child.try_wait().ok().flatten();
                if exited.is_some() || start.elapsed() > Duration::from_secs(10) {
                    let extra = extra_log.and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
                    panic!(
                        "{name} is not listening on 127.0.0.1:{port} (exit: {exited:?})\nlog:\n{}\n{extra}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        daemon
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: plain kill(2) calls on the pid / process group we spawned.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // SAFETY: as above; the group id is the leader's pid (process_group(0)).
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One GET on a fresh connection with the given Host header.
pub fn get_host(addr: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw_request(addr, raw.as_bytes()).unwrap_or_else(|e| panic!("GET {path} via {addr}: {e}"))
}

/// The `name=value` part of the first `hc_` cookie a response sets.
pub fn hc_cookie(resp: &Resp) -> Option<String> {
    resp.header("set-cookie")?
        .lines()
        .find(|c| c.trim_start().starts_with("hc_"))
        .map(|c| c.split(';').next().unwrap().trim().to_string())
}

/// The `data-origin` attribute of the `/` page (the origin its snippets use).
pub fn page_origin(html: &str) -> Option<String> {
    let rest = html.split("data-origin=\"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

/// Asserts `resp` is an SVG badge that parses as XML.
pub fn assert_svg(resp: &Resp) {
    assert_eq!(resp.status, 200, "{}", resp.text());
    let ct = resp.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("image/svg+xml"), "content-type {ct:?}");
    let text = resp.text();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("badge is not XML: {e}\n{text}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
}
