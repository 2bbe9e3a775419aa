//! CGI mode under a real Apache httpd with mod_cgi (Debian `apache2`), the
//! way shared hosts run it: the real binary copied in as `hitcounter.cgi`,
//! configured with `SetEnv` (in the server config or `.htaccess`), with a
//! `hitcounter.toml` next to it, or with the default database next to it.
//! Apache runs the CGI as www-data when started as root. Also the binary
//! run directly with CGI variables, as any web server runs it, for what
//! it echoes from the request.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use support::deploy::*;
use support::*;

/// What a shared-host user puts in `.htaccess` next to `hitcounter.cgi`
/// (README shows the same): run `.cgi` files, keep the data unreadable.
const HTACCESS: &str = "Options +ExecCGI\n\
AddHandler cgi-script .cgi\n\
<FilesMatch \"\\.(db|db-wal|db-shm|db-journal|toml)$\">\n\
  Require all denied\n\
</FilesMatch>\n";

/// README's optional short URLs: `/app/count/tag.svg` runs `/app/hitcounter.cgi/count/tag.svg`.
const REWRITE: &str = "RewriteEngine On\n\
RewriteCond %{REQUEST_FILENAME} !-f\n\
RewriteRule ^(.*)$ hitcounter.cgi/$1 [END,QSA]\n";

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// `/cgi-bin/hitcounter.cgi` via ScriptAlias, `SetEnv DATABASE_FILE_PATH $T/data/hitcounter.db`.
    ScriptAlias,
    /// `/app/hitcounter.cgi` in htdocs, `.htaccess` with AddHandler + `SetEnv` → `$T/appdata`.
    Htaccess,
    /// `/cfg/hitcounter.cgi` with `hitcounter.toml` next to it naming `$T/cfgdata/hitcounter.db`.
    ConfigFile,
    /// `/plain/hitcounter.cgi`, no settings: the database next to the binary (dir writable by www-data).
    DefaultDb,
    /// `/ro-bin/hitcounter.cgi` with `SetEnv` pointing into a directory www-data cannot write.
    ReadOnly,
    /// `/nodb/hitcounter.cgi`, no settings, its own directory not writable by www-data.
    DefaultDbReadOnly,
}

struct Apache {
    addr: String,
    t: PathBuf,
    _daemon: Daemon,
    _dir: tempfile::TempDir,
}

fn mkdir(path: &Path, mode: u32) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Gives a directory to the CGI user (www-data when Apache starts as root).
fn give_to_cgi_user(path: &Path) {
    if is_root() {
        let ok = Command::new("chown").arg("www-data:www-data").arg(path).status().expect("chown").success();
        assert!(ok, "chown www-data {}", path.display());
    }
}

