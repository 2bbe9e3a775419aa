//! The listening socket: binding (plain or TLS) with the limits clients
//! get (timeouts, head sizes, the connection cap sized from the open-file
//! limit), closing it at shutdown, and a watchdog that notices when
//! tiny_http stops accepting connections.
//!
//! The default cap leaves room for every other descriptor the process
//! holds (`limits::default_max_connections`), and hitcounter-http survives
//! running out anyway (it refuses clients and waits). A listener that stops
//! answering for another reason must not leave a process alive that
//! refuses everyone: the watchdog makes it exit so a supervisor restarts
//! it. Out of descriptors for its own probe, it says so once and waits: the
//! listener is not deaf then, the process is full.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::limits::{
    default_max_connections, MAX_BODY_BYTES, MAX_CONNECTIONS, READ_HEAD, READ_REQUEST_LINE, REFUSED_LINGERING,
};
use crate::logging::info;
use crate::settings::Connections;

/// A bound tiny_http server and the raw descriptor of its listening socket.
pub struct Bound {
    pub server: hitcounter_http::Server,
    pub addr: SocketAddr,
    fd: RawFd,
}

impl Bound {
    /// Stops accepting: `accept()` fails, tiny_http's accept loop ends, and
    /// new connections are refused while requests in flight finish.
    pub fn stop_accepting(&self) {
        // SAFETY: the descriptor belongs to the listener tiny_http owns for
        // as long as `server` lives; shutdown() does not close it.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(self.fd)
    }
}

/// Lets the signal thread stop the accept loop.
#[derive(Clone, Copy)]
pub struct Stopper(RawFd);

impl Stopper {
    pub fn stop_accepting(self) {
        // SAFETY: as in `Bound::stop_accepting`; the server outlives signals
        // only until exit, and shutdown() on a closed fd merely fails.
        unsafe {
            libc::shutdown(self.0, libc::SHUT_RDWR);
        }
    }
}

/// A bound listening socket, before tiny_http serves it.
pub struct Socket {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Socket {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds `addr` (before anything else starts, so that a taken port ends
/// the start at once).
pub fn open(addr: &str) -> Result<Socket, String> {
    let listener = TcpListener::bind(addr).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok(Socket { listener, addr })
}

/// Serves `socket` with `handler`, with TLS when `tls` names a certificate
/// chain and key, under the time limits and connection cap of `conns`
/// (by default from the open-file limit and the `databases` connections).
pub fn bind(
    socket: Socket,
    tls: Option<&(PathBuf, PathBuf)>,
    conns: &Connections,
    databases: usize,
    handler: hitcounter_http::Handler,
) -> Result<Bound, String> {
    let Socket { listener, addr: local } = socket;
    let fd = listener.as_raw_fd();
    set_nodelay(fd);
    let ssl = match tls {
        Some((cert, key)) => Some(ssl_config(cert, key)?),
        None => None,
    };
    let (cap, note) = connection_cap(conns.max, databases);
    let limits = hitcounter_http::Limits {
        timeouts: hitcounter_http::Timeouts {
            head: Some(conns.head_timeout),
            idle: Some(conns.idle_timeout),
            write: Some(conns.write_timeout),
        },
        max_request_line: Some(READ_REQUEST_LINE),
        max_head: Some(READ_HEAD),
        max_connections: Some(cap),
        refused_lingering: REFUSED_LINGERING,
        discard_body: Some(MAX_BODY_BYTES),
    };
    let server = from_listener(listener, ssl, limits, handler)?;
    if let Some(note) = note {
        info(&note);
    }
    Ok(Bound { server, addr: local, fd })
}

/// TCP_NODELAY on the listening socket, which Linux passes on to accepted
/// connections: a response leaves in one write, and nothing should hold it
/// back waiting for the client's ACK of an earlier one.
fn set_nodelay(fd: RawFd) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `on`.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        info("warning: could not set TCP_NODELAY");
    }
}

/// Reads the certificate chain and key files (PEM).
pub fn ssl_config(cert: &Path, key: &Path) -> Result<hitcounter_http::SslConfig, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    Ok(hitcounter_http::SslConfig { certificate: read(cert)?, private_key: read(key)? })
}

fn from_listener(
    listener: TcpListener,
    ssl: Option<hitcounter_http::SslConfig>,
    limits: hitcounter_http::Limits,
    handler: hitcounter_http::Handler,
) -> Result<hitcounter_http::Server, String> {
    if cfg!(not(feature = "tls")) && ssl.is_some() {
        return Err("this build has no TLS support (built with --no-default-features)".into());
    }
    hitcounter_http::Server::from_listener_with_handler(listener, ssl, limits, handler).map_err(|e| e.to_string())
}

