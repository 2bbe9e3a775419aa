//! Benchmark baselines: a bare tiny_http server with no counting. One
//! source, two builds: `examples/bare` (cargo build --example bare) uses our
//! patched tiny_http (vendor/tiny_http); `bare-stock` (the project in
//! bench/bare, whose binary is this file) uses tiny_http 0.12.0 from
//! crates.io, so a baseline is not sped up (or slowed down) by our patches.
//!
//! Two responses, chosen by a flag:
//! * `--same-bytes` (the default): exactly hitcounter's counted badge for the
//!   count 123 under `bench/run.sh`'s default `--dedup off` (no Set-Cookie):
//!   the same SVG and headers; tiny_http adds Server, Date and
//!   Content-Length. The ratio shows what counting costs on top of the HTTP
//!   server.
//! * `--minimal`: a 593-byte SVG with only `Content-Type: image/svg+xml`: the
//!   least a badge server can send.
//!
//! The listening socket gets TCP_NODELAY, which Linux passes on to every
//! accepted connection. Without it, a response longer than stock tiny_http's
//! 1024-byte write buffer leaves in two writes, and Nagle's algorithm holds
//! the second until the client's delayed ACK (~40 ms): about 25 responses a
//! second per connection. `--no-nodelay` shows that case.
//!
//! Built on our tiny_http, it answers on each connection's own thread (the
//! handler patch) under hitcounter's default limits, as hitcounter does, so
//! that the ratio against it is only the cost of counting; `--recv` makes `--workers N` threads call
//! `recv()` instead, tiny_http's usual way and the only one stock tiny_http
//! has (its build always does that). The address is printed on stderr as
//! `listening on http://ADDR`.
//!
//! Build: `cargo build --release --example bare`, or
//!        `cargo build --release --manifest-path bench/bare/Cargo.toml --target-dir target/bench-bare`
//! Run:   `target/release/examples/bare --same-bytes --listen 127.0.0.1:8081 --workers 4`

use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread;

/// hitcounter's badge for the count 123, byte for byte.
const BODY: &[u8] = br##"<svg xmlns="http://www.w3.org/2000/svg" width="62" height="20" role="img" aria-label="hits: 123"><title>hits: 123</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-color="#000" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="62" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="31" height="20" fill="#555"/><rect x="31" width="31" height="20" fill="#4c1"/><rect width="62" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text aria-hidden="true" x="165" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="210">hits</text><text x="165" y="140" transform="scale(.1)" fill="#fff" textLength="210">hits</text><text aria-hidden="true" x="455" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="210">123</text><text x="455" y="140" transform="scale(.1)" fill="#fff" textLength="210">123</text></g></svg>"##;

/// The headers hitcounter sends on a counted badge without a cookie
/// (tiny_http adds Server, Date and Content-Length to both).
const HEADERS: &[(&str, &str)] = &[
    ("Content-Type", "image/svg+xml"),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Credentials", "true"),
    ("Vary", "Origin"),
    ("X-Content-Type-Options", "nosniff"),
];
/// A small badge: two boxes, two labels, one shadow (593 bytes).
const MINIMAL_BODY: &[u8] = br##"<svg xmlns="http://www.w3.org/2000/svg" width="62" height="20" role="img" aria-label="hits: 123"><title>hits: 123</title><rect width="31" height="20" fill="#555"/><rect x="31" width="31" height="20" fill="#4c1"/><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110"><text aria-hidden="true" x="165" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="210">hits</text><text x="165" y="140" transform="scale(.1)" textLength="210">hits</text><text x="455" y="140" transform="scale(.1)" textLength="210">123</text></g></svg>"##;

/// The minimal variant's only header.
const MINIMAL_HEADERS: &[(&str, &str)] = &[("Content-Type", "image/svg+xml")];

const _: () = assert!(BODY.len() == 1090 && MINIMAL_BODY.len() == 593);

fn usage(msg: &str) -> ! {
    eprintln!(
        "bare: {msg}\n\
         usage: bare [--same-bytes | --minimal] [--listen ADDR] [--workers N] [--recv] [--no-nodelay]"
    );
    std::process::exit(2);
}

fn main() {
    let mut listen = String::from("127.0.0.1:8081");
    let mut workers: usize = 4;
    let mut nodelay = true;
    let mut minimal = false;
    let mut recv = cfg!(stock_tiny_http);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match arg.as_str() {
            "--listen" => listen = value("--listen"),
            "--workers" => {
                workers = value("--workers").parse().ok().filter(|n| *n > 0).unwrap_or_else(|| usage("bad --workers"))
            }
            "--same-bytes" => minimal = false,
            "--minimal" => minimal = true,
            "--no-nodelay" => nodelay = false,
            "--recv" => recv = true,
            "-h" | "--help" => usage("a fixed-badge server on tiny_http (benchmark baseline)"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let (body, header_list) = if minimal { (MINIMAL_BODY, MINIMAL_HEADERS) } else { (BODY, HEADERS) };
    let listener = TcpListener::bind(&listen).unwrap_or_else(|e| {
        eprintln!("bare: cannot listen on {listen}: {e}");
        std::process::exit(1);
    });
    if nodelay {
        set_nodelay(&listener);
    }
    let headers: Vec<tiny_http::Header> =
        header_list.iter().map(|(k, v)| tiny_http::Header::from_bytes(*k, *v).expect("valid header")).collect();
    let respond = move |rq: tiny_http::Request| {
        let resp = tiny_http::Response::new(tiny_http::StatusCode(200), headers.clone(), body, Some(body.len()), None);
        let _ = rq.respond(resp);
    };
    let server = match serve(listener, recv, respond.clone()) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("bare: cannot serve on {listen}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("listening on http://{}", server.server_addr());
    let handles: Vec<_> = (0..if recv { workers } else { 1 })
        .map(|_| {
            let (server, respond) = (server.clone(), respond.clone());
            // Without --recv, `recv()` only ever reports the end.
            thread::spawn(move || {
                while let Ok(rq) = server.recv() {
                    respond(rq);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

#[cfg(not(stock_tiny_http))]
fn serve(
    listener: TcpListener,
    recv: bool,
    respond: impl Fn(tiny_http::Request) + Send + Sync + 'static,
) -> Result<tiny_http::Server, Error> {
    // hitcounter's default limits (src/limits.rs), whose checks cost a little.
    let secs = |s| Some(std::time::Duration::from_secs(s));
    let limits = tiny_http::Limits {
        timeouts: tiny_http::Timeouts { head: secs(10), idle: secs(60), write: secs(10) },
        max_request_line: Some(16 * 1024),
        max_head: Some(48 * 1024),
        max_connections: Some(10_000),
        refused_lingering: 64,
        discard_body: Some(16 * 1024),
    };
    if recv {
        return tiny_http::Server::from_listener_with_limits(listener, None, limits);
    }
    tiny_http::Server::from_listener_with_handler(listener, None, limits, Arc::new(respond))
}

#[cfg(stock_tiny_http)]
fn serve(
    listener: TcpListener,
    _recv: bool,
    _respond: impl Fn(tiny_http::Request) + Send + Sync + 'static,
) -> Result<tiny_http::Server, Error> {
    tiny_http::Server::from_listener(listener, None)
}

/// Sets TCP_NODELAY on the listener; accepted sockets inherit it on Linux.
fn set_nodelay(listener: &TcpListener) {
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to a c_int of the
    // size we pass.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        eprintln!("bare: warning: cannot set TCP_NODELAY: {}", std::io::Error::last_os_error());
    }
}
