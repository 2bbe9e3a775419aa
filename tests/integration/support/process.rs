//! Running processes: the one list of environment variables cleared before
//! the binary (or a script that runs it) starts, the command builder every
//! run of the binary goes through, bounded runs and waits, signals, and
//! process groups (daemons, browsers) killed as a whole.

use super::BIN;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

/// The option table's source: its `env:` entries are the variables the
/// binary reads for its options, so the list below cannot miss one.
const OPTION_TABLE: &str = include_str!("../../../src/cli/options.rs");

/// Variables the binary reads outside the option table: the config file's
/// name, CGI mode, the port platforms set, PostgreSQL's password and the S3
/// client's credentials and endpoint.
const OTHER_ENV_VARS: &[&str] = &[
    "HITCOUNTER_CONFIG",
    "GATEWAY_INTERFACE",
    "PORT",
    "PGPASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// The quoted strings of every `key` field in the option table, in order
/// (all of a list's, as in `env: &["A", "B"]`, even over several lines).
pub fn option_table_entries(key: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let mut rest = OPTION_TABLE;
    while let Some(at) = rest.find(key) {
        let field = &rest[at + key.len()..];
        let value = field.trim_start();
        let end = if value.starts_with("&[") { value.find(']') } else { value.find('\n') };
        let value = &value[..end.unwrap_or(value.len())];
        found.extend(value.split('"').skip(1).step_by(2));
        rest = field;
    }
    found
}

/// Variables a test environment might leak into the binary: every one in
/// the option table, and the others it reads. Cleared before every run
/// (`clear_env`); `hitcounter --help` must mention each of them.
pub fn env_vars() -> &'static [&'static str] {
    static VARS: OnceLock<Vec<&'static str>> = OnceLock::new();
    VARS.get_or_init(|| {
        let mut vars = option_table_entries("env:");
        assert!(vars.contains(&"HITCOUNTER_LISTEN"), "no `env:` entries found in src/cli/options.rs");
        vars.extend_from_slice(OTHER_ENV_VARS);
        vars
    })
}

/// Removes `env_vars()` from `cmd`'s environment.
pub fn clear_env(cmd: &mut Command) -> &mut Command {
    for v in env_vars() {
        cmd.env_remove(v);
    }
    cmd
}

/// How to run the binary: its exact arguments, extra environment, working
/// directory, and optionally a shell prefix (`sh -c '<prefix>; exec BIN ARGS'`,
/// e.g. `ulimit -n 64`).
#[derive(Default, Clone)]
pub struct Cmd<'a> {
    pub args: Vec<&'a str>,
    pub env: Vec<(&'a str, &'a str)>,
    pub cwd: Option<PathBuf>,
    pub sh_prefix: Option<&'a str>,
}

impl Cmd<'_> {
    /// The command: `BIN ARGS` with `env_vars()` cleared, then `env` set.
    pub fn command(&self) -> Command {
        let mut cmd = if let Some(prefix) = self.sh_prefix {
            let mut script = format!("{prefix}; exec \"$0\"");
            for i in 0..self.args.len() {
                script.push_str(&format!(" \"${}\"", i + 1));
            }
            let mut c = Command::new("sh");
            c.arg("-c").arg(script).arg(BIN).args(&self.args);
            c
        } else {
            let mut c = Command::new(BIN);
            c.args(&self.args);
            c
        };
        clear_env(&mut cmd);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        cmd
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

/// Runs `hitcounter ARGS` with `env` added, killed after `limit`: (output, killed).
pub fn run_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Output, bool) {
    run_bounded(Cmd { args: args.to_vec(), env: env.to_vec(), ..Cmd::default() }.command(), limit)
}

/// Runs `hitcounter ARGS` (an admin command) to completion (at most 60 s).
pub fn run(args: &[&str]) -> Output {
    let (out, killed) = run_env(args, &[], Duration::from_secs(60));
    assert!(!killed, "hitcounter {args:?} still running after 60 s");
    out
}

/// `hitcounter ARGS --db DB`.
pub fn run_db(db: &Path, args: &[&str]) -> Output {
    let mut full: Vec<&str> = args.to_vec();
    full.push("--db");
    full.push(db.to_str().expect("utf-8 path"));
    run(&full)
}

pub fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Waits up to `limit` for the process to exit; `None` if it is still running.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits up to `limit` for the process to exit; kills it and panics if not.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    wait_exit(child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("process did not exit within {limit:?}");
    })
}

/// Sends `sig` (e.g. `libc::SIGTERM`) to the process.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a pid we spawned.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill -{sig} {}: {}", child.id(), std::io::Error::last_os_error());
}

/// Stops a child started in its own process group (`process_group(0)`):
/// SIGTERM to the group, up to `grace` for the leader to exit, then SIGKILL
/// to whatever is left of the group (workers, CGI children, browser helpers).
pub fn stop_group(child: &mut Child, grace: Duration) {
    let pgid = child.id() as i32;
    // SAFETY: kill(2) on the process group we created (its id is the leader's pid).
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    wait_exit(child, grace);
    // SAFETY: as above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.kill();
    let _ = child.wait();
}

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();

extern "C" fn kill_registered() {
    if let Ok(pids) = PIDS.lock() {
        for pid in pids.iter() {
            // SAFETY: kill(2) on pids we spawned.
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

/// Statics are never dropped, so a server kept in a `static` would outlive
/// the test binary; register its pid to be SIGKILLed at process exit.
pub fn kill_at_exit(pid: u32) {
    // SAFETY: registers a plain extern "C" function.
    ATEXIT.call_once(|| unsafe {
        libc::atexit(kill_registered);
    });
    PIDS.lock().unwrap().push(pid);
}
