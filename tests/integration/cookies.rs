//! The anti-refresh cookie: attributes, a name per key, no count while
//! valid, /nocount never sets one, garbled and forged values, expiry after
//! the window (on a clock the test moves), window 0, never a 500.

use crate::support;

use std::sync::OnceLock;
use support::*;

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    shared(&SERVER, Server::start)
}

fn count_with_cookie(s: &Server, path: &str, url: &str, cookie: &str) -> Resp {
    s.get_h(&format!("{path}?url={}", enc(url)), &[("Cookie", cookie)])
}

#[test]
fn set_cookie_name_value_and_attributes() {
    let s = srv();
    let u = uniq_url("attrs");
    let before = now_secs();
    let r = s.get(&format!("/count?url={}", enc(&u)));
    let after = now_secs();
    assert_eq!(r.text(), "1");
    let c = the_cookie(&r);
    assert!(is_cookie_name(&c.name), "cookie name must be hc_<16 hex>: {:?}", c.name);
    let v: u64 = c.value.parse().unwrap_or_else(|_| panic!("value must be epoch seconds: {:?}", c.value));
    assert!(v >= before + 300 && v <= after + 300 + 1, "value {v} should be now+300 ({before}..{after})");
    assert_eq!(c.attrs.get("path").map(|s| s.as_str()), Some("/"), "{c:?}");
    assert_eq!(c.attrs.get("max-age").map(|s| s.as_str()), Some("300"), "{c:?}");
    // Plain http: browsers drop Secure cookies there, so Lax, first-party.
    assert_eq!(c.attrs.get("samesite").map(|s| s.as_str()), Some("Lax"), "{c:?}");
    assert!(!c.attrs.contains_key("secure") && !c.attrs.contains_key("partitioned"), "{c:?}");
    assert!(c.attrs.contains_key("httponly"), "HttpOnly missing: {c:?}");
    // https (here: a trusted proxy says so): a cookie that works cross-site.
    let https = s.get_h(&format!("/count?url={}", enc(&uniq_url("attrs-https"))), &[("X-Forwarded-Proto", "https")]);
    let plain = the_cookie(&https);
    assert_eq!(plain.attrs.get("samesite").map(|s| s.as_str()), Some("Lax"), "untrusted header: {plain:?}");
    let p = Server::start_args(&["--trust-proxy"]);
    let r = p.get_h(&format!("/count?url={}", enc(&uniq_url("attrs-https"))), &[("X-Forwarded-Proto", "https")]);
    let c = the_cookie(&r);
    assert_eq!(c.attrs.get("samesite").map(|s| s.as_str()), Some("None"), "{c:?}");
    for attr in ["secure", "httponly", "partitioned"] {
        assert!(c.attrs.contains_key(attr), "{attr} missing: {c:?}");
    }

    // the badge route sets the same cookie
    let u2 = uniq_url("attrs-badge");
    let r = s.get(&format!("/count/tag.svg?url={}", enc(&u2)));
    let c2 = the_cookie(&r);
    assert!(is_cookie_name(&c2.name));
    assert_eq!(c2.attrs.get("max-age").map(|s| s.as_str()), Some("300"));
    // HEAD counts, so it sets the cookie too
    let u3 = uniq_url("attrs-head");
    let r = s.req("HEAD", &format!("/count?url={}", enc(&u3)), &[]);
    assert!(is_cookie_name(&the_cookie(&r).name));
}

#[test]
fn cookie_name_is_per_key() {
    let s = srv();
    let h = format!("{}.test", uniq("names"));
    let name = |url: &str| the_cookie(&s.get(&format!("/count?url={}", enc(url)))).name;
    let a1 = name(&format!("{h}/a"));
    let a2 = name(&format!("https://{}:443/a?x#y", h.to_uppercase()));
    let b = name(&format!("{h}/b"));
    let long = name(&format!("{h}/{}", "x".repeat(1500)));
    assert_eq!(a1, a2, "same key → same cookie name");
    assert_ne!(a1, b, "different keys → different cookie names");
    assert!(is_cookie_name(&long), "a long URL still gets a short name: {long}");
}

