//! A clock the test moves: a server started with [`TestClock::env`] reads
//! its seconds clock (cookie and dedup windows, per-client limits) as the
//! real one plus the offset in a file (`HITCOUNTER_TEST_CLOCK`, honoured by
//! debug builds only, see `src/clock.rs`). A test steps past a window at
//! once instead of sleeping through it, which a busy machine can stretch.

use super::server::{Opts, Server};
use super::tempdir;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct TestClock {
    file: String,
    offset: AtomicU64,
    _dir: Arc<tempfile::TempDir>,
}

impl TestClock {
    /// A clock at the real time (offset 0).
    pub fn start() -> TestClock {
        let dir = tempdir();
        let file = dir.path().join("clock").to_str().expect("utf-8 path").to_string();
        let clock = TestClock { file, offset: AtomicU64::new(0), _dir: dir };
        clock.write(0);
        clock
    }

    /// The variable a server needs to follow this clock (for `Opts::env`).
    pub fn env(&self) -> (&'static str, &str) {
        ("HITCOUNTER_TEST_CLOCK", &self.file)
    }

    /// A server (as `Server::start_args(args)`) that follows this clock.
    pub fn server(&self, args: &[&str]) -> Server {
        Server::start_with(Opts { args: args.to_vec(), env: vec![self.env()], ..Opts::default() })
    }

    /// Moves the server's clock `secs` further ahead.
    pub fn advance(&self, secs: u64) {
        self.write(self.offset.fetch_add(secs, Ordering::SeqCst) + secs);
    }

    /// The server's time now, in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        super::now_secs() + self.offset.load(Ordering::SeqCst)
    }

    /// Replaces the file whole (a rename), so the server never reads it half
    /// written.
    fn write(&self, offset: u64) {
        let tmp = PathBuf::from(format!("{}.tmp", self.file));
        std::fs::write(&tmp, offset.to_string()).expect("write the test clock");
        std::fs::rename(&tmp, &self.file).expect("replace the test clock");
    }
}
