//! Real nginx (Debian `nginx`) in front of the real binary, serving the very
//! site file `install.sh --domain` writes (only its `listen` lines moved to a
//! loopback port). Checks the badge, raw counts, the anti-refresh cookie,
//! CORS and https detection through the proxy.

mod support;

use std::path::Path;
use std::process::Command;
use support::deploy::*;
use support::*;

const DOMAIN: &str = "counter.test";

struct Proxy {
    /// nginx as installed: `X-Forwarded-Proto $scheme` (http here).
    plain: String,
    /// The same site with `X-Forwarded-Proto https`, as behind TLS termination.
    tls: String,
    backend: Server,
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
fn host_of(addr: &str) -> String {
    format!("{DOMAIN}:{}", addr.rsplit(':').next().unwrap())
}

impl Proxy {
    fn start() -> Option<Proxy> {
        let nginx = require("nginx", "nginx")?;
        let backend = Server::start_with(Opts { args: vec!["--trust-proxy"], ..Opts::default() });
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
        let td = t.display();
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
               include {td}/site-plain.conf;\n\
               include {td}/site-tls.conf;\n\
             }}\n"
        );
        std::fs::write(t.join("nginx.conf"), conf).unwrap();
        let mut cmd = Command::new(nginx);
        cmd.arg("-p").arg(t).arg("-e").arg(t.join("logs/error.log"));
        cmd.args(["-c", "nginx.conf", "-g", "daemon off;"]);
        let daemon =
            Daemon::start("nginx", cmd, &t.join("logs/stderr.log"), &[p1, p2], Some(&t.join("logs/error.log")));
        Some(Proxy {
            plain: format!("127.0.0.1:{p1}"),
            tls: format!("127.0.0.1:{p2}"),
            backend,
            _nginx: daemon,
            _dir: dir,
        })
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        Request::get(path).host(Some(&host_of(&self.plain))).headers(headers).send(&self.plain)
    }
}

#[test]
fn badge_and_raw_count_through_nginx() {
    let Some(p) = Proxy::start() else { return };
    let badge = p.get("/count/tag.svg?url=example.com/nginx-badge", &[]);
    assert_svg(&badge, "counting badge through nginx");
    assert!(badge.text().contains(">1<"), "badge should show 1: {}", badge.text());
    assert_eq!(p.get("/nocount?url=example.com/nginx-badge", &[]).count(), 1);
    let svg = p.get("/nocount/tag.svg?url=example.com/nginx-badge", &[]);
    assert_svg(&svg, "display-only badge through nginx");

    let raw = p.get("/count?url=https%3A%2F%2Fexample.com%2Fnginx-raw", &[]);
    assert!(raw.header("content-type").unwrap_or_default().starts_with("text/plain"));
    assert_eq!(raw.count(), 1);
    assert_eq!(p.get("/count?url=example.com/nginx-raw", &[]).count(), 2);
    assert_eq!(p.get("/nocount?url=example.com/nginx-raw", &[]).count(), 2);
    // Written to the database within the flush interval.
    let stored = || get_count(&p.backend.db, "example.com/nginx-raw") == 2;
    assert!(eventually(std::time::Duration::from_secs(5), stored), "hits not in the database");
    assert_eq!(p.get("/no-such-path", &[]).status, 404);
}

#[test]
fn anti_refresh_cookie_passes_through_nginx() {
    let Some(p) = Proxy::start() else { return };
    let first = p.get("/count?url=example.com/nginx-cookie", &[]);
    assert_eq!(first.count(), 1);
    let set = first.header("set-cookie").expect("Set-Cookie through nginx").to_string();
    assert!(set.contains("Path=/") && set.contains("HttpOnly"), "{set}");
    let cookie = hc_cookie(&first).expect("hc_ cookie");
    let again = p.get("/count?url=example.com/nginx-cookie", &[("Cookie", &cookie)]);
    assert_eq!(again.count(), 1, "a request carrying the cookie must not count");
    assert_eq!(p.get("/nocount?url=example.com/nginx-cookie", &[]).count(), 1);
    assert_eq!(p.get("/count?url=example.com/nginx-cookie", &[]).count(), 2, "no cookie: counts");
}

#[test]
fn cors_echoes_origin_through_nginx() {
    let Some(p) = Proxy::start() else { return };
    let r = p.get("/nocount?url=example.com/nginx-cors", &[("Origin", "https://blog.example")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://blog.example"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.header("vary").unwrap_or_default().contains("Origin"), "{:?}", r.headers);
    let r = p.get("/nocount?url=example.com/nginx-cors", &[]);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn https_detection_through_nginx() {
    let Some(p) = Proxy::start() else { return };

    // Behind TLS termination: the page's snippets use https and the Host
    // nginx passes (`$host`, without the port).
    let page = Request::get("/").host(Some(&host_of(&p.tls))).send(&p.tls);
    assert_eq!(page.status, 200);
    assert_eq!(page_origin(&page.text()).as_deref(), Some("https://counter.test"), "TLS-terminated site");

    // Plain http through the installed site.
    let page = p.get("/", &[]);
    assert_eq!(page_origin(&page.text()).as_deref(), Some("http://counter.test"));

    // A client cannot forge the scheme or host through nginx: it overwrites them.
    let forged = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")];
    let page = p.get("/", &forged);
    assert_eq!(page_origin(&page.text()).as_deref(), Some("http://counter.test"), "forged headers through nginx");

    // Directly to a backend without --trust-proxy, forged headers are ignored.
    let direct = Server::start();
    let page = direct.get_h("/", &forged);
    assert_eq!(page_origin(&page.text()), Some(format!("http://{}", direct.addr)), "no --trust-proxy");
}