fn install_cgi(dir: &Path) {
    mkdir(dir, 0o755);
    let cgi = dir.join("hitcounter.cgi");
    std::fs::copy(BIN, &cgi).expect("copy binary");
    std::fs::set_permissions(&cgi, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Apache {
    fn start(variants: &[Variant], workers: u32) -> Option<Apache> {
        let apache2 = require("apache2", "apache2")?;
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().to_path_buf();
        // www-data must traverse every directory on the way to the CGI.
        mkdir(&t, 0o755);
        for sub in ["logs", "htdocs"] {
            mkdir(&t.join(sub), 0o755);
        }
        let td = t.display().to_string();
        let mut extra = String::new();
        for v in variants {
            match v {
                Variant::ScriptAlias => {
                    install_cgi(&t.join("cgi-bin"));
                    mkdir(&t.join("data"), 0o755);
                    give_to_cgi_user(&t.join("data"));
                    extra += &format!(
                        "ScriptAlias /cgi-bin/ \"{td}/cgi-bin/\"\n<Directory \"{td}/cgi-bin\">\n  Options +ExecCGI\n  \
                         Require all granted\n  SetEnv DATABASE_FILE_PATH \"{td}/data/hitcounter.db\"\n</Directory>\n"
                    );
                }
                Variant::ReadOnly => {
                    install_cgi(&t.join("ro-bin"));
                    mkdir(&t.join("rodata"), 0o555);
                    extra += &format!(
                        "ScriptAlias /ro-bin/ \"{td}/ro-bin/\"\n<Directory \"{td}/ro-bin\">\n  Options +ExecCGI\n  \
                         Require all granted\n  SetEnv DATABASE_FILE_PATH \"{td}/rodata/hitcounter.db\"\n</Directory>\n"
                    );
                }
                Variant::Htaccess => {
                    let app = t.join("htdocs/app");
                    install_cgi(&app);
                    mkdir(&t.join("appdata"), 0o755);
                    give_to_cgi_user(&t.join("appdata"));
                    let ht = format!("{HTACCESS}SetEnv DATABASE_FILE_PATH {td}/appdata/hitcounter.db\n{REWRITE}");
                    std::fs::write(app.join(".htaccess"), ht).unwrap();
                }
                Variant::ConfigFile => {
                    let cfg = t.join("htdocs/cfg");
                    install_cgi(&cfg);
                    mkdir(&t.join("cfgdata"), 0o755);
                    give_to_cgi_user(&t.join("cfgdata"));
                    std::fs::write(cfg.join(".htaccess"), HTACCESS).unwrap();
                    let toml = format!("# hitcounter settings\ndb = \"{td}/cfgdata/hitcounter.db\"\n");
                    std::fs::write(cfg.join("hitcounter.toml"), toml).unwrap();
                }
                Variant::DefaultDb => {
                    let plain = t.join("htdocs/plain");
                    install_cgi(&plain);
                    give_to_cgi_user(&plain);
                    std::fs::write(plain.join(".htaccess"), HTACCESS).unwrap();
                }
                Variant::DefaultDbReadOnly => {
                    let nodb = t.join("htdocs/nodb");
                    install_cgi(&nodb);
                    std::fs::write(nodb.join(".htaccess"), HTACCESS).unwrap();
                    if !is_root() {
                        // Apache runs the CGI as us: take our own write permission away.
                        mkdir(&nodb, 0o555);
                    }
                }
            }
        }
        let port = free_port();
        let user = if is_root() { "User www-data\nGroup www-data\n" } else { "" };
        let m = "/usr/lib/apache2/modules";
        let conf = format!(
            "ServerRoot \"{td}\"\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile \"{td}/logs/httpd.pid\"\n\
             ErrorLog \"{td}/logs/error.log\"\nLogLevel info\n{user}\
             LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\n\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule alias_module {m}/mod_alias.so\n\
             LoadModule cgi_module {m}/mod_cgi.so\n\
             LoadModule env_module {m}/mod_env.so\n\
             LoadModule mime_module {m}/mod_mime.so\n\
             LoadModule rewrite_module {m}/mod_rewrite.so\n\
             StartServers {workers}\nMinSpareServers {workers}\nMaxSpareServers {max}\n\
             ServerLimit {max}\nMaxRequestWorkers {max}\nListenBacklog 256\nTimeout 20\n\
             TypesConfig /etc/mime.types\nDocumentRoot \"{td}/htdocs\"\n\
             <Directory />\n  AllowOverride None\n  Require all denied\n</Directory>\n\
             <Directory \"{td}/htdocs\">\n  AllowOverride All\n  Require all granted\n</Directory>\n{extra}",
            max = workers + 8,
        );
        std::fs::write(t.join("httpd.conf"), conf).unwrap();
        let mut cmd = Command::new(apache2);
        cmd.arg("-DFOREGROUND").arg("-f").arg(t.join("httpd.conf"));
        let daemon =
            Daemon::start("apache2", cmd, &t.join("logs/stderr.log"), &[port], Some(&t.join("logs/error.log")));
        Some(Apache { addr: format!("127.0.0.1:{port}"), t, _daemon: daemon, _dir: dir })
    }

    fn get(&self, path: &str) -> Resp {
        request(&self.addr, "GET", path, &[])
    }

    fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(&self.addr, "GET", path, headers)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.t.join("logs/error.log")).unwrap_or_default()
    }

    fn count(&self, path: &str) -> u64 {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}\nerror.log:\n{}", r.text(), self.error_log());
        r.count()
    }
}

/// Resolves `href` from a page at `page_path` (a directory-style path).
fn resolve(page_path: &str, href: &str) -> String {
    if let Some(rest) = href.strip_prefix("http://").or_else(|| href.strip_prefix("https://")) {
        return rest.find('/').map_or("/".into(), |i| rest[i..].to_string());
    }
    if href.starts_with('/') {
        return href.to_string();
    }
    let base = &page_path[..=page_path.rfind('/').unwrap()];
    format!("{base}{}", href.trim_start_matches("./"))
}

