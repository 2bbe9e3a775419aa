//! Runs the HTTP server: requests answered on tiny_http's connection
//! threads with a lent database connection (`workers.rs`), the flusher,
//! the listener watchdog, signal handling, and an orderly shutdown: stop
//! accepting, answer what is in flight, store every counted hit, exit 0.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::backup::periodic::{self, Backups, Periodic};
use crate::backup::{self, Objects, Source};
use crate::counter::flusher::{Flusher, Reopen};
use crate::counter::Counter;
use crate::http::{request, response, Resp};
use crate::logging::{self, info};
use crate::metrics::Metrics;
use crate::routes::{self, Ctx};
use crate::settings::ServeConfig;
use crate::store::{self, Role, Store};
use crate::target;

pub mod cgi;
mod listener;
mod workers;

use listener::Stopper;
use workers::Workers;

/// Clean entries kept as a read cache while the table of every stored
/// counter loads (or when it is off); afterwards only a few hot ones. A
/// site's busy pages are far fewer; more would only hold memory.
const CACHE_ENTRIES: usize = 16_384;
/// At shutdown, requests keep being answered until none is in flight, for
/// at most this long (clients on keep-alive connections may send more).
const DRAIN_LIMIT: Duration = Duration::from_secs(3);

/// Set by signals or by a fatal listener failure.
#[derive(Default)]
struct Stop {
    shutdown: AtomicBool,
    fatal: AtomicBool,
}

/// Serves until the shutdown; the process's exit code. Why the server
/// could not start, or stop with every counted hit stored, is logged as
/// one `error:` line.
pub fn serve(cfg: ServeConfig) -> i32 {
    cfg.warnings.iter().for_each(|w| info(w));
    listener::raise_fd_limit();
    crate::allocator::limit_arenas();
    crate::store::configure_library(false);
    run(&cfg).unwrap_or_else(|e| {
        info(&format!("error: {e}"));
        1
    })
}

/// Opens the database, the backups and the listener, serves, and shuts
/// down in order; the exit code.
fn run(cfg: &ServeConfig) -> Result<i32, String> {
    // The command line allows backups with a database file only.
    let file = cfg.db.file().map(Path::to_path_buf);
    let backups = backups(cfg, file.as_deref())?;
    let store = open_store(cfg, file.as_deref())?;
    // Said once the database is open, so a start that fails says one line.
    if let Backups::Off(why) = &cfg.backup {
        info(&format!("backups: none ({why})"));
    }
    // Held until exit: `hitcounter restore` refuses to swap the file under us.
    let _in_use = file.as_deref().map(store::mark_in_use);
    let last_event = store.last_event().map_err(|e| format!("cannot read database {}: {e}", cfg.db))?;
    // Every SQLite connection is opened before the listener: a worker that
    // opened its own later could find the descriptors all taken by
    // clients. PostgreSQL's pool opens its few when needed, within the
    // descriptors `database_connections` sets aside.
    let cannot_open = |e: store::Error| format!("cannot open database {}: {e}", cfg.db);
    let pooled = cfg.database_connections().saturating_sub(1);
    let stores = cfg.db.open_workers(cfg.workers, pooled).map_err(cannot_open)?;
    let backup_store = backups.as_ref().map(|_| cfg.db.open(Role::Admin)).transpose().map_err(cannot_open)?;
    let cannot_listen = |e: String| format!("cannot listen on {}: {e}", cfg.listen);
    let socket = listener::open(&cfg.listen).map_err(cannot_listen)?;
    let counter = Arc::new(Counter::new(cfg.max_pending, CACHE_ENTRIES, cfg.flush_interval_ms == 0));
    let metrics = Arc::new(Metrics::new(routes::paths()));
    let ctx = Arc::new(Ctx::new(cfg.clone(), counter.clone(), metrics.clone(), socket.addr().to_string()));
    ctx.counters.store(store.counter_rows().unwrap_or(0), Ordering::Relaxed);
    let generation = Arc::new(AtomicU64::new(0));
    let workers = Arc::new(Workers::new(stores, cfg.db.clone(), generation.clone()));
    let handler: hitcounter_http::Handler = {
        let (ctx, workers) = (ctx.clone(), workers.clone());
        Arc::new(move |rq| answer(rq, &ctx, &workers))
    };
    let bound = listener::bind(socket, cfg.tls.as_ref(), &cfg.connections, cfg.database_connections(), handler)
        .map_err(cannot_listen)?;
    let stop = Arc::new(Stop::default());
    // Handlers go in before the startup line: whoever waits for that line
    // may send SIGTERM at once, and it must get an orderly shutdown.
    let reload = bound.server.ssl_reloader().zip(cfg.tls.clone());
    watch_signals(stop.clone(), bound.stopper(), reload, counter.clone());
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    info(&format!("hitcounter listening on {scheme}://{} (database: {})", bound.addr, cfg.db));
    let watchdog = spawn_watchdog(&bound, &stop);
    let flusher = {
        let reopen = reopen(cfg, generation);
        let flusher =
            Flusher::new(counter, metrics.clone(), store, last_event, cfg.flush_period(), cfg.timezone, reopen);
        let stop = stop.clone();
        thread::Builder::new().name("flusher".into()).spawn(move || flusher.run(&stop.shutdown)).expect("spawn flusher")
    };
    let periodic = backups.zip(backup_store).zip(file).map(|(((b, objects), store), file)| {
        let periodic = Periodic::new(b, objects, store, file, metrics.clone());
        let stop = stop.clone();
        thread::Builder::new().name("backup".into()).spawn(move || periodic.run(&stop.shutdown)).expect("spawn backup")
    });
    supervise(&bound, &stop);
    shut_down(bound, &workers, &stop, watchdog, flusher, periodic)
}

