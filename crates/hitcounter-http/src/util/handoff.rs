//! hitcounter patch: a one-value channel for handing a connection's reader
//! and writer from one request to the next (`sequential.rs`).
//!
//! `std::sync::mpsc::channel` allocated a cache-padded channel and, on the
//! first send, a block of 31 slots (over 2 KiB for a buffered reader), for
//! every request, twice; a block that large made glibc consolidate its
//! small-chunk bins each time. One value is all that ever passes here.
//!
//! The receiver says when it sleeps, and only then is it woken: std's
//! condition variable makes a `futex` system call on every notify, waiter
//! or not, and when requests are answered on their connection's thread
//! the value is always there before anyone asks for it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

enum State<T> {
    /// Nothing sent yet; `true` while the receiver sleeps on `changed`.
    Waiting(bool),
    Sent(T),
    /// Received, or the sender went away without sending.
    Done,
}

struct Slot<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock; a poisoned one is intact.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Sender<T>(Arc<Slot<T>>);
pub struct Receiver<T>(Arc<Slot<T>>);

/// The sender was dropped without sending, or the value was received.
#[derive(Debug)]
pub struct Disconnected;

pub fn handoff<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Waiting(false)),
        changed: Condvar::new(),
    });
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    /// Hands `value` over (once); it is dropped if nobody receives it.
    pub fn send(&self, value: T) {
        let mut state = self.0.lock();
        let asleep = matches!(*state, State::Waiting(true));
        *state = State::Sent(value);
        drop(state);
        if asleep {
            self.0.changed.notify_one();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if let State::Waiting(asleep) = *state {
            *state = State::Done;
            drop(state);
            if asleep {
                self.0.changed.notify_one();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Waits for the value.
    pub fn recv(&self) -> Result<T, Disconnected> {
        let mut state = self.0.lock();
        loop {
            match std::mem::replace(&mut *state, State::Done) {
                State::Sent(value) => return Ok(value),
                State::Done => return Err(Disconnected),
                State::Waiting(_) => {
                    *state = State::Waiting(true);
                    state = self
                        .0
                        .changed
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::handoff;
    use std::thread;

    #[test]
    fn a_value_sent_is_received_once() {
        let (tx, rx) = handoff();
        tx.send(7);
        assert_eq!(rx.recv().ok(), Some(7));
        assert!(rx.recv().is_err());
    }

    #[test]
    fn a_sender_dropped_unsent_disconnects() {
        let (tx, rx) = handoff::<u8>();
        drop(tx);
        assert!(rx.recv().is_err());
    }

    #[test]
    fn the_receiver_waits_for_another_thread() {
        let (tx, rx) = handoff();
        let t = thread::spawn(move || rx.recv().ok());
        thread::sleep(std::time::Duration::from_millis(20));
        tx.send("reader");
        assert_eq!(t.join().unwrap(), Some("reader"));
    }
}
