//! Operational counters: Prometheus text for `/metrics` and the state
//! `/healthz` reports. Lock-free on the request path (fixed arrays of
//! atomics indexed by route and status).

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a counting request added no hit: the anti-refresh cookie, the
/// cookieless (address + User-Agent) check, a bot.
/// `pending_cap`: answered while `--max-pending` URLs already held unsaved
/// hits (the database could not take them), so not counted. `camo_only`:
/// not GitHub's image proxy, on a site `--camo-only` lists.
pub const NOT_COUNTED: [&str; 8] =
    ["cookie", "hash", "bot", PENDING_CAP, "rate_limit", "new_counters", "max_counters", "camo_only"];
pub const PENDING_CAP: &str = "pending_cap";

const STATUSES: [u16; 14] = [200, 204, 301, 400, 404, 405, 413, 414, 431, 500, 503, 0, 0, 0];

/// A flush running longer than this (or two flush periods) is "stuck".
const STUCK_AFTER: Duration = Duration::from_secs(1);

pub struct Metrics {
    /// Route labels (the router's paths), then "other".
    routes: Vec<&'static str>,
    /// Requests by route (index into `routes`) and status.
    requests: Vec<[AtomicU64; STATUSES.len()]>,
    pub hits_counted: AtomicU64,
    /// Counting requests not counted, by reason (`NOT_COUNTED` labels).
    not_counted: [AtomicU64; NOT_COUNTED.len()],
    flushes: AtomicU64,
    flush_failures: AtomicU64,
    flush_micros: AtomicU64,
    /// Counter rows written by successful flushes.
    flushed_counters: AtomicU64,
    started: Instant,
    /// Micros since `started` of the last successful flush.
    last_flush_ok: AtomicU64,
    /// Micros since `started` when the running flush began; 0 when idle.
    flush_began: AtomicU64,
    failure: Mutex<Option<String>>,
    /// Milliseconds between periodic backups; 0 when there are none.
    backup_every_ms: AtomicU64,
    /// Micros since `started` of the last successful backup; 0 = none yet.
    backup_ok: AtomicU64,
    /// Unix time of the last successful backup.
    backup_ok_unix: AtomicU64,
    backup_failures: AtomicU64,
    /// The database's filesystem: free and total bytes (`u64::MAX` free:
    /// not known yet), whether free space is low, the WAL's size, whether
    /// the reserve file is held.
    disk_free: AtomicU64,
    disk_total: AtomicU64,
    disk_low: AtomicBool,
    wal_bytes: AtomicU64,
    reserve_held: AtomicBool,
    /// The database file was deleted or replaced and is being recovered.
    file_problem: Mutex<Option<String>>,
}

/// Index of a status; statuses not listed share the last slot ("other").
fn status_index(status: u16) -> usize {
    STATUSES.iter().position(|s| *s == status && status != 0).unwrap_or(STATUSES.len() - 1)
}

impl Metrics {
    /// Metrics for a server whose routes are `routes` (labels, in the order
    /// the router numbers them).
    pub fn new(mut routes: Vec<&'static str>) -> Metrics {
        routes.push("other");
        Metrics {
            requests: routes.iter().map(|_| std::array::from_fn(|_| AtomicU64::new(0))).collect(),
            routes,
            hits_counted: AtomicU64::new(0),
            not_counted: std::array::from_fn(|_| AtomicU64::new(0)),
            flushes: AtomicU64::new(0),
            flush_failures: AtomicU64::new(0),
            flush_micros: AtomicU64::new(0),
            flushed_counters: AtomicU64::new(0),
            started: Instant::now(),
            last_flush_ok: AtomicU64::new(0),
            flush_began: AtomicU64::new(0),
            failure: Mutex::new(None),
            backup_every_ms: AtomicU64::new(0),
            backup_ok: AtomicU64::new(0),
            backup_ok_unix: AtomicU64::new(0),
            backup_failures: AtomicU64::new(0),
            disk_free: AtomicU64::new(u64::MAX),
            disk_total: AtomicU64::new(0),
            disk_low: AtomicBool::new(false),
            wal_bytes: AtomicU64::new(0),
            reserve_held: AtomicBool::new(false),
            file_problem: Mutex::new(None),
        }
    }