/// Backups' settings and their storage.
type Backup = (periodic::Config, Box<dyn Objects>);

/// The backup settings and storage when backups are on (restoring a
/// missing database first, see `start_backups`).
fn backups(cfg: &ServeConfig, file: Option<&Path>) -> Result<Option<Backup>, String> {
    match (&cfg.backup, file) {
        (Backups::On(b), Some(file)) => Ok(Some((b.clone(), start_backups(b, file)?))),
        (Backups::Off(_), _) | (Backups::On(_), None) => Ok(None),
    }
}

/// The flusher's connection, with the database created or migrated.
fn open_store(cfg: &ServeConfig, file: Option<&Path>) -> Result<Store, String> {
    let prepare = || cfg.db.prepare(Role::Flusher, Some(target::original_key), cfg.adopt);
    let (store, notes) = prepare().or_else(|e| {
        // On a full disk SQLite cannot even make its index of the WAL: the
        // reserve a previous run left is for exactly this.
        let Some(file) = file else { return Err(e) };
        let reserve = store::disk::Reserve::new(file, 0);
        if !reserve.release() {
            return Err(e);
        }
        info(&format!(
            "opening the database failed ({e}); released the reserve {} and retrying",
            reserve.path().display()
        ));
        prepare()
    })?;
    for note in notes {
        info(&note);
    }
    Ok(store)
}

/// How the flusher opens its connection again after losing it.
fn reopen(cfg: &ServeConfig, generation: Arc<AtomicU64>) -> Reopen {
    let (db, adopt) = (cfg.db.clone(), cfg.adopt);
    let open = move || db.prepare(Role::Flusher, Some(target::original_key), adopt).map(|(store, _)| store);
    Reopen { db: cfg.db.clone(), open: Box::new(open), generation }
}

/// The thread that ends the server when the listener stops answering.
fn spawn_watchdog(bound: &listener::Bound, stop: &Arc<Stop>) -> JoinHandle<()> {
    let (stop, addr, stopper) = (stop.clone(), bound.addr, bound.stopper());
    thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            if let Some(why) = listener::watch(addr, &stop.shutdown) {
                fail(&stop, stopper, &format!("the listener stopped answering ({why})"));
            }
        })
        .expect("spawn watchdog")
}

/// After the signal: answers what is in flight, stops accepting, and waits
/// for the flusher to store every counted hit; the exit code.
fn shut_down(
    bound: listener::Bound,
    workers: &Workers,
    stop: &Stop,
    watchdog: JoinHandle<()>,
    flusher: JoinHandle<Flusher>,
    periodic: Option<JoinHandle<Periodic>>,
) -> Result<i32, String> {
    if !workers.close(DRAIN_LIMIT) {
        info(&format!(
            "requests kept coming for {} s after the signal; later ones on open connections are not answered",
            DRAIN_LIMIT.as_secs()
        ));
    }
    bound.stop_accepting();
    drop(bound);
    let _ = watchdog.join();
    let flusher = flusher.join().map_err(|_| "the flusher failed; pending hits could not be written")?;
    let stored = flusher.finish();
    if let Some(Ok(periodic)) = periodic.map(|t| t.join()) {
        periodic.at_exit();
    }
    if stop.fatal.load(Ordering::SeqCst) || !stored {
        return Ok(1);
    }
    info("stopped cleanly; every counted hit is stored");
    Ok(0)
}

/// Opens the backup storage and, when the database is missing, restores
/// the latest backup into it before anything else touches the file. No
/// backup there: an empty start, said in the log. A failed restore (bad
/// credentials, a corrupt object) stops the server: starting empty would
/// hide the owner's counts, and the next backup would overwrite `latest`.
fn start_backups(b: &periodic::Config, db: &Path) -> Result<Box<dyn Objects>, String> {
    info(&format!("backups: every {}s to {}", b.interval.as_secs(), b.to));
    let objects =
        backup::objects(&b.to, &|k| std::env::var(k).ok()).map_err(|e| format!("backups to {}: {e}", b.to))?;
    if db.exists() {
        return Ok(objects);
    }
    match backup::restore(Source::Objects(objects.as_ref(), None), db, false, target::original_key, &|_| {}) {
        Ok(Some(r)) => {
            for line in r.converted {
                info(&line);
            }
            info(&format!("restored {} counters from {} into {}", r.counters, b.to.object(&r.from), db.display()));
        }
        Ok(None) => info(&format!("no backup in {} yet; starting with an empty database", b.to)),
        Err(e) => return Err(format!("restoring {} from {} failed: {e}", db.display(), b.to)),
    }
    Ok(objects)
}

