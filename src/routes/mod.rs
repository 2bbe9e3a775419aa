//! The path dispatcher: from a parsed request to a complete response.
//!
//! [`TABLE`] is the one list of paths the server answers; the metrics
//! label requests by it too. Order of checks: size limits, https redirect,
//! route, method. Headers that every response carries (no-cache, CORS,
//! nosniff) are added in `finish`. Handlers live in their own files and
//! never import this one.

use std::borrow::Cow;

use crate::http::response::TEXT;
use crate::http::{Method, Req, Resp};
use crate::limits::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_REQUEST_TARGET};
use crate::store::Store;

mod count;
mod ctx;
mod error_badge;
mod history;
mod home;
mod ops;
mod params;

pub use count::{Endpoint, Format};
pub use ctx::Ctx;

const ALLOW: &str = "GET, HEAD, OPTIONS";

/// What a path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Home,
    Style,
    Script,
    Health,
    Metrics,
    Stats,
    StatsJson,
    Graph,
    Count(Endpoint),
}

const fn count(counting: bool, format: Format) -> Route {
    Route::Count(Endpoint { counting, format })
}

/// Every path the server answers, exactly (no prefixes, no trailing `/`).
pub const TABLE: [(&str, Route); 14] = [
    ("/", Route::Home),
    ("/count", count(true, Format::Text)),
    ("/nocount", count(false, Format::Text)),
    ("/count/tag.svg", count(true, Format::Svg)),
    ("/nocount/tag.svg", count(false, Format::Svg)),
    ("/count/tag.json", count(true, Format::Json)),
    ("/nocount/tag.json", count(false, Format::Json)),
    ("/nocount/stats.json", Route::StatsJson),
    ("/nocount/graph.svg", Route::Graph),
    ("/stats", Route::Stats),
    ("/metrics", Route::Metrics),
    ("/healthz", Route::Health),
    ("/assets/style.css", Route::Style),
    ("/assets/app.js", Route::Script),
];

/// The paths of [`TABLE`], in order: labels for the metrics.
pub fn paths() -> Vec<&'static str> {
    TABLE.iter().map(|(p, _)| *p).collect()
}

/// The index in [`TABLE`] and the route of `path`, if it is one.
pub fn lookup(path: &str) -> Option<(usize, Route)> {
    TABLE.iter().position(|(p, _)| *p == path).map(|i| (i, TABLE[i].1))
}

/// Routes one request; the response is complete (common headers included).
pub fn handle(req: &Req, ctx: &Ctx, store: &mut Store) -> Resp {
    let resp = route(req, ctx, store);
    finish(req, ctx, resp)
}

/// The response for a request whose handler panicked.
pub fn internal_error(req: &Req, ctx: &Ctx) -> Resp {
    finish(req, ctx, Resp::text(500, "internal error"))
}

fn route(req: &Req, ctx: &Ctx, store: &mut Store) -> Resp {
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
    let route = match lookup(&req.path) {
        Some((_, Route::Metrics)) if !ctx.cfg.metrics => None,
        found => found.map(|(_, r)| r),
    };
    let Some(route) = route else {
        return Resp::text(404, "not found");
    };
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
    let private = matches!(route, Route::Stats | Route::StatsJson | Route::Graph);
    if private && !ctx.may_see_private(req) {
        return Resp::text(401, "these statistics are private: send Authorization: Bearer TOKEN or ?token=TOKEN")
            .header("WWW-Authenticate", "Bearer");
    }
    match route {
        Route::Home => home::page(req, ctx, store),
        Route::Style => ops::style(),
        Route::Script => ops::script(),
        Route::Health => ops::health(ctx),
        Route::Metrics => ops::metrics(ctx, store),
        Route::Stats => history::page(req, ctx, store),
        Route::StatsJson => history::json(req, ctx, store),
        Route::Graph => history::graph(req, ctx, store),
        Route::Count(endpoint) => count::serve(req, ctx, store, endpoint),
    }
}

/// Adds the headers every response carries; an error on a badge
/// endpoint becomes an error badge (or shields error JSON).
fn finish(req: &Req, ctx: &Ctx, resp: Resp) -> Resp {
    // Only errors need the route again (a success is never reshaped).
    let badge = |resp: Resp| match (lookup(&req.path), &req.method) {
        (Some((_, Route::Count(ep))), Method::Get | Method::Head) => error_badge::shape(&req.query, ep.format, resp),
        _ => resp,
    };
    let mut resp = if resp.status >= 400 { badge(resp) } else { resp };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_exactly() {
        assert_eq!(lookup("/count").map(|r| r.1), Some(count(true, Format::Text)));
        assert_eq!(lookup("/nocount/tag.json").map(|r| r.1), Some(count(false, Format::Json)));
        for bad in ["/count/", "/counter", "/nocount/tag.svg/", "/count/tag.png", "", "/stats/"] {
            assert_eq!(lookup(bad), None, "{bad}");
        }
        let mut seen = paths();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), TABLE.len());
    }
}
