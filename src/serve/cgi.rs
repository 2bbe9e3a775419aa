//! CGI mode for shared hosts: answer exactly one request described by the
//! CGI environment, with the same routes and behaviour as the server, and
//! write a CGI response (`Status:` line, headers, body) to stdout.
//!
//! Every hit is committed before the response (no batching: the process
//! ends right after). Many CGI processes may run at once; SQLite's WAL and
//! busy timeout serialise their writes.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use crate::counter::Counter;
use crate::http::response::HTML;
use crate::http::{Method, Req, Resp};
use crate::metrics::Metrics;
use crate::render::escape::markup;
use crate::routes::{self, Ctx};
use crate::settings::ServeConfig;
use crate::store::{self, Role, Store};
use crate::target;

/// The WAL is checkpointed and truncated after a hit that leaves it larger
/// than this. Each CGI process is the database's only connection, so SQLite
/// rebuilds the WAL's index from the whole WAL when it opens, and never
/// restarts a WAL that an earlier process checkpointed: left alone, the WAL
/// (and every hit's reading of it) would only grow. About 30 hits' worth:
/// an fsync every few dozen hits.
pub const CGI_WAL_BYTES: u64 = 400 << 10;

/// Builds the request from CGI meta-variables (RFC 3875).
pub fn request(env: &dyn Fn(&str) -> Option<String>, header_bytes: usize) -> Req {
    let method = match env("REQUEST_METHOD").unwrap_or_else(|| "GET".into()).to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let path = env("PATH_INFO").filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
    let query = env("QUERY_STRING").unwrap_or_default();
    let target_len = env("REQUEST_URI").map_or(path.len() + query.len() + 1, |u| u.len());
    let https = env("HTTPS").is_some_and(|v| v.eq_ignore_ascii_case("on") || v == "1");
    Req {
        method,
        path,
        query,
        target_len,
        header_bytes,
        body_len: env("CONTENT_LENGTH").and_then(|l| l.trim().parse().ok()).unwrap_or(0),
        referer: env("HTTP_REFERER").or_else(|| env("HTTP_REFERRER")),
        cookie: env("HTTP_COOKIE"),
        origin: env("HTTP_ORIGIN"),
        host: env("HTTP_HOST").or_else(|| env("SERVER_NAME")),
        forwarded_proto: Some(if https { "https" } else { "http" }.into()),
        forwarded_host: None,
        access_control_request_headers: env("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        user_agent: env("HTTP_USER_AGENT"),
        authorization: env("HTTP_AUTHORIZATION"),
        peer: env("REMOTE_ADDR").unwrap_or_default(),
        forwarded_for: env("HTTP_X_FORWARDED_FOR"),
        real_ip: env("HTTP_X_REAL_IP"),
        base_path: env("SCRIPT_NAME").unwrap_or_default().trim_end_matches('/').to_string(),
    }
    .keep_echoable()
}

/// Answers the request in the process environment; returns the exit code.
pub fn run(cfg: ServeConfig) -> i32 {
    crate::allocator::one_request();
    store::configure_library(true);
    let env = |k: &str| std::env::var(k).ok();
    let header_bytes: usize =
        std::env::vars().filter(|(k, _)| k.starts_with("HTTP_")).map(|(k, v)| k.len() - 5 + v.len()).sum();
    let req = request(&env, header_bytes);
    let resp = answer(&req, cfg);
    let head_only = req.method == Method::Head;
    let mut out = std::io::stdout().lock();
    match out.write_all(&encode(resp, head_only)).and_then(|_| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn answer(req: &Req, cfg: ServeConfig) -> Resp {
    if req.path == "/" && !req.base_path.is_empty() && !std::env::var("PATH_INFO").is_ok_and(|p| p == "/") {
        // `/cgi-bin/hitcounter.cgi` -> `/cgi-bin/hitcounter.cgi/`, so that the
        // page's relative links (assets, look-up) resolve under the script.
        let query = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
        return Resp::text(301, "moved").header("Location", format!("{}/{query}", req.base_path));
    }
    // The command line refuses anything else in CGI mode.
    let Some(db) = cfg.db.file().map(Path::to_path_buf) else {
        return not_writable(Path::new(""), "CGI mode needs a SQLite database file");
    };
    let mut store = match Store::prepare_converting(&db, Role::Cgi, target::original_key, cfg.adopt) {
        Ok((store, notes)) => {
            for note in notes {
                eprintln!("hitcounter: {note}");
            }
            store
        }
        Err(e) => return not_writable(&db, &e),
    };
    let bound = req.host.clone().unwrap_or_else(|| "localhost".into());
    let mut ctx = Ctx::new(cfg, Arc::new(Counter::new(1, 0, true)), Arc::new(Metrics::new(routes::paths())), bound);
    ctx.cgi = true;
    let resp = catch_unwind(AssertUnwindSafe(|| routes::handle(req, &ctx, &mut store))).unwrap_or_else(|_| {
        eprintln!("hitcounter: handler panicked on {} {}", req.method.as_str(), req.path);
        routes::internal_error(req, &ctx)
    });
    if store::disk::wal_bytes(&db) > CGI_WAL_BYTES {
        // A reader that keeps it waiting past the busy timeout leaves it to
        // a later hit.
        let _ = store.checkpoint_truncate();
    }
    resp
}

/// SQLite needs to write the file and, for its `-wal`/`-shm` files, the
/// directory; `Store::prepare` checks first, and this turns what it found
/// (or SQLite's error) into a clear page.
fn not_writable(db: &Path, why: &str) -> Resp {
    // SAFETY: geteuid() has no preconditions.
    let uid = unsafe { libc::geteuid() };
    eprintln!("hitcounter: database {} unusable: {why}", db.display());
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>hitcounter: database not writable</title>\
         <h1>hitcounter cannot write its database</h1><p>{}</p><p>Database: <code>{}</code>. \
         This program runs as user id {uid}; that user must be able to write the file <em>and</em> its directory \
         (SQLite creates <code>-wal</code> and <code>-shm</code> files next to it). Fix the permissions \
         (for example <code>chmod 775</code> on the directory), or point <code>DATABASE_FILE_PATH</code> at a \
         writable place with <code>SetEnv</code> in <code>.htaccess</code> or in <code>hitcounter.toml</code> next \
         to the program.</p>",
        markup(why),
        markup(&db.display().to_string()),
    );
    Resp::new(500, HTML, body)
}

/// The CGI response bytes.
pub fn encode(resp: Resp, head_only: bool) -> Vec<u8> {
    let reason = hitcounter_http::StatusCode(resp.status).default_reason_phrase();
    let mut out = format!("Status: {} {reason}\r\nContent-Type: {}\r\n", resp.status, resp.content_type);
    out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    for (name, value) in crate::http::response::sendable(&resp.headers) {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn request_from_cgi_variables() {
        let vars: HashMap<&str, &str> = [
            ("REQUEST_METHOD", "HEAD"),
            ("PATH_INFO", "/count/tag.svg"),
            ("QUERY_STRING", "url=a.com"),
            ("HTTP_REFERER", "https://b.com/x"),
            ("HTTPS", "on"),
            ("SCRIPT_NAME", "/cgi-bin/hitcounter.cgi"),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let req = request(&env, 10);
        assert_eq!(req.method, Method::Head);
        assert_eq!((req.path.as_str(), req.query.as_str()), ("/count/tag.svg", "url=a.com"));
        assert_eq!(req.forwarded_proto.as_deref(), Some("https"));
        assert_eq!(req.base_path, "/cgi-bin/hitcounter.cgi");
        let empty = |_: &str| None;
        assert_eq!(request(&empty, 0).path, "/");
    }

    #[test]
    fn encodes_status_headers_and_body() {
        let resp = Resp::text(404, "nope").header("X-A", "1").header("X-B", "1\r\nInjected: yes");
        let text = String::from_utf8(encode(resp, false)).unwrap();
        assert!(text.starts_with("Status: 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"));
        assert!(text.contains("X-A: 1\r\n") && !text.contains("X-B") && !text.contains("Injected"), "{text}");
        assert!(text.ends_with("\r\n\r\nnope"));
        let head = String::from_utf8(encode(Resp::text(200, "12"), true)).unwrap();
        assert!(head.ends_with("Content-Length: 2\r\n\r\n"));
    }
}