/// Logs a fatal listener failure and starts the shutdown (exit code 1).
fn fail(stop: &Stop, stopper: Stopper, why: &str) {
    if stop.shutdown.load(Ordering::SeqCst) {
        return;
    }
    info(&format!(
        "error: {why}; exiting so that a supervisor can restart hitcounter (raise the open-file limit, e.g. LimitNOFILE=65536)"
    ));
    stop.fatal.store(true, Ordering::SeqCst);
    stop.shutdown.store(true, Ordering::SeqCst);
    stopper.stop_accepting();
}

/// Waits for the shutdown, watching that tiny_http keeps accepting: with
/// a handler its queue only ever reports the end of the accept loop.
fn supervise(bound: &listener::Bound, stop: &Stop) {
    while !stop.shutdown.load(Ordering::SeqCst) {
        match bound.server.recv_timeout(Duration::from_millis(50)) {
            Ok(_) => {}
            // tiny_http reports the end of its accept loop once; after our
            // own stop_accepting() that is expected.
            Err(e) => fail(stop, bound.stopper(), &format!("the listener stopped accepting connections ({e})")),
        }
    }
}

/// Answers one request on its connection's thread. The database
/// connection is lent only while the answer is made, not while a slow
/// client takes it; the hit is in the counter by then. A request read
/// after the shutdown's last answer is left unanswered (its client sees
/// the connection close when the process exits, as with any server that
/// stops), never answered with a count that might not be stored.
fn answer(rq: hitcounter_http::Request, ctx: &Ctx, workers: &Workers) {
    let start = Instant::now();
    let req = request::parse(&rq);
    let Some(mut worker) = workers.enter() else {
        drop(rq.into_writer());
        return;
    };
    let resp = catch_unwind(AssertUnwindSafe(|| routes::handle(&req, ctx, worker.store()))).unwrap_or_else(|_| {
        info(&format!("error: handler panicked on {} {}", req.method.as_str(), req.path));
        routes::internal_error(&req, ctx)
    });
    drop(worker);
    let status = resp.status;
    let _ = rq.respond(to_tiny(resp));
    ctx.metrics.request(routes::lookup(&req.path).map(|(i, _)| i), status);
    if !ctx.cfg.quiet {
        logging::request(req.method.as_str(), &req.path, status, start.elapsed());
    }
}

fn to_tiny(resp: Resp) -> hitcounter_http::Response<Cursor<Vec<u8>>> {
    let mut r = hitcounter_http::Response::from_data(resp.body).with_status_code(resp.status);
    let content_type = hitcounter_http::Header::from_bytes("Content-Type", resp.content_type);
    for header in std::iter::once(content_type)
        .chain(response::sendable(&resp.headers).map(|(k, v)| hitcounter_http::Header::from_bytes(k, v.as_bytes())))
        .flatten()
    {
        r.add_header(header);
    }
    r
}

/// SIGTERM/SIGINT start the orderly shutdown, and a second one ends the
/// process at once (saying how many counted hits were not stored); SIGHUP
/// reloads the TLS certificate and key from their files (after a renewal),
/// keeping the old pair when the new one cannot be used.
fn watch_signals(
    stop: Arc<Stop>,
    stopper: Stopper,
    tls: Option<(hitcounter_http::SslReloader, (PathBuf, PathBuf))>,
    counter: Arc<Counter>,
) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            info(&format!("warning: cannot watch signals: {e}"));
            return;
        }
    };
    thread::spawn(move || {
        for sig in signals.forever() {
            if sig == SIGHUP {
                reload_tls(tls.as_ref());
                continue;
            }
            if stop.shutdown.swap(true, Ordering::SeqCst) {
                info(&format!(
                    "received signal {sig} again; exiting now: {} counted hits were not stored",
                    counter.pending_hits()
                ));
                std::process::exit(1);
            }
            info(&format!("received signal {sig}; finishing requests in flight and storing pending hits"));
            stopper.stop_accepting();
        }
    });
}

fn reload_tls(tls: Option<&(hitcounter_http::SslReloader, (PathBuf, PathBuf))>) {
    let Some((reloader, (cert, key))) = tls else {
        info("received SIGHUP; no TLS certificate to reload (without --tls-cert)");
        return;
    };
    match listener::ssl_config(cert, key).and_then(|c| reloader.reload(&c).map_err(|e| e.to_string())) {
        Ok(()) => info(&format!("reloaded the TLS certificate from {}", cert.display())),
        Err(e) => info(&format!("error: cannot reload the TLS certificate ({e}); still serving the previous one")),
    }
}
