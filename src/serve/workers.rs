//! Who may answer a request now: `--workers` database connections, each
//! lent to one request at a time on the thread of the connection that read
//! it, and the door that closes at shutdown. Over PostgreSQL each is a
//! handle that borrows one of a few pooled connections only while it makes
//! a call (`store/postgres/pool.rs`).
//!
//! A request waits here only when every connection is lent out. At
//! shutdown, `close` keeps lending until a moment when no request is being
//! answered (clients on keep-alive connections may send more meanwhile),
//! then lends no more and returns only when every lent connection is back:
//! a hit must be in the counter before the flusher's last write, or a
//! `200` could be answered for a hit that is never stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::store::{Database, Role, Store};

pub struct Workers {
    state: Mutex<State>,
    changed: Condvar,
    db: Database,
    /// Bumped by the flusher when the database file was put in place
    /// again: a connection opened before is reopened when next lent.
    generation: Arc<AtomicU64>,
}

struct State {
    /// Each with the generation it was opened in.
    free: Vec<(u64, Store)>,
    lent: usize,
    /// Requests asleep in `enter`: a return wakes one only when there is
    /// one (std's condition variable makes a system call on every notify).
    waiting: usize,
    /// `close` is waiting: every return wakes it too.
    closing: bool,
    closed: bool,
}

/// A database connection lent to one request; given back when dropped
/// (also when the handler panics).
pub struct Worker<'a> {
    workers: &'a Workers,
    store: Option<(u64, Store)>,
}

impl Workers {
    pub fn new(stores: Vec<Store>, db: Database, generation: Arc<AtomicU64>) -> Workers {
        let now = generation.load(Ordering::SeqCst);
        let free = stores.into_iter().map(|s| (now, s)).collect();
        let state = Mutex::new(State { free, lent: 0, waiting: 0, closing: false, closed: false });
        Workers { state, changed: Condvar::new(), db, generation }
    }

    /// Waits for a free connection; `None` once closed.
    pub fn enter(&self) -> Option<Worker<'_>> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(store) = state.free.pop() {
                state.lent += 1;
                drop(state);
                return Some(Worker { workers: self, store: Some(self.current(store)) });
            }
            state.waiting += 1;
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            state.waiting -= 1;
        }
    }

    /// Goes on lending until no request is being answered, for at most
    /// `grace`; then lends no more and waits for those still in flight (a
    /// request holds a connection only while its answer is made, which
    /// takes at most SQLite's busy timeout). False when the grace ran out.
    pub fn close(&self, grace: Duration) -> bool {
        let until = Instant::now() + grace;
        let mut state = self.lock();
        state.closing = true;
        let mut quiet = true;
        while state.lent > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                quiet = false;
                break;
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        state.closed = true;
        self.changed.notify_all();
        while state.lent > 0 {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        quiet
    }

    /// The connection, reopened on the file now at the path if it was
    /// opened on one the flusher has since replaced (kept if that fails).
    fn current(&self, (opened, store): (u64, Store)) -> (u64, Store) {
        let now = self.generation.load(Ordering::SeqCst);
        if opened == now {
            return (opened, store);
        }
        match self.db.open(Role::Worker) {
            Ok(fresh) => (now, fresh),
            Err(_) => (opened, store),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens while the lock is held; a poisoned lock
        // still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Worker<'_> {
    pub fn store(&mut self) -> &mut Store {
        &mut self.store.as_mut().expect("a worker holds its store until dropped").1
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let mut state = self.workers.lock();
        if let Some(store) = self.store.take() {
            state.free.push(store);
        }
        state.lent -= 1;
        // One waiting request takes the connection (waking them all would
        // only have the rest go back to sleep); `close` must hear of each.
        if state.closing {
            self.workers.changed.notify_all();
        } else if state.waiting > 0 {
            self.workers.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn workers(n: usize) -> (tempfile::TempDir, Arc<Workers>) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        Store::prepare(&db, Role::Flusher).unwrap();
        let stores = (0..n).map(|_| Store::open(&db, Role::Worker).unwrap()).collect();
        (dir, Arc::new(Workers::new(stores, crate::store::Database::File(db), Arc::new(AtomicU64::new(0)))))
    }

    #[test]
    fn a_request_waits_for_a_free_connection() {
        let (_dir, w) = workers(1);
        let first = w.enter().unwrap();
        let other = w.clone();
        let waiting = thread::spawn(move || other.enter().is_some());
        thread::sleep(Duration::from_millis(30));
        assert!(!waiting.is_finished(), "the only connection is lent out");
        drop(first);
        assert!(waiting.join().unwrap());
    }

    #[test]
    fn close_answers_on_until_quiet_then_refuses() {
        let (_dir, w) = workers(2);
        let in_flight = w.enter().unwrap();
        let closer = w.clone();
        let closing = thread::spawn(move || closer.close(Duration::from_secs(10)));
        thread::sleep(Duration::from_millis(30));
        assert!(!closing.is_finished(), "a request is still being answered");
        drop(w.enter().expect("still lending while requests are in flight"));
        drop(in_flight);
        assert!(closing.join().unwrap());
        assert!(w.enter().is_none(), "closed once quiet");
    }

    #[test]
    fn after_the_grace_close_still_waits_for_requests_in_flight() {
        let (_dir, w) = workers(1);
        let in_flight = w.enter().unwrap();
        let closer = w.clone();
        let closing = thread::spawn(move || closer.close(Duration::from_millis(20)));
        thread::sleep(Duration::from_millis(60));
        assert!(!closing.is_finished(), "the hit of a request in flight must reach the counter first");
        assert!(w.enter().is_none(), "closed after the grace");
        drop(in_flight);
        assert!(!closing.join().unwrap(), "the grace ran out");
    }
}
