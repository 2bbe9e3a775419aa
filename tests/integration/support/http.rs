//! The one HTTP client: raw HTTP/1.1 over a `TcpStream` to 127.0.0.1 (raw so
//! tests control every byte), one request per connection. `Request` builds
//! and sends a request (`request` is the common case); `send_raw` sends bytes
//! a test wrote itself. Also owns the parsed response (`Resp`), cookies, and
//! the header and body checks shared by many tests.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header names lower-cased; repeated headers joined with "\n".
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(|s| s.as_str())
    }

    /// The number in a 200 body (asserts 200).
    pub fn count(&self) -> u64 {
        assert_eq!(self.status, 200, "body: {}", self.text());
        self.text().trim().parse().expect("numeric body")
    }
}

/// One request. `Host` is the address it is sent to unless `host` says
/// otherwise; `Connection: close` always.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// `Some(None)` sends no Host header at all.
    pub host: Option<Option<&'a str>>,
    pub headers: &'a [(&'a str, &'a str)],
    /// (content type, body); also sent with `Content-Length`.
    pub body: Option<(&'a str, &'a str)>,
    /// Bounds the connect, every write and every read.
    pub timeout: Duration,
    /// Stop reading after `Content-Length` bytes of body (for peers that keep
    /// the connection open); otherwise read to EOF, so that any extra bytes
    /// show up in the body.
    pub stop_at_length: bool,
    /// The client's own loopback address (127.0.0.x), to be another client.
    pub from: Option<std::net::Ipv4Addr>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Request<'a> {
        Request {
            method,
            path,
            host: None,
            headers: &[],
            body: None,
            timeout: Duration::from_secs(20),
            stop_at_length: false,
            from: None,
        }
    }

    pub fn get(path: &'a str) -> Request<'a> {
        Request::new("GET", path)
    }

    pub fn headers(self, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request { headers, ..self }
    }

    pub fn host(self, host: Option<&'a str>) -> Request<'a> {
        Request { host: Some(host), ..self }
    }

    pub fn timeout(self, timeout: Duration) -> Request<'a> {
        Request { timeout, ..self }
    }

    pub fn body(self, content_type: &'a str, body: &'a str) -> Request<'a> {
        Request { body: Some((content_type, body)), ..self }
    }

    /// Sends from `ip` (any 127.0.0.x works on Linux loopback).
    pub fn from(self, ip: std::net::Ipv4Addr) -> Request<'a> {
        Request { from: Some(ip), ..self }
    }

    pub fn stop_at_length(self) -> Request<'a> {
        Request { stop_at_length: true, ..self }
    }

    /// The bytes sent to `addr`.
    pub fn bytes(&self, addr: &str) -> Vec<u8> {
        let mut raw = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        if let Some(h) = self.host.unwrap_or(Some(addr)) {
            raw.push_str(&format!("Host: {h}\r\n"));
        }
        raw.push_str("Connection: close\r\n");
        if !self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("user-agent")) {
            raw.push_str(&format!("User-Agent: {BROWSER}\r\n"));
        }
        for (k, v) in self.headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some((ct, body)) = self.body {
            raw.push_str(&format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        } else {
            raw.push_str("\r\n");
        }
        raw.into_bytes()
    }

    /// Sends the request; `Err` on any I/O or parse problem.
    pub fn try_send(&self, addr: &str) -> std::io::Result<Resp> {
        send_raw_with(addr, &self.bytes(addr), self.timeout, self.stop_at_length, self.from)
    }

    /// Sends the request; panics on any I/O or parse problem.
    pub fn send(&self, addr: &str) -> Resp {
        self.try_send(addr).unwrap_or_else(|e| panic!("{} {} via {addr}: {e}", self.method, self.path))
    }
}

/// The User-Agent every request sends unless the test gives one: a desktop
/// browser's, so that a test client is counted like a visitor (curl, an
/// empty User-Agent and other bots are not, on badges).
pub const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

/// One request on a fresh connection (`Host: ADDR`), panicking on failure.
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    Request::new(method, path).headers(headers).send(addr)
}

/// Sends raw bytes and parses one response (read to EOF, 20 s at most).
pub fn send_raw(addr: &str, bytes: &[u8]) -> std::io::Result<Resp> {
    send_raw_with(addr, bytes, Duration::from_secs(20), false, None)
}

fn send_raw_with(
    addr: &str,
    bytes: &[u8],
    timeout: Duration,
    stop_at_length: bool,
    from: Option<std::net::Ipv4Addr>,
) -> std::io::Result<Resp> {
    let sa: SocketAddr = addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut s = match from {
        Some(ip) => connect_from(ip, sa)?,
        None => TcpStream::connect_timeout(&sa, timeout)?,
    };
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(bytes)?;
    let buf = read_response(&mut s, stop_at_length)?;
    parse_response(&buf)
}

/// A TCP connection from a chosen local IPv4 address (std cannot bind a
/// client socket before connecting).
fn connect_from(ip: std::net::Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = to else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "IPv4 only"));
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // sockaddr structs live across the calls; the descriptor is handed to
    // TcpStream (which closes it) or closed here on error.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let local = sockaddr(ip, 0);
        let remote = sockaddr(*to.ip(), to.port());
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(TcpStream::from_raw_fd(fd))
    }
}

