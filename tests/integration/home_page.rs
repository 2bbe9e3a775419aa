//! The `/` page over HTTP: the top-sites table (domains by views, loopback
//! and LAN left out, NUM_TOP_DOMAINS / --top-domains), the snippet's origin
//! (--public-url, Host, X-Forwarded-Proto), ENABLE_SSL, embedded assets,
//! the "How it works" text on repeats and bots against what the server does.
//! (The page's behaviour in a browser is `browser.rs`.)

use crate::support;

use std::path::Path;
use support::*;

const HOST: &str = "counter.example.org";

fn page(s: &Server, headers: &[(&str, &str)]) -> Resp {
    Request::get("/").host(Some(HOST)).headers(headers).send(&s.addr)
}

/// The `<table>…</table>` holding `marker`.
fn table_with(html: &str, marker: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<table") {
        let start = from + i;
        let end = lower[start..].find("</table>").map(|e| start + e + 8).unwrap_or(html.len());
        let t = &html[start..end];
        if t.contains(marker) {
            return t.to_string();
        }
        from = end;
    }
    panic!("no <table> on / contains {marker:?}:\n{html}");
}

/// Text content of a table (tags removed), for finding numbers.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn fill_sites(db: &Path) {
    for (u, n) in [
        ("beta.example/x", 700),
        ("alpha.example/a", 500),
        ("https://alpha.example/b", 100),
        ("gamma.example", 50),
        ("https://Delta.example/p?q", 40),
        ("127.0.0.1:8080/x", 10_000),
        ("localhost/x", 9_000),
        ("192.168.1.5/x", 8_000),
        ("10.0.0.1/x", 7_000),
        ("127.0.0.1/y", 6_000),
        ("172.16.0.3/x", 4_000),
        ("localhost:3000/x", 3_000),
    ] {
        admin_set(db, u, n);
    }
}

fn server_with_sites(opts: Opts<'static>) -> Server {
    let dir = tempdir();
    fill_sites(&dir.path().join("hitcounter.db"));
    Server::start_with(Opts { dir: Some(dir), ..opts })
}

const EXCLUDED: &[&str] = &["127.0.0.1", "localhost", "192.168.1.5", "10.0.0.1", "172.16.0.3"];

#[test]
fn top_sites_by_domain_without_loopback_or_lan() {
    let s = server_with_sites(Opts::default());
    let r = page(&s, &[]);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap_or("").starts_with("text/html"), "{:?}", r.header("content-type"));
    let html = r.text();
    let t = table_with(&html, "alpha.example");
    let pos = |d: &str| t.find(d).unwrap_or_else(|| panic!("{d} not in the top-sites table:\n{t}"));
    assert!(pos("beta.example") < pos("alpha.example"), "ordered by views:\n{t}");
    assert!(pos("alpha.example") < pos("gamma.example"), "alpha (600) before gamma (50):\n{t}");
    assert!(
        pos("gamma.example") < pos("delta.example"),
        "gamma (50) before delta (40); keys without a path count too:\n{t}"
    );
    let text = strip_tags(&t);
    let nums: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).collect();
    for n in ["700", "600", "50", "40"] {
        assert!(nums.contains(&n), "domain total {n} missing from the table: {text}");
    }
    for ex in EXCLUDED {
        assert!(!t.contains(ex), "loopback/LAN host {ex} listed:\n{t}");
    }
}

#[test]
fn num_top_domains_env_and_flag() {
    let s = server_with_sites(Opts { env: vec![("NUM_TOP_DOMAINS", "2")], ..Opts::default() });
    let t = table_with(&page(&s, &[]).text(), "alpha.example");
    assert!(t.contains("beta.example") && t.contains("alpha.example"));
    assert!(!t.contains("gamma.example") && !t.contains("delta.example"), "NUM_TOP_DOMAINS=2:\n{t}");

    let s = server_with_sites(Opts {
        args: vec!["--top-domains", "1"],
        env: vec![("NUM_TOP_DOMAINS", "3")],
        ..Opts::default()
    });
    let t = table_with(&page(&s, &[]).text(), "beta.example");
    assert!(!t.contains("alpha.example") && !t.contains("gamma.example"), "--top-domains 1 beats the env:\n{t}");
}

