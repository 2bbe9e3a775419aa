//! Real nginx (Debian `nginx`) in front of the real binary, serving the very
//! site file `install.sh --domain` writes (only its `listen` lines moved to a
//! loopback port). Checks the badge, raw counts, the anti-refresh cookie,
//! CORS and https detection through the proxy.

use crate::support;

use support::proxy::*;
use support::*;

fn start() -> Option<Proxy> {
    Proxy::start(&["--trust-proxy"])
}

#[test]
fn badge_and_raw_count_through_nginx() {
    let Some(p) = start() else { return };
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
    let Some(p) = start() else { return };
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
    let Some(p) = start() else { return };
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
    let Some(p) = start() else { return };

    // Behind TLS termination: the page's snippets use https and the Host
    // nginx passes (`$http_host`: with the port the client used, so links
    // work on a non-standard port).
    let page = Request::get("/").host(Some(&host_of(&p.tls))).send(&p.tls);
    assert_eq!(page.status, 200);
    let want = format!("https://{}", host_of(&p.tls));
    assert_eq!(page_origin(&page.text()).as_deref(), Some(want.as_str()), "TLS-terminated site");

    // Plain http through the installed site.
    let page = p.get("/", &[]);
    let plain = format!("http://{}", host_of(&p.plain));
    assert_eq!(page_origin(&page.text()).as_deref(), Some(plain.as_str()));

    // A client cannot forge the scheme or host through nginx: it overwrites them.
    let forged = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")];
    let page = p.get("/", &forged);
    assert_eq!(page_origin(&page.text()).as_deref(), Some(plain.as_str()), "forged headers through nginx");

    // Directly to a backend without --trust-proxy, forged headers are ignored.
    let direct = Server::start();
    let page = direct.get_h("/", &forged);
    assert_eq!(page_origin(&page.text()), Some(format!("http://{}", direct.addr)), "no --trust-proxy");
}
