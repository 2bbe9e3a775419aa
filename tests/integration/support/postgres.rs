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
    /// The server's `max_connections`.
    max_connections: u32,
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
        Postgres::start_with(false, 300)
    }

    /// A running cluster that takes at most `max_connections` connections
    /// (PostgreSQL's default is 100), superusers' reserve included.
    pub fn start_limited(max_connections: u32) -> Option<Postgres> {
        Postgres::start_with(false, max_connections)
    }

    /// A cluster that takes TLS connections only (`hostssl` in
    /// `pg_hba.conf`), its certificate for `127.0.0.1` signed by a test CA
    /// whose certificate is `ca_cert()`.
    pub fn start_tls() -> Option<Postgres> {
        Postgres::start_with(true, 300)
    }

    /// The test CA's certificate (PEM) of a `start_tls` cluster.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn start_with(tls: bool, max_connections: u32) -> Option<Postgres> {
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
        if tls {
            certificates(dir.path())?;
            let data = dir.path().join("data");
            let conf = format!(
                "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                dir.path().display()
            );
            let mut main = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap();
            std::io::Write::write_all(&mut main, conf.as_bytes()).unwrap();
            std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
                .unwrap();
        }
        let mut pg = Postgres { port: free_port(), max_connections, bin, dir, child: None };
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
            .args(["-c", &format!("max_connections={}", self.max_connections)])
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

    /// A login role `role` that must give `password` over TCP (SCRAM; the
    /// cluster trusts every other role), owning a new database `db`; the
    /// URL of that database as that role, without the password.
    pub fn password_role(&self, role: &str, password: &str, db: &str) -> String {
        let sql = format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'");
        self.psql("postgres", &sql).unwrap_or_else(|e| panic!("{e}"));
        self.psql("postgres", &format!("CREATE DATABASE \"{db}\" OWNER \"{role}\"")).unwrap_or_else(|e| panic!("{e}"));
        let hba = self.dir.path().join("data/pg_hba.conf");
        let rest = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        std::fs::write(&hba, format!("host all {role} 127.0.0.1/32 scram-sha-256\n{rest}")).expect("pg_hba.conf");
        self.psql("postgres", "SELECT pg_reload_conf()").unwrap_or_else(|e| panic!("{e}"));
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
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

/// A test CA and a certificate for `127.0.0.1` it signed, in `dir`
/// (`ca.crt`, `server.crt`, `server.key`, the key readable by the server
/// only, as PostgreSQL demands). `None` (skipped) without openssl.
fn certificates(dir: &Path) -> Option<()> {
    let openssl = super::require("openssl", "openssl")?;
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).current_dir(dir).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"]
        .iter()
        .chain(&["-subj", "/CN=hitcounter test CA"])
        .copied()
        .collect::<Vec<_>>());
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    if is_root() {
        let key = dir.join("server.key");
        let ok = Command::new("chown").arg("postgres:postgres").arg(&key).status().expect("chown");
        assert!(ok.success());
    }
    std::fs::set_permissions(dir.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    Some(())
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