/// Reads one response: to EOF, or (`stop_at_length`) up to the end of the
/// headers and then `Content-Length` bytes when there is one.
fn read_response(s: &mut TcpStream, stop_at_length: bool) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if !stop_at_length {
        s.read_to_end(&mut buf)?;
        return Ok(buf);
    }
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let Some(len) = len else {
                s.read_to_end(&mut buf)?;
                return Ok(buf);
            };
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(buf);
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub fn parse_response(buf: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("head not utf-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 =
        status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            headers
                .entry(k)
                .and_modify(|e| {
                    e.push('\n');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
    }
    let mut body = buf[end + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    }
    Ok(Resp { status, headers, body })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..pos])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size else { break };
        if size == 0 || b.len() < pos + 2 + size {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[(pos + 4 + size).min(b.len())..];
    }
    out
}

// ---------------------------------------------------------------------------
// Cookies

/// All `Set-Cookie` header values of a response.
pub fn set_cookies(r: &Resp) -> Vec<String> {
    r.header("set-cookie").map(|v| v.split('\n').map(|s| s.to_string()).collect()).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names lower-cased; flag attributes map to "".
    pub attrs: BTreeMap<String, String>,
}

pub fn parse_set_cookie(v: &str) -> SetCookie {
    let mut parts = v.split(';');
    let nv = parts.next().unwrap_or("");
    let (name, value) = nv.split_once('=').unwrap_or((nv, ""));
    let mut attrs = BTreeMap::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        attrs.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    SetCookie { name: name.trim().to_string(), value: value.trim().to_string(), attrs }
}

/// The one hitcounter cookie set by a response (panics unless exactly one).
pub fn the_cookie(r: &Resp) -> SetCookie {
    let all: Vec<SetCookie> = set_cookies(r).iter().map(|s| parse_set_cookie(s)).collect();
    assert_eq!(all.len(), 1, "expected exactly one Set-Cookie, got {all:?}");
    all.into_iter().next().unwrap()
}

/// The `name=value` part of the first `hc_` cookie a response sets (what a
/// browser sends back).
pub fn hc_cookie(r: &Resp) -> Option<String> {
    set_cookies(r)
        .iter()
        .find(|c| c.trim_start().starts_with("hc_"))
        .map(|c| c.split(';').next().unwrap().trim().to_string())
}

pub fn is_cookie_name(name: &str) -> bool {
    name.len() == 19
        && name.starts_with("hc_")
        && name[3..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------
// Checks

/// Checks the headers every response carries.
pub fn assert_common_headers(r: &Resp, what: &str) {
    assert_eq!(r.header("cache-control"), Some("no-cache, no-store, must-revalidate"), "{what}: Cache-Control; {r:?}");
    assert_eq!(r.header("pragma"), Some("no-cache"), "{what}: Pragma");
    assert_eq!(r.header("expires"), Some("0"), "{what}: Expires");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}: X-Content-Type-Options");
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"), "{what}: ACAC");
    assert!(r.header("access-control-allow-origin").is_some(), "{what}: no Access-Control-Allow-Origin");
    assert!(vary_has_origin(r), "{what}: Vary must include Origin, got {:?}", r.header("vary"));
}

pub fn vary_has_origin(r: &Resp) -> bool {
    r.header("vary").map(|v| v.split([',', '\n']).any(|t| t.trim().eq_ignore_ascii_case("origin"))).unwrap_or(false)
}

/// Comma list of a header as a sorted set of upper-cased tokens.
pub fn token_set(v: &str) -> Vec<String> {
    let mut t: Vec<String> =
        v.split([',', '\n']).map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
    t.sort();
    t.dedup();
    t
}

/// An error's body in the form its endpoint answers (`what` names the
/// path): on `tag.svg` a red error badge, on `tag.json` a shields error
/// object, elsewhere one line of plain text.
pub fn assert_error_body(r: &Resp, what: &str) {
    let ct = r.header("content-type").unwrap_or("");
    if what.contains("tag.svg") {
        assert!(ct.starts_with("image/svg+xml"), "{what}: an error badge, got content-type {ct:?}");
        let text = r.text();
        let svg = super::badge::parse_svg(&text);
        assert_eq!(svg.role.as_deref(), Some("img"), "{what}: {text}");
        assert!(text.contains("#e05d44"), "{what}: a red badge: {text}");
    } else if what.contains("tag.json") {
        assert!(ct.starts_with("application/json"), "{what}: content-type {ct:?}");
        let v: serde_json::Value = serde_json::from_str(&r.text()).expect("error JSON");
        assert_eq!(v["isError"], true, "{what}: {v}");
        assert_eq!(v["schemaVersion"], 1, "{what}: {v}");
    } else {
        assert_one_line_plain(r, what);
    }
}

/// A 400/414 body: non-empty plain text, a single line.
pub fn assert_one_line_plain(r: &Resp, what: &str) {
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain"), "{what}: content-type {ct:?}");
    let body = r.text();
    let t = body.trim_end_matches(['\n', '\r']);
    assert!(!t.trim().is_empty(), "{what}: empty reason");
    assert!(!t.contains('\n'), "{what}: reason is more than one line: {body:?}");
}

/// The `data-origin` attribute of the `/` page (the origin its snippets use).
pub fn page_origin(html: &str) -> Option<String> {
    let rest = html.split("data-origin=\"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}
