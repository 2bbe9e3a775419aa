//! hitcounter patch: the accept loop, moved out of `Server::from_listener`
//! and made to survive what used to end it.
//!
//! Before: a failed `accept()` (out of descriptors, a connection aborted
//! before it was accepted) ended the loop for good while the process lived
//! on refusing everyone, a failed descriptor clone panicked, and there was
//! no cap on connections, each of which holds a thread. Now transient
//! errors are waited out, the number of open connections is capped (past
//! the cap a plain-HTTP client gets a quick `503`), and each connection
//! starts with the head timeout running, so a TLS handshake or a first
//! request that never comes cannot hold its thread.
//!
//! Out of descriptors, the loop frees what it holds itself before waiting:
//! the oldest refused connection still lingering, else a spare descriptor
//! kept for this, with which one waiting client is accepted and refused.
//! Clients then get `503`s instead of hanging in the kernel's queue.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Error, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::ClientConnection;
use crate::connection::{Connection, Listener};
use crate::util::deadline::Deadline;
use crate::util::{MessagesQueue, RefinedTcpStream, TaskPool};
use crate::{Handler, Limits, Message, SslContext};

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
Content-Length: 37\r\nConnection: close\r\nRetry-After: 1\r\n\r\n\
too many connections; try again soon\n";

/// Refused connections are kept open (write side shut) this long before
/// they are closed, so that a request arriving after the `503` does not
/// make the kernel reset the connection before the client read the answer.
/// At most `Limits::refused_lingering` linger at once.
const LINGER: Duration = Duration::from_secs(1);
/// Out of descriptors with nothing to free, `accept()` is tried again
/// after a wait that doubles up to this.
const BACKOFF_MAX: Duration = Duration::from_millis(200);
const BACKOFF_MIN: Duration = Duration::from_millis(10);

pub(crate) struct Accept {
    pub(crate) listener: Listener,
    pub(crate) ssl: Option<Arc<SslContext>>,
    pub(crate) limits: Limits,
    pub(crate) close: Arc<AtomicBool>,
    pub(crate) messages: Arc<MessagesQueue<Message>>,
    pub(crate) connections: Arc<AtomicUsize>,
    pub(crate) handler: Option<Handler>,
}

/// Counts a connection as open for as long as it lives.
struct Open(Arc<AtomicUsize>);

