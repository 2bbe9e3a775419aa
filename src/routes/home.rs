//! `/`: the badge generator, the look-up form and the top tables (sites
//! and pages).

use std::time::{Duration, Instant};

use super::Ctx;
use crate::http::response::HTML;
use crate::http::{Req, Resp};
use crate::render::page;
use crate::store::Store;
use crate::target;

/// Names and views, biggest first.
type Rows = Vec<(String, u64)>;

/// The top tables are full scans; recompute them at most this often.
const TOP_CACHE: Duration = Duration::from_secs(2);

pub fn page(req: &Req, ctx: &Ctx, store: &Store) -> Resp {
    // Private: the tables are left out, as if both were set to 0.
    let visible = ctx.may_see_private(req);
    let (sites_n, pages_n) = if visible { (ctx.cfg.top_domains, ctx.cfg.top_urls) } else { (0, 0) };
    let (sites, pages) = if sites_n + pages_n > 0 { top_tables(ctx, store) } else { (Vec::new(), Vec::new()) };
    let top = page::Top { sites: &sites, sites_n, pages: &pages, pages_n };
    Resp::new(200, HTML, page::render(&ctx.origin(req), &top))
}

/// The top sites and top pages, local and `--top-ignore`d sites left out;
/// cached for `TOP_CACHE` (both are full scans).
fn top_tables(ctx: &Ctx, store: &Store) -> (Rows, Rows) {
    let mut cached = ctx.top.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, sites, pages)) = cached.as_ref() {
        if at.elapsed() < TOP_CACHE {
            return (sites.clone(), pages.clone());
        }
    }
    let shown = |site: &str| !target::is_local_host(site) && ctx.cfg.top_ignore.permits(site);
    // Fetch extra rows so that hidden sites leave enough.
    let (n, m) = (ctx.cfg.top_domains, ctx.cfg.top_urls);
    let sites: Vec<(String, u64)> = if n == 0 {
        Vec::new()
    } else {
        store.top_domains(n + 64).unwrap_or_default().into_iter().filter(|(d, _)| shown(d)).take(n).collect()
    };
    let mut pages = Vec::new();
    if m > 0 {
        let _ = store.each_by_count(Some((m + 64) as u64), |key, count| {
            let site = key.split('/').next().unwrap_or(key);
            if pages.len() < m && shown(site) {
                pages.push((key.to_string(), count));
            }
            Ok(())
        });
    }
    *cached = Some((Instant::now(), sites.clone(), pages.clone()));
    (sites, pages)
}
