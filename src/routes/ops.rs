//! What operators and the page's own assets need: `/healthz`, `/metrics`
//! and the embedded stylesheet and script.

use super::Ctx;
use crate::http::response::{CSS, JAVASCRIPT, PROMETHEUS};
use crate::http::Resp;
use crate::render::page;
use crate::store::Store;

pub fn style() -> Resp {
    Resp::new(200, CSS, page::STYLE)
}

pub fn script() -> Resp {
    Resp::new(200, JAVASCRIPT, page::SCRIPT)
}

pub fn health(ctx: &Ctx) -> Resp {
    let at_cap = || {
        ctx.counter.at_cap().then(|| {
            format!("{} URLs hold unsaved hits (--max-pending): hits on new URLs are not counted", ctx.cfg.max_pending)
        })
    };
    let full = || {
        ctx.counters_full.load(std::sync::atomic::Ordering::Relaxed).then(|| {
            format!("{} counters (--max-counters): hits on new URLs are not stored", ctx.cfg.clients.max_counters)
        })
    };
    match ctx.metrics.health(ctx.cfg.flush_period()) {
        Ok(()) => match at_cap().or_else(full) {
            None => Resp::text(200, "ok"),
            Some(reason) => Resp::text(503, reason),
        },
        Err(reason) => Resp::text(503, reason),
    }
}

pub fn metrics(ctx: &Ctx, store: &Store) -> Resp {
    let counters = store.counter_rows().ok();
    let (pending, in_memory) = (ctx.counter.pending_hits(), ctx.counter.table_counters() as u64);
    let visitors = ctx.decider.visitors_held();
    let mut text = ctx.metrics.render(&ctx.cfg.metrics_prefix, pending, counters, in_memory, visitors);
    // The series name pages and sites, which `--private` hides.
    if ctx.cfg.metrics_per_page > 0 && !ctx.cfg.private {
        per_page(&mut text, &ctx.cfg.metrics_prefix, store, ctx.cfg.metrics_per_page);
    }
    Resp::new(200, PROMETHEUS, text)
}

/// `hits_total{site,path}` for the `n` biggest counters: a series per
/// counter, so bounded to the biggest (the original's per-page gauge).
fn per_page(out: &mut String, prefix: &str, store: &Store, n: u64) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {prefix}_hits_total Hits of the biggest counters, by site and path.");
    let _ = writeln!(out, "# TYPE {prefix}_hits_total gauge");
    let _ = store.each_by_count(Some(n), |key, count| {
        let (site, path) = key.split_once('/').map_or((key, "/".to_string()), |(s, p)| (s, format!("/{p}")));
        let _ = writeln!(out, "{prefix}_hits_total{{site=\"{}\",path=\"{}\"}} {count}", label(site), label(&path));
        Ok(())
    });
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
