//! The connections a server's request workers share: at most `size`, each
//! opened when a request first needs one (none at start), kept open once
//! made, so an instance holds a small, bounded number of PostgreSQL
//! connections however many workers it runs (`--db-connections`). A worker
//! takes one for a single call, or for a read transaction, and gives it
//! back at once; a worker that finds none free waits, for a bounded time,
//! and then its call fails (the request gets a 503), never hangs.
//!
//! A worker holds at most one connection at a time and never waits for a
//! second one while holding the first, so the waits cannot deadlock.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Conn, Url};

pub(crate) struct Pool {
    url: Url,
    size: usize,
    wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    /// Connections open or being opened, idle ones included.
    open: usize,
}

/// A connection taken from the pool; back in it when dropped (or closed
/// for good, when it broke).
pub(super) struct Lease {
    conn: Option<Conn>,
    pool: Arc<Pool>,
}

/// No connection came free within the pool's wait.
#[derive(Debug)]
pub struct Exhausted {
    pub size: usize,
    pub waited: Duration,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no database connection came free within {} ms (all {} of the workers' connections in use; \
             --db-connections sets how many)",
            self.waited.as_millis(),
            self.size
        )
    }
}

/// Why [`Pool::take`] gave no connection.
pub(super) enum TakeError {
    Exhausted(Exhausted),
    Connect(postgres::Error),
}

impl Pool {
    /// At most `size` (at least 1) connections to `url`; a call waits at
    /// most `wait` for one to come free.
    pub(crate) fn new(url: Url, size: usize, wait: Duration) -> Arc<Pool> {
        let state = Mutex::new(State { idle: Vec::new(), open: 0 });
        Arc::new(Pool { url, size: size.max(1), wait, state, freed: Condvar::new() })
    }

    /// An idle connection, else a new one while fewer than `size` are
    /// open, else the first one given back within the wait.
    pub(super) fn take(self: &Arc<Pool>) -> Result<Lease, TakeError> {
        let until = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Lease { conn: Some(conn), pool: self.clone() });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match Conn::open(&self.url) {
                    Ok(conn) => Ok(Lease { conn: Some(conn), pool: self.clone() }),
                    Err(e) => {
                        self.closed();
                        Err(TakeError::Connect(e))
                    }
                };
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TakeError::Exhausted(Exhausted { size: self.size, waited: self.wait }));
            }
            state = self.freed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// One connection fewer: a waiting caller may open another.
    fn closed(&self) {
        self.lock().open -= 1;
        self.freed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; a poisoned lock still
        // holds consistent counts.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections open now (idle or lent), for tests.
    #[cfg(test)]
    pub(super) fn open(&self) -> usize {
        self.lock().open
    }
}

impl Lease {
    pub(super) fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if conn.client.is_closed() {
            drop(conn);
            self.pool.closed();
            return;
        }
        self.pool.lock().idle.push(conn);
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{cluster, Pg};
    use super::*;

    /// A pool of `size` on a new database of the shared test cluster (kept
    /// running while the first value lives), with the tables made.
    fn pool(size: usize, wait: Duration) -> Option<(Arc<cluster::Cluster>, String, Url, Arc<Pool>)> {
        let cluster = cluster::shared()?;
        let (name, url) = cluster.database();
        let url = Url::parse(&url, None).unwrap();
        Pg::prepare(&url, None).unwrap();
        let pool = Pool::new(url.clone(), size, wait);
        Some((cluster, name, url, pool))
    }

    #[test]
    fn many_workers_share_a_few_connections_opened_when_needed() {
        let Some((_cluster, _, url, pool)) = pool(2, Duration::from_secs(30)) else { return };
        let workers: Vec<Pg> = (0..8).map(|_| Pg::pooled(&url, pool.clone())).collect();
        assert_eq!(pool.open(), 0, "nothing opened before a call needs it");
        let threads: Vec<_> = workers
            .into_iter()
            .map(|pg| {
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        assert_eq!(pg.counter_rows().unwrap(), 0);
                        pg.begin_read().unwrap();
                        assert_eq!(pg.get("x").unwrap(), None);
                        pg.end_read(true).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("every call got a connection");
        }
        assert!((1..=2).contains(&pool.open()), "{} open", pool.open());
    }

    #[test]
    fn a_call_that_finds_every_connection_held_fails_after_the_wait() {
        let Some((_cluster, _, url, pool)) = pool(1, Duration::from_millis(50)) else { return };
        let (holder, other) = (Pg::pooled(&url, pool.clone()), Pg::pooled(&url, pool.clone()));
        holder.begin_read().unwrap();
        let e = other.counter_rows().unwrap_err().to_string();
        assert!(e.contains("no database connection came free") && e.contains("--db-connections"), "{e}");
        holder.end_read(true).unwrap();
        assert_eq!(other.counter_rows().unwrap(), 0, "the connection is back once the read ends");
        assert_eq!(pool.open(), 1);
    }

    #[test]
    fn a_connection_that_broke_is_replaced_and_not_counted_twice() {
        let Some((cluster, name, url, pool)) = pool(1, Duration::from_secs(30)) else { return };
        let pg = Pg::pooled(&url, pool.clone());
        assert_eq!(pg.counter_rows().unwrap(), 0);
        let mut admin = cluster.client("postgres").unwrap();
        let killed = admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'hitcounter'",
                &[&name],
            )
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(killed, 1, "the pooled connection (the setup's is closed)");
        // The broken connection may fail one call; the next gets a new one.
        let _ = pg.counter_rows();
        assert_eq!(pg.counter_rows().unwrap(), 0);
        assert_eq!(pool.open(), 1);
    }
}
