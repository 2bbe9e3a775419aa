//! The path dispatcher: from a parsed request to a complete response.
//!
//! Order of checks: size limits, https redirect, method, route. Headers that
//! every response carries (no-cache, CORS, nosniff) are added in `finish`.

use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::badge::{self, Badge};
use crate::cli::ServeConfig;
use crate::cookie::{self, Decision};
use crate::counter::Counter;
use crate::limits::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_REQUEST_TARGET};
use crate::request::{param, Method, Req};
use crate::target::{self, TargetError};
use crate::{clock, page, store};

const ALLOW: &str = "GET, HEAD, OPTIONS";
/// The top-sites table is a full scan; recompute it at most this often.
const TOP_CACHE: Duration = Duration::from_secs(2);

pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Resp {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    fn text(status: u16, body: impl Into<String>) -> Resp {
        Resp::new(status, TEXT, body.into())
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Resp {
        self.headers.push((name, value.into()));
        self
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The top-sites table and when it was computed.
type TopSites = (Instant, Vec<(String, u64)>);

/// Shared state of the routes.
pub struct Ctx {
    pub cfg: ServeConfig,
    pub counter: Arc<Counter>,
    /// The actual bound address, the last-resort origin for snippets.
    pub bound: String,
    top: Mutex<Option<TopSites>>,
}

impl Ctx {
    pub fn new(cfg: ServeConfig, counter: Arc<Counter>, bound: String) -> Ctx {
        Ctx {
            cfg,
            counter,
            bound,
            top: Mutex::new(None),
        }
    }
}

/// Routes one request; the response is complete (common headers included).
pub fn handle(req: &Req, ctx: &Ctx, conn: &mut Connection) -> Resp {
    let resp = route(req, ctx, conn);
    finish(req, ctx, resp)
}

/// The response for a request whose handler panicked.
pub fn internal_error(req: &Req, ctx: &Ctx) -> Resp {
    finish(req, ctx, Resp::text(500, "internal error"))
}

fn route(req: &Req, ctx: &Ctx, conn: &mut Connection) -> Resp {
    if req.target_len > MAX_REQUEST_TARGET {
        return Resp::text(
            414,
            format!("request target longer than {MAX_REQUEST_TARGET} bytes"),
        );
    }
    if req.header_bytes > MAX_HEADER_BYTES {
        return Resp::text(
            431,
            format!("request headers larger than {MAX_HEADER_BYTES} bytes"),
        );
    }
    if req.body_len > MAX_BODY_BYTES {
        return Resp::text(
            413,
            format!("request body larger than {MAX_BODY_BYTES} bytes"),
        );
    }
    if ctx.cfg.enable_ssl
        && req
            .forwarded_proto
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("http"))
    {
        let host = page::origin(
            ctx.cfg.public_url.as_deref(),
            true,
            req.host.as_deref(),
            &ctx.bound,
        );
        let host = host
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let query = if req.query.is_empty() {
            String::new()
        } else {
            format!("?{}", req.query)
        };
        return Resp::text(301, "moved to https")
            .header("Location", format!("https://{host}{}{query}", req.path));
    }
    let known = matches!(
        req.path.as_str(),
        "/" | "/count"
            | "/nocount"
            | "/count/tag.svg"
            | "/nocount/tag.svg"
            | "/assets/style.css"
            | "/assets/app.js"
    );
    if !known {
        return Resp::text(404, "not found");
    }
    match req.method {
        Method::Get | Method::Head => {}
        Method::Options => {
            let mut r = Resp::new(204, TEXT, Vec::new())
                .header("Allow", ALLOW)
                .header("Access-Control-Allow-Methods", ALLOW)
                .header("Access-Control-Max-Age", "86400");
            if let Some(h) = &req.access_control_request_headers {
                r = r.header("Access-Control-Allow-Headers", h.clone());
            }
            return r;
        }
        Method::Other(_) => return Resp::text(405, "method not allowed").header("Allow", ALLOW),
    }
    match req.path.as_str() {
        "/" => home(req, ctx, conn),
        "/assets/style.css" => Resp::new(200, "text/css; charset=utf-8", page::STYLE),
        "/assets/app.js" => Resp::new(200, "text/javascript; charset=utf-8", page::SCRIPT),
        "/count" => count(req, ctx, conn, true, false),
        "/nocount" => count(req, ctx, conn, false, false),
        "/count/tag.svg" => count(req, ctx, conn, true, true),
        _ => count(req, ctx, conn, false, true),
    }
}

fn count(req: &Req, ctx: &Ctx, conn: &mut Connection, counting: bool, svg: bool) -> Resp {
    let key = match target::pick(param(&req.query, "url"), req.referer.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            let status = if e == TargetError::TooLong { 414 } else { 400 };
            return Resp::text(status, e.message());
        }
    };
    let mut set_cookie = None;
    let total = if counting {
        let now = clock::now_secs();
        let name = cookie::name_for(&key);
        let sent = req.cookie.as_deref().and_then(|c| cookie::find(c, &name));
        match cookie::decide(sent, now, ctx.cfg.cookie_window) {
            Decision::Skip => ctx.counter.peek(&key, conn),
            Decision::Count { set_cookie_until } => {
                set_cookie = set_cookie_until.map(|until| cookie::set_cookie(&name, until, now));
                ctx.counter
                    .hit(&key, clock::today(), conn)
                    .map(|h| h.total())
            }
        }
    } else {
        ctx.counter.peek(&key, conn)
    };
    let total = match total {
        Ok(t) => t,
        Err(e) => {
            crate::logging::info(&format!("database error: {e}"));
            return Resp::text(503, "database unavailable, try again").header("Retry-After", "1");
        }
    };
    let message = total.to_string();
    let mut resp = if svg {
        Resp::new(
            200,
            SVG,
            badge::render(&Badge {
                message: &message,
                ..Badge::default()
            }),
        )
    } else {
        Resp::text(200, message)
    };
    if let Some(c) = set_cookie {
        resp = resp.header("Set-Cookie", c);
    }
    resp
}

fn home(req: &Req, ctx: &Ctx, conn: &Connection) -> Resp {
    let https = ctx.cfg.enable_ssl
        || req
            .forwarded_proto
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let origin = page::origin(
        ctx.cfg.public_url.as_deref(),
        https,
        req.host.as_deref(),
        &ctx.bound,
    );
    let top = top_sites(ctx, conn);
    Resp::new(
        200,
        "text/html; charset=utf-8",
        page::render(&origin, &top, ctx.cfg.top_domains),
    )
}

fn top_sites(ctx: &Ctx, conn: &Connection) -> Vec<(String, u64)> {
    let n = ctx.cfg.top_domains;
    if n == 0 {
        return Vec::new();
    }
    let mut cached = ctx.top.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, rows)) = cached.as_ref() {
        if at.elapsed() < TOP_CACHE {
            return rows.clone();
        }
    }
    // Fetch extra rows so that local hosts filtered out leave enough.
    let rows: Vec<(String, u64)> = store::top_domains(conn, n + 64)
        .unwrap_or_default()
        .into_iter()
        .filter(|(d, _)| !target::is_local_host(d))
        .take(n)
        .collect();
    *cached = Some((Instant::now(), rows.clone()));
    rows
}

/// Adds the headers every response carries.
fn finish(req: &Req, ctx: &Ctx, mut resp: Resp) -> Resp {
    let origin = req.origin.clone().unwrap_or_else(|| "*".into());
    let mut common = vec![
        (
            "Cache-Control",
            "no-cache, no-store, must-revalidate".to_string(),
        ),
        ("Pragma", "no-cache".into()),
        ("Expires", "0".into()),
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true".into()),
        ("Vary", "Origin".into()),
        ("X-Content-Type-Options", "nosniff".into()),
    ];
    if ctx.cfg.enable_ssl {
        common.push(("Strict-Transport-Security", "max-age=31536000".into()));
    }
    common.append(&mut resp.headers);
    resp.headers = common;
    resp
}
