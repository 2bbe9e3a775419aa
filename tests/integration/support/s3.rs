//! A real S3-compatible server for the backup tests: `s3s-fs` (it checks
//! SigV4 signatures, header and presigned) on a free loopback port, serving
//! a temporary folder in which each bucket is a sub-folder, so a test can
//! see (and plant) objects as files.

use super::{free_port, kill_at_exit, need, tempdir};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KEY: &str = "AKIDHITCOUNTERTEST";
pub const SECRET: &str = "hitcounter-test-secret";
pub const BUCKET: &str = "backups";

pub struct S3 {
    child: Child,
    pub endpoint: String,
    /// The bucket's folder: objects appear here as files.
    pub bucket_dir: PathBuf,
    _root: Arc<tempfile::TempDir>,
}

impl S3 {
    /// Starts s3s-fs with bucket [`BUCKET`] and waits until it accepts
    /// connections.
    pub fn start() -> S3 {
        let bin = need("s3s-fs", "the s3s-fs crate (./test.sh installs it)");
        let root = tempdir();
        let bucket_dir = root.path().join(BUCKET);
        std::fs::create_dir(&bucket_dir).unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn s3s-fs");
        kill_at_exit(child.id());
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        S3 { child, endpoint: format!("http://127.0.0.1:{port}"), bucket_dir, _root: root }
    }

    /// The environment a hitcounter needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The object names under `prefix` (a folder of the bucket), sorted.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        let dir = self.bucket_dir.join(prefix);
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pairs` as the `&str` pairs the launchers take.
pub fn env_refs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
