//! History views of one counter: `/nocount/stats.json`, the embeddable
//! `/nocount/graph.svg` chart and the `/stats` page. None of them counts.

use chrono::NaiveDate;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;

use super::count::{key, unavailable};
use super::{params, Ctx};
use crate::clock;
use crate::counter::Counts;
use crate::http::response::{HTML, JSON, SVG};
use crate::http::{Req, Resp};
use crate::render::chart::{self, Bar};
use crate::render::escape::markup;
use crate::render::number::{noun, thousands};
use crate::render::template;
use crate::store::Store;

const TEMPLATE: &str = include_str!("../../assets/stats.html");

/// What `encodeURIComponent` leaves alone stays readable in links.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A counter's counts and its last `n` days, oldest first.
struct History {
    key: String,
    counts: Counts,
    days: Vec<Bar>,
}

fn history(req: &Req, ctx: &Ctx, store: &Store) -> Result<History, Resp> {
    let key = key(req)?;
    let n = params::days(&req.query).map_err(|e| Resp::text(400, e.message).reason(e.reason))?;
    let today = clock::today(ctx.cfg.timezone);
    let counts = ctx.counter.peek(&key, today, store).map_err(unavailable)?;
    let days = clock::days_ending(today, n);
    let mut stored: HashMap<NaiveDate, (u64, Option<u64>)> =
        store.history(&key, &days).map_err(unavailable)?.into_iter().map(|(d, h, v)| (d, (h, v))).collect();
    for p in ctx.counter.pending_days(&key) {
        let e = stored.entry(p.day).or_insert((0, Some(0)));
        e.0 += p.hits;
        e.1 = Some(e.1.unwrap_or(0) + p.uniques);
    }
    let days = days
        .into_iter()
        .map(|day| {
            // A day without hits had no visitors either.
            let (hits, visitors) = stored.get(&day).copied().unwrap_or((0, Some(0)));
            // Today's hits come from the exact in-memory count.
            let hits = if day == today { counts.today } else { hits };
            Bar { day, hits, visitors }
        })
        .collect();
    Ok(History { key, counts, days })
}

pub fn json(req: &Req, ctx: &Ctx, store: &Store) -> Resp {
    let h = match history(req, ctx, store) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    // Written by hand to keep the documented key order.
    let days: Vec<String> = h
        .days
        .iter()
        .map(|b| {
            let visitors = b.visitors.map_or("null".to_string(), |v| v.to_string());
            format!(r#"{{"date":"{}","hits":{},"visitors":{visitors}}}"#, b.day.format("%Y-%m-%d"), b.hits)
        })
        .collect();
    let body = format!(
        r#"{{"url":{},"total":{},"today":{},"visitors":{},"days":[{}]}}"#,
        serde_json::Value::from(h.key.as_str()),
        h.counts.total,
        h.counts.today,
        h.counts.visitors,
        days.join(",")
    );
    Resp::new(200, JSON, body)
}

pub fn graph(req: &Req, ctx: &Ctx, store: &Store) -> Resp {
    match history(req, ctx, store) {
        Ok(h) => Resp::new(200, SVG, chart::render(&h.key, &h.days)),
        Err(resp) => resp,
    }
}

pub fn page(req: &Req, ctx: &Ctx, store: &Store) -> Resp {
    let h = match history(req, ctx, store) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let html = template::fill(
        TEMPLATE,
        &[
            ("KEY", &markup(&h.key)),
            ("TOTAL", &thousands(h.counts.total)),
            ("TODAY", &thousands(h.counts.today)),
            ("VISITORS", &thousands(h.counts.visitors)),
            ("DAYS", &h.days.len().to_string()),
            ("DAYS_WORD", noun(h.days.len() as u64, "day", "days")),
            ("URL_PARAM", &utf8_percent_encode(&h.key, COMPONENT).to_string()),
            ("ORIGIN", &markup(&ctx.origin(req))),
            ("CHART", &chart::render(&h.key, &h.days)),
        ],
    );
    Resp::new(200, HTML, html)
}