#[test]
fn second_request_with_the_cookie_does_not_count() {
    let s = srv();
    let u = uniq_url("skip");
    let r = s.get(&format!("/count?url={}", enc(&u)));
    assert_eq!(r.text(), "1");
    let c = the_cookie(&r);
    let jar = format!("{}={}", c.name, c.value);

    let r = count_with_cookie(s, "/count", &u, &jar);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1", "a browser that counted within the window is not counted again");
    let r = count_with_cookie(s, "/count/tag.svg", &u, &jar);
    assert_eq!(parse_svg(&r.text()).title.as_deref(), Some("hits: 1"), "badge route honours the cookie too");
    let r = s.req("HEAD", &format!("/count?url={}", enc(&u)), &[("Cookie", &jar)]);
    assert_eq!(r.status, 200);
    assert_eq!(peek(s, &u), 1);

    // among other cookies
    let r = count_with_cookie(s, "/count", &u, &format!("a=b; {jar}; theme=dark"));
    assert_eq!(r.text(), "1");

    // a cookie for another URL does not block this one
    let other = uniq_url("skip-other");
    let r = count_with_cookie(s, "/count", &other, &jar);
    assert_eq!(r.text(), "1");

    // without the cookie it counts again
    assert_eq!(hit(s, &u), 2);
}

#[test]
fn nocount_never_sets_a_cookie() {
    let s = srv();
    let u = uniq_url("nocookie");
    hit(s, &u);
    for p in ["/nocount", "/nocount/tag.svg"] {
        for m in ["GET", "HEAD"] {
            let r = s.req(m, &format!("{p}?url={}", enc(&u)), &[]);
            assert_eq!(r.status, 200);
            assert!(r.header("set-cookie").is_none(), "{m} {p} set a cookie: {:?}", r.header("set-cookie"));
            let r = s.req(m, &format!("{p}?url={}", enc(&u)), &[("Cookie", "hc_0123456789abcdef=abc")]);
            assert!(r.header("set-cookie").is_none(), "{m} {p} (with cookie) set a cookie");
        }
    }
    for p in ["/", "/assets/style.css"] {
        let r = s.get(p);
        assert!(r.header("set-cookie").is_none(), "{p} set a cookie");
    }
    assert_eq!(peek(s, &u), 1);
}

#[test]
fn garbled_or_expired_value_counts_as_no_cookie() {
    let s = srv();
    let u = uniq_url("garbled");
    let r = s.get(&format!("/count?url={}", enc(&u)));
    let name = the_cookie(&r).name;
    let past = (now_secs() - 10).to_string();
    let values = [
        "abc".to_string(),
        "".to_string(),
        "-5".to_string(),
        "1.5e9".to_string(),
        "99999999999999999999999999999".to_string(),
        "\"123\"".to_string(),
        "12abc".to_string(),
        "%ff%00".to_string(),
        "0".to_string(),
        past,
    ];
    let mut want = 1;
    for v in &values {
        let r = count_with_cookie(s, "/count", &u, &format!("{name}={v}"));
        assert_eq!(r.status, 200, "value {v:?}: {}", r.text());
        want += 1;
        assert_eq!(r.text(), want.to_string(), "value {v:?} must count as no cookie");
        let c = the_cookie(&r);
        assert_eq!(c.name, name, "a fresh cookie is set after counting");
        assert_eq!(c.attrs.get("max-age").map(|s| s.as_str()), Some("300"));
    }
    assert_eq!(peek(s, &u), want);
}

#[test]
fn far_future_value_is_capped() {
    // A window of 60 s on a clock the test moves, to watch the cap expire.
    let clock = TestClock::start();
    let s = clock.server(&["--cookie-window", "60"]);
    let u = uniq_url("forged");
    let r = s.get(&format!("/count?url={}", enc(&u)));
    assert_eq!(r.text(), "1");
    let name = the_cookie(&r).name;
    let forged = format!("{name}={}", clock.now() + 10 * 365 * 86400);

    // Capped to now+window: still valid right now, so not counted...
    let t0 = clock.now();
    let r = count_with_cookie(&s, "/count", &u, &forged);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "1", "a far-future value is capped at now+window (still within it)");
    // ...and nothing the server sends back lives longer than the window.
    let mut jar = forged.clone();
    for sc in set_cookies(&r) {
        let c = parse_set_cookie(&sc);
        if let Some(ma) = c.attrs.get("max-age") {
            let ma: i64 = ma.parse().expect("numeric Max-Age");
            assert!(ma <= 60, "Max-Age {ma} above the window: {sc}");
        }
        if let Ok(v) = c.value.parse::<u64>() {
            assert!(v <= clock.now() + 60 + 1 && v >= t0, "re-issued value {v} beyond now+window");
        }
        if c.name == name {
            jar = if c.attrs.get("max-age").map(|m| m.as_str()) == Some("0") {
                String::new()
            } else {
                format!("{}={}", c.name, c.value)
            };
        }
    }
    // After the window the same browser must be counted again (the
    // original never counted it again: the forged value stopped counting
    // forever). The browser still sends what it holds: the forged value if
    // the server did not replace it (then, unless it counts now, counting
    // has stopped forever), else the re-issued one, now in the past.
    clock.advance(61);
    let r = if jar.is_empty() {
        s.get(&format!("/count?url={}", enc(&u)))
    } else {
        count_with_cookie(&s, "/count", &u, &jar)
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "2", "after the window the browser is counted again (jar was {jar:?})");
}

