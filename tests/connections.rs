//! The HTTP layer under clients that misbehave, over real TCP: the head
//! and idle timeouts, heads larger than the limit, the connection cap,
//! bodies on requests that have no use for one, and requests whose framing
//! or headers are ambiguous (request smuggling, header injection). Time limits are set small with the real flags; the
//! tests wait for the server to act, never measure how fast it is.

mod support;

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
fn a_request_line_cut_short_gets_408_at_the_head_timeout() {
    let s = Server::start_args(&["--head-timeout", "1"]);
    let mut c = connect(&s);
    c.write_all(b"GET /nocount?url=a.exa").unwrap();
    let got = read_until_closed(&mut c);
    assert_eq!(status_of(&got), Some(408), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let s = Server::start_args(&["--idle-timeout", "1"]);
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
    let held: Vec<TcpStream> = (0..3).map(|_| connect(&s)).collect();
    // The server has accepted the three before the fourth arrives.
    std::thread::sleep(Duration::from_millis(300));
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

/// The status and head of each answer in `bytes`, in order.
fn answers(bytes: &[u8]) -> Vec<(u16, String)> {
    let text = String::from_utf8_lossy(bytes);
    let starts: Vec<usize> = text.match_indices("HTTP/1.1 ").map(|(i, _)| i).collect();
    starts
        .iter()
        .map(|&i| {
            let head = text[i..].split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
            (head[9..12].parse().unwrap_or(0), head)
        })
        .collect()
}

/// Sends `first`, then a plain GET on the same connection; returns the
/// answers the server sent before it closed the connection.
fn with_one_pipelined(s: &Server, first: &[u8]) -> Vec<(u16, String)> {
    let mut c = connect(s);
    c.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut bytes = first.to_vec();
    bytes.extend_from_slice(b"GET /nocount?url=a.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.write_all(&bytes).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    answers(&read_until_closed(&mut c))
}

fn chunked(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for part in data.chunks(chunk) {
        body.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

fn with_body(method: &str, framing: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{method} /nocount?url=a.example HTTP/1.1\r\nHost: x\r\n{framing}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn a_body_on_a_get_head_or_options_is_dropped_and_the_next_request_answered() {
    let s = Server::start();
    let data = vec![b'a'; 10_000];
    let cases = [
        ("chunked GET", with_body("GET", "Transfer-Encoding: chunked\r\n", &chunked(b"hello", 5)), 200),
        ("chunked GET in many chunks", with_body("GET", "Transfer-Encoding: chunked\r\n", &chunked(&data, 700)), 200),
        ("GET with Content-Length", with_body("GET", "Content-Length: 5\r\n", b"hello"), 200),
        ("GET with a larger body", with_body("GET", "Content-Length: 10000\r\n", &data), 200),
        ("HEAD with Content-Length", with_body("HEAD", "Content-Length: 5\r\n", b"hello"), 200),
        ("chunked OPTIONS", with_body("OPTIONS", "Transfer-Encoding: chunked\r\n", &chunked(b"hello", 2)), 204),
    ];
    for (what, first, status) in cases {
        let got = with_one_pipelined(&s, &first);
        let statuses: Vec<u16> = got.iter().map(|(st, _)| *st).collect();
        assert_eq!(statuses, [status, 200], "{what}: {got:#?}");
        assert!(!got[0].1.contains("connection: close"), "{what}: the connection goes on: {}", got[0].1);
    }
}

#[test]
fn a_body_past_the_limit_gets_its_answer_with_connection_close() {
    let s = Server::start();
    let big = vec![b'a'; 20_000];
    let cases = [
        ("declared", with_body("GET", "Content-Length: 20000\r\n", &big), 413),
        ("chunked", with_body("GET", "Transfer-Encoding: chunked\r\n", &chunked(&big, 4096)), 200),
        ("declared, never sent", with_body("GET", "Content-Length: 99999999999999999\r\n", b""), 413),
        ("a chunk size line without end", with_body("GET", "Transfer-Encoding: chunked\r\n", &big), 200),
    ];
    for (what, first, status) in cases {
        let got = with_one_pipelined(&s, &first);
        assert_eq!(got.len(), 1, "{what}: one answer, then closed: {got:#?}");
        assert_eq!(got[0].0, status, "{what}: {got:#?}");
        assert!(got[0].1.contains("connection: close"), "{what}: {}", got[0].1);
    }
    // A declared body past the limit is not waited for: the answer comes
    // while the client has yet to send it (the connection's reads could
    // wait 600 s here; the client waits 20 s for the answer).
    let s = Server::start_args(&["--head-timeout", "600"]);
    let mut c = connect(&s);
    c.write_all(&with_body("GET", "Content-Length: 99999999999999999\r\n", b"")).unwrap();
    let mut first = [0u8; 4096];
    let n = c.read(&mut first).expect("an answer before the body");
    assert_eq!(status_of(&first[..n]), Some(413), "{:?}", String::from_utf8_lossy(&first[..n]));
    // A body no route reads, on another method, of a length no buffer
    // could hold: answered, and the server lives on.
    let got = with_one_pipelined(&s, &with_body("POST", "Content-Length: 99999999999999999\r\n", b""));
    assert_eq!(got.first().map(|a| a.0), Some(413), "{got:#?}");
    assert_eq!(s.get("/nocount?url=a.example").status, 200, "still serving");
}
