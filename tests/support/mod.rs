//! Extra helpers for the integration tests, on top of `tests/common/mod.rs`
//! (the shared harness). Owned by the test-writing helper; every wait here is
//! bounded.
#![allow(dead_code)]

use crate::common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// Unique names

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh label, unique within this test process (and very likely across
/// processes): `tag-PID-N`.
pub fn uniq(tag: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

/// A fresh scheme-less URL whose key is itself: `HOST/path`.
pub fn uniq_url(tag: &str) -> String {
    format!("{}.test/{}", uniq(tag), "page")
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

// ---------------------------------------------------------------------------
// Servers

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();

extern "C" fn kill_registered() {
    if let Ok(pids) = PIDS.lock() {
        for pid in pids.iter() {
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// Statics are never dropped, so a server kept in a `static` would outlive
/// the test binary; register its pid to be SIGKILLed at process exit.
pub fn kill_at_exit(pid: u32) {
    ATEXIT.call_once(|| unsafe {
        libc::atexit(kill_registered);
    });
    PIDS.lock().unwrap().push(pid);
}

/// One server shared by the tests of a file (started on first use).
pub fn shared(slot: &'static OnceLock<Server>, args: &[&str]) -> &'static Server {
    slot.get_or_init(|| {
        let s = Server::start_args(args);
        kill_at_exit(s.child.id());
        s
    })
}

pub struct Spawn<'a> {
    /// Full argument list (no implied `serve`, `--listen` or `--db`).
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    pub cwd: Option<PathBuf>,
    /// Directory kept alive with the server; `db` is `dir/hitcounter.db`
    /// unless `db` is given.
    pub dir: Arc<tempfile::TempDir>,
    pub db: Option<PathBuf>,
    /// Run through `sh -c '<prefix>; exec BIN ARGS'`.
    pub sh_prefix: Option<String>,
}

impl<'a> Spawn<'a> {
    pub fn new(args: &[&str]) -> Spawn<'a> {
        Spawn {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            cwd: None,
            dir: tempdir(),
            db: None,
            sh_prefix: None,
        }
    }
}

/// Variables a test environment might leak into the binary.
pub const ENV_VARS: &[&str] = &[
    "HITCOUNTER_LISTEN",
    "DATABASE_FILE_PATH",
    "HITCOUNTER_DB",
    "HITCOUNTER_COOKIE_WINDOW",
    "HITCOUNTER_PUBLIC_URL",
    "HITCOUNTER_FLUSH_INTERVAL",
    "HITCOUNTER_WORKERS",
    "HITCOUNTER_MAX_PENDING",
    "NUM_TOP_DOMAINS",
    "ENABLE_SSL",
    "HITCOUNTER_QUIET",
    "HITCOUNTER_TRUST_PROXY",
    "HITCOUNTER_CONFIG",
    "HITCOUNTER_TIMEZONE",
    "EXPOSE_METRICS",
    "METRICS_PREFIX",
    "HITCOUNTER_TLS_CERT",
    "HITCOUNTER_TLS_KEY",
    "GATEWAY_INTERFACE",
];

/// The first column of every row `sql` returns, as text.
pub fn column(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
}

pub fn base_command(sp: &Spawn) -> Command {
    let mut cmd = if let Some(prefix) = &sp.sh_prefix {
        let mut script = format!("{prefix}; exec \"$0\"");
        for i in 0..sp.args.len() {
            script.push_str(&format!(" \"${}\"", i + 1));
        }
        let mut c = Command::new("sh");
        c.arg("-c").arg(script).arg(BIN).args(&sp.args);
        c
    } else {
        let mut c = Command::new(BIN);
        c.args(&sp.args);
        c
    };
    for v in ENV_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in &sp.env {
        cmd.env(k, v);
    }
    if let Some(cwd) = &sp.cwd {
        cmd.current_dir(cwd);
    }
    cmd
}

/// Starts the binary with exactly `sp.args` and waits (bounded) for the
/// startup line. Returns a harness `Server`.
pub fn spawn(sp: Spawn) -> Server {
    try_spawn(sp)
        .unwrap_or_else(|(log, status)| panic!("server did not print its listen line (exit: {status:?}); log: {log:?}"))
}

/// Like `spawn`, but returns the log and exit status when no startup line
/// comes (process exited, or 20 s passed).
pub fn try_spawn(sp: Spawn) -> Result<Server, (Vec<String>, Option<std::process::ExitStatus>)> {
    let cmd = base_command(&sp);
    let db = sp.db.clone().unwrap_or_else(|| sp.dir.path().join("hitcounter.db"));
    Server::launch(cmd, db, sp.dir)
}

/// Waits up to `limit` for the process to exit; `None` if it is still running.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return Some(st);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a command to completion, killing it after `limit`. Returns the output
/// and whether it had to be killed.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> (Output, bool) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let (status, killed) = match wait_exit(&mut child, limit) {
        Some(st) => (st, false),
        None => {
            let _ = child.kill();
            (child.wait().unwrap(), true)
        }
    };
    let stdout = t1.join().unwrap();
    let stderr = t2.join().unwrap();
    (Output { status, stdout, stderr }, killed)
}

/// Runs `hitcounter ARGS` with a clean environment plus `env`, bounded.
pub fn run_env(args: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> (Output, bool) {
    let mut sp = Spawn::new(args);
    sp.env = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    sp.cwd = cwd.map(|p| p.to_path_buf());
    run_bounded(base_command(&sp), Duration::from_secs(15))
}

pub fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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

// ---------------------------------------------------------------------------
// HTTP

/// `GET /count?url=ENC(url)` → the number (asserts 200).
pub fn hit(s: &Server, url: &str) -> u64 {
    s.get(&format!("/count?url={}", enc(url))).count()
}

/// `GET /nocount?url=ENC(url)` → the number (asserts 200).
pub fn peek(s: &Server, url: &str) -> u64 {
    s.get(&format!("/nocount?url={}", enc(url))).count()
}

/// A request with an explicit Host header (the harness always sends
/// `Host: ADDR`). `None` for the host omits it.
pub fn request_host(addr: &str, method: &str, path: &str, host: Option<&str>, headers: &[(&str, &str)]) -> Resp {
    let mut raw = format!("{method} {path} HTTP/1.1\r\n");
    if let Some(h) = host {
        raw.push_str(&format!("Host: {h}\r\n"));
    }
    raw.push_str("Connection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw_request(addr, raw.as_bytes()).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Raw request that never panics: `Err` on any I/O or parse problem. Shorter
/// timeouts than the harness so load loops end quickly.
pub fn try_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Resp> {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    let sa: std::net::SocketAddr = addr.parse().expect("socket addr");
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(raw.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

/// All `Set-Cookie` header values of a response.
pub fn set_cookies(r: &Resp) -> Vec<String> {
    r.header("set-cookie").map(|v| v.split('\n').map(|s| s.to_string()).collect()).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names lower-cased; flag attributes map to "".
    pub attrs: BTreeMap<String, String>,
}

pub fn parse_set_cookie(v: &str) -> SetCookie {
    let mut parts = v.split(';');
    let nv = parts.next().unwrap_or("");
    let (name, value) = nv.split_once('=').unwrap_or((nv, ""));
    let mut attrs = BTreeMap::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        attrs.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    SetCookie { name: name.trim().to_string(), value: value.trim().to_string(), attrs }
}

/// The one hitcounter cookie set by a response (panics unless exactly one).
pub fn the_cookie(r: &Resp) -> SetCookie {
    let all: Vec<SetCookie> = set_cookies(r).iter().map(|s| parse_set_cookie(s)).collect();
    assert_eq!(all.len(), 1, "expected exactly one Set-Cookie, got {all:?}");
    all.into_iter().next().unwrap()
}

pub fn is_cookie_name(name: &str) -> bool {
    name.len() == 19
        && name.starts_with("hc_")
        && name[3..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks the headers issue 2 requires on every response.
pub fn assert_common_headers(r: &Resp, what: &str) {
    assert_eq!(r.header("cache-control"), Some("no-cache, no-store, must-revalidate"), "{what}: Cache-Control; {r:?}");
    assert_eq!(r.header("pragma"), Some("no-cache"), "{what}: Pragma");
    assert_eq!(r.header("expires"), Some("0"), "{what}: Expires");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}: X-Content-Type-Options");
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"), "{what}: ACAC");
    assert!(r.header("access-control-allow-origin").is_some(), "{what}: no Access-Control-Allow-Origin");
    assert!(vary_has_origin(r), "{what}: Vary must include Origin, got {:?}", r.header("vary"));
}

pub fn vary_has_origin(r: &Resp) -> bool {
    r.header("vary").map(|v| v.split([',', '\n']).any(|t| t.trim().eq_ignore_ascii_case("origin"))).unwrap_or(false)
}

/// Comma list of a header as a sorted set of upper-cased tokens.
pub fn token_set(v: &str) -> Vec<String> {
    let mut t: Vec<String> =
        v.split([',', '\n']).map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
    t.sort();
    t.dedup();
    t
}

/// A 400/414 body: non-empty plain text, a single line.
pub fn assert_one_line_plain(r: &Resp, what: &str) {
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain"), "{what}: content-type {ct:?}");
    let body = r.text();
    let t = body.trim_end_matches(['\n', '\r']);
    assert!(!t.trim().is_empty(), "{what}: empty reason");
    assert!(!t.contains('\n'), "{what}: reason is more than one line: {body:?}");
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
// Load

#[derive(Default, Debug, Clone)]
pub struct LoadResult {
    /// Number of 200 responses per URL.
    pub ok: BTreeMap<String, u64>,
    pub errors: u64,
    pub other_status: u64,
    /// Every non-200 status seen, with how often.
    pub statuses: BTreeMap<u16, u64>,
}

impl LoadResult {
    pub fn total_ok(&self) -> u64 {
        self.ok.values().sum()
    }
}

/// `threads` threads send counted requests round-robin over `urls` (each on
/// a fresh connection) until `stop` is set or `max_per_thread` requests were
/// sent, or 50 consecutive connection errors (the server is gone).
pub fn load(
    addr: &str,
    urls: &[String],
    threads: usize,
    max_per_thread: u64,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> std::thread::JoinHandle<LoadResult> {
    let addr = addr.to_string();
    let urls = urls.to_vec();
    std::thread::spawn(move || {
        let mut hs = Vec::new();
        for t in 0..threads {
            let addr = addr.clone();
            let urls = urls.clone();
            let stop = stop.clone();
            let progress = progress.clone();
            hs.push(std::thread::spawn(move || {
                let mut res = LoadResult::default();
                let mut consecutive_err = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                for i in 0..max_per_thread {
                    if stop.load(Ordering::SeqCst) || consecutive_err >= 50 || Instant::now() > deadline {
                        break;
                    }
                    let url = &urls[(i as usize + t) % urls.len()];
                    match try_get(&addr, &format!("/count?url={}", enc(url)), &[]) {
                        Ok(r) if r.status == 200 => {
                            consecutive_err = 0;
                            *res.ok.entry(url.clone()).or_default() += 1;
                            progress.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => {
                            consecutive_err = 0;
                            res.other_status += 1;
                            *res.statuses.entry(r.status).or_default() += 1;
                        }
                        Err(_) => {
                            consecutive_err += 1;
                            res.errors += 1;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                res
            }));
        }
        let mut total = LoadResult::default();
        for h in hs {
            let r = h.join().expect("load thread");
            for (k, v) in r.ok {
                *total.ok.entry(k).or_default() += v;
            }
            total.errors += r.errors;
            total.other_status += r.other_status;
            for (k, v) in r.statuses {
                *total.statuses.entry(k).or_default() += v;
            }
        }
        total
    })
}

// ---------------------------------------------------------------------------
// Badges

/// Verdana 11px character widths (shields.io), from badge-geometry.md.
pub fn verdana11(c: char) -> f64 {
    match c {
        ' ' => 3.87,
        '!' => 4.33,
        '"' => 5.05,
        '#' => 9.0,
        '$' => 6.99,
        '%' => 11.84,
        '&' => 7.99,
        '\'' => 2.95,
        '(' | ')' => 5.0,
        '*' => 6.99,
        '+' => 9.0,
        ',' => 4.0,
        '-' => 5.0,
        '.' => 4.0,
        '/' => 5.0,
        '0'..='9' => 6.99,
        ':' | ';' => 5.0,
        '<' | '=' | '>' => 9.0,
        '?' => 6.0,
        '@' => 11.0,
        'a' => 6.61,
        'b' => 6.85,
        'c' => 5.73,
        'd' => 6.85,
        'e' => 6.55,
        'f' => 3.87,
        'g' => 6.85,
        'h' => 6.96,
        'i' => 3.02,
        'j' => 3.79,
        'k' => 6.51,
        'l' => 3.02,
        'm' => 10.7,
        'n' => 6.96,
        'o' => 6.68,
        'p' => 6.85,
        'q' => 6.85,
        'r' => 4.69,
        's' => 5.73,
        't' => 4.33,
        'u' => 6.96,
        'v' => 6.51,
        'w' => 9.0,
        'x' => 6.51,
        'y' => 6.51,
        'z' => 5.78,
        _ => 10.7,
    }
}

/// Text width as shields computes it: sum, truncate, round up to odd.
pub fn text_width(s: &str) -> u64 {
    let w: f64 = s.trim().chars().map(verdana11).sum();
    let mut w = (w + 1e-9).floor() as u64;
    if w % 2 == 0 {
        w += 1;
    }
    w
}

/// A parsed badge: the svg root's width/height, the accessible label, title.
#[derive(Debug)]
pub struct Badge {
    pub width: f64,
    pub height: f64,
    pub role: Option<String>,
    pub aria_label: Option<String>,
    pub title: Option<String>,
    pub rects: Vec<(Option<f64>, Option<String>)>,
    pub has_rx3: bool,
    pub element_names: Vec<String>,
}

pub fn parse_badge(svg: &str) -> Badge {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("badge is not well-formed XML ({e}): {svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "root element: {svg}");
    let num = |v: Option<&str>| v.and_then(|s| s.trim_end_matches("px").parse::<f64>().ok());
    let width = num(root.attribute("width")).unwrap_or_else(|| panic!("svg width: {svg}"));
    let height = num(root.attribute("height")).unwrap_or_else(|| panic!("svg height: {svg}"));
    let title = root
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "title")
        .map(|n| n.text().unwrap_or("").to_string());
    let rects = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "rect")
        .map(|n| (num(n.attribute("width")), n.attribute("fill").map(|s| s.to_ascii_lowercase())))
        .collect();
    let has_rx3 = root.descendants().any(|n| n.is_element() && n.attribute("rx") == Some("3"));
    let element_names =
        root.descendants().filter(|n| n.is_element()).map(|n| n.tag_name().name().to_string()).collect();
    Badge {
        width,
        height,
        role: root.attribute("role").map(|s| s.to_string()),
        aria_label: root.attribute("aria-label").map(|s| s.to_string()),
        title,
        rects,
        has_rx3,
        element_names,
    }
}

// ---------------------------------------------------------------------------
// SQLite (the test's own view of the db file)

/// For every table and TEXT-ish column, the number of rows whose column equals
/// `key`: (table, column, rows).
pub fn rows_with_key(conn: &rusqlite::Connection, key: &str) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    let tables: Vec<String> =
        column(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
    for t in tables {
        let cols: Vec<String> = column(conn, &format!("SELECT name FROM pragma_table_info('{t}')"));
        for c in cols {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM \"{t}\" WHERE CAST(\"{c}\" AS TEXT) = ?1"), [key], |r| {
                    r.get(0)
                })
                .unwrap();
            if n > 0 {
                out.push((t.clone(), c.clone(), n));
            }
        }
    }
    out
}

/// The tables where a row holding `key` also holds the integer `count`
/// somewhere, with the number of rows holding `key` in that table.
pub fn counter_tables(conn: &rusqlite::Connection, key: &str, count: i64) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (t, c, n) in rows_with_key(conn, key) {
        let cols: Vec<String> = column(conn, &format!("SELECT name FROM pragma_table_info('{t}')"));
        let mut holds = false;
        for other in &cols {
            let m: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM \"{t}\" WHERE CAST(\"{c}\" AS TEXT) = ?1 AND \"{other}\" = ?2"),
                    rusqlite::params![key, count],
                    |r| r.get(0),
                )
                .unwrap();
            if m > 0 {
                holds = true;
            }
        }
        if holds {
            out.push((t, n));
        }
    }
    out
}
