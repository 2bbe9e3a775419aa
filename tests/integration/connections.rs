//! The HTTP layer under clients that misbehave, over real TCP: the head
//! and idle timeouts, heads larger than the limit, the connection cap, and
//! requests whose framing or headers are ambiguous (request smuggling,
//! header injection). Time limits are set small with the real flags; the
//! tests wait for the server to act, never measure how fast it is.

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::*;

fn connect(s: &Server) -> TcpStream {
    let sa: SocketAddr = s.addr.parse().unwrap();
    let c = TcpStream::connect_timeout(&sa, Duration::from_secs(5)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Reads until the server closes the connection; returns what it sent.
/// Panics if it is still open after 20 s.
fn read_until_closed(c: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the server did not close the connection: {e}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[test]
fn a_client_that_sends_nothing_is_disconnected_after_the_head_timeout() {
    let s = Server::start_args(&["--head-timeout", "1"]);
    let mut c = connect(&s);
    let got = read_until_closed(&mut c);
    assert!(got.is_empty(), "nothing to answer: {:?}", String::from_utf8_lossy(&got));
    // The server is fine and still serves others.
    assert_eq!(s.get("/nocount?url=a.example").status, 200);
}

#[test]
fn a_head_sent_byte_by_byte_gets_408_at_the_head_timeout() {
    let s = Server::start_args(&["--head-timeout", "1"]);
    let mut c = connect(&s);
    c.write_all(b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    // One header byte at a time, for longer than the timeout allows.
    for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if c.write_all(&[*b]).is_err() || started.elapsed() > Duration::from_secs(4) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = read_until_closed(&mut c);
    assert_eq!(status_of(&got), Some(408), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // Long enough that the second request, sent at once, comes before it
    // however busy the machine.
    let s = Server::start_args(&["--idle-timeout", "5"]);
    let mut c = connect(&s);
    c.write_all(b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 4096];
    let n = c.read(&mut first).unwrap();
    assert_eq!(status_of(&first[..n]), Some(200));
    // Still open for another request right away...
    c.write_all(b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let n = c.read(&mut first).unwrap();
    assert_eq!(status_of(&first[..n]), Some(200), "keep-alive works");
    // ...then silent: closed by the server.
    let got = read_until_closed(&mut c);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn a_head_over_the_limit_gets_431_without_the_server_reading_it_all() {
    let s = Server::start();
    let mut c = connect(&s);
    c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut writer = c.try_clone().unwrap();
    // 64 MiB of one header line: far more than the kernel buffers hold.
    let sender = std::thread::spawn(move || {
        let mut sent = 0usize;
        if writer.write_all(b"GET /nocount?url=a.example HTTP/1.1\r\nX-Big: ").is_err() {
            return sent;
        }
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..1024 {
            match writer.write_all(&chunk) {
                Ok(()) => sent += chunk.len(),
                Err(_) => break,
            }
        }
        sent
    });
    let got = read_until_closed(&mut c);
    let sent = sender.join().unwrap();
    assert_eq!(status_of(&got), Some(431), "{:?}", String::from_utf8_lossy(&got[..got.len().min(200)]));
    assert!(sent < 32 * 1024 * 1024, "the server read {sent} bytes of a header line");
    assert_eq!(s.get("/nocount?url=a.example").status, 200, "still serving");
}

#[test]
fn a_request_line_over_the_read_limit_gets_414_and_is_not_read_further() {
    let s = Server::start();
    let long = format!("GET /nocount?url=a.example&pad={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(40_000));
    let mut c = connect(&s);
    let _ = c.write_all(long.as_bytes());
    let got = read_until_closed(&mut c);
    assert_eq!(status_of(&got), Some(414), "{:?}", String::from_utf8_lossy(&got[..got.len().min(200)]));
}

#[test]
fn past_the_connection_cap_a_client_gets_503_and_others_are_served_again_later() {
    let s = Server::start_args(&["--max-connections", "3"]);
    // Each of the three has had an answer, so the server holds all three
    // (kept alive) before the fourth arrives: the order of events, not a pause.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = connect(&s);
            c.write_all(b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = [0u8; 4096];
            let n = c.read(&mut answer).unwrap();
            assert_eq!(status_of(&answer[..n]), Some(200), "{:?}", String::from_utf8_lossy(&answer[..n]));
            c
        })
        .collect();
    let r = send_raw(&s.addr, b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("a quick answer, not silence");
    assert_eq!(r.status, 503);
    assert!(r.text().contains("too many connections"), "{}", r.text());
    drop(held);
    assert!(
        eventually(Duration::from_secs(10), || s.get("/nocount?url=a.example").status == 200),
        "closed connections free their places"
    );
}

/// Sends a raw request (which asks to close); returns the status.
fn raw(s: &Server, head: &str) -> Option<u16> {
    let mut c = connect(s);
    c.write_all(head.as_bytes()).unwrap();
    status_of(&read_until_closed(&mut c))
}

#[test]
fn ambiguous_framing_gets_400_and_the_connection_is_closed() {
    let s = Server::start();
    let cases = [
        ("Content-Length and Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
        ("Transfer-Encoding not chunked", "Transfer-Encoding: gzip\r\n"),
        ("chunked not last", "Transfer-Encoding: chunked, identity\r\n"),
        ("Transfer-Encoding twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        ("Content-Length twice", "Content-Length: 0\r\nContent-Length: 0\r\n"),
        ("non-numeric Content-Length", "Content-Length: 1x\r\n"),
        ("signed Content-Length", "Content-Length: +0\r\n"),
        ("whitespace before the colon", "Content-Length : 0\r\n"),
        ("a folded header", "X-A: a\r\n folded\r\n"),
        ("a bare CR in a value", "Origin: https://a.example\rSet-Cookie: x=1\r\n"),
        ("a bare LF in a value", "Origin: https://a.example\nSet-Cookie: x=1\r\n"),
    ];
    for (what, headers) in cases {
        // A second request follows on the same connection: it must not be
        // answered (where it starts is exactly what is ambiguous).
        let head = format!(
            "GET /count?url=smuggle.example HTTP/1.1\r\nHost: x\r\n{headers}\r\n\
             GET /count?url=smuggle.example HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        let mut c = connect(&s);
        c.write_all(head.as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let got = read_until_closed(&mut c);
        let text = String::from_utf8_lossy(&got);
        assert_eq!(status_of(&got), Some(400), "{what}: {text:?}");
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{what}: one answer, then closed: {text:?}");
    }
    assert_eq!(peek(&s, "smuggle.example"), 0, "nothing was counted");
    // The plain forms still work.
    let plain = "GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(raw(&s, plain), Some(200));
    let chunked = "GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
                   Connection: close\r\n\r\n0\r\n\r\n";
    assert_eq!(raw(&s, chunked), Some(200));
}

#[test]
fn an_origin_that_is_not_one_is_never_echoed() {
    let s = Server::start();
    let r = s.get_h("/nocount?url=a.example", &[("Origin", "https://a.example")]);
    assert_eq!(r.header("access-control-allow-origin"), Some("https://a.example"));
    for bad in ["https://a.example/path", "javascript:alert(1)", "https://a.example x"] {
        let r = s.get_h("/nocount?url=a.example", &[("Origin", bad)]);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{bad}");
    }
}
