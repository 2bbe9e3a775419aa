//! The path dispatcher: from a parsed request to a complete response.
//!
//! Order of checks: size limits, https redirect, route, method. Headers that
//! every response carries (no-cache, CORS, nosniff) are added in `finish`.

use rusqlite::Connection;
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::ServeConfig;
use crate::counter::Counter;
use crate::limits::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_REQUEST_TARGET};
use crate::metrics::Metrics;
use crate::request::{Method, Req};
use crate::{counts, page, stats, store, target};

const ALLOW: &str = "GET, HEAD, OPTIONS";
/// The top-sites table is a full scan; recompute it at most this often.
const TOP_CACHE: Duration = Duration::from_secs(2);

pub const TEXT: &str = "text/plain; charset=utf-8";
pub const SVG: &str = "image/svg+xml";
pub const JSON: &str = "application/json";
pub const HTML: &str = "text/html; charset=utf-8";

pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Most values are constants; `Cow` spares an allocation for each.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
}

impl Resp {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Resp {
        Resp { status, content_type, body: body.into(), headers: Vec::new() }
    }

    /// A plain-text response, e.g. a one-line error.
    pub fn text(status: u16, body: impl Into<String>) -> Resp {
        Resp::new(status, TEXT, body.into())
    }

    pub fn header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Resp {
        self.headers.push((name, value.into()));
        self
    }
}

/// The top-sites table and when it was computed.
type TopSites = (Instant, Vec<(String, u64)>);

/// Shared state of the routes.
pub struct Ctx {
    pub cfg: ServeConfig,
    pub counter: Arc<Counter>,
    pub metrics: Arc<Metrics>,
    /// The actual bound address, the last-resort origin for snippets.
    pub bound: String,
    /// Answering one CGI request (the web server vouches for `HTTPS`).
    pub cgi: bool,
    top: Mutex<Option<TopSites>>,
}

impl Ctx {
    pub fn new(cfg: ServeConfig, counter: Arc<Counter>, metrics: Arc<Metrics>, bound: String) -> Ctx {
        Ctx { cfg, counter, metrics, bound, cgi: false, top: Mutex::new(None) }
    }

    /// The scheme the client used as the proxy reports it. `X-Forwarded-Proto`
    /// is believed with `--trust-proxy`, and with `ENABLE_SSL`, whose whole
    /// meaning is "behind a TLS proxy" (a forged value can at worst cause a
    /// redirect to https). CGI requests carry it from the web server.
    fn forwarded_proto<'a>(&self, req: &'a Req) -> Option<&'a str> {
        let believed = self.cfg.trust_proxy || self.cfg.enable_ssl || self.cgi;
        req.forwarded_proto.as_deref().filter(|_| believed)
    }

    /// The origin generated links should use.
    pub fn origin(&self, req: &Req) -> String {
        let https = self.cfg.enable_ssl
            || self.cfg.tls.is_some()
            || self.forwarded_proto(req).is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let forwarded_host = req.forwarded_host.as_deref().filter(|_| self.cfg.trust_proxy);
        let host = forwarded_host.or(req.host.as_deref());
        let origin = page::origin(self.cfg.public_url.as_deref(), https, host, &self.bound);
        if self.cfg.public_url.is_some() {
            origin
        } else {
            format!("{origin}{}", req.base_path)
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
        return Resp::text(414, format!("request target longer than {MAX_REQUEST_TARGET} bytes"));
    }
    if req.header_bytes > MAX_HEADER_BYTES {
        return Resp::text(431, format!("request headers larger than {MAX_HEADER_BYTES} bytes"));
    }
    if req.body_len > MAX_BODY_BYTES {
        return Resp::text(413, format!("request body larger than {MAX_BODY_BYTES} bytes"));
    }
    if ctx.cfg.enable_ssl && ctx.forwarded_proto(req).is_some_and(|p| p.eq_ignore_ascii_case("http")) {
        let origin = ctx.origin(req);
        let host = origin.trim_start_matches("https://").trim_start_matches("http://");
        let query = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
        return Resp::text(301, "moved to https").header("Location", format!("https://{host}{}{query}", req.path));
    }
    let path = req.path.as_str();
    let endpoint = counts::Endpoint::parse(path);
    let known = match path {
        "/metrics" => ctx.cfg.metrics,
        "/" | "/healthz" | "/stats" | "/assets/style.css" | "/assets/app.js" => true,
        "/nocount/stats.json" | "/nocount/graph.svg" => true,
        _ => endpoint.is_some(),
    };
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
    match path {
        "/" => home(req, ctx, conn),
        "/assets/style.css" => Resp::new(200, "text/css; charset=utf-8", page::STYLE),
        "/assets/app.js" => Resp::new(200, "text/javascript; charset=utf-8", page::SCRIPT),
        "/healthz" => match ctx.metrics.health(ctx.cfg.flush_period()) {
            Ok(()) => Resp::text(200, "ok"),
            Err(reason) => Resp::text(503, reason),
        },
        "/metrics" => {
            let counters = store::counter_rows(conn).ok();
            let (pending, in_memory) = (ctx.counter.pending_hits(), ctx.counter.table_counters() as u64);
            let text = ctx.metrics.render(&ctx.cfg.metrics_prefix, pending, counters, in_memory);
            Resp::new(200, "text/plain; version=0.0.4; charset=utf-8", text)
        }
        "/stats" => stats::page(req, ctx, conn),
        "/nocount/stats.json" => stats::json(req, ctx, conn),
        "/nocount/graph.svg" => stats::graph(req, ctx, conn),
        _ => match endpoint {
            Some(endpoint) => counts::serve(req, ctx, conn, endpoint),
            None => Resp::text(404, "not found"),
        },
    }
}

fn home(req: &Req, ctx: &Ctx, conn: &Connection) -> Resp {
    let top = top_sites(ctx, conn);
    Resp::new(200, HTML, page::render(&ctx.origin(req), &top, ctx.cfg.top_domains))
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
    let origin: Cow<'static, str> = req.origin.clone().map_or(Cow::Borrowed("*"), Cow::Owned);
    let mut common: Vec<(&'static str, Cow<'static, str>)> = Vec::with_capacity(12);
    common.extend([
        ("Cache-Control", "no-cache, no-store, must-revalidate".into()),
        ("Pragma", "no-cache".into()),
        ("Expires", "0".into()),
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true".into()),
        ("Vary", "Origin".into()),
        ("X-Content-Type-Options", "nosniff".into()),
    ]);
    if ctx.cfg.enable_ssl {
        common.push(("Strict-Transport-Security", "max-age=31536000".into()));
    }
    common.append(&mut resp.headers);
    resp.headers = common;
    resp
}