fn attr_values<'a>(html: &'a str, marker: &str, attr: &str) -> Vec<&'a str> {
    html.split(marker)
        .skip(1)
        .filter_map(|tag| tag.split('>').next()?.split(&format!("{attr}=\"")).nth(1)?.split('"').next())
        .collect()
}

#[test]
fn cgi_counts_badges_cookies_and_serves_the_page() {
    let Some(a) = Apache::start(&[Variant::ScriptAlias], 4) else { return };
    let base = "/cgi-bin/hitcounter.cgi";

    let first = a.get(&format!("{base}/count?url=https%3A%2F%2Fcgi.example%2Fpost"));
    assert_eq!(first.status, 200, "{}\nerror.log:\n{}", first.text(), a.error_log());
    assert!(first.header("content-type").unwrap_or_default().starts_with("text/plain"), "{:?}", first.headers);
    assert_eq!(first.count(), 1);
    assert_eq!(a.count(&format!("{base}/count?url=cgi.example/post")), 2);
    // /nocount never counts.
    assert_eq!(a.count(&format!("{base}/nocount?url=cgi.example/post")), 2);
    assert_eq!(a.count(&format!("{base}/nocount?url=cgi.example/post")), 2);

    // The anti-refresh cookie works through CGI.
    let cookie = hc_cookie(&first).expect("Set-Cookie hc_ from the CGI");
    let r = a.get_h(&format!("{base}/count?url=cgi.example/post"), &[("Cookie", &cookie)]);
    assert_eq!(r.count(), 2, "request with the cookie must not count");

    // Referer (HTTP_REFERER) and Origin (HTTP_ORIGIN) reach the binary.
    let r =
        a.get_h(&format!("{base}/count"), &[("Referer", "https://ref.example/a"), ("Origin", "https://ref.example")]);
    assert_eq!(r.count(), 1);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://ref.example"));
    assert_eq!(a.count(&format!("{base}/nocount?url=ref.example/a")), 1);
    // Apache passes on any Origin as it came; one that is no origin is not echoed.
    let r = a.get_h(&format!("{base}/nocount?url=ref.example/a"), &[("Origin", "https://evil.example/p a<x>")]);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    // Badges.
    let badge = a.get(&format!("{base}/count/tag.svg?url=cgi.example/post"));
    assert_svg(&badge, "counting badge through CGI");
    assert!(badge.text().contains(">3<"), "{}", badge.text());
    assert_svg(&a.get(&format!("{base}/nocount/tag.svg?url=cgi.example/post")), "display-only badge through CGI");
    assert_eq!(a.count(&format!("{base}/nocount?url=cgi.example/post")), 3);

    // Unknown paths and missing URLs.
    assert_eq!(a.get(&format!("{base}/no-such-path")).status, 404);
    assert_eq!(a.get(&format!("{base}/count")).status, 400);

    // The `/` page, with links that work under the script's path.
    let page_path = format!("{base}/");
    let page = a.get(&page_path);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.header("content-type").unwrap_or_default().starts_with("text/html"));
    let html = page.text();
    assert_eq!(page_origin(&html), Some(format!("http://{}{base}", a.addr)), "snippet origin");
    let mut assets: Vec<String> =
        attr_values(&html, "<link", "href").into_iter().filter(|h| !h.starts_with("data:")).map(String::from).collect();
    assets.extend(attr_values(&html, "<script", "src").into_iter().map(String::from));
    assert!(!assets.is_empty(), "the page links no assets?\n{html}");
    for href in assets {
        let path = resolve(&page_path, &href);
        let r = a.get(&path);
        assert_eq!(r.status, 200, "page asset {href:?} (fetched as {path}) is broken under CGI");
    }
    // The bare script URL (no trailing slash) leads to the page, where relative links resolve.
    let bare = a.get(base);
    match bare.status {
        200 => {}
        301 | 302 | 303 | 307 | 308 => {
            let to = bare.header("location").unwrap_or_default();
            assert!(to.ends_with(&format!("{base}/")), "bare script URL redirects to {to:?}");
        }
        other => panic!("bare script URL: {other} {}", bare.text()),
    }

    // SetEnv placed the database; nothing was written next to the binary.
    assert!(a.t.join("data/hitcounter.db").is_file());
    assert!(!a.t.join("cgi-bin/hitcounter.db").exists());
    assert_eq!(get_count(&a.t.join("data/hitcounter.db"), "cgi.example/post"), 3);
}

