//! A private PostgreSQL cluster for one test: `initdb` into a short
//! temporary directory, the server on 127.0.0.1 and a free port, trust
//! authentication for the `postgres` role, fsync off. Run as the `postgres`
//! user through `setpriv` when the tests run as root (PostgreSQL refuses
//! root; `setpriv` execs, so the child is the postmaster itself and a
//! signal reaches it). Stopped (fast shutdown) and removed on drop.
//!
//! Missing binaries skip the test, or fail it when `CI` is set (see
//! `require` in mod.rs). Every wait is bounded; a cluster that does not
//! come up panics with its log.

use super::process::wait_exit;
use super::{eventually, free_port, is_root, strict};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Option<Child>,
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

/// `cmd` run as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// A running cluster; `None` (skipped) when PostgreSQL is not installed
    /// outside CI.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = bin_dir().filter(|_| super::find_tool("psql").is_some()) else {
            assert!(!strict(), "PostgreSQL is required in CI (apt-get install -y postgresql; ./test.sh installs it)");
            eprintln!("SKIPPED: PostgreSQL is not installed (apt-get install -y --no-install-recommends postgresql)");
            return None;
        };
        // Short: the socket path ($dir/.s.PGSQL.PORT) is limited to ~107 bytes.
        let dir = tempfile::Builder::new().prefix("pg").tempdir_in("/tmp").expect("tempdir");
        if is_root() {
            let ok = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().expect("chown");
            assert!(ok.success(), "chown postgres {}", dir.path().display());
        }
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "-N"])
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut pg = Postgres { port: free_port(), bin, dir, child: None };
        pg.run();
        Some(pg)
    }

    /// Starts the server on the cluster (again) and waits until it answers.
    pub fn run(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("pg.log");
        let child = as_postgres(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-k")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=300"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn postgres");
        self.child = Some(child);
        let ready = eventually(Duration::from_secs(30), || self.psql("postgres", "SELECT 1").is_ok());
        assert!(ready, "PostgreSQL did not start; pg.log:\n{}", self.log());
    }

    /// Fast shutdown (SIGINT): connections are closed at once.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            if wait_exit(&mut child, Duration::from_secs(20)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("pg.log")
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A new, empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\"")).unwrap_or_else(|e| panic!("{e}"));
        self.url(name)
    }

    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` with psql; the unaligned, tuples-only output, or the error.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"])
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .env_remove("PGPASSWORD")
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!("psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// One number from `sql`.
    pub fn number(&self, db: &str, sql: &str) -> u64 {
        let text = self.psql(db, sql).unwrap_or_else(|e| panic!("{e}"));
        text.parse().unwrap_or_else(|_| panic!("{sql}: not a number: {text:?}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
