//! The counter endpoints: `/count`, `/nocount` and their `tag.svg` and
//! `tag.json` forms. Picks the key (`target`), asks the anti-refresh cookie
//! (`cookie`), counts or peeks (`counter`), and renders the number as text,
//! badge or shields endpoint JSON.

use std::sync::atomic::Ordering::Relaxed;

use chrono::NaiveDate;

use super::{params, Ctx};
use crate::clock;
use crate::counter::{Counts, Hit};
use crate::decide::{self, limit, limit::NewCounter};
use crate::http::response::{JSON, SVG};
use crate::http::{param, Req, Resp};
use crate::metrics::PENDING_CAP;
use crate::render::badge;
use crate::render::shields;
use crate::store::{self, Store};
use crate::target::{self, TargetError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Svg,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub counting: bool,
    pub format: Format,
}

/// The counter key a request is about, or the error response.
pub fn key(req: &Req) -> Result<String, Resp> {
    target::pick(param(&req.query, "url"), req.referer.as_deref()).map_err(|e| {
        let status = if e == TargetError::TooLong { 414 } else { 400 };
        Resp::text(status, e.message()).reason(e.short())
    })
}

/// The response for a database error on the request path.
pub fn unavailable(e: store::Error) -> Resp {
    crate::logging::info(&format!("database error: {e}"));
    Resp::text(503, "database unavailable, try again").header("Retry-After", "1").reason("unavailable")
}

pub fn serve(req: &Req, ctx: &Ctx, store: &mut Store, endpoint: Endpoint) -> Resp {
    let key = match key(req) {
        Ok(k) => k,
        Err(resp) => return resp,
    };
    if !ctx.cfg.sites.permits(&key) {
        return Resp::text(403, "this hitcounter does not count that site").reason("denied");
    }
    // Validate display parameters before counting: a bad request never counts.
    let display = match endpoint.format {
        Format::Text => None,
        _ => match params::badge(&req.query, &ctx.cfg.logos) {
            Ok(p) => Some(p),
            Err(e) => return Resp::text(400, e.message).reason(e.reason),
        },
    };
    let today = clock::today(ctx.cfg.timezone);
    let (counts, set_cookie) = match endpoint.counting {
        true => count(req, ctx, store, &key, endpoint, today),
        false => (ctx.counter.peek(&key, today, store), None),
    };
    let resp = match counts {
        Ok(counts) => render(endpoint.format, display, counts),
        Err(e) => return unavailable(e),
    };
    match set_cookie {
        Some(c) => resp.header("Set-Cookie", c),
        None => resp,
    }
}

/// Asks the visitor policy and the client's rate limit, and counts the hit
/// or peeks; the counts and the anti-refresh cookie to set.
fn count(
    req: &Req,
    ctx: &Ctx,
    store: &mut Store,
    key: &str,
    endpoint: Endpoint,
    today: NaiveDate,
) -> (store::Result<Counts>, Option<String>) {
    let visit = decide::Request {
        key,
        cookie: req.cookie.as_deref(),
        client: ctx.client(req),
        user_agent: req.user_agent.as_deref(),
        https: ctx.is_https(req),
        badge: endpoint.format != Format::Text,
        now: clock::now_secs(),
        day: today,
    };
    let verdict = ctx.decider.decide(&visit);
    let counts = match verdict.count {
        Err(reason) => {
            ctx.metrics.not_counted(reason.label());
            ctx.counter.peek(key, today, store)
        }
        Ok(_) if !ctx.clients.may_count(visit.client, visit.now) => {
            ctx.metrics.not_counted("rate_limit");
            ctx.proxy_hint(visit.client);
            ctx.counter.peek(key, today, store)
        }
        Ok(unique) => add_hit(ctx, store, &visit, unique),
    };
    (counts, verdict.set_cookie)
}

/// Counts a hit the policy and rate limit let through, unless it would make
/// a new counter the limits refuse (`decide::limit`); the counts and metrics.
fn add_hit(ctx: &Ctx, store: &mut Store, visit: &decide::Request, unique: bool) -> store::Result<Counts> {
    let mut refused = NewCounter::Allowed;
    let mut may_create = || {
        let max = ctx.cfg.clients.max_counters;
        refused =
            limit::new_counter(max, ctx.counters.load(Relaxed), || ctx.clients.may_create(visit.client, visit.now));
        match refused {
            NewCounter::MaxCounters => {
                if !ctx.counters_full.swap(true, Relaxed) {
                    crate::logging::info(&format!(
                        "warning: {max} counters (--max-counters): hits on new URLs are served but not stored"
                    ));
                }
            }
            NewCounter::NewCounters => ctx.proxy_hint(visit.client),
            NewCounter::Allowed => {}
        }
        refused == NewCounter::Allowed
    };
    let hit = ctx.counter.hit_unless(visit.key, visit.day, unique, store, &mut may_create)?;
    match hit {
        Hit::Counted(c) => {
            ctx.metrics.hits_counted.fetch_add(1, Relaxed);
            if c.total == 1 {
                ctx.counters.fetch_add(1, Relaxed);
            }
        }
        Hit::Overflow(_) => ctx.metrics.not_counted_n(PENDING_CAP, 1),
        Hit::Refused(_) => ctx.metrics.not_counted(refused.label()),
    }
    Ok(hit.counts())
}

/// The counts as plain text, a badge, or shields endpoint JSON.
fn render(format: Format, display: Option<params::BadgeParams>, counts: Counts) -> Resp {
    match (format, display) {
        (Format::Svg, Some(p)) => {
            let message = p.message(counts);
            Resp::new(200, SVG, badge::render(&p.badge(&message)))
        }
        (Format::Json, Some(p)) => {
            Resp::new(200, JSON, shields::endpoint(&p.label, &p.message(counts), &p.color, &p.label_color))
        }
        _ => Resp::text(200, counts.total.to_string()),
    }
}