#[test]
fn ten_domains_by_default() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    for i in 1..=12u64 {
        admin_set(&db, &format!("site{i:02}.example/p"), 1000 - i);
    }
    let s = Server::start_with(Opts { dir: Some(dir), ..Opts::default() });
    let t = table_with(&page(&s, &[]).text(), "site01.example");
    for i in 1..=10 {
        assert!(t.contains(&format!("site{i:02}.example")), "site{i:02} missing:\n{t}");
    }
    for i in 11..=12 {
        assert!(!t.contains(&format!("site{i:02}.example")), "site{i:02} beyond the default 10:\n{t}");
    }
}

#[test]
fn snippet_origin() {
    // from Host
    let s = Server::start();
    let html = page(&s, &[]).text();
    assert!(html.contains(&format!("http://{HOST}")), "Host gives the origin");
    assert!(!html.contains(&format!("https://{HOST}")));
    // from Host + X-Forwarded-Proto: the X-Forwarded-* headers are believed
    // only with --trust-proxy.
    let html = page(&s, &[("X-Forwarded-Proto", "https")]).text();
    assert!(html.contains(&format!("http://{HOST}")), "X-Forwarded-Proto ignored without --trust-proxy");
    assert!(!html.contains(&format!("https://{HOST}")));
    let s = Server::start_args(&["--trust-proxy"]);
    let html = page(&s, &[("X-Forwarded-Proto", "https")]).text();
    assert!(html.contains(&format!("https://{HOST}")), "X-Forwarded-Proto: https gives https links");
    assert!(!html.contains(&format!("http://{HOST}")));
    let html = page(&s, &[]).text();
    assert!(html.contains(&format!("http://{HOST}")), "no X-Forwarded-Proto: http");

    // --public-url wins over both
    for opts in [
        Opts { args: vec!["--public-url", "https://hits.example.net/"], ..Opts::default() },
        Opts { env: vec![("HITCOUNTER_PUBLIC_URL", "https://hits.example.net")], ..Opts::default() },
    ] {
        let what = format!("{:?}{:?}", opts.args, opts.env);
        let s = Server::start_with(opts);
        let html = page(&s, &[("X-Forwarded-Proto", "http")]).text();
        assert!(html.contains("https://hits.example.net"), "{what}: public URL in the snippets");
        assert!(!html.contains(HOST), "{what}: request Host used despite the public URL");
        assert!(!html.contains("hits.example.net//"), "{what}: doubled slash after the public URL");
    }
}

#[test]
fn enable_ssl_redirects_plain_http_with_hsts() {
    let s = Server::start_with(Opts { env: vec![("ENABLE_SSL", "true")], ..Opts::default() });
    // links are https even without X-Forwarded-Proto
    let r = page(&s, &[]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains(&format!("https://{HOST}")), "ENABLE_SSL: https links");
    assert!(!r.text().contains(&format!("http://{HOST}")));

    // plain http (as the proxy reports it) → 301 to https + HSTS
    let r = page(&s, &[("X-Forwarded-Proto", "http")]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some(format!("https://{HOST}/").as_str()));
    let hsts = r.header("strict-transport-security").expect("HSTS header on the redirect");
    assert!(hsts.starts_with("max-age="), "{hsts}");
    assert_common_headers(&r, "301");

    let u = uniq_url("ssl");
    let path = format!("/count?url={}", enc(&u));
    let r = Request::get(&path).host(Some(HOST)).headers(&[("X-Forwarded-Proto", "http")]).send(&s.addr);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some(format!("https://{HOST}{path}").as_str()), "path and query kept");
    assert!(r.header("set-cookie").is_none());
    let r = Request::get(&format!("/nocount?url={}", enc(&u)))
        .host(Some(HOST))
        .headers(&[("X-Forwarded-Proto", "https")])
        .send(&s.addr);
    assert_eq!(r.text(), "0", "a redirected request is not counted");
    let r = Request::get(&path).host(Some(HOST)).headers(&[("X-Forwarded-Proto", "https")]).send(&s.addr);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1");

    // without ENABLE_SSL there is no redirect
    let s = Server::start_with(Opts { env: vec![("ENABLE_SSL", "false")], ..Opts::default() });
    let r = page(&s, &[("X-Forwarded-Proto", "http")]);
    assert_eq!(r.status, 200);
    assert!(r.header("strict-transport-security").is_none());
}