/// 50 threads, each its own connection and no cookie, hit one counter at
/// once; checks the total is exactly 50 and returns the counts shown.
fn fifty_at_once(existing_db: bool) -> Option<Vec<u64>> {
    let a = Apache::start(&[Variant::ScriptAlias], 50)?;
    if existing_db {
        assert_eq!(a.count("/cgi-bin/hitcounter.cgi/count?url=other.example/"), 1);
    }
    let path = "/cgi-bin/hitcounter.cgi/count?url=concurrent.example/page";
    let barrier = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (addr, barrier) = (a.addr.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                request(&addr, "GET", path, &[])
            })
        })
        .collect();
    let responses: Vec<Resp> = threads.into_iter().map(|t| t.join().expect("request thread")).collect();
    let failed: Vec<String> =
        responses.iter().filter(|r| r.status != 200).map(|r| format!("{} {}", r.status, r.text())).collect();
    let total = a.count("/cgi-bin/hitcounter.cgi/nocount?url=concurrent.example/page");
    assert!(failed.is_empty(), "{} of 50 failed (count now {total}): {:?}", failed.len(), failed.first());
    assert_eq!(total, 50, "50 counted requests through Apache");
    assert_eq!(get_count(&a.t.join("data/hitcounter.db"), "concurrent.example/page"), 50);
    let mut seen: Vec<u64> = responses.iter().map(Resp::count).collect();
    seen.sort();
    Some(seen)
}

#[test]
fn fifty_concurrent_cgi_hits_on_an_existing_database_count_exactly_fifty() {
    fifty_at_once(true);
}

/// Each hit is committed on its own, so each response should show its own
/// number (stored + this hit), as the server does: never a stale one.
#[test]
fn concurrent_cgi_responses_each_show_their_own_count() {
    let Some(seen) = fifty_at_once(true) else { return };
    assert_eq!(seen, (1..=50).collect::<Vec<u64>>(), "counts the 50 responses showed");
}

/// The first hits after upload may arrive together: creating the database
/// must be just as safe.
#[test]
fn fifty_concurrent_cgi_hits_on_a_new_database_count_exactly_fifty() {
    fifty_at_once(false);
}

#[test]
fn unwritable_database_directory_gives_a_clear_error_page() {
    let Some(a) = Apache::start(&[Variant::ReadOnly, Variant::DefaultDbReadOnly], 2) else { return };
    for path in ["/ro-bin/hitcounter.cgi/count?url=ro.example/a", "/nodb/hitcounter.cgi/count?url=ro.example/a"] {
        let r = a.get(path);
        assert_eq!(r.status, 500, "{path}: {}", r.text());
        assert!(r.header("content-type").unwrap_or_default().starts_with("text/html"), "{:?}", r.headers);
        assert!(r.text().contains("writable"), "{path}: the page should say what is wrong: {}", r.text());
        assert!(r.text().contains("hitcounter.db"), "{path}: the page should name the database: {}", r.text());
    }
    assert_eq!(std::fs::read_dir(a.t.join("rodata")).unwrap().count(), 0);
    assert!(!a.t.join("htdocs/nodb/hitcounter.db").exists());
}

#[test]
fn htaccess_with_addhandler_and_setenv() {
    let Some(a) = Apache::start(&[Variant::Htaccess], 2) else { return };
    let base = "/app/hitcounter.cgi";
    assert_eq!(a.count(&format!("{base}/count?url=ht.example/a")), 1);
    assert_eq!(a.count(&format!("{base}/count?url=ht.example/a")), 2);
    assert_eq!(a.count(&format!("{base}/nocount?url=ht.example/a")), 2);
    assert_svg(&a.get(&format!("{base}/nocount/tag.svg?url=ht.example/a")), "badge through .htaccess");
    let page = a.get(&format!("{base}/"));
    assert_eq!(page.status, 200);
    assert_eq!(page_origin(&page.text()), Some(format!("http://{}{base}", a.addr)));
    assert!(a.t.join("appdata/hitcounter.db").is_file(), "SetEnv in .htaccess did not place the database");
    // Short URLs through the RewriteRule.
    assert_eq!(a.count("/app/count?url=ht.example/a"), 3);
    assert_eq!(a.count("/app/nocount?url=ht.example/a"), 3);
    assert_svg(&a.get("/app/count/tag.svg?url=ht.example/a"), "badge through the RewriteRule");
    assert_eq!(a.count("/app/nocount?url=ht.example/a"), 4);
    assert_eq!(a.get("/app/").status, 200);
    assert_eq!(a.get("/app/no-such-path").status, 404);
    assert!(!a.t.join("htdocs/app/hitcounter.db").exists());
}

