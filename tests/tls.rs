//! Native HTTPS: `--tls-cert/--tls-key` with a certificate the test makes
//! with openssl, checked with curl over real TLS on 127.0.0.1.

mod support;

use std::path::Path;
use std::process::Command;
use support::*;

fn make_cert(dir: &Path) -> (String, String) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = Command::new(need("openssl", "openssl"))
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    (cert.to_str().unwrap().to_string(), key.to_str().unwrap().to_string())
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
    let db = dir.path().join("x.db");
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        bogus.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
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
