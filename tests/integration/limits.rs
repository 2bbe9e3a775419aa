//! Bad input: 414 for a long target or url, 400 for bad percent-encoding or
//! UTF-8 and for no usable URL, a non-URL Referer is absent, bad requests
//! never change a count, the server keeps serving.

use crate::support;

use std::sync::OnceLock;
use support::*;

static SERVER: OnceLock<Server> = OnceLock::new();

fn srv() -> &'static Server {
    shared(&SERVER, Server::start)
}

/// A key with one count, so that "never changes a count" can be checked.
fn key_with_one_hit(s: &Server, tag: &str) -> String {
    let k = uniq_url(tag);
    assert_eq!(hit(s, &k), 1);
    k
}

fn pad_to(prefix: &str, total: usize) -> String {
    assert!(prefix.len() <= total);
    format!("{prefix}{}", "a".repeat(total - prefix.len()))
}

#[test]
fn request_target_over_8_kib_is_414() {
    let s = srv();
    let k = key_with_one_hit(s, "target");
    let base = format!("/count?url={}&pad=", enc(&k));
    // exactly 8 KiB: allowed
    let t = pad_to(&base, 8192);
    assert_eq!(t.len(), 8192);
    let r = s.get(&t);
    assert_eq!(r.status, 200, "an 8192-byte target is within the limit");
    assert_eq!(r.text(), "2");
    // one byte more: 414, not counted
    let t = pad_to(&base, 8193);
    let r = s.get(&t);
    assert_eq!(r.status, 414, "8193-byte target");
    assert_one_line_plain(&r, "414 target");
    assert_common_headers(&r, "414 target");
    let r = s.get(&pad_to(&base, 100_000));
    assert_eq!(r.status, 414, "100 kB target");
    for p in ["/nocount?x=", "/nocount/tag.svg?url=a&b=", "/", "/nope/"] {
        let r = s.get(&pad_to(p, 9000));
        assert_eq!(r.status, 414, "{p}…: {}", r.status);
    }
    assert_eq!(peek(s, &k), 2, "414s never count");
}

#[test]
fn url_over_2048_bytes_decoded_is_414() {
    let s = srv();
    let k = key_with_one_hit(s, "longurl");
    // decoded length exactly 2048 (the key is the URL itself): allowed
    let u2048 = pad_to(&format!("{}.test/", uniq("len")), 2048);
    let r = s.get(&format!("/count?url={}", enc(&u2048)));
    assert_eq!(r.status, 200, "a 2048-byte url is within the limit");
    assert_eq!(r.text(), "1");
    // 2049 bytes: 414
    let u2049 = pad_to(&format!("{}.test/", uniq("len")), 2049);
    for p in ["/count", "/count/tag.svg", "/nocount"] {
        let r = s.get(&format!("{p}?url={}", enc(&u2049)));
        assert_eq!(r.status, 414, "{p}: 2049-byte url");
        assert_error_body(&r, &format!("{p}: 414 url"));
        assert_common_headers(&r, "414 url");
    }
    // over 2048 only because of a query that the key would drop: still 414
    let r = s.get(&format!("/count?url={}", enc(&pad_to(&format!("https://{k}?q="), 3000))));
    assert_eq!(r.status, 414);
    assert_eq!(peek(s, &k), 1, "a 414 never counts");
    // long only while encoded: 1500 × %41 decodes to 1500 bytes → fine
    let host = format!("{}.test", uniq("enclen"));
    let r = s.get(&format!("/count?url={host}%2F{}", "%41".repeat(1500)));
    assert_eq!(r.status, 200, "the limit applies after decoding");
    assert_eq!(peek(s, &format!("{host}/{}", "A".repeat(1500))), 1);
}

