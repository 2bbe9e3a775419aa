//! `/`: the badge generator, the look-up form and the top-sites table.

use std::time::{Duration, Instant};

use super::Ctx;
use crate::http::response::HTML;
use crate::http::{Req, Resp};
use crate::render::page;
use crate::store::Store;
use crate::target;

/// The top-sites table is a full scan; recompute it at most this often.
const TOP_CACHE: Duration = Duration::from_secs(2);

pub fn page(req: &Req, ctx: &Ctx, store: &Store) -> Resp {
    // Private: the table is left out, as if `--top-domains 0`.
    let shown = if ctx.may_see_private(req) { ctx.cfg.top_domains } else { 0 };
    let top = if shown > 0 { top_sites(ctx, store) } else { Vec::new() };
    Resp::new(200, HTML, page::render(&ctx.origin(req), &top, shown))
}

fn top_sites(ctx: &Ctx, store: &Store) -> Vec<(String, u64)> {
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
    let rows: Vec<(String, u64)> = store
        .top_domains(n + 64)
        .unwrap_or_default()
        .into_iter()
        .filter(|(d, _)| !target::is_local_host(d) && ctx.cfg.top_ignore.permits(d))
        .take(n)
        .collect();
    *cached = Some((Instant::now(), rows.clone()));
    rows
}
