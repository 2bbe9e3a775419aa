//! The one harness of the integration tests (the modules of
//! `tests/integration/main.rs`). Every test module brings it in with
//! `use crate::support;` and uses what it needs (`use support::*;`).
//!
//! This file owns the small shared utilities (temporary directories, unique
//! names, bounded polling, percent-encoding, the free-port helper, the
//! `CI` switch that turns a missing tool from a skip into a failure, and the
//! lookup of external tools). The rest lives in sub-files, each owning one
//! concern:
//!
//! - `clock.rs`: a clock the test moves, for the server's windows.
//! - `process.rs`: running the binary (the one list of environment variables
//!   cleared before every run), bounded waits, signals, process groups.
//! - `server.rs`: the one server launcher (`Server`, `Opts`), its log, and the
//!   admin commands on its database.
//! - `http.rs`: the one HTTP client (raw HTTP/1.1 over 127.0.0.1), responses,
//!   cookies and header checks.
//! - `load.rs`: many clients counting at once.
//! - `db.rs`: the tests' own view of the SQLite file (rusqlite).
//! - `badge.rs`: badges parsed as XML, and the seeded badge server.
//! - `width.rs`: the Verdana width table (the badge-width oracle).
//! - `shields.rs`: what shields draws (styles, colours, layout checks).
//! - `browser.rs`: the WebDriver client for headless Chromium.
//! - `deploy.rs`: real daemons (nginx, Apache) and `install.sh`.
//! - `proxy.rs`: nginx in front of the binary, with the site `install.sh` writes.
//! - `pages.rs`: another site (a static HTTPS server) for cross-site browser tests.
//! - `s3.rs`: a real S3-compatible server (s3s-fs) for the backup tests.
//! - `postgres.rs`: a private PostgreSQL cluster per test (initdb as the
//!   `postgres` user), for the shared-store tests.
//! - `history.rs`: history over HTTP (`stats.json`, seeded daily rows, the
//!   bars of a chart).
//!
//! Every wait is bounded.

pub mod badge;
pub mod browser;
pub mod clock;
pub mod db;
pub mod deploy;
pub mod history;
pub mod http;
pub mod load;
pub mod pages;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod s3;
pub mod server;
pub mod shields;
pub mod width;

pub use badge::*;
pub use clock::TestClock;
pub use db::*;
pub use http::*;
pub use load::*;
pub use process::*;
pub use server::*;
pub use width::*;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hitcounter");

pub fn tempdir() -> Arc<tempfile::TempDir> {
    Arc::new(tempfile::tempdir().expect("tempdir"))
}

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

/// Percent-encodes everything but ASCII letters and digits (a query value).
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid() has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------------
// External tools

/// `CI` set (to anything; `./test.sh` and `.ci/run` set `CI=1`): a missing
/// tool fails its test instead of skipping it.
pub fn strict() -> bool {
    std::env::var_os("CI").is_some()
}

/// The path of an executable: `PATH` first, then the system directories
/// (`/usr/sbin` is not always on a user's `PATH`).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// A tool a test can do without on a developer machine: `None` (and a
/// SKIPPED line) when it is missing, a failure when `strict()`.
pub fn require(name: &str, package: &str) -> Option<PathBuf> {
    if let Some(path) = find_tool(name) {
        return Some(path);
    }
    assert!(!strict(), "{name} is required in CI (apt-get install -y {package}; ./test.sh installs it)");
    eprintln!("SKIPPED: {name} is not installed (apt-get install -y --no-install-recommends {package})");
    None
}

/// A tool the test cannot run without, CI or not: a failure when missing.
pub fn need(name: &str, package: &str) -> PathBuf {
    find_tool(name)
        .unwrap_or_else(|| panic!("{name} must be installed (apt-get install -y {package}; ./test.sh installs it)"))
}