#[test]
fn bad_percent_encoding_and_utf8_are_400() {
    let s = srv();
    let k = key_with_one_hit(s, "enc");
    let ek = enc(&k);
    // Each of these would, decoded leniently, land on key `k`.
    let bad = [
        format!("{ek}%3Fq%zz"),
        format!("{ek}%3Fq%4"),
        format!("{ek}%23%"),
        format!("{ek}%3F%G1"),
        format!("{ek}%3F%ff"),
        format!("{ek}%3F%c3%28"),
        format!("{ek}%23%c0%af"),
        format!("{ek}%3F%ed%a0%80"),
        "%zz".to_string(),
        "%".to_string(),
    ];
    for v in &bad {
        for p in ["/count", "/count/tag.svg", "/nocount"] {
            let r = s.get(&format!("{p}?url={v}"));
            assert_eq!(r.status, 400, "{p}?url={v}: {}", r.text());
            assert_error_body(&r, &format!("{p}?url={v}"));
            assert_common_headers(&r, &format!("{p}?url={v}"));
        }
        // a valid Referer does not rescue a bad url parameter
        let r = s.get_h(&format!("/count?url={v}"), &[("Referer", &format!("https://{k}"))]);
        assert_eq!(r.status, 400, "bad url with valid Referer: {v}");
    }
    assert_eq!(peek(s, &k), 1, "bad requests never change a count");
}

#[test]
fn raw_invalid_utf8_in_target_is_400() {
    let s = srv();
    let k = key_with_one_hit(s, "rawutf8");
    let ek = enc(&k);
    let raw =
        [format!("GET /count?url={ek}").as_bytes(), b"%3F\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]
            .concat();
    match send_raw(&s.addr, &raw) {
        Ok(r) => assert_eq!(r.status, 400, "raw non-UTF-8 target"),
        Err(e) => panic!("raw non-UTF-8 target: no HTTP response at all ({e})"),
    }
    assert_eq!(peek(s, &k), 1);
}

#[test]
fn non_url_referer_is_absent() {
    let s = srv();
    let k = key_with_one_hit(s, "ref");
    for referer in
        ["", "http://", "https://", "://", "http:///x", "/only/a/path", "?q=1", "#frag", "not a url", ":::::"]
    {
        for p in ["/count", "/count/tag.svg", "/nocount"] {
            let r = s.get_h(p, &[("Referer", referer)]);
            assert_eq!(r.status, 400, "{p} with Referer {referer:?}: {}", r.text());
            assert_error_body(&r, &format!("{p} Referer {referer:?}"));
        }
        // absent, so the url parameter or Referrer still decides
        let r = s.get_h(&format!("/nocount?url={}", enc(&k)), &[("Referer", referer)]);
        assert_eq!(r.text(), "1");
    }
    let r = s.get("/count?url=");
    assert_eq!(r.status, 400, "empty url and no Referer");
    let r = s.get(&format!("/count?url={}", enc("https://")));
    assert_eq!(r.status, 400, "url without a host");
    let r = s.get("/count?other=1");
    assert_eq!(r.status, 400);
    assert_eq!(peek(s, &k), 1);
}

#[test]
fn bad_requests_never_change_a_count_and_server_keeps_serving() {
    let s = srv();
    let k = key_with_one_hit(s, "survive");
    let ek = enc(&k);
    // malformed HTTP
    for raw in [b"GARBAGE\r\n\r\n".to_vec(), b"GET\r\n\r\n".to_vec(), b"\x00\x01\x02\x03\r\n\r\n".to_vec()] {
        if let Ok(r) = send_raw(&s.addr, &raw) {
            assert!(r.status >= 400 && r.status < 500, "malformed request got {}", r.status);
        }
    }
    // a huge header: whatever the answer, never a 5xx and the server lives on
    let junk = "j".repeat(200_000);
    if let Ok(r) = Request::get(&format!("/nocount?url={ek}"))
        .headers(&[("X-Junk", &junk)])
        .timeout(LOAD_TIMEOUT)
        .try_send(&s.addr)
    {
        assert!(r.status < 500, "huge header got {}", r.status)
    }
    // a client that sends half a request and goes away
    {
        use std::io::Write;
        let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
        c.write_all(format!("GET /count?url={ek} HTTP/1.1\r\nHost: x\r\n").as_bytes()).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(peek(s, &k), 1, "no bad or incomplete request counted");
    assert_eq!(hit(s, &k), 2, "still serving and counting");
    let log = s.log_text();
    assert!(!log.contains("panicked"), "a worker panicked: {log}");
}
