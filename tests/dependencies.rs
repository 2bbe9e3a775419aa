//! No dependency with a known advisory in the TLS stack: the lock file's
//! graph (as `cargo tree` sees it, every feature on) holds no rustls older
//! than 0.23.18, no ring older than 0.17, no webpki 0.22 and no
//! rustls-pemfile. `cargo deny check bans` in CI says the same from
//! `deny.toml`; this test keeps it true on any machine that runs the suite.
//! And the SQLite built in, as the binary's `--version` names it, is past
//! SQLite's WAL-reset corruption bug.

use std::process::Command;

/// Every (name, version) in the dependency graph.
fn packages() -> Vec<(String, Vec<u64>)> {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args(["tree", "--all-features", "--prefix", "none", "-e", "normal,build", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut found: Vec<(String, Vec<u64>)> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (name, version) = (words.next()?, words.next()?.strip_prefix('v')?);
            let version = version.split(['-', '+']).next()?.split('.').map(|n| n.parse().unwrap_or(0)).collect();
            Some((name.to_string(), version))
        })
        .collect();
    found.sort();
    found.dedup();
    assert!(found.iter().any(|(n, _)| n == "tiny_http"), "cargo tree output not understood:\n{text}");
    found
}

#[test]
fn the_tls_stack_has_no_vulnerable_or_unmaintained_crates() {
    let found = packages();
    let bad: Vec<String> = found
        .iter()
        .filter(|(name, v)| match name.as_str() {
            "rustls" => v.as_slice() < [0, 23, 18].as_slice(),
            "ring" => v.as_slice() < [0, 17].as_slice(),
            "webpki" => v.first() == Some(&0) && v.get(1) == Some(&22),
            "rustls-pemfile" => true,
            _ => false,
        })
        .map(|(n, v)| format!("{n} {v:?}"))
        .collect();
    assert!(bad.is_empty(), "vulnerable or unmaintained: {bad:?}");
    assert!(found.iter().any(|(n, _)| n == "rustls"), "rustls is in the graph (the tls feature)");
}

/// SQLite 3.7.0 to 3.51.2 can corrupt a WAL database when two connections
/// write or checkpoint it at once (SQLite's "WAL-reset" bug), which is what
/// a server's workers, its flusher and CGI processes do: the SQLite the
/// binary runs, as its `--version` names it, is 3.51.3 or newer.
#[test]
fn the_sqlite_built_in_is_past_the_wal_reset_bug() {
    let out = Command::new(env!("CARGO_BIN_EXE_hitcounter")).arg("--version").output().expect("run hitcounter");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let version: Vec<u64> = line
        .split_once("; SQLite ")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(v, _)| v.split('.').map(|n| n.parse().unwrap_or(0)).collect())
        .unwrap_or_else(|| panic!("no `SQLite 3.x.y` in {line:?}"));
    assert_eq!(version.len(), 3, "{line:?}");
    assert!(version.as_slice() >= [3, 51, 3].as_slice(), "SQLite {version:?} has the WAL-reset bug: {line:?}");
}
