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

use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
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
const LINGER: Duration = Duration::from_secs(1);
/// At most this many refused connections linger at once.
const LINGERING: usize = 64;

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
                // Out of descriptors or memory, a connection reset before it
                // was accepted, a signal: wait a little and go on.
                Err(e) => {
                    log::warn!("Error accepting new client: {}", e);
                    if e.kind() != ErrorKind::Interrupted
                        && e.kind() != ErrorKind::ConnectionAborted
                    {
                        thread::sleep(Duration::from_millis(10));
                    }
                    continue;
                }
            };
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
                if self.ssl.is_none() {
                    refuse(&mut sock);
                }
                let _ = sock.shutdown(Shutdown::Write);
                if lingering.len() >= LINGERING {
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

    /// Wraps a new socket (TLS when configured), its deadline running.
    /// `None`: it could not be set up (out of descriptors); it is closed.
    fn client(&self, sock: Connection) -> Option<ClientConnection> {
        let _ = sock.set_write_timeout(self.limits.timeouts.write);
        let deadline = Arc::new(Deadline::default());
        deadline.set_in(self.limits.timeouts.head);
        let streams = match self.ssl {
            None => RefinedTcpStream::new(sock, Some(deadline.clone())),
            #[cfg(feature = "ssl-rustls")]
            Some(ref ssl) => {
                // trying to apply SSL over the connection
                // if an error occurs, we just close the socket and resume listening
                let sock = ssl.accept(sock, deadline.clone()).ok()?;
                RefinedTcpStream::new(sock, None)
            }
            #[cfg(not(feature = "ssl-rustls"))]
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
