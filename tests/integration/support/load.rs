//! Load: many client threads sending counted requests at once, each on a
//! fresh connection, tallying what came back.

use super::enc;
use super::http::Request;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timeout of a load request: short, so that load loops end quickly.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default, Debug, Clone)]
pub struct LoadResult {
    /// Number of 200 responses per URL.
    pub ok: BTreeMap<String, u64>,
    pub errors: u64,
    pub other_status: u64,
    /// Every non-200 status seen, with how often.
    pub statuses: BTreeMap<u16, u64>,
}

impl LoadResult {
    // Used by the PostgreSQL tests only.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn total_ok(&self) -> u64 {
        self.ok.values().sum()
    }
}

/// `threads` threads send counted requests round-robin over `urls` (each on
/// a fresh connection) until `stop` is set or `max_per_thread` requests were
/// sent, or 50 consecutive connection errors (the server is gone).
pub fn load(
    addr: &str,
    urls: &[String],
    threads: usize,
    max_per_thread: u64,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> std::thread::JoinHandle<LoadResult> {
    let addr = addr.to_string();
    let urls = urls.to_vec();
    std::thread::spawn(move || {
        let mut hs = Vec::new();
        for t in 0..threads {
            let addr = addr.clone();
            let urls = urls.clone();
            let stop = stop.clone();
            let progress = progress.clone();
            hs.push(std::thread::spawn(move || {
                let mut res = LoadResult::default();
                let mut consecutive_err = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                for i in 0..max_per_thread {
                    if stop.load(Ordering::SeqCst) || consecutive_err >= 50 || Instant::now() > deadline {
                        break;
                    }
                    let url = &urls[(i as usize + t) % urls.len()];
                    let path = format!("/count?url={}", enc(url));
                    match Request::get(&path).timeout(LOAD_TIMEOUT).try_send(&addr) {
                        Ok(r) if r.status == 200 => {
                            consecutive_err = 0;
                            *res.ok.entry(url.clone()).or_default() += 1;
                            progress.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => {
                            consecutive_err = 0;
                            res.other_status += 1;
                            *res.statuses.entry(r.status).or_default() += 1;
                        }
                        Err(_) => {
                            consecutive_err += 1;
                            res.errors += 1;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                res
            }));
        }
        let mut total = LoadResult::default();
        for h in hs {
            let r = h.join().expect("load thread");
            for (k, v) in r.ok {
                *total.ok.entry(k).or_default() += v;
            }
            total.errors += r.errors;
            total.other_status += r.other_status;
            for (k, v) in r.statuses {
                *total.statuses.entry(k).or_default() += v;
            }
        }
        total
    })
}
