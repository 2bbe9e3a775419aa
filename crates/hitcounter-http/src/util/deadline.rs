//! hitcounter patch: time limits for reading from a connection.
//!
//! tiny_http read without any timeout: a client that connected and sent
//! nothing, sent one header byte a second, or kept an idle keep-alive
//! connection held a thread (and two descriptors) forever. A `Deadline` is
//! shared by the connection's reader and the code that parses requests:
//! the parser says until when the next bytes must arrive (the whole head
//! within the head timeout, the next request within the idle timeout), and
//! every read of the socket fails with `TimedOut` once that moment passes.
//!
//! The socket's own receive timeout (`SO_RCVTIMEO`) only bounds one read,
//! so the reader re-checks the deadline after each; it changes the socket
//! option only when the deadline is nearer than the value set, which keeps
//! the common path (a whole request in one read) free of extra syscalls.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::connection::Connection;

/// How long a client has for each step of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timeouts {
    /// From accepting a connection (TLS handshake included) or from the
    /// first byte of a later request until its head is complete.
    pub head: Option<Duration>,
    /// Between requests on a keep-alive connection.
    pub idle: Option<Duration>,
    /// A write of a response that makes no progress for this long fails.
    pub write: Option<Duration>,
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Milliseconds since `base()`, never 0 (0 means "no deadline").
fn now_ms() -> u64 {
    (base().elapsed().as_millis() as u64).max(1)
}

#[derive(Debug, Default)]
pub(crate) struct Deadline {
    at_ms: AtomicU64,
}

/// What a reader should do before its next read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// No deadline: block as long as it takes.
    None,
    /// Read, waiting at most this long.
    Within(Duration),
    /// The deadline has passed.
    Passed,
}

impl Deadline {
    /// Bytes must arrive within `after` from now; `None` clears the deadline.
    pub(crate) fn set_in(&self, after: Option<Duration>) {
        let at = match after {
            Some(d) => now_ms().saturating_add(d.as_millis() as u64).max(1),
            None => 0,
        };
        self.at_ms.store(at, Ordering::Relaxed);
    }

    pub(crate) fn check(&self) -> Check {
        match self.at_ms.load(Ordering::Relaxed) {
            0 => Check::None,
            at => {
                let now = now_ms();
                if now >= at {
                    Check::Passed
                } else {
                    Check::Within(Duration::from_millis(at - now))
                }
            }
        }
    }
}

/// Whether a socket whose receive timeout is `applied` must be given
/// `wanted` before the next read: only when the read could otherwise block
/// well past the deadline (a timeout that fires early just costs one more
/// check; one that fires late lets the client overstay).
pub(crate) fn needs_update(applied: Option<Duration>, wanted: Option<Duration>) -> bool {
    const SLACK: Duration = Duration::from_millis(250);
    match (applied, wanted) {
        (None, None) => false,
        (Some(_), None) => true,
        (None, Some(_)) => true,
        (Some(a), Some(w)) => a > w + SLACK,
    }
}

/// A connection's socket whose reads fail with `TimedOut` once its
/// deadline passes. Plain HTTP reads through it directly; under TLS it is
/// the socket rustls reads, since rustls reads several times inside one
/// read of the stream (a handshake arriving in pieces).
pub(crate) struct TimedSocket {
    pub(crate) sock: Connection,
    pub(crate) deadline: Arc<Deadline>,
    applied: Option<Duration>,
}

impl TimedSocket {
    pub(crate) fn new(sock: Connection, deadline: Arc<Deadline>) -> Self {
        TimedSocket {
            sock,
            deadline,
            applied: None,
        }
    }
}

impl Read for TimedSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let wanted = match self.deadline.check() {
                Check::Passed => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "read deadline passed",
                    ))
                }
                Check::Within(left) => Some(left.max(Duration::from_millis(1))),
                Check::None => None,
            };
            if needs_update(self.applied, wanted) {
                self.sock.set_read_timeout(wanted)?;
                self.applied = wanted;
            }
            match self.sock.read(buf) {
                // The socket's timeout fired: look at the deadline again.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                other => return other,
            }
        }
    }
}

impl Write for TimedSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_deadline_until_set() {
        let d = Deadline::default();
        assert_eq!(d.check(), Check::None);
        d.set_in(Some(Duration::from_secs(10)));
        match d.check() {
            Check::Within(left) => {
                assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(9))
            }
            other => panic!("{:?}", other),
        }
        d.set_in(None);
        assert_eq!(d.check(), Check::None);
    }

    #[test]
    fn a_past_deadline_is_passed() {
        let d = Deadline::default();
        d.set_in(Some(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(d.check(), Check::Passed);
    }

    #[test]
    fn the_socket_timeout_changes_only_when_too_long() {
        let s = Duration::from_secs;
        assert!(needs_update(None, Some(s(10))));
        assert!(needs_update(Some(s(60)), Some(s(10))));
        assert!(!needs_update(Some(s(10)), Some(s(60))));
        assert!(!needs_update(Some(s(10)), Some(s(10))));
        assert!(needs_update(Some(s(10)), None));
        assert!(!needs_update(None, None));
    }
}