impl Open {
    /// Counts one more; returns the guard and how many were open before.
    fn new(count: &Arc<AtomicUsize>) -> (Open, usize) {
        let before = count.fetch_add(1, Relaxed);
        (Open(count.clone()), before)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Accept {
    pub(crate) fn run(self) {
        // a tasks pool is used to dispatch the connections into threads
        let tasks_pool = TaskPool::new();
        let mut lingering: VecDeque<(Instant, Connection)> = VecDeque::new();
        let mut spare = Spare::new();
        let mut backoff = BACKOFF_MIN;

        log::debug!("Running accept thread");
        while !self.close.load(Relaxed) {
            let mut sock = match self.listener.accept() {
                Ok((sock, _)) => sock,
                // The listening socket was shut down (or never listened):
                // the end, reported to `recv` as before.
                Err(e) if e.kind() == ErrorKind::InvalidInput => {
                    log::error!("Error accepting new client: {}", e);
                    self.messages.push(e.into());
                    break;
                }
                // Out of descriptors: free one of ours and go on at once;
                // with nothing left to free, wait.
                Err(e) if out_of_descriptors(&e) => {
                    if lingering.pop_front().is_none() && !spare.refuse_one(&self) {
                        log::warn!("Out of descriptors; accepting again in {:?}", backoff);
                        thread::sleep(backoff);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        spare.take();
                    }
                    continue;
                }
                // A connection reset before it was accepted, a signal, out
                // of memory: wait a little and go on.
                Err(e) => {
                    log::warn!("Error accepting new client: {}", e);
                    if e.kind() != ErrorKind::Interrupted
                        && e.kind() != ErrorKind::ConnectionAborted
                    {
                        thread::sleep(BACKOFF_MIN);
                    }
                    continue;
                }
            };
            backoff = BACKOFF_MIN;
            spare.take();
            let now = Instant::now();
            while lingering.front().map_or(false, |(at, _)| now >= *at) {
                lingering.pop_front();
            }

            let (open, before) = Open::new(&self.connections);
            if self
                .limits
                .max_connections
                .map_or(false, |max| before >= max)
            {
                drop(open);
                self.refuse(&mut sock);
                if self.limits.refused_lingering == 0 {
                    continue;
                }
                if lingering.len() >= self.limits.refused_lingering {
                    lingering.pop_front();
                }
                lingering.push_back((now + LINGER, sock));
                continue;
            }

            if let Some(client) = self.client(sock) {
                let messages = self.messages.clone();
                let handler = self.handler.clone();
                let mut task = Some((client, open));
                tasks_pool.spawn(Box::new(move || {
                    if let Some((client, _open)) = task.take() {
                        match &handler {
                            Some(handler) => client.for_each(|rq| handler(rq)),
                            None => serve(client, &messages),
                        }
                    }
                }));
            }
        }
        log::debug!("Terminating accept thread");
    }

    /// Answers a plain-HTTP connection `503` (a TLS one gets nothing: no
    /// answer can be sent before a handshake) and shuts its write side.
    fn refuse(&self, sock: &mut Connection) {
        if self.ssl.is_none() {
            refuse(sock);
        }
        let _ = sock.shutdown(Shutdown::Write);
    }

    /// Wraps a new socket (TLS when configured), its deadline running.
    /// `None`: it could not be set up (out of descriptors); it is closed.
    fn client(&self, sock: Connection) -> Option<ClientConnection> {
        let _ = sock.set_write_timeout(self.limits.timeouts.write);
        let deadline = Arc::new(Deadline::default());
        deadline.set_in(self.limits.timeouts.head);
        let streams = match self.ssl {
            None => RefinedTcpStream::new(sock, Some(deadline.clone())),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Some(ref ssl) => {
                // trying to apply SSL over the connection
                // if an error occurs, we just close the socket and resume listening
                let sock = ssl.accept(sock, deadline.clone()).ok()?;
                RefinedTcpStream::new(sock, None)
            }
            #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
            Some(ref _ssl) => unreachable!(),
        };
        let (read, write) = streams.ok()?;
        Some(ClientConnection::new(write, read, deadline, self.limits))
    }
}

/// Answers `503` without blocking the accept loop: a client that does not
/// read gets nothing, and is closed all the same.
fn refuse(sock: &mut Connection) {
    if sock.set_nonblocking(true).is_ok() {
        let _ = sock.write(BUSY);
    }
}

/// `accept()` failed because the process (EMFILE) or the system (ENFILE)
/// has no descriptor left.
fn out_of_descriptors(e: &Error) -> bool {
    #[cfg(unix)]
    return matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE));
    #[cfg(not(unix))]
    return false;
}

/// A descriptor held in reserve for when there are none left.
struct Spare(Option<File>);

impl Spare {
    fn new() -> Spare {
        let mut spare = Spare(None);
        spare.take();
        spare
    }

    /// Holds a descriptor again, if there is one to be had.
    fn take(&mut self) {
        #[cfg(unix)]
        if self.0.is_none() {
            self.0 = File::open("/dev/null").ok();
        }
    }

    /// Gives up the spare descriptor to accept one waiting connection,
    /// refuses it and closes it at once. False when no spare was held or
    /// another thread took the freed descriptor first.
    fn refuse_one(&mut self, accept: &Accept) -> bool {
        if self.0.take().is_none() {
            return false;
        }
        let Ok((mut sock, _)) = accept.listener.accept() else {
            return false;
        };
        accept.refuse(&mut sock);
        let _ = sock.set_nonblocking(true);
        // What the client sent is read first: closing a socket with unread
        // input resets the connection, and the client may lose the `503`.
        let mut scratch = [0u8; 4096];
        let _ = sock.read(&mut scratch);
        drop(sock);
        self.take();
        true
    }
}

/// Reads the connection's requests and queues them for the workers.
fn serve(client: ClientConnection, messages: &MessagesQueue<Message>) {
    // Synchronization is needed for HTTPS requests to avoid a deadlock
    if client.secure() {
        let (sender, receiver) = mpsc::channel();
        for rq in client {
            messages.push(rq.with_notify_sender(sender.clone()).into());
            if receiver.recv().is_err() {
                break;
            }
        }
    } else {
        for rq in client {
            messages.push(rq.into());
        }
    }
}