#[test]
fn the_window_expires() {
    // On a clock the test moves: within the window however long the
    // requests take, then past it at once.
    let clock = TestClock::start();
    let s = clock.server(&["--cookie-window", "60"]);
    let u = uniq_url("expiry");
    let r = s.get(&format!("/count?url={}", enc(&u)));
    let c = the_cookie(&r);
    assert_eq!(c.attrs.get("max-age").map(|s| s.as_str()), Some("60"));
    let jar = format!("{}={}", c.name, c.value);
    clock.advance(30);
    assert_eq!(count_with_cookie(&s, "/count", &u, &jar).text(), "1", "within the window");
    clock.advance(31);
    // the value (epoch seconds) is now in the past: counts
    assert_eq!(count_with_cookie(&s, "/count", &u, &jar).text(), "2", "after the window");
}

#[test]
fn window_zero_disables_the_cookie() {
    let dir = tempdir();
    let u = uniq_url("w0");
    // learn the cookie name for this key from a server with a window
    let mut s = Server::start_with(Opts { dir: Some(dir.clone()), ..Opts::default() });
    let name = the_cookie(&s.get(&format!("/count?url={}", enc(&u)))).name;
    assert_eq!(s.stop().code(), Some(0));

    let s = Server::start_with(Opts { args: vec!["--cookie-window", "0"], dir: Some(dir), ..Opts::default() });
    let valid = format!("{name}={}", now_secs() + 200);
    for want in 2..=4u64 {
        let r = count_with_cookie(&s, "/count", &u, &valid);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), want.to_string(), "window 0: every hit counts, cookie or not");
        assert!(r.header("set-cookie").is_none(), "window 0 sets no cookie: {:?}", r.header("set-cookie"));
    }
    let r = s.get(&format!("/count/tag.svg?url={}", enc(&u)));
    assert!(r.header("set-cookie").is_none());
    assert_eq!(peek(&s, &u), 5);
}

#[test]
fn cookie_window_env_var() {
    let s = Server::start_with(Opts { env: vec![("HITCOUNTER_COOKIE_WINDOW", "7")], ..Opts::default() });
    let r = s.get(&format!("/count?url={}", enc(&uniq_url("envwin"))));
    assert_eq!(the_cookie(&r).attrs.get("max-age").map(|s| s.as_str()), Some("7"));
}

#[test]
fn never_a_500_from_a_cookie() {
    let s = srv();
    let u = uniq_url("no500");
    let name = the_cookie(&s.get(&format!("/count?url={}", enc(&u)))).name;
    let long = "9".repeat(3000);
    let headers: Vec<String> = vec![
        ";;;".into(),
        "=".into(),
        "==; ;=;".into(),
        "hc_=1".into(),
        name.clone(),
        format!("{name}=1; {name}=abc; {name}=2"),
        format!("{name}={long}"),
        format!("{name}= 12 "),
        format!("{}={}", "hc_".repeat(500), 1),
        "a".repeat(4000),
    ];
    for h in &headers {
        for p in ["/count", "/count/tag.svg", "/nocount"] {
            let r = s.get_h(&format!("{p}?url={}", enc(&u)), &[("Cookie", h)]);
            assert_eq!(r.status, 200, "{p} Cookie: {h:.60}: {}", r.text());
        }
    }
    // two Cookie headers
    let r = s.get_h(&format!("/count?url={}", enc(&u)), &[("Cookie", "a=b"), ("Cookie", &format!("{name}=x"))]);
    assert_eq!(r.status, 200);
    // still serving, and counts remain sane
    assert!(peek(s, &u) >= 1);
}

#[test]
fn non_ascii_cookie_header_still_gets_an_answer() {
    let s = srv();
    let u = uniq_url("utf8cookie");
    let name = the_cookie(&s.get(&format!("/count?url={}", enc(&u)))).name;
    // UTF-8 (as document.cookie can set for a sibling cookie) and raw bytes
    let tails: [&[u8]; 3] = [b"theme=\xc3\xa9", "lang=日本語".as_bytes(), b"\xff\xfe\x80"];
    for tail in tails {
        let mut raw =
            format!("GET /count?url={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {name}=1; ", enc(&u))
                .into_bytes();
        raw.extend_from_slice(tail);
        raw.extend_from_slice(b"\r\n\r\n");
        match send_raw(&s.addr, &raw) {
            Ok(r) => assert!(r.status < 500, "non-ASCII cookie {tail:?} gave {}", r.status),
            Err(e) => panic!("non-ASCII cookie {tail:?}: no HTTP response at all ({e})"),
        }
    }
    assert!(peek(s, &u) >= 1, "still serving");
}
