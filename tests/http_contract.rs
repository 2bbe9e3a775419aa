//! Issue 2, HTTP contract: routes, content types, headers on every response,
//! CORS, OPTIONS/405/404, HEAD, choice of target URL, key normalisation.

mod support;

use std::sync::OnceLock;
use std::time::Duration;
use support::*;

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    shared(&SERVER, Server::start)
}

const TEXT: &str = "text/plain; charset=utf-8";

#[test]
fn count_and_nocount_text_routes() {
    let s = srv();
    let u = uniq_url("routes");
    let q = format!("?url={}", enc(&u));

    let r = s.get(&format!("/nocount{q}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(TEXT));
    assert_eq!(r.text(), "0", "unseen URL reads 0 (no newline)");

    let r = s.get(&format!("/count{q}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(TEXT));
    assert_eq!(r.text(), "1", "first counted hit returns 1 (no newline)");

    assert_eq!(s.get(&format!("/nocount{q}")).text(), "1");
    assert_eq!(s.get(&format!("/nocount{q}")).text(), "1", "/nocount never adds");
    assert_eq!(s.get(&format!("/count{q}")).text(), "2");
    assert_eq!(s.get(&format!("/count{q}")).text(), "3");
    assert_eq!(s.get(&format!("/nocount{q}")).text(), "3");
}

#[test]
fn badge_routes_count_like_text_routes() {
    let s = srv();
    let u = uniq_url("badge-routes");
    let q = format!("?url={}", enc(&u));

    let r = s.get(&format!("/nocount/tag.svg{q}"));
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap_or("").starts_with("image/svg+xml"), "{:?}", r.header("content-type"));
    let b = parse_svg(&r.text());
    assert_eq!(b.title.as_deref(), Some("hits: 0"));
    assert_eq!(peek(s, &u), 0, "/nocount/tag.svg must not add");

    let r = s.get(&format!("/count/tag.svg{q}"));
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap_or("").starts_with("image/svg+xml"));
    let b = parse_svg(&r.text());
    assert_eq!(b.title.as_deref(), Some("hits: 1"), "first counted badge shows 1");
    assert_eq!(peek(s, &u), 1);

    let r = s.get(&format!("/count/tag.svg{q}"));
    assert_eq!(parse_svg(&r.text()).title.as_deref(), Some("hits: 2"));
    let r = s.get(&format!("/nocount/tag.svg{q}"));
    assert_eq!(parse_svg(&r.text()).title.as_deref(), Some("hits: 2"));
    assert_eq!(hit(s, &u), 3, "text and badge routes share one counter");
}

#[test]
fn unseen_url_reads_zero_and_creates_nothing() {
    let mut s = Server::start();
    let u = uniq_url("unseen");
    let q = format!("?url={}", enc(&u));
    assert_eq!(s.get(&format!("/nocount{q}")).text(), "0");
    assert_eq!(s.req("HEAD", &format!("/nocount{q}"), &[]).status, 200);
    let b = parse_svg(&s.get(&format!("/nocount/tag.svg{q}")).text());
    assert_eq!(b.title.as_deref(), Some("hits: 0"));
    // a request with a real counter for contrast, so the db is not empty
    let other = uniq_url("seen");
    assert_eq!(hit(&s, &other), 1);
    let st = s.stop();
    assert_eq!(st.code(), Some(0));
    let list = admin_list(&s.db, &[]);
    assert_eq!(list, vec![(1, other.clone())], "only the counted URL exists");
    let out = admin_ok(&s.db, &["export", "--format", "json"]);
    assert!(!out.contains(&u), "export mentions the unseen URL: {out}");
}

#[test]
fn headers_on_every_response() {
    let s = srv();
    let u = uniq_url("hdr");
    let q = format!("?url={}", enc(&u));
    let cases: Vec<(&str, String, u16)> = vec![
        ("GET", format!("/count{q}"), 200),
        ("GET", format!("/nocount{q}"), 200),
        ("GET", format!("/count/tag.svg{q}"), 200),
        ("GET", format!("/nocount/tag.svg{q}"), 200),
        ("HEAD", format!("/count{q}"), 200),
        ("HEAD", format!("/nocount/tag.svg{q}"), 200),
        ("GET", "/".to_string(), 200),
        ("GET", "/assets/style.css".to_string(), 200),
        ("GET", "/assets/app.js".to_string(), 200),
        ("GET", "/no/such/path".to_string(), 404),
        ("GET", "/count".to_string(), 400),
        ("GET", "/nocount/tag.svg?url=".to_string(), 400),
        ("GET", "/count?url=%zz".to_string(), 400),
        ("POST", format!("/count{q}"), 405),
        ("DELETE", format!("/nocount{q}"), 405),
        ("OPTIONS", format!("/count{q}"), 204),
    ];
    for (m, p, want) in cases {
        let r = s.req(m, &p, &[("Content-Length", "0")]);
        assert_eq!(r.status, want, "{m} {p}: {}", r.text());
        assert_common_headers(&r, &format!("{m} {p}"));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{m} {p}: no Origin → *");
    }
}

#[test]
fn cors_echoes_origin_with_vary() {
    let s = srv();
    let u = uniq_url("cors");
    for (path, want) in [
        (format!("/count?url={}", enc(&u)), 200),
        (format!("/nocount/tag.svg?url={}", enc(&u)), 200),
        ("/nope".to_string(), 404),
        ("/count".to_string(), 400),
    ] {
        for origin in ["https://blog.example.org", "http://localhost:3000"] {
            let r = s.get_h(&path, &[("Origin", origin)]);
            assert_eq!(r.status, want, "{path}");
            assert_eq!(r.header("access-control-allow-origin"), Some(origin), "{path}: ACAO must echo Origin");
            assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
            assert!(vary_has_origin(&r), "{path}: Vary: Origin missing ({:?})", r.header("vary"));
        }
    }
    let r = s.req("OPTIONS", &format!("/count?url={}", enc(&u)), &[("Origin", "https://a.example")]);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://a.example"));
    assert!(vary_has_origin(&r));
}

#[test]
fn only_well_formed_origins_and_header_lists_are_echoed() {
    let s = srv();
    let path = format!("/nocount?url={}", enc(&uniq_url("echo")));
    let r = s.get_h(&path, &[("Origin", "https://evil.example/p a<x>")]);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "not an origin: not echoed");
    let preflight = |headers: &str| {
        let r =
            s.req("OPTIONS", &path, &[("Origin", "https://a.example"), ("Access-Control-Request-Headers", headers)]);
        assert_eq!(r.status, 204);
        r.header("access-control-allow-headers").map(str::to_string)
    };
    assert_eq!(preflight("content-type, x-a").as_deref(), Some("content-type, x-a"));
    assert_eq!(preflight("x-a\u{7f}"), None, "DEL is never echoed");
    assert_eq!(preflight("x-a\u{1b}[31m"), None, "nor another control character");
}

#[test]
fn options_is_204_with_allow_methods_and_does_not_count() {
    let s = srv();
    let u = uniq_url("options");
    for p in ["/count", "/nocount", "/count/tag.svg", "/nocount/tag.svg"] {
        let r = s.req(
            "OPTIONS",
            &format!("{p}?url={}", enc(&u)),
            &[("Origin", "https://x.example"), ("Access-Control-Request-Method", "GET")],
        );
        assert_eq!(r.status, 204, "OPTIONS {p}");
        assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD, OPTIONS"), "OPTIONS {p}");
        assert!(r.body.is_empty(), "204 has no body: {:?}", r.text());
        assert!(r.header("set-cookie").is_none(), "OPTIONS sets no cookie");
    }
    assert_eq!(peek(s, &u), 0, "OPTIONS never counts");
}

#[test]
fn other_methods_are_405_with_allow() {
    let s = srv();
    let u = uniq_url("m405");
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        for p in ["/count", "/nocount", "/count/tag.svg", "/nocount/tag.svg"] {
            let r = s.req(m, &format!("{p}?url={}", enc(&u)), &[("Content-Length", "0")]);
            assert_eq!(r.status, 405, "{m} {p}");
            let allow = r.header("allow").unwrap_or_else(|| panic!("{m} {p}: 405 without Allow"));
            assert_eq!(token_set(allow), vec!["GET", "HEAD", "OPTIONS"], "{m} {p}: Allow = {allow:?}");
        }
    }
    assert_eq!(peek(s, &u), 0, "405s never count");
}