    /// What the flusher's last look at the database's files found.
    pub fn disk(&self, space: Option<(u64, u64)>, low: bool, wal: u64, reserve_held: bool) {
        let (free, total) = space.unwrap_or((u64::MAX, 0));
        self.disk_free.store(free, Relaxed);
        self.disk_total.store(total, Relaxed);
        self.disk_low.store(low, Relaxed);
        self.wal_bytes.store(wal, Relaxed);
        self.reserve_held.store(reserve_held, Relaxed);
    }

    /// The database file's trouble (deleted, replaced) until it is solved.
    pub fn file_problem(&self, problem: Option<String>) {
        *self.file_problem.lock().unwrap_or_else(|e| e.into_inner()) = problem;
    }

    /// Counting requests not counted for `reason`, `n` at once.
    pub fn not_counted_n(&self, reason: &str, n: u64) {
        if let Some(i) = NOT_COUNTED.iter().position(|r| *r == reason) {
            self.not_counted[i].fetch_add(n, Relaxed);
        }
    }

    /// One answered request; `route` is the router's index, `None` for a
    /// path it does not know.
    pub fn request(&self, route: Option<usize>, status: u16) {
        let r = route.filter(|r| *r < self.routes.len() - 1).unwrap_or(self.routes.len() - 1);
        self.requests[r][status_index(status)].fetch_add(1, Relaxed);
    }

    /// A counting request added no hit, for `reason` (one of `NOT_COUNTED`).
    pub fn not_counted(&self, reason: &str) {
        if let Some(i) = NOT_COUNTED.iter().position(|r| *r == reason) {
            self.not_counted[i].fetch_add(1, Relaxed);
        }
    }

    /// A flush starts (it may then wait for the database lock).
    pub fn flush_begins(&self) {
        self.flush_began.store(self.started.elapsed().as_micros().max(1) as u64, Relaxed);
    }

