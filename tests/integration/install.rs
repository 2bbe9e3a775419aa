//! `install.sh` run with `DESTDIR` into a temporary root (never the real
//! system): every file it writes (and the lines the unit and the nginx site
//! must hold), idempotence and upgrades, `--dry-run`, `--uninstall`, option
//! checks, `--help`, and shellcheck. What the unit and the site do is tested
//! in `install_config.rs`.

use crate::support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::deploy::*;
use support::*;

/// Every entry under `root`: relative path -> (kind, mode, content or link target, mtime).
type Snapshot = BTreeMap<String, (char, u32, Vec<u8>, std::time::SystemTime)>;

fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let mode = meta.permissions().mode() & 0o7777;
            let mtime = meta.modified().expect("mtime");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap().to_string_lossy().into_owned().into_bytes();
                out.insert(rel, ('l', mode, target, mtime));
            } else if meta.is_dir() {
                out.insert(rel, ('d', mode, Vec::new(), mtime));
                walk(root, &path, out);
            } else {
                out.insert(rel, ('f', mode, std::fs::read(&path).unwrap(), mtime));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o7777
}

#[test]
fn script_is_executable() {
    assert_eq!(mode(&install_script()) & 0o111, 0o111, "install.sh must be executable for `sudo ./install.sh`");
}

#[test]
fn writes_exactly_the_documented_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let run = install_sh_ok(&root, &FULL);
    assert!(run.stdout.contains("not creating the system user hitcounter"), "{}", run.all());
    assert!(run.stdout.contains("created /usr/local/bin/hitcounter"), "{}", run.all());

    // Exactly these entries, nothing else (no user database files, no enable links).
    let snap = snapshot(&root);
    let paths: Vec<&str> = snap.keys().map(String::as_str).collect();
    let expected = [
        "etc",
        "etc/nginx",
        "etc/nginx/sites-available",
        SITE,
        "etc/nginx/sites-enabled",
        LINK,
        "etc/systemd",
        "etc/systemd/system",
        UNIT,
        "srv",
        "srv/hits",
        "usr",
        "usr/local",
        "usr/local/bin",
        BINARY,
    ];
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(paths, expected);

    // The binary: a byte copy, executable.
    assert_eq!(std::fs::read(root.join(BINARY)).unwrap(), std::fs::read(BIN).unwrap());
    assert_eq!(mode(&root.join(BINARY)), 0o755);
    // The data dir: private to the service user; empty until the service starts.
    assert_eq!(mode(&root.join("srv/hits")), 0o750);

    // The unit.
    let unit = read(&root, UNIT);
    assert_eq!(mode(&root.join(UNIT)), 0o644);
    let unit_lines = lines(&unit);
    for line in [
        "[Unit]",
        "[Service]",
        "[Install]",
        "ExecStart=/usr/local/bin/hitcounter serve --listen 127.0.0.1:9123 --db /srv/hits/hitcounter.db --trust-proxy",
        "User=hitcounter",
        "Group=hitcounter",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/srv/hits",
        "Restart=on-failure",
        "LimitNOFILE=65536",
        "TasksMax=16384",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/default/hitcounter",
        "WantedBy=multi-user.target",
    ] {
        assert!(unit_lines.contains(&line), "unit lacks {line:?}:\n{unit}");
    }
    assert_eq!(unit_lines.iter().filter(|l| l.starts_with("ExecStart=")).count(), 1);
    // Request logs are kept (journald stores them); no --quiet.
    assert!(!unit.contains("--quiet"));

    // The nginx site.
    let site = read(&root, SITE);
    assert_eq!(mode(&root.join(SITE)), 0o644);
    assert!(!site.contains('@'), "unfilled placeholder:\n{site}");
    let site_lines = lines(&site);
    for line in [
        "listen 80;",
        "listen [::]:80;",
        "server_name counter.example.com;",
        "proxy_pass http://127.0.0.1:9123;",
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Host $http_host;",
    ] {
        assert!(site_lines.contains(&line), "site lacks {line:?}:\n{site}");
    }
    assert_eq!(site.matches('{').count(), site.matches('}').count(), "unbalanced braces:\n{site}");
    // The link points at the real path (valid once the root is deployed).
    assert_eq!(std::fs::read_link(root.join(LINK)).unwrap(), Path::new("/etc/nginx/sites-available/hitcounter.conf"));
}