/// The cap on open connections: `--max-connections`, else what the
/// open-file limit leaves; with a line for the log when the limit is what
/// holds the cap down, or when the given cap needs more descriptors than
/// there are (clients past them are refused while descriptors are short).
fn connection_cap(given: Option<usize>, databases: usize) -> (usize, Option<String>) {
    let nofile = fd_limit();
    let fits = default_max_connections(nofile, databases);
    let note = match given {
        Some(max) if max > fits => Some(format!(
            "warning: --max-connections {max} needs more descriptors than the open-file limit ({nofile}) \
             leaves room for ({fits} connections); raise it (e.g. LimitNOFILE=65536)"
        )),
        None if fits < MAX_CONNECTIONS => Some(format!(
            "the open-file limit ({nofile}) leaves room for {fits} connections at once \
             (raise it, e.g. LimitNOFILE=65536, for up to {MAX_CONNECTIONS})"
        )),
        _ => None,
    };
    (given.unwrap_or(fits), note)
}

/// The soft open-file limit (after `raise_fd_limit`).
fn fd_limit() -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    }
}

/// Each open connection costs tiny_http a thread and two descriptors; the
/// default cap on connections follows the (raised) soft limit.
pub fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                info("warning: could not raise the open-file limit");
            }
        }
    }
}

/// How often the watchdog probes, and how many failures in a row mean deaf.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
const PROBE_FAILURES: u32 = 3;

/// Why a probe failed.
enum Failure {
    /// The watchdog could not make a socket (EMFILE, ENFILE): the process
    /// or the system is out of descriptors, which says nothing about the
    /// listener.
    NoDescriptor(std::io::Error),
    /// No connection or no answer.
    Deaf(String),
}

/// Probes the listener until `shutdown`; returns the reason once it has
/// stopped answering. The probe is a malformed request line, which
/// tiny_http's connection thread answers with 400 on its own: it proves that
/// connections are accepted and served, without reaching the workers or
/// the request log. (Over TLS the handshake fails and the server closes the
/// connection, which proves the same; past the cap the `503` does.)
pub fn watch(addr: SocketAddr, shutdown: &AtomicBool) -> Option<String> {
    let target = match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => SocketAddr::from(([127, 0, 0, 1], a.port())),
        SocketAddr::V6(a) if a.ip().is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
        other => other,
    };
    let mut failures = 0;
    let mut short_of_descriptors = false;
    loop {
        let mut slept = Duration::ZERO;
        while slept < PROBE_EVERY {
            if shutdown.load(Ordering::SeqCst) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
            slept += Duration::from_millis(50);
        }
        match probe(target) {
            Ok(()) => {
                failures = 0;
                short_of_descriptors = false;
            }
            Err(_) if shutdown.load(Ordering::SeqCst) => return None,
            Err(Failure::NoDescriptor(e)) => {
                if !std::mem::replace(&mut short_of_descriptors, true) {
                    info(&format!(
                        "warning: out of descriptors ({e}): new clients are refused until connections close; \
                         raise the open-file limit (e.g. LimitNOFILE=65536) or lower --max-connections"
                    ));
                }
            }
            Err(Failure::Deaf(e)) => {
                failures += 1;
                if failures >= PROBE_FAILURES {
                    return Some(e);
                }
            }
        }
    }
}

fn probe(target: SocketAddr) -> Result<(), Failure> {
    let mut s = TcpStream::connect_timeout(&target, PROBE_TIMEOUT).map_err(|e| {
        if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
            Failure::NoDescriptor(e)
        } else {
            Failure::Deaf(format!("connect: {e}"))
        }
    })?;
    let deaf = |e: std::io::Error| Failure::Deaf(e.to_string());
    s.set_read_timeout(Some(PROBE_TIMEOUT)).map_err(deaf)?;
    s.set_write_timeout(Some(PROBE_TIMEOUT)).map_err(deaf)?;
    s.write_all(b"PROBE\r\n\r\n").map_err(|e| Failure::Deaf(format!("write: {e}")))?;
    let mut byte = [0u8; 1];
    match s.read(&mut byte) {
        // Any answer, or a close, shows a live connection thread.
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => Ok(()),
        Err(e) => Err(Failure::Deaf(format!("no answer within {}s ({e})", PROBE_TIMEOUT.as_secs()))),
    }
}