    /// A flush ended: `Ok` with the counters it wrote.
    pub fn flushed(&self, took: Duration, result: Result<usize, String>) {
        self.flush_began.store(0, Relaxed);
        self.flushes.fetch_add(1, Relaxed);
        self.flush_micros.fetch_add(took.as_micros() as u64, Relaxed);
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(rows) => {
                self.flushed_counters.fetch_add(rows as u64, Relaxed);
                self.last_flush_ok.store(self.started.elapsed().as_micros() as u64, Relaxed);
                *failure = None;
            }
            Err(e) => {
                self.flush_failures.fetch_add(1, Relaxed);
                *failure = Some(e);
            }
        }
    }

    /// Periodic backups are on, one every `interval`.
    pub fn backups_every(&self, interval: Duration) {
        self.backup_every_ms.store(interval.as_millis().max(1) as u64, Relaxed);
    }

    /// A backup succeeded (or found nothing changed since the last one).
    pub fn backup_done(&self) {
        self.backup_ok.store(self.started.elapsed().as_micros().max(1) as u64, Relaxed);
        self.backup_ok_unix.store(chrono::Utc::now().timestamp().max(0) as u64, Relaxed);
    }

    pub fn backup_failed(&self) {
        self.backup_failures.fetch_add(1, Relaxed);
    }

    /// `Ok` when the last write worked, writes keep up with `period`, and
    /// periodic backups (if on) succeeded within three intervals.
    pub fn health(&self, period: Duration) -> Result<(), String> {
        if let Some(p) = self.file_problem.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Err(p.clone());
        }
        if let Some(e) = self.failure.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Err(format!("database not writable: {e}"));
        }
        if self.disk_low.load(Relaxed) {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            let (free, total) = (self.disk_free.load(Relaxed), self.disk_total.load(Relaxed));
            return Err(format!("low disk space: {:.1} MiB free of {:.1} MiB", mib(free), mib(total)));
        }
        // A write waiting for a lock fails only after the busy timeout (5 s);
        // report it as soon as it is clearly stuck.
        let began = self.flush_began.load(Relaxed);
        if began > 0 {
            let waiting = self.started.elapsed().saturating_sub(Duration::from_micros(began));
            if waiting > (period * 2).max(STUCK_AFTER) {
                return Err(format!("a write has waited {:.1}s for the database (locked?)", waiting.as_secs_f64()));
            }
        }
        let since_ok = self.started.elapsed().saturating_sub(Duration::from_micros(self.last_flush_ok.load(Relaxed)));
        let allowed = (period * 20).max(Duration::from_secs(10));
        if since_ok > allowed {
            return Err(format!("no successful write for {}s", since_ok.as_secs()));
        }
        let every = Duration::from_millis(self.backup_every_ms.load(Relaxed));
        if !every.is_zero() {
            let last = Duration::from_micros(self.backup_ok.load(Relaxed));
            let since = self.started.elapsed().saturating_sub(last);
            if since > every * 3 {
                let when = if last.is_zero() { "since start".to_string() } else { format!("for {}s", since.as_secs()) };
                return Err(format!("no successful backup {when} (one every {}s expected)", every.as_secs()));
            }
        }
        Ok(())
    }

    /// Prometheus text exposition.
    /// `in_memory`: counters whose counts the in-memory table holds.
    /// `visitors`: entries of the in-memory visitor table.
    pub fn render(&self, prefix: &str, pending: u64, counters: Option<u64>, in_memory: u64, visitors: usize) -> String {
        let mut out = String::with_capacity(4096);
        let p = prefix;
        let _ = writeln!(out, "# HELP {p}_requests_total HTTP requests by route and status.");
        let _ = writeln!(out, "# TYPE {p}_requests_total counter");
        for (r, route) in self.routes.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = self.requests[r][s].load(Relaxed);
                if n > 0 {
                    let status = if *status == 0 { "other".to_string() } else { status.to_string() };
                    let _ = writeln!(out, "{p}_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
                }
            }
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {p}_{name} {help}\n# TYPE {p}_{name} counter\n{p}_{name} {v}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, v: String| {
            let _ = writeln!(out, "# HELP {p}_{name} {help}\n# TYPE {p}_{name} gauge\n{p}_{name} {v}");
        };
        counter(&mut out, "hits_counted_total", "Hits added to counters.", self.hits_counted.load(Relaxed));
        let deduplicated = self.not_counted[0].load(Relaxed) + self.not_counted[1].load(Relaxed);
        counter(
            &mut out,
            "hits_deduplicated_total",
            "Counting requests not counted as repeats within the window (cookie or cookieless).",
            deduplicated,
        );
        let _ = writeln!(out, "# HELP {p}_hits_not_counted_total Counting requests not counted, by reason.");
        let _ = writeln!(out, "# TYPE {p}_hits_not_counted_total counter");
        for (i, reason) in NOT_COUNTED.iter().enumerate() {
            let n = self.not_counted[i].load(Relaxed);
            let _ = writeln!(out, "{p}_hits_not_counted_total{{reason=\"{reason}\"}} {n}");
        }
        gauge(
            &mut out,
            "visitors_remembered",
            "Entries of today's in-memory visitor table (cookieless deduplication, unique visitors).",
            visitors.to_string(),
        );
        counter(&mut out, "flushes_total", "Writes of pending hits to the database.", self.flushes.load(Relaxed));
        counter(&mut out, "flush_failures_total", "Failed writes of pending hits.", self.flush_failures.load(Relaxed));
        counter(
            &mut out,
            "flushed_counters_total",
            "Counters written by flushes (each with its per-day row).",
            self.flushed_counters.load(Relaxed),
        );
        let secs = self.flush_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP {p}_flush_duration_seconds_total Time spent writing pending hits.\n# TYPE {p}_flush_duration_seconds_total counter\n{p}_flush_duration_seconds_total {secs:.6}"
        );
        gauge(&mut out, "pending_hits", "Hits counted but not yet written.", pending.to_string());
        if let Some(n) = counters {
            gauge(&mut out, "counters", "Number of counters in the database.", n.to_string());
        }
        gauge(
            &mut out,
            "counters_in_memory",
            "Counters whose counts are held in memory (the rest are read from the database).",
            in_memory.to_string(),
        );
        let free = self.disk_free.load(Relaxed);
        if free != u64::MAX {
            let help = "Bytes free for the database on its filesystem.";
            gauge(&mut out, "disk_free_bytes", help, free.to_string());
            let help = "Size of the database's filesystem in bytes.";
            gauge(&mut out, "disk_size_bytes", help, self.disk_total.load(Relaxed).to_string());
            gauge(&mut out, "wal_bytes", "Size of the database's WAL file.", self.wal_bytes.load(Relaxed).to_string());
            let held = u8::from(self.reserve_held.load(Relaxed));
            let help = "1 while the reserve file next to the database is held (0: given up for a full disk).";
            gauge(&mut out, "disk_reserve_held", help, held.to_string());
        }
        if self.backup_every_ms.load(Relaxed) > 0 {
            gauge(
                &mut out,
                "backup_last_success_timestamp_seconds",
                "Unix time of the last successful backup (0: none yet).",
                self.backup_ok_unix.load(Relaxed).to_string(),
            );
            counter(&mut out, "backup_failures_total", "Failed backups.", self.backup_failures.load(Relaxed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new(vec!["/", "/count"]);
        m.request(Some(1), 200);
        m.request(Some(1), 200);
        m.request(None, 404);
        m.request(Some(1), 418);
        m.flushed(Duration::from_millis(2), Ok(5));
        let text = m.render("hc", 3, Some(7), 6, 2);
        assert!(text.contains("hc_flushed_counters_total 5"));
        assert!(text.contains("hc_requests_total{route=\"/count\",status=\"200\"} 2"));
        assert!(text.contains("hc_requests_total{route=\"other\",status=\"404\"} 1"));
        assert!(text.contains("hc_requests_total{route=\"/count\",status=\"other\"} 1"));
        assert!(text.contains("hc_flush_duration_seconds_total 0.002000"));
        assert!(text.contains("hc_pending_hits 3"));
        assert!(text.contains("hc_counters 7"));
        assert!(text.contains("hc_counters_in_memory 6"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "{line}");
        }
    }

    #[test]
    fn health_follows_flushes() {
        let m = Metrics::new(Vec::new());
        assert!(m.health(Duration::from_millis(100)).is_ok());
        m.flushed(Duration::ZERO, Err("disk full".into()));
        assert!(m.health(Duration::from_millis(100)).unwrap_err().contains("disk full"));
        m.flushed(Duration::ZERO, Ok(1));
        assert!(m.health(Duration::from_millis(100)).is_ok());
        m.flush_begins();
        assert!(m.health(Duration::from_millis(100)).is_ok(), "a fresh flush is not stuck");
    }

    #[test]
    fn a_flush_stuck_on_a_lock_is_unhealthy() {
        let m = Metrics { started: Instant::now() - Duration::from_secs(3), ..Metrics::new(Vec::new()) };
        m.flushed(Duration::ZERO, Ok(1));
        // The running flush began 3 s ago (1 µs after `started`).
        m.flush_began.store(1, Relaxed);
        assert!(m.health(Duration::from_millis(100)).unwrap_err().contains("waited"));
        m.flushed(Duration::ZERO, Ok(1));
        assert!(m.health(Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn backups_that_stop_make_the_server_unhealthy() {
        let m = Metrics { started: Instant::now() - Duration::from_secs(10), ..Metrics::new(Vec::new()) };
        m.flushed(Duration::ZERO, Ok(1));
        assert!(m.health(Duration::from_millis(100)).is_ok(), "backups off");
        m.backups_every(Duration::from_secs(3));
        assert!(m.health(Duration::from_millis(100)).unwrap_err().contains("no successful backup since start"));
        m.backup_done();
        assert!(m.health(Duration::from_millis(100)).is_ok());
        m.backup_failed();
        let text = m.render("hc", 0, None, 0, 0);
        assert!(
            text.contains("hc_backup_failures_total 1") && text.contains("hc_backup_last_success_timestamp_seconds 1")
        );
    }
}
