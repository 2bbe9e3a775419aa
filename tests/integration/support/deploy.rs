//! Deployment: real daemons (nginx, Apache) started on free loopback ports in
//! their own process group, every wait bounded, everything killed on drop;
//! and `install.sh` run with `DESTDIR` into a temporary root (never the real
//! system), with the paths it writes. Used by `nginx.rs`, `cgi_apache.rs`,
//! `install.rs` and `install_config.rs`.

use super::process::{clear_env, stop_group};
use super::BIN;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon in its own process group. Drop stops the whole group (workers,
/// CGI children): SIGTERM, up to 5 s, then SIGKILL.
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    /// Spawns `cmd` with stdout/stderr to `log` and waits until every port
    /// accepts connections (at most 10 s). Panics with the log otherwise.
    pub fn start(name: &str, mut cmd: Command, log: &Path, ports: &[u16], extra_log: Option<&Path>) -> Daemon {
        let out = std::fs::File::create(log).expect("daemon log");
        cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let mut daemon = Daemon { child };
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
        stop_group(&mut self.child, Duration::from_secs(5));
    }
}

// ---------------------------------------------------------------------------
// install.sh

pub const UNIT: &str = "etc/systemd/system/hitcounter.service";
pub const SITE: &str = "etc/nginx/sites-available/hitcounter.conf";
pub const LINK: &str = "etc/nginx/sites-enabled/hitcounter.conf";
pub const BINARY: &str = "usr/local/bin/hitcounter";

/// Every option set, to values a test can check for.
pub const FULL: [&str; 8] =
    ["--domain", "counter.example.com", "--port", "9123", "--db-dir", "/srv/hits", "--binary", BIN];

pub fn install_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh")
}

/// What a run of `install.sh` did.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// Runs `./install.sh ARGS` with `DESTDIR=root` (and the binary's variables
/// cleared, as for every run of the binary).
pub fn install_sh(root: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(install_script());
    clear_env(&mut cmd);
    let out = cmd.args(args).env("DESTDIR", root).stdin(Stdio::null()).output().expect("run install.sh");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `install_sh`, which must succeed.
pub fn install_sh_ok(root: &Path, args: &[&str]) -> Run {
    let run = install_sh(root, args);
    assert!(run.ok, "install.sh {args:?} failed\n{}", run.all());
    run
}

/// The text of the installed file `rel` (relative to `root`).
pub fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The lines of `text`, trimmed.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).collect()
}
