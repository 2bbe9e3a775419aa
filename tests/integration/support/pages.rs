//! Another site for the browser tests: a static HTTPS server (Python's
//! `http.server` with the test's certificate) on a free loopback port,
//! serving pages the test writes, so Chromium can load a page on one host
//! that embeds a badge from another (`--host-resolver-rules`).

use super::{free_port, kill_at_exit, need, tempdir};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The key `certificate` makes: ECDSA P-256, certbot's default.
pub const EC_P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// A self-signed certificate for `names` and 127.0.0.1 (made with openssl):
/// (cert, key).
pub fn certificate(dir: &Path, names: &[&str]) -> (String, String) {
    certificate_as(dir, "", names, EC_P256)
}

/// Like `certificate`, with the key `keyargs` make (`-newkey ...`), written
/// to `{prefix}cert.pem` and `{prefix}key.pem`.
pub fn certificate_as(dir: &Path, prefix: &str, names: &[&str], keyargs: &[&str]) -> (String, String) {
    let (cert, key) = (dir.join(format!("{prefix}cert.pem")), dir.join(format!("{prefix}key.pem")));
    let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).chain(["IP:127.0.0.1".to_string()]).collect();
    let out = Command::new(need("openssl", "openssl"))
        .args(["req", "-x509", "-nodes", "-days", "1"])
        .args(keyargs)
        .args(["-subj", &format!("/CN={}", names[0]), "-addext", &format!("subjectAltName={}", san.join(","))])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    (cert.display().to_string(), key.display().to_string())
}

const SERVE: &str = r#"
import http.server, ssl, sys, functools
port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()
handler = functools.partial(Quiet, directory=root)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
"#;

pub struct Pages {
    child: Child,
    pub port: u16,
    pub root: Arc<tempfile::TempDir>,
}

impl Pages {
    /// Serves an empty folder over HTTPS with `cert`/`key`.
    pub fn start(cert: &str, key: &str) -> Pages {
        let root = tempdir();
        let port = free_port();
        let child = Command::new(need("python3", "python3"))
            .args(["-c", SERVE, &port.to_string(), root.path().to_str().unwrap(), cert, key])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python3");
        kill_at_exit(child.id());
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "the page server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Pages { child, port, root }
    }

    /// Writes `html` at `path` (e.g. `blog/post-2.html`).
    pub fn page(&self, path: &str, html: &str) {
        let file = self.root.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, html).unwrap();
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
