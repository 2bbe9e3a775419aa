//! The systemd unit and the nginx site that `install.sh` writes (run with
//! `DESTDIR` into a temporary root, never the real system): the unit's
//! command line starts the server, `systemd-analyze verify` accepts the unit
//! (and rates its hardening), a site edited for TLS is left alone, and
//! without `--domain` there is no site and no `--trust-proxy`.

use crate::support;

use std::path::Path;
use std::process::Command;
use support::deploy::*;
use support::*;

/// The unit's command line is one the binary accepts: start it with the same
/// flags (only the address and database moved into the temp dir).
#[test]
fn unit_command_line_starts_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    install_sh_ok(&root, &FULL);
    let unit = read(&root, UNIT);
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let mut words: Vec<String> = exec.split_whitespace().map(String::from).collect();
    assert_eq!(words.remove(0), "/usr/local/bin/hitcounter");
    let db = tmp.path().join("hits.db");
    for i in 0..words.len() {
        match words[i].as_str() {
            "--listen" => words[i + 1] = "127.0.0.1:0".into(),
            "--db" => words[i + 1] = db.to_string_lossy().into_owned(),
            _ => {}
        }
    }
    let mut cmd = Command::new(root.join(BINARY));
    cmd.args(&words).env_clear();
    let server = Server::launch(cmd, db, tempdir()).unwrap_or_else(|(log, status)| {
        panic!("`hitcounter {}` did not start (exit: {status:?}); stderr: {log:?}", words.join(" "))
    });
    let log = server.log_text();
    assert!(log.contains("listening on http://127.0.0.1:"), "not listening on plain http on 127.0.0.1:\n{log}");
}

/// `systemd-analyze verify` checks that ExecStart exists on the real file
/// system, so it verifies a copy of the unit whose ExecStart points at the
/// staged binary. Fails on any complaint about the unit itself except the
/// service user not existing on this machine.
fn verify_unit(systemd_analyze: &Path, unit_text: &str, dir: &Path) -> Result<(), String> {
    let path = dir.join("hitcounter.service");
    std::fs::write(&path, unit_text).unwrap();
    let out = Command::new(systemd_analyze).arg("verify").arg(&path).output().expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("hitcounter.service") || l.contains("bad unit file setting"))
        .filter(|l| !(l.to_ascii_lowercase().contains("user") && l.contains("hitcounter") && !l.contains("ignoring")))
        .collect();
    if out.status.success() && complaints.is_empty() {
        Ok(())
    } else {
        Err(format!("exit {:?}; complaints {complaints:?}\nstderr:\n{stderr}", out.status.code()))
    }
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let Some(systemd_analyze) = require("systemd-analyze", "systemd") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    install_sh_ok(&root, &FULL);
    let unit = read(&root, UNIT);
    let staged = root.join(BINARY);
    let real = unit.replace("ExecStart=/usr/local/bin/hitcounter ", &format!("ExecStart={} ", staged.display()));
    assert_ne!(real, unit);
    let check = tmp.path().join("check");
    std::fs::create_dir(&check).unwrap();
    verify_unit(&systemd_analyze, &real, &check)
        .unwrap_or_else(|e| panic!("systemd-analyze verify:\n{e}\nunit:\n{unit}"));

    // Hardening level as systemd rates it (0 = best, 10 = worst).
    let out = Command::new(&systemd_analyze)
        .args(["security", "--offline=true"])
        .arg(check.join("hitcounter.service"))
        .output()
        .expect("systemd-analyze security");
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some(level) = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for hitcounter.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
    {
        assert!(level <= 2.5, "exposure level {level} (want <= 2.5):\n{text}");
    }
    // The check does catch a broken setting.
    let broken = real.replace("Restart=on-failure", "Restart=sometimes");
    assert!(verify_unit(&systemd_analyze, &broken, &check).is_err(), "a bad Restart= went unnoticed");
}

#[test]
fn site_with_tls_settings_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    install_sh_ok(&root, &FULL);
    // What `certbot --nginx` leaves behind.
    let mut site = read(&root, SITE);
    site = site.replace(
        "    listen [::]:80;\n",
        concat!(
            "    listen 443 ssl; # managed by Certbot\n",
            "    ssl_certificate /etc/letsencrypt/live/x/fullchain.pem; # managed by Certbot\n",
        ),
    );
    std::fs::write(root.join(SITE), &site).unwrap();
    let run = install_sh_ok(&root, &FULL);
    assert_eq!(read(&root, SITE), site);
    assert!(run.stdout.contains("kept /etc/nginx/sites-available/hitcounter.conf"), "{}", run.all());
}

#[test]
fn without_domain_there_is_no_nginx_site_and_no_trust_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let run = install_sh_ok(&root, &["--binary", BIN]);
    assert!(!root.join("etc/nginx").exists(), "{}", run.all());
    let unit = read(&root, UNIT);
    assert!(
        lines(&unit).contains(
            &"ExecStart=/usr/local/bin/hitcounter serve --listen 127.0.0.1:8080 --db /var/lib/hitcounter/hitcounter.db"
        ),
        "{unit}"
    );
    assert!(lines(&unit).contains(&"ReadWritePaths=/var/lib/hitcounter"));
    assert!(root.join("var/lib/hitcounter").is_dir());
}
