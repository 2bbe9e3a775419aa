//! Real nginx in front of the real binary, serving the very site file
//! `install.sh --domain` writes (only its `listen` lines moved to loopback
//! ports): one plain site, and one that says `X-Forwarded-Proto https` as
//! behind TLS termination.

use super::deploy::{install_sh_ok, Daemon};
use super::*;
use std::path::Path;
use std::process::Command;

pub const DOMAIN: &str = "counter.test";

pub struct Proxy {
    /// nginx as installed: `X-Forwarded-Proto $scheme` (http here).
    pub plain: String,
    /// The same site with `X-Forwarded-Proto https`, as behind TLS termination.
    pub tls: String,
    pub backend: Server,
    _nginx: Daemon,
    _dir: tempfile::TempDir,
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "expected exactly one {from:?} in the site file:\n{text}");
    text.replacen(from, to, 1)
}

/// The site file install.sh writes for `--domain counter.test --port PORT`.
fn installed_site(dir: &Path, port: u16) -> String {
    let root = dir.join("root");
    install_sh_ok(&root, &["--domain", DOMAIN, "--port", &port.to_string(), "--binary", BIN]);
    std::fs::read_to_string(root.join("etc/nginx/sites-available/hitcounter.conf")).expect("site file")
}

/// `Host: counter.test:PORT` for a listener at `addr`, as a browser sends it.
pub fn host_of(addr: &str) -> String {
    format!("{DOMAIN}:{}", addr.rsplit(':').next().unwrap())
}

impl Proxy {
    /// nginx in front of a server started with `args`; `None` (skipped)
    /// when nginx is missing outside CI.
    pub fn start(args: &[&str]) -> Option<Proxy> {
        let nginx = require("nginx", "nginx")?;
        let backend = Server::start_with(Opts { args: args.to_vec(), ..Opts::default() });
        let backend_port: u16 = backend.addr.rsplit(':').next().unwrap().parse().unwrap();

        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        // nginx workers run as nobody: let them reach their temp dirs.
        std::fs::set_permissions(t, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for sub in ["logs", "tmp"] {
            std::fs::create_dir(t.join(sub)).unwrap();
        }
        let site = installed_site(t, backend_port);
        let (p1, p2) = (free_port(), free_port());
        let listen = |port: u16| {
            let s = replace_once(&site, "    listen 80;\n", &format!("    listen 127.0.0.1:{port};\n"));
            replace_once(&s, "    listen [::]:80;\n", "")
        };
        std::fs::write(t.join("site-plain.conf"), listen(p1)).unwrap();
        let tls = replace_once(
            &listen(p2),
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Proto https;",
        );
        std::fs::write(t.join("site-tls.conf"), tls).unwrap();
        let daemon = run_nginx(&nginx, t, &["site-plain.conf", "site-tls.conf"], &[p1, p2]);
        Some(Proxy {
            plain: format!("127.0.0.1:{p1}"),
            tls: format!("127.0.0.1:{p2}"),
            backend,
            _nginx: daemon,
            _dir: dir,
        })
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        Request::get(path).host(Some(&host_of(&self.plain))).headers(headers).send(&self.plain)
    }
}

/// Writes `t/nginx.conf` (logs and temp files under `t`, including the
/// site files `sites` there) and runs nginx on it until every port answers.
fn run_nginx(nginx: &Path, t: &Path, sites: &[&str], ports: &[u16]) -> Daemon {
    let td = t.display();
    let includes: String = sites.iter().map(|s| format!("  include {td}/{s};\n")).collect();
    let conf = format!(
        "pid {td}/logs/nginx.pid;\n\
         error_log {td}/logs/error.log info;\n\
         worker_processes 1;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
           access_log {td}/logs/access.log;\n\
           client_body_temp_path {td}/tmp/body;\n\
           proxy_temp_path {td}/tmp/proxy;\n\
           fastcgi_temp_path {td}/tmp/fastcgi;\n\
           uwsgi_temp_path {td}/tmp/uwsgi;\n\
           scgi_temp_path {td}/tmp/scgi;\n\
         {includes}}}\n"
    );
    std::fs::write(t.join("nginx.conf"), conf).unwrap();
    let mut cmd = Command::new(nginx);
    cmd.arg("-p").arg(t).arg("-e").arg(t.join("logs/error.log"));
    cmd.args(["-c", "nginx.conf", "-g", "daemon off;"]);
    Daemon::start("nginx", cmd, &t.join("logs/stderr.log"), ports, Some(&t.join("logs/error.log")))
}

/// nginx spreading requests over several servers through an `upstream`
/// block (round robin, kept-alive connections), as the README shows.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub struct Upstream {
    pub addr: String,
    _nginx: Daemon,
    _dir: tempfile::TempDir,
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl Upstream {
    /// `None` (skipped) when nginx is missing outside CI.
    pub fn start(backends: &[&str]) -> Option<Upstream> {
        let nginx = require("nginx", "nginx")?;
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        std::fs::set_permissions(t, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for sub in ["logs", "tmp"] {
            std::fs::create_dir(t.join(sub)).unwrap();
        }
        let port = free_port();
        let servers: String = backends.iter().map(|b| format!("    server {b};\n")).collect();
        let site = format!(
            "upstream hitcounter {{\n{servers}    keepalive 16;\n}}\n\
             server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{\n\
                 proxy_pass http://hitcounter;\n\
                 proxy_http_version 1.1;\n\
                 proxy_set_header Connection \"\";\n\
                 proxy_set_header Host $host;\n\
                 proxy_set_header X-Real-IP $remote_addr;\n\
                 proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                 proxy_set_header X-Forwarded-Proto $scheme;\n\
               }}\n\
             }}\n"
        );
        std::fs::write(t.join("upstream.conf"), site).unwrap();
        let nginx = run_nginx(&nginx, t, &["upstream.conf"], &[port]);
        Some(Upstream { addr: format!("127.0.0.1:{port}"), _nginx: nginx, _dir: dir })
    }
}
