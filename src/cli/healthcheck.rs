//! `hitcounter healthcheck [URL]`: one plain-HTTP GET of a server's
//! `/healthz`, for container health checks where there is no shell or curl.
//! Exit 0 on `200`, 1 otherwise; the answer's first line is printed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// `http://ADDR/healthz` for a listen address; a wildcard address is asked
/// on loopback.
pub fn default_url(listen: &str) -> String {
    let addr = listen.replacen("0.0.0.0:", "127.0.0.1:", 1).replacen("[::]:", "[::1]:", 1);
    format!("http://{addr}/healthz")
}

pub fn run(url: &str) -> i32 {
    match check(url) {
        Ok((200, line)) => {
            println!("{line}");
            0
        }
        Ok((status, line)) => {
            println!("{status} {line}");
            1
        }
        Err(e) => {
            eprintln!("hitcounter healthcheck: {url}: {e}");
            1
        }
    }
}

/// The status and the body's first line.
fn check(url: &str) -> Result<(u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs are supported")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/"), |(a, _)| (a, &rest[a.len()..]));
    if authority.is_empty() || path.contains(['\r', '\n', ' ']) {
        return Err("not a usable URL".into());
    }
    let addr = authority
        .to_socket_addrs()
        .or_else(|_| format!("{authority}:80").to_socket_addrs())
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer).map_err(|e| e.to_string())?;
    parse(&String::from_utf8_lossy(&answer))
}

fn parse(answer: &str) -> Result<(u16, String), String> {
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("the answer is not HTTP")?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.lines().next().unwrap_or("").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_url_follows_the_listen_address() {
        assert_eq!(default_url("127.0.0.1:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(default_url("0.0.0.0:80"), "http://127.0.0.1:80/healthz");
        assert_eq!(default_url("[::]:9000"), "http://[::1]:9000/healthz");
    }

    #[test]
    fn status_and_first_line() {
        assert_eq!(parse("HTTP/1.1 200 OK\r\nA: b\r\n\r\nok\n"), Ok((200, "ok".into())));
        assert_eq!(parse("HTTP/1.1 503 X\r\n\r\nlow disk space\n").unwrap().0, 503);
        assert!(parse("garbage").is_err());
        assert!(check("https://x/healthz").is_err());
    }
}
