//! The portable binary as README's deploy path makes it: `./build-static.sh`
//! writes `dist/hitcounter-<version>-x86_64-linux` and its `.sha256`; the file
//! is statically linked, runs with an empty environment (`env -i`, as on a
//! bare VPS or in a `FROM scratch` image) and counts a hit.
//!
//! The build is a release build of its own (another target directory), so
//! this is the slowest test file; the script's cargo run is a no-op when the
//! binary is current.

use crate::support;
use support::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs `./build-static.sh` once per test binary; `None` when musl-gcc is
/// missing on a developer machine (a failure in CI).
fn artifact() -> Option<PathBuf> {
    static BUILT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            require("musl-gcc", "musl-tools")?;
            let mut cmd = Command::new(Path::new(ROOT).join("build-static.sh"));
            cmd.current_dir(ROOT);
            let (out, killed) = run_bounded(cmd, Duration::from_secs(1200));
            assert!(!killed, "build-static.sh ran for 20 minutes");
            assert!(out.status.success(), "build-static.sh failed: {}\n{}", stdout_of(&out), stderr_of(&out));
            let path = Path::new(ROOT).join(format!("dist/hitcounter-{VERSION}-x86_64-linux"));
            assert!(
                stdout_of(&out).contains(&format!("dist/hitcounter-{VERSION}-x86_64-linux")),
                "{}",
                stdout_of(&out)
            );
            Some(path)
        })
        .clone()
}

#[test]
fn the_artifact_is_static_stripped_and_checksummed() {
    let Some(bin) = artifact() else { return };
    let file = need("file", "file");
    let out = Command::new(file).arg("-b").arg(&bin).output().expect("file");
    let what = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(what.contains("statically linked") || what.contains("static-pie linked"), "file says: {what}");
    assert!(what.contains("stripped") && !what.contains("not stripped"), "file says: {what}");
    assert!(what.contains("x86-64"), "file says: {what}");

    let dist = bin.parent().expect("dist");
    let sum = std::fs::read_to_string(dist.join(format!("hitcounter-{VERSION}-x86_64-linux.sha256"))).expect(".sha256");
    assert!(sum.ends_with(&format!("  hitcounter-{VERSION}-x86_64-linux\n")), "{sum:?}");
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("hitcounter-{VERSION}-x86_64-linux.sha256"))
        .current_dir(dist)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn it_runs_with_an_empty_environment_and_says_its_version() {
    let Some(bin) = artifact() else { return };
    let out = Command::new("env").arg("-i").arg(&bin).arg("--version").output().expect("env -i");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(line.starts_with(&format!("hitcounter {VERSION} (commit ")), "{line}");
    assert!(line.ends_with("; features: tls, s3, tz, postgres)"), "the default features: {line}");
}

#[test]
fn it_counts_a_hit_with_an_empty_environment() {
    let Some(bin) = artifact() else { return };
    let dir = tempdir();
    let db = dir.path().join("data/hitcounter.db");
    let mut cmd = Command::new("env");
    cmd.arg("-i").arg(&bin).args(["serve", "--listen", "127.0.0.1:0", "--db"]).arg(&db);
    cmd.stdin(Stdio::null());
    let mut s = Server::launch(cmd, db.clone(), dir).unwrap_or_else(|(log, _)| panic!("did not start: {log:?}"));
    let url = "static.example/page";
    let r = s.get(&format!("/count/tag.svg?url={}", enc(url)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("<svg"), "{}", r.text());
    assert_eq!(s.get(&format!("/nocount?url={}", enc(url))).text().trim(), "1");
    assert!(s.stop().success(), "a clean exit: {}", s.log_text());
    assert_eq!(get_count(&db, url), 1, "the hit is in the database after shutdown");
}