#[test]
fn second_run_changes_nothing_and_keeps_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    install_sh_ok(&root, &FULL);
    // A database from a running service (and its WAL) must never be touched.
    std::fs::write(root.join("srv/hits/hitcounter.db"), b"precious").unwrap();
    std::fs::write(root.join("srv/hits/hitcounter.db-wal"), b"wal").unwrap();
    let before = snapshot(&root);
    std::thread::sleep(Duration::from_millis(20));

    let again = install_sh_ok(&root, &FULL);
    assert_eq!(snapshot(&root), before, "second run changed files\n{}", again.all());
    for what in ["/usr/local/bin/hitcounter", UNIT, SITE, LINK] {
        let what = what.trim_start_matches('/');
        assert!(again.stdout.contains(&format!("unchanged /{what}")), "no 'unchanged /{what}'\n{}", again.all());
    }
    assert!(again.stdout.contains("kept existing database /srv/hits/hitcounter.db"), "{}", again.all());
    for verb in ["created", "updated", "linked", "removed", "would "] {
        assert!(!again.stdout.contains(verb), "second run says {verb:?}\n{}", again.all());
    }

    // Re-running with no options (an upgrade) keeps port, data dir and domain.
    let upgrade = install_sh_ok(&root, &["--binary", BIN]);
    assert_eq!(snapshot(&root), before, "option-less re-run changed files\n{}", upgrade.all());
    assert!(upgrade.stdout.contains("keeping --port 9123"), "{}", upgrade.all());
    assert!(upgrade.stdout.contains("keeping --db-dir /srv/hits"), "{}", upgrade.all());
    assert!(upgrade.stdout.contains("keeping --domain counter.example.com"), "{}", upgrade.all());

    // A changed binary is replaced; nothing else moves.
    std::fs::write(root.join(BINARY), b"old build").unwrap();
    let update = install_sh_ok(&root, &FULL);
    assert!(update.stdout.contains("updated /usr/local/bin/hitcounter"), "{}", update.all());
    assert_eq!(std::fs::read(root.join(BINARY)).unwrap(), std::fs::read(BIN).unwrap());
    assert_eq!(mode(&root.join(BINARY)), 0o755);
    assert_eq!(std::fs::read(root.join("srv/hits/hitcounter.db")).unwrap(), b"precious");

    // A new port rewrites the unit and the site, not the database.
    let moved = install_sh_ok(&root, &["--port", "9200", "--binary", BIN]);
    assert!(moved.stdout.contains(&format!("updated /{UNIT}")), "{}", moved.all());
    assert!(moved.stdout.contains(&format!("updated /{SITE}")), "{}", moved.all());
    assert!(read(&root, UNIT).contains("--listen 127.0.0.1:9200 --db /srv/hits/hitcounter.db --trust-proxy"));
    assert!(read(&root, SITE).contains("proxy_pass http://127.0.0.1:9200;"));
    assert_eq!(std::fs::read(root.join("srv/hits/hitcounter.db")).unwrap(), b"precious");
}

#[test]
fn dry_run_prints_every_action_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let run = install_sh_ok(&root, &[&FULL[..], &["--dry-run"]].concat());
    assert!(!root.exists(), "dry run created {:?}\n{}", snapshot(&root).keys(), run.all());
    for action in [
        "would create /usr/local/bin/hitcounter",
        "would create /srv/hits/",
        "would create /etc/systemd/system/hitcounter.service",
        "would create /etc/nginx/sites-available/hitcounter.conf",
        "would link /etc/nginx/sites-enabled/hitcounter.conf",
    ] {
        assert!(run.stdout.contains(action), "dry run does not say {action:?}\n{}", run.all());
    }

    // Over an installed tree: a changed option is reported, not applied.
    install_sh_ok(&root, &FULL);
    let before = snapshot(&root);
    let run = install_sh_ok(&root, &["--port", "9999", "--dry-run", "--binary", BIN]);
    assert_eq!(snapshot(&root), before);
    assert!(run.stdout.contains(&format!("would update /{UNIT}")), "{}", run.all());
    assert!(run.stdout.contains(&format!("would update /{SITE}")), "{}", run.all());
    assert!(run.stdout.contains("unchanged /usr/local/bin/hitcounter"), "{}", run.all());

    let run = install_sh_ok(&root, &["--uninstall", "--dry-run"]);
    assert_eq!(snapshot(&root), before);
    for what in [BINARY, UNIT, SITE, LINK] {
        assert!(run.stdout.contains(&format!("would remove /{what}")), "{}", run.all());
    }
}

#[test]
fn uninstall_removes_everything_but_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    install_sh_ok(&root, &FULL);
    std::fs::write(root.join("srv/hits/hitcounter.db"), b"precious").unwrap();
    let run = install_sh_ok(&root, &["--uninstall"]);
    for what in [BINARY, UNIT, SITE, LINK] {
        assert!(std::fs::symlink_metadata(root.join(what)).is_err(), "{what} survived\n{}", run.all());
        assert!(run.stdout.contains(&format!("removed /{what}")), "{}", run.all());
    }
    assert_eq!(std::fs::read(root.join("srv/hits/hitcounter.db")).unwrap(), b"precious");
    assert!(run.stdout.contains("kept the data directory /srv/hits"), "{}", run.all());
    // Uninstalling again is harmless.
    let again = install_sh_ok(&root, &["--uninstall"]);
    assert!(again.stdout.contains(&format!("absent /{UNIT}")), "{}", again.all());
    assert_eq!(std::fs::read(root.join("srv/hits/hitcounter.db")).unwrap(), b"precious");
}