/// (attribute value, tag) for every `src=`/`href=` in `<script>`/`<link>`.
fn asset_refs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    for tag in ["<script", "<link", "<img"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(tag) {
            let start = from + i;
            let end = lower[start..].find('>').map(|e| start + e).unwrap_or(lower.len());
            let t = &html[start..end];
            for attr in ["src=\"", "href=\"", "src='", "href='"] {
                if let Some(a) = t.to_ascii_lowercase().find(attr) {
                    let v = &t[a + attr.len()..];
                    let q = attr.chars().last().unwrap();
                    out.push(v[..v.find(q).unwrap_or(v.len())].to_string());
                }
            }
            from = end;
        }
    }
    out
}

#[test]
fn page_and_assets_are_self_contained() {
    let s = Server::start();
    let html = page(&s, &[]).text();
    assert!(html.to_ascii_lowercase().contains("<input"), "a URL input / look-up box");
    assert!(html.contains("assets/style.css"), "page links its stylesheet");
    assert!(html.contains("assets/app.js"), "page loads its script");
    for r in asset_refs(&html) {
        let external =
            r.starts_with("//") || ((r.starts_with("http://") || r.starts_with("https://")) && !r.contains(HOST));
        assert!(!external, "external asset (no CDN allowed): {r}");
    }
    let css = s.get("/assets/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap_or("").starts_with("text/css"));
    assert!(!css.body.is_empty());
    let js = s.get("/assets/app.js");
    assert_eq!(js.status, 200);
    let ct = js.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/javascript") || ct.starts_with("application/javascript"), "{ct}");
    assert!(!js.body.is_empty());
    assert_eq!(s.get("/assets/nope.js").status, 404);
    assert_eq!(s.get("/assets/../Cargo.toml").status, 404);
    // the page itself counts nothing
    let list = admin_list(&s.db, &[]);
    assert!(list.is_empty(), "GET / created counters: {list:?}");
}

/// The page's "Refreshes" text says what the default policy does, and the
/// server does it: a second profile of a browser (same address and
/// User-Agent, no cookie) is not counted again, curl is not counted on a
/// badge but is on `/count`.
#[test]
fn the_page_says_what_counts_again_and_the_server_agrees() {
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
    // The default, which the harness otherwise turns to `cookie`.
    let s = Server::start_args(&["--dedup", "both"]);
    let url = uniq_url("home-dedup");
    let load = |path: &str, ua: &str| {
        let path = format!("{path}?url={}", enc(&url));
        assert_eq!(Request::get(&path).headers(&[("User-Agent", ua)]).send(&s.addr).status, 200);
        s.get(&format!("/nocount?url={}", enc(&url))).text().trim().parse::<u64>().unwrap()
    };
    assert_eq!(load("/count/tag.svg", FIREFOX), 1);
    assert_eq!(load("/count/tag.svg", FIREFOX), 1, "a second profile: no cookie, same address and User-Agent");
    assert_eq!(load("/count/tag.svg", "curl/8.5.0"), 1, "curl is a bot for badges");
    assert_eq!(load("/count", "curl/8.5.0"), 2, "/count counts every client");
    assert_eq!(load("/count", ""), 3, "an empty User-Agent too");
    let text = strip_tags(&page(&s, &[]).text()).split_whitespace().collect::<Vec<_>>().join(" ");
    for said in [
        "a second profile or private window of that browser, or a browser that blocks third-party cookies, is not counted again",
        "Bots such as curl are not counted on badges",
        "/count counts every client, bots included",
    ] {
        assert!(text.contains(said), "the page should say {said:?}:\n{text}");
    }
    assert!(!text.contains("every load counts"), "{text}");
}
