//! The one server launcher: `Server::start_with(Opts)` runs the real binary
//! (by default `serve --listen 127.0.0.1:0 --db DIR/hitcounter.db` in a fresh
//! temporary directory), waits for the startup line that names the bound
//! address, and keeps its log. Also owns what tests do with a running server
//! or its database file: counting (`hit`, `peek`), the log lines, and the
//! admin subcommands (`set`, `get`, `list`).

use super::http::{request, Resp};
use super::process::{kill_at_exit, run_db, signal, stderr_of, stdout_of, wait_bounded, wait_exit, Cmd};
use super::{enc, eventually, tempdir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A running server. Killed (SIGKILL) on drop if the test did not stop it.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub db: PathBuf,
    pub dir: Arc<tempfile::TempDir>,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// How to start a server. `Opts::default()` is `hitcounter serve --listen
/// 127.0.0.1:0 --db DIR/hitcounter.db` in a fresh directory.
#[derive(Default, Clone)]
pub struct Opts<'a> {
    /// Arguments after the default ones; with `exact`, the whole command line.
    pub args: Vec<&'a str>,
    /// `args` is the whole command line: no implied `serve`, `--listen` or `--db`.
    pub exact: bool,
    /// Set after `env_vars()` are cleared.
    pub env: Vec<(&'a str, &'a str)>,
    /// Reuse a directory (and its `hitcounter.db`) from an earlier server.
    pub dir: Option<Arc<tempfile::TempDir>>,
    /// The database the server really uses, when not `DIR/hitcounter.db`.
    pub db: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// Run through `sh -c '<prefix>; exec BIN ARGS'`.
    pub sh_prefix: Option<&'a str>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(Opts::default())
    }

    pub fn start_args(args: &[&str]) -> Server {
        Server::start_with(Opts { args: args.to_vec(), ..Opts::default() })
    }

    /// Starts the server and waits for its startup line; panics with the log
    /// if none comes.
    pub fn start_with(opts: Opts) -> Server {
        Server::try_start(opts).unwrap_or_else(|(log, status)| {
            panic!("server did not print its listen line (exit: {status:?}); log: {log:?}")
        })
    }

    /// Like `start_with`, but returns the log and exit status when no startup
    /// line comes (process exited, or 20 s passed).
    pub fn try_start(opts: Opts) -> Result<Server, (Vec<String>, Option<ExitStatus>)> {
        let dir = opts.dir.unwrap_or_else(tempdir);
        let default_db = dir.path().join("hitcounter.db");
        let default_db_arg = default_db.to_str().expect("utf-8 path").to_string();
        let mut args = opts.args;
        if !opts.exact {
            args.splice(0..0, ["serve", "--listen", "127.0.0.1:0", "--db", default_db_arg.as_str()]);
            // One test client sends every request from one address and
            // User-Agent: only the tests of cookieless deduplication want
            // it on (they pass --dedup themselves).
            if !args.iter().any(|a| a.starts_with("--dedup")) {
                args.extend(["--dedup", "cookie"]);
            }
            // Likewise the per-client limits: a test client sends far more
            // than a person; client_limits.rs sets them.
            for limit in ["--rate-limit", "--new-counters-per-hour"] {
                if !args.contains(&limit) {
                    args.extend([limit, "0"]);
                }
            }
        }
        let cmd = Cmd { args, env: opts.env, cwd: opts.cwd, sh_prefix: opts.sh_prefix }.command();
        Server::launch(cmd, opts.db.unwrap_or(default_db), dir)
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
                let status = wait_exit(&mut child, Duration::from_secs(5));
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
        signal(&self.child, libc::SIGTERM);
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

/// One server shared by the tests of a file (started on first use, killed
/// when the test binary exits).
pub fn shared(slot: &'static OnceLock<Server>, start: impl FnOnce() -> Server) -> &'static Server {
    slot.get_or_init(|| {
        let s = start();
        kill_at_exit(s.child.id());
        s
    })
}

/// A server whose database was filled with `set` before it started.
pub fn start_with_counts<S: AsRef<str>>(counts: impl IntoIterator<Item = (S, u64)>, opts: Opts) -> Server {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    for (url, n) in counts {
        admin_set(&db, url.as_ref(), n);
    }
    Server::start_with(Opts { dir: Some(dir), ..opts })
}

// ---------------------------------------------------------------------------
// Counting

/// `GET /count?url=ENC(url)` → the number (asserts 200).
pub fn hit(s: &Server, url: &str) -> u64 {
    s.get(&format!("/count?url={}", enc(url))).count()
}

/// `GET /nocount?url=ENC(url)` → the number (asserts 200).
pub fn peek(s: &Server, url: &str) -> u64 {
    s.get(&format!("/nocount?url={}", enc(url))).count()
}

/// Polls `/nocount` until it shows `want`, for at most `limit`.
pub fn shows_within(s: &Server, url: &str, want: u64, limit: Duration) -> bool {
    eventually(limit, || peek(s, url) == want)
}

/// `hits_not_counted_total{reason}` from `/metrics` (0 when absent; the
/// server runs with `--metrics`).
pub fn not_counted(s: &Server, reason: &str) -> u64 {
    let text = s.get("/metrics").text();
    let line = format!("hitcounter_hits_not_counted_total{{reason=\"{reason}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&line)).map_or(0, |n| n.parse().unwrap())
}

// ---------------------------------------------------------------------------
// Log

/// Waits (bounded) until some log line satisfies `pred`.
pub fn wait_log(s: &Server, limit: Duration, pred: impl Fn(&str) -> bool) -> bool {
    eventually(limit, || s.log.lock().unwrap().iter().any(|l| pred(l)))
}

pub fn log_lines(s: &Server) -> Vec<String> {
    s.log.lock().unwrap().clone()
}

/// A per-request log line per the contract:
/// `2026-11-25T16:30:00.123Z GET /count 200 0.12ms`. Returns
/// (time, method, path, status, ms).
pub fn parse_request_line(l: &str) -> Option<(chrono::DateTime<chrono::Utc>, String, String, u16, f64)> {
    let parts: Vec<&str> = l.split(' ').collect();
    if parts.len() != 5 {
        return None;
    }
    let ts = parts[0];
    // exactly millisecond precision, Z suffix
    if ts.len() != 24 || !ts.ends_with('Z') || ts.as_bytes()[19] != b'.' {
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&chrono::Utc);
    let method = parts[1];
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let status: u16 = parts[3].parse().ok()?;
    let ms: f64 = parts[4].strip_suffix("ms")?.parse().ok()?;
    Some((t, method.to_string(), parts[2].to_string(), status, ms))
}

pub fn is_request_line(l: &str) -> bool {
    parse_request_line(l).is_some()
}

// ---------------------------------------------------------------------------
// Admin commands on a database file

/// Admin command on a db that must succeed; returns stdout.
pub fn admin_ok(db: &Path, args: &[&str]) -> String {
    let out = run_db(db, args);
    assert!(out.status.success(), "hitcounter {args:?} failed ({:?}): {}", out.status, stderr_of(&out));
    stdout_of(&out)
}

/// `set URL COUNT` via the admin command.
pub fn admin_set(db: &Path, url: &str, count: u64) {
    admin_ok(db, &["set", url, &count.to_string()]);
}

/// `get URL` via the admin command, as a number.
pub fn get_count(db: &Path, url: &str) -> u64 {
    admin_ok(db, &["get", url]).trim().parse().expect("numeric get")
}

/// Lines of `hitcounter list` as (count, key).
pub fn admin_list(db: &Path, extra: &[&str]) -> Vec<(u64, String)> {
    let mut args = vec!["list"];
    args.extend_from_slice(extra);
    let out = admin_ok(db, &args);
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (c, k) = l.split_once('\t').unwrap_or_else(|| panic!("list line without TAB: {l:?}"));
            (c.parse().unwrap_or_else(|_| panic!("list count not numeric: {l:?}")), k.to_string())
        })
        .collect()
}
