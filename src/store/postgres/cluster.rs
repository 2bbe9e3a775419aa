//! A private PostgreSQL cluster for the store's unit tests, started the way
//! the integration tests start theirs (`tests/support/postgres.rs`):
//! `initdb` into a short temporary directory, the server on 127.0.0.1 and a
//! free port, trust authentication for the `postgres` role, fsync off; run
//! as the `postgres` user through `setpriv` when the tests run as root
//! (PostgreSQL refuses root). The tests running at the same time share one
//! cluster, each with databases of its own; the last to let go of it stops
//! it (fast shutdown) and removes it.
//!
//! Missing binaries skip the PostgreSQL half of the suite with a message,
//! or fail it when `CI` is set. Every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

pub(crate) struct Cluster {
    port: u16,
    child: Child,
    /// Databases made so far, for the next one's name.
    made: AtomicU32,
    dir: tempfile::TempDir,
}

static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

/// The running cluster, started if no test holds one; `None` (with a
/// SKIPPED line) when PostgreSQL is not installed outside CI.
pub(crate) fn shared() -> Option<Arc<Cluster>> {
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cluster) = slot.upgrade() {
        return Some(cluster);
    }
    let cluster = Arc::new(Cluster::start()?);
    *slot = Arc::downgrade(&cluster);
    Some(cluster)
}

/// The newest `/usr/lib/postgresql/N/bin` (Debian's layout) with `initdb`.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid() has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program` run as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            assert!(std::env::var_os("CI").is_none(), "PostgreSQL is required in CI (apt-get install -y postgresql)");
            eprintln!("SKIPPED: PostgreSQL is not installed (apt-get install -y --no-install-recommends postgresql)");
            return None;
        };
        // Short: the socket path ($dir/.s.PGSQL.PORT) is limited to ~107 bytes.
        let dir = tempfile::Builder::new().prefix("pg").tempdir_in("/tmp").expect("tempdir");
        if is_root() {
            let ok = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().expect("chown");
            assert!(ok.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "-N"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("port").port();
        let log = std::fs::File::create(dir.path().join("pg.log")).expect("pg.log");
        let child = as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn postgres");
        let cluster = Cluster { port, child, made: AtomicU32::new(0), dir };
        let start = Instant::now();
        while cluster.client("postgres").is_err() {
            let log = std::fs::read_to_string(cluster.dir.path().join("pg.log")).unwrap_or_default();
            assert!(start.elapsed() < Duration::from_secs(60), "PostgreSQL did not start; pg.log:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(cluster)
    }

    /// A connection to the database `name`, for what a test does behind
    /// the store's back.
    pub(crate) fn client(&self, name: &str) -> Result<Client, postgres::Error> {
        Client::connect(&format!("host=127.0.0.1 port={} user=postgres dbname={name}", self.port), NoTls)
    }

    /// A new, empty database: its name and URL.
    pub(crate) fn database(&self) -> (String, String) {
        let name = format!("t{}", self.made.fetch_add(1, Ordering::Relaxed));
        let mut admin = self.client("postgres").expect("connect to the test cluster");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        let url = format!("postgres://postgres@127.0.0.1:{}/{name}", self.port);
        (name, url)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid. SIGINT: fast shutdown,
        // connections closed at once.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