#[test]
fn bad_options_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let not_hitcounter = tmp.path().join("not-hitcounter");
    std::fs::write(&not_hitcounter, "#!/bin/sh\necho something else\n").unwrap();
    std::fs::set_permissions(&not_hitcounter, std::fs::Permissions::from_mode(0o755)).unwrap();
    let not_hitcounter = not_hitcounter.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["--port", "0"],
        &["--port", "70000"],
        &["--port", "80a"],
        &["--port", "1000000000000000000080"],
        &["--port"],
        &["--db-dir", "relative/dir"],
        &["--db-dir", "/home/me/hits"],
        &["--db-dir", "/var/lib/with space"],
        &["--domain", "bad domain"],
        &["--domain", "x;evil"],
        &["--binary", "/nonexistent/hitcounter"],
        &["--binary", not_hitcounter],
        &["--bogus"],
    ];
    for args in cases {
        let mut full: Vec<&str> = args.to_vec();
        if !args.contains(&"--binary") {
            full.extend(["--binary", BIN]);
        }
        let run = install_sh(&root, &full);
        assert!(!run.ok, "{args:?} was accepted\n{}", run.all());
        assert!(!run.stderr.trim().is_empty(), "{args:?}: no message\n{}", run.all());
        assert!(!root.exists(), "{args:?} wrote files\n{}", run.all());
    }
}

#[test]
fn help_lists_every_option() {
    let tmp = tempfile::tempdir().unwrap();
    let run = install_sh_ok(tmp.path(), &["--help"]);
    for option in ["--domain", "--port", "--db-dir", "--binary", "--uninstall", "--dry-run", "DESTDIR"] {
        assert!(run.stdout.contains(option), "--help lacks {option}\n{}", run.all());
    }
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
}

#[test]
fn shellcheck_is_clean() {
    let Some(shellcheck) = require("shellcheck", "shellcheck") else { return };
    let out = Command::new(shellcheck).arg("-f").arg("gcc").arg(install_script()).output().expect("shellcheck");
    assert!(
        out.status.success(),
        "shellcheck install.sh:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn finds_the_portable_binary_copied_next_to_it() {
    // As after `scp dist/hitcounter-VERSION-ARCH-linux install.sh vps:`.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(install_script(), home.join("install.sh")).unwrap();
    let arch = String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap();
    let portable = home.join(format!("hitcounter-{}-{}-linux", env!("CARGO_PKG_VERSION"), arch.trim()));
    std::fs::copy(BIN, &portable).unwrap();
    let root = tmp.path().join("root");
    let mut cmd = Command::new(home.join("install.sh"));
    clear_env(&mut cmd);
    let out = cmd.env("DESTDIR", &root).stdin(std::process::Stdio::null()).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(all.contains(portable.to_str().unwrap()), "names the binary it installs: {all}");
    assert_eq!(std::fs::read(root.join(BINARY)).unwrap(), std::fs::read(&portable).unwrap());
}

/// What `--dry-run` prints of a file it would write: the indented lines
/// after "would create PATH (mode M), holding:".
fn printed_file(stdout: &str, path: &str) -> String {
    let head = format!("would create /{path} (mode 644), holding:");
    let mut lines = stdout.lines().skip_while(|l| *l != head);
    assert!(lines.next().is_some(), "no {head:?} in:\n{stdout}");
    let body: Vec<&str> = lines.take_while(|l| l.starts_with("    ") || l.is_empty()).collect();
    body.iter().map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l))).collect()
}

/// `--dry-run` prints the unit and the nginx site in full, exactly as a
/// real run then writes them.
#[test]
fn dry_run_prints_each_file_in_full() {
    let tmp = tempfile::tempdir().unwrap();
    let (dry, real) = (tmp.path().join("dry"), tmp.path().join("real"));
    let run = install_sh_ok(&dry, &[&FULL[..], &["--dry-run"]].concat());
    assert!(!dry.exists());
    install_sh_ok(&real, &FULL);
    for file in [UNIT, SITE] {
        assert_eq!(printed_file(&run.stdout, file), read(&real, file), "{file} as printed and as written");
    }
    assert!(printed_file(&run.stdout, UNIT).contains("ExecStart="), "{}", run.all());
}
