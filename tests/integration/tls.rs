//! Native HTTPS: `--tls-cert/--tls-key` with a certificate the test makes
//! with openssl, checked with curl over real TLS on 127.0.0.1.

use crate::support;

use std::path::Path;
use std::process::Command;
use support::pages::{certificate, certificate_as, EC_P256};
use support::*;

fn make_cert(dir: &Path) -> (String, String) {
    certificate(dir, &["localhost"])
}

fn make_cert_as(dir: &Path, prefix: &str, keyargs: &[&str]) -> (String, String) {
    certificate_as(dir, prefix, &["localhost"], keyargs)
}

/// Starts a server on these files, expecting it to refuse: its stderr.
fn start_error(dir: &Path, cert: &str, key: &str) -> String {
    let db = dir.join("x.db");
    let out =
        run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn curl(args: &[&str]) -> (bool, String) {
    let out =
        Command::new(need("curl", "curl")).args(["-s", "--max-time", "10"]).args(args).output().expect("run curl");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A server on HTTPS with a fresh certificate; returns it and the cert path.
fn tls_server() -> (Server, String) {
    let dir = tempdir();
    let (cert, key) = make_cert(dir.path());
    let srv = Server::start_with(Opts {
        args: vec!["--tls-cert", &cert, "--tls-key", &key],
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    (srv, cert)
}

#[test]
fn serves_https_with_the_given_certificate() {
    let (srv, cert) = tls_server();
    assert!(srv.log_text().contains("listening on https://"), "{}", srv.log_text());
    let base = format!("https://{}", srv.addr);
    // Verified against the test's own certificate, not with -k.
    let (ok, body) = curl(&["--cacert", &cert, &format!("{base}/count?url=tls.example/a")]);
    assert!(ok, "https request failed");
    assert_eq!(body, "1");
    let (ok, body) = curl(&["--cacert", &cert, &format!("{base}/count?url=tls.example/a")]);
    assert!(ok);
    assert_eq!(body, "2");
    let (ok, svg) = curl(&["--cacert", &cert, &format!("{base}/nocount/tag.svg?url=tls.example/a")]);
    assert!(ok);
    roxmltree::Document::parse(&svg).expect("badge is XML");
    // Plain http on the TLS port is not served.
    let (ok, body) = curl(&[&format!("http://{}/nocount?url=tls.example/a", srv.addr)]);
    assert!(!ok || body != "2", "plain http must not be answered on the TLS port");
}

#[test]
fn bad_tls_files_are_a_clear_startup_error() {
    let dir = tempdir();
    let (cert, _) = make_cert(dir.path());
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a key").unwrap();
    let err = start_error(dir.path(), &cert, bogus.to_str().unwrap());
    assert!(err.contains("private key"), "{err}");
    let out = run(&["serve", "--tls-cert", &cert]);
    assert_eq!(out.status.code(), Some(2), "cert without key is a usage error");
}

#[test]
fn page_links_use_https_when_serving_tls() {
    let (srv, cert) = tls_server();
    let (ok, html) = curl(&["--cacert", &cert, &format!("https://{}/", srv.addr)]);
    assert!(ok);
    assert_eq!(page_origin(&html), Some(format!("https://{}", srv.addr)), "snippet origin must be https");
}

#[test]
fn rsa_ecdsa_and_ed25519_keys_in_every_pem_form_work() {
    let dir = tempdir();
    let openssl = need("openssl", "openssl");
    let mut cases: Vec<(&str, String, String)> = Vec::new();
    for (name, args) in [
        ("rsa", &["-newkey", "rsa:2048"][..]),
        ("ecdsa", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"][..]),
        ("ed25519", &["-newkey", "ed25519"][..]),
    ] {
        let (cert, key) = make_cert_as(dir.path(), name, args);
        cases.push((name, cert, key));
    }
    // The same keys in their older PEM forms: PKCS#1 (RSA) and SEC1 (EC).
    for (name, kind) in [("rsa", "rsa"), ("ecdsa", "ec")] {
        let (_, cert, key) = cases.iter().find(|c| c.0 == name).unwrap().clone();
        let old = format!("{key}.traditional");
        let out = Command::new(&openssl)
            .args([kind, "-in", &key, "-out", &old])
            .args(if kind == "rsa" { &["-traditional"][..] } else { &[][..] })
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pem = std::fs::read_to_string(&old).unwrap();
        let label = if kind == "rsa" { "BEGIN RSA PRIVATE KEY" } else { "BEGIN EC PRIVATE KEY" };
        assert!(pem.contains(label), "{name}: {pem}");
        cases.push((if kind == "rsa" { "rsa-pkcs1" } else { "ecdsa-sec1" }, cert, old));
    }
    for (name, cert, key) in &cases {
        let srv = Server::start_with(Opts {
            args: vec!["--tls-cert", cert, "--tls-key", key],
            dir: Some(dir.clone()),
            db: None,
            ..Opts::default()
        });
        let (ok, body) = curl(&["--cacert", cert, &format!("https://{}/nocount?url=tls.example/k", srv.addr)]);
        assert!(ok && body == "0", "{name}: {body:?}");
    }
}

#[test]
fn a_key_that_does_not_fit_the_certificate_is_a_startup_error() {
    let dir = tempdir();
    let (cert, _) = make_cert_as(dir.path(), "a", EC_P256);
    let (_, other_key) = make_cert_as(dir.path(), "b", EC_P256);
    let err = start_error(dir.path(), &cert, &other_key);
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn a_renewed_certificate_is_served_after_sighup_without_a_restart() {
    let dir = tempdir();
    let (cert, key) = make_cert(dir.path());
    let mut srv = Server::start_with(Opts {
        args: vec!["--tls-cert", &cert, "--tls-key", &key],
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    let url = format!("https://{}/nocount?url=tls.example/r", srv.addr);
    let old = std::fs::read(&cert).unwrap();
    let old_ca = dir.path().join("old-ca.pem");
    std::fs::write(&old_ca, &old).unwrap();
    assert!(curl(&["--cacert", old_ca.to_str().unwrap(), &url]).0);

    // certbot renews: new files at the same paths.
    let (new_cert, new_key) = make_cert_as(dir.path(), "new", &["-newkey", "rsa:2048"]);
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    let pid = srv.child.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    assert!(
        wait_log(&srv, std::time::Duration::from_secs(10), |l| l.contains("reloaded the TLS certificate")),
        "{}",
        srv.log_text()
    );
    assert!(curl(&["--cacert", &new_cert, &url]).0, "the new certificate is served");
    assert!(!curl(&["--cacert", old_ca.to_str().unwrap(), &url]).0, "the old one is not");

    // A broken renewal keeps the current certificate.
    std::fs::write(&key, "not a key").unwrap();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    assert!(
        wait_log(&srv, std::time::Duration::from_secs(10), |l| l.contains("cannot reload the TLS certificate")),
        "{}",
        srv.log_text()
    );
    assert!(curl(&["--cacert", &new_cert, &url]).0, "still served after a failed reload");
    assert_eq!(srv.stop().code(), Some(0), "SIGHUP did not stop the server");
}

#[test]
fn a_stalled_handshake_is_dropped_after_the_head_timeout() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let (cert, key) = make_cert(dir.path());
    let srv = Server::start_with(Opts {
        args: vec!["--tls-cert", &cert, "--tls-key", &key, "--head-timeout", "1"],
        dir: Some(dir.clone()),
        ..Opts::default()
    });
    let sa: std::net::SocketAddr = srv.addr.parse().unwrap();
    // One opens TCP and says nothing; one sends the start of a ClientHello.
    let mut silent = std::net::TcpStream::connect(sa).unwrap();
    let mut partial = std::net::TcpStream::connect(sa).unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    for (what, c) in [("silent", &mut silent), ("partial", &mut partial)] {
        c.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 64];
        match c.read(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{what}: the stalled handshake was not dropped: {e}"),
        }
    }
    // Meanwhile and afterwards, normal HTTPS clients are served.
    let (ok, _) = curl(&["--cacert", &cert, &format!("https://{}/nocount?url=tls.example/s", srv.addr)]);
    assert!(ok);
}