#[test]
fn unknown_paths_are_404_and_do_not_count() {
    let s = srv();
    let u = uniq_url("p404");
    for p in
        ["/nope", "/count/", "/nocount/", "/count/tag.svg/", "/count/tag.png", "/counter", "/COUNT", "/count/x/tag.svg"]
    {
        let r = s.get(&format!("{p}?url={}", enc(&u)));
        assert_eq!(r.status, 404, "{p}");
        assert!(r.header("set-cookie").is_none(), "{p}: 404 sets no cookie");
    }
    assert_eq!(peek(s, &u), 0, "404s never count");
}

#[test]
fn head_counts_and_has_no_body() {
    let s = srv();
    let u = uniq_url("head");
    let q = format!("?url={}", enc(&u));
    let r = s.req("HEAD", &format!("/count{q}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(TEXT));
    assert!(r.body.is_empty(), "HEAD body: {:?}", r.text());
    assert_eq!(peek(s, &u), 1, "HEAD /count counts");

    let r = s.req("HEAD", &format!("/count/tag.svg{q}"), &[]);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap_or("").starts_with("image/svg+xml"));
    assert!(r.body.is_empty());
    assert_eq!(peek(s, &u), 2, "HEAD /count/tag.svg counts");

    for p in ["/nocount", "/nocount/tag.svg"] {
        let r = s.req("HEAD", &format!("{p}{q}"), &[]);
        assert_eq!(r.status, 200);
        assert!(r.body.is_empty());
    }
    assert_eq!(peek(s, &u), 2, "HEAD /nocount does not count");
}

#[test]
fn url_param_then_referer_then_referrer() {
    let s = srv();
    let a = uniq_url("prec-a");
    let b = uniq_url("prec-b");
    let c = uniq_url("prec-c");
    let ra = format!("https://{b}");
    let rc = format!("https://{c}");

    // url param wins over Referer and Referrer
    let r = s.get_h(&format!("/count?url={}", enc(&a)), &[("Referer", &ra), ("Referrer", &rc)]);
    assert_eq!(r.text(), "1");
    assert_eq!((peek(s, &a), peek(s, &b), peek(s, &c)), (1, 0, 0));

    // no url: Referer
    let r = s.get_h("/count", &[("Referer", &ra)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1");
    assert_eq!((peek(s, &a), peek(s, &b), peek(s, &c)), (1, 1, 0));

    // empty url param counts as absent: Referer
    let r = s.get_h("/count?url=", &[("Referer", &ra)]);
    assert_eq!(r.text(), "2");

    // the misspelling Referrer
    let r = s.get_h("/count/tag.svg", &[("Referrer", &rc)]);
    assert_eq!(r.status, 200);
    assert_eq!(parse_svg(&r.text()).title.as_deref(), Some("hits: 1"));
    assert_eq!((peek(s, &a), peek(s, &b), peek(s, &c)), (1, 2, 1));

    // /nocount by Referer
    let r = s.get_h("/nocount", &[("Referer", &rc)]);
    assert_eq!(r.text(), "1");

    // nothing at all: 400, one line
    let r = s.get("/count");
    assert_eq!(r.status, 400);
    assert_one_line_plain(&r, "no url");
    let r = s.get("/nocount/tag.svg");
    assert_eq!(r.status, 400);
    assert_error_body(&r, "/nocount/tag.svg: no url");
}

#[test]
fn url_param_is_percent_decoded_once() {
    let s = srv();
    let host = format!("{}.test", uniq("dec"));
    // encoded once (encodeURIComponent), as users are told to do
    let full = format!("https://{host}/a");
    assert_eq!(s.get(&format!("/count?url={}", enc(&full))).text(), "1");
    // not encoded at all (as people paste it): same key
    assert_eq!(s.get(&format!("/count?url=https://{host}/a")).text(), "2");
    // scheme-less
    assert_eq!(s.get(&format!("/count?url={host}/a")).text(), "3");
    assert_eq!(peek(s, &format!("{host}/a")), 3);
    // encoded twice: decoded only once, so it is NOT the key HOST/b
    let twice = enc(&enc(&format!("https://{host}/b")));
    let r = s.get(&format!("/count?url={twice}"));
    assert!(r.status == 200 || r.status == 400, "double-encoded: {}", r.status);
    assert_eq!(peek(s, &format!("{host}/b")), 0, "url must be decoded exactly once");
    // an encoded ?/# inside the value is part of the URL, then dropped as query
    assert_eq!(s.get(&format!("/count?url={}", enc(&format!("https://{host}/a?x=1&y=2#f")))).text(), "4");
}

/// Each group: URLs that must share one key (the first is the key itself).
#[test]
fn key_normalisation_over_http() {
    let s = srv();
    let h = format!("{}.test", uniq("norm"));
    let hu = h.to_ascii_uppercase();
    let groups: Vec<(String, Vec<String>)> = vec![
        (
            format!("{h}/a"),
            vec![
                format!("{h}/a"),
                format!("http://{h}/a"),
                format!("https://{h}/a"),
                format!("//{h}/a"),
                format!("https://{h}/a?x=1&y=2"),
                format!("https://{h}/a#frag"),
                format!("https://{h}/a;params"),
                format!("https://{h}/a;p=1?q=2#f"),
                format!("HTTPS://{hu}/a"),
                format!("https://user:pass@{h}/a"),
                format!("https://user@{h}/a"),
                format!("http://{h}:80/a"),
                format!("https://{h}:443/a"),
                format!("{h}:80/a"),
            ],
        ),
        (format!("{h}:8080/a"), vec![format!("http://{h}:8080/a"), format!("{h}:8080/a?z")]),
        (format!("www.{h}/a"), vec![format!("https://www.{h}/a")]),
        (format!("{h}/a/"), vec![format!("https://{h}/a/")]),
        (format!("{h}/A"), vec![format!("https://{h}/A")]),
        (h.to_string(), vec![format!("https://{h}"), format!("https://{hu}")]),
        (format!("{h}/"), vec![format!("https://{h}/")]),
    ];
    for (key, variants) in &groups {
        for v in variants {
            let r = s.get(&format!("/count?url={}", enc(v)));
            assert_eq!(r.status, 200, "{v}: {}", r.text());
        }
        assert_eq!(peek(s, key), variants.len() as u64, "key {key} after hits via {variants:?}");
    }
    // The groups are distinct counters (no group leaked into another).
    for (key, variants) in &groups {
        assert_eq!(peek(s, key), variants.len() as u64, "key {key} (re-check)");
    }
    // Referer goes through the same normalisation.
    let r = s.get_h("/count", &[("Referer", &format!("https://User:pw@{hu}:443/a;x?y#z"))]);
    assert_eq!(r.text(), (groups[0].1.len() + 1).to_string());

    // The stored keys are exactly these strings.
    let want: Vec<String> = groups.iter().map(|(k, _)| k.clone()).collect();
    let ok = eventually(Duration::from_secs(5), || {
        let list = admin_list(&s.db, &[]);
        want.iter().all(|k| list.iter().any(|(_, key)| key == k))
    });
    let list: Vec<(u64, String)> = admin_list(&s.db, &[]).into_iter().filter(|(_, k)| k.contains(&h)).collect();
    assert!(ok, "stored keys {list:?} should be exactly {want:?}");
    assert_eq!(list.len(), want.len(), "stored keys {list:?} vs {want:?}");
}