#[test]
fn config_file_next_to_the_binary() {
    let Some(a) = Apache::start(&[Variant::ConfigFile], 2) else { return };
    assert_eq!(a.count("/cfg/hitcounter.cgi/count?url=cfg.example/a"), 1);
    assert_eq!(a.count("/cfg/hitcounter.cgi/nocount?url=cfg.example/a"), 1);
    assert!(a.t.join("cfgdata/hitcounter.db").is_file(), "hitcounter.toml did not place the database");
    // The .htaccess keeps the settings file private.
    assert_eq!(a.get("/cfg/hitcounter.toml").status, 403);
}

#[test]
fn default_database_next_to_the_binary() {
    let Some(a) = Apache::start(&[Variant::DefaultDb], 2) else { return };
    assert_eq!(a.count("/plain/hitcounter.cgi/count?url=plain.example/a"), 1);
    assert_eq!(a.count("/plain/hitcounter.cgi/count?url=plain.example/a"), 2);
    assert!(a.t.join("htdocs/plain/hitcounter.db").is_file());
    // The .htaccess keeps the database from being downloaded.
    assert_eq!(a.get("/plain/hitcounter.db").status, 403);
}

/// The response to one CGI request answered by the binary itself (no web
/// server), with `vars` on top of a `/nocount` request.
fn cgi_direct(db: &Path, vars: &[(&str, &str)]) -> String {
    let mut env = vec![
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", "/nocount"),
        ("QUERY_STRING", "url=cgi.example/echo"),
        ("DATABASE_FILE_PATH", db.to_str().unwrap()),
    ];
    env.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
    env.extend_from_slice(vars);
    let (out, killed) = run_env(&[], &env, std::time::Duration::from_secs(15));
    assert!(!killed && out.status.success(), "CGI run failed: {}", stderr_of(&out));
    stdout_of(&out)
}

/// Every CGI process rebuilds the WAL's index from the whole WAL, so the
/// WAL is truncated once it passes `CGI_WAL_BYTES`: it stays short however
/// many hits come, and no hit is lost.
#[test]
fn the_wal_stays_short_across_cgi_hits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hitcounter.db");
    let wal = dir.path().join("hitcounter.db-wal");
    let limit = 400 << 10; // CGI_WAL_BYTES
    let mut largest = 0;
    for i in 1..=100 {
        let body = cgi_direct(&db, &[("PATH_INFO", "/count"), ("QUERY_STRING", "url=cgi.example/wal")]);
        assert!(body.ends_with(&format!("\r\n\r\n{i}")), "hit {i}: {body:?}");
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    assert!(largest > 0 && largest < limit + (64 << 10), "the WAL reached {largest} bytes");
}

#[test]
fn cgi_echoes_only_a_real_origin_and_no_control_character() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let ok = cgi_direct(&db, &[("HTTP_ORIGIN", "https://ok.example")]);
    assert!(ok.contains("\r\nAccess-Control-Allow-Origin: https://ok.example\r\n"), "{ok}");
    let hostile = cgi_direct(&db, &[("HTTP_ORIGIN", "https://evil.example/p a<x>")]);
    assert!(hostile.contains("\r\nAccess-Control-Allow-Origin: *\r\n") && !hostile.contains("evil"), "{hostile}");

    let preflight = |headers: &str| {
        let vars = [("REQUEST_METHOD", "OPTIONS"), ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", headers)];
        cgi_direct(&db, &vars)
    };
    assert!(preflight("content-type").contains("\r\nAccess-Control-Allow-Headers: content-type\r\n"));
    let del = preflight("x-a\u{7f}");
    assert!(del.starts_with("Status: 204") && !del.contains("Access-Control-Allow-Headers") && !del.contains('\u{7f}'));
}
