//! PostgreSQL: the store several instances share. The same contract as the
//! SQLite store (`store/contract.rs`, met in `backend.rs`), the same tables
//! and meanings:
//! - `schema.rs`: the tables, versioned in our `schema_version` table and
//!   upgraded at start (instances starting together take turns).
//! - `write.rs`: a flush is one transaction of two batched statements
//!   (counters, then per-day rows) over `unnest` of arrays, whatever the
//!   batch's size; never a round trip per hit.
//! - `read.rs`, `admin.rs`: reads (also of what other instances wrote
//!   since a mark), admin changes and their events.
//! - `copy.rs`: whole-database copies; `url.rs`, `tls.rs`: the URL, its
//!   password and TLS.
//!
//! Here: the connection (made again lazily after it broke, so a database
//! that went away and came back needs nothing from the caller), statements
//! prepared once per connection. A [`Pg`] has a connection of its own (the
//! flusher, admin commands, CGI) or borrows one from the server workers'
//! [`Pool`] for each call or read transaction (`pool.rs`). What only a
//! SQLite file needs (hit log, checkpoints) is left to the contract's
//! no-op defaults.
//!
//! Another instance's writes are noticed through `changes`, one row every
//! flush increments and stamps its rows with: [`Pg::data_version`] is its
//! value less this connection's own increments.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use postgres::{Client, Statement};

use super::{OpenError, Result};

mod admin;
mod backend;
#[cfg(test)]
pub(super) mod cluster;
mod copy;
mod pool;
mod read;
mod schema;
mod tls;
mod url;
mod write;

pub(crate) use pool::{Exhausted, Pool};
pub use url::Url;

/// A connection to a PostgreSQL database, made again when it broke.
pub(crate) struct Pg {
    url: Url,
    /// Where its connection comes from when it is a worker's: a pooled one
    /// is held for one call, or from `begin_read` to `end_read`.
    pool: Option<Arc<Pool>>,
    conn: RefCell<Option<Held>>,
    /// Between `begin_read` and `end_read`.
    reading: Cell<bool>,
    /// Increments of `changes` this handle committed (on whichever
    /// connection).
    own_changes: Cell<i64>,
}

/// The connection a [`Pg`] holds now.
enum Held {
    Own(Conn),
    Leased(pool::Lease),
}

impl Held {
    fn conn(&mut self) -> &mut Conn {
        match self {
            Held::Own(c) => c,
            Held::Leased(l) => l.conn(),
        }
    }
}

/// The live connection and the statements prepared on it (the hot ones:
/// a statement given as text costs a round trip of its own to prepare).
struct Conn {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

impl Conn {
    fn open(url: &Url) -> std::result::Result<Conn, postgres::Error> {
        Ok(Conn { client: url.config.connect(url.tls.clone())?, prepared: HashMap::new() })
    }
}

impl Pg {
    fn new(url: &Url, pool: Option<Arc<Pool>>) -> Pg {
        Pg { url: url.clone(), pool, conn: RefCell::new(None), reading: Cell::new(false), own_changes: Cell::new(0) }
    }

    /// Connects, without creating or upgrading anything (roles only matter
    /// to SQLite's settings).
    pub(crate) fn connect(url: &Url) -> Result<Pg> {
        let pg = Pg::new(url, None);
        pg.with(|_| Ok(()))?;
        Ok(pg)
    }

    /// A worker's handle on `pool` (a pool of connections to `url`): no
    /// connection until a call needs one.
    pub(crate) fn pooled(url: &Url, pool: Arc<Pool>) -> Pg {
        Pg::new(url, Some(pool))
    }

    /// A connection: a new one of its own, or one from the pool.
    fn open(&self) -> Result<Held> {
        match &self.pool {
            None => Ok(Held::Own(Conn::open(&self.url)?)),
            Some(pool) => match pool.take() {
                Ok(lease) => Ok(Held::Leased(lease)),
                Err(pool::TakeError::Connect(e)) => Err(e.into()),
                Err(pool::TakeError::Exhausted(e)) => Err(e.into()),
            },
        }
    }

    /// Runs `f` on the connection, connecting first if there is none; a
    /// connection that broke is dropped, for the next call to replace.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>) -> Result<T> {
        self.with_prepared(&[], |c, _| f(c))
    }

    /// [`Pg::with`], handing `f` the statements `sqls` prepared (once per
    /// connection).
    fn with_prepared<T>(
        &self,
        sqls: &[&'static str],
        f: impl FnOnce(&mut Client, &[Statement]) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut slot = self.conn.borrow_mut();
        if slot.as_mut().is_none_or(|h| h.conn().client.is_closed()) {
            *slot = None;
            *slot = Some(self.open()?);
        }
        let conn = slot.as_mut().expect("connected above").conn();
        let result = (|| {
            let mut statements = Vec::with_capacity(sqls.len());
            for sql in sqls {
                let statement = match conn.prepared.get(sql) {
                    Some(s) => s.clone(),
                    None => {
                        let s = conn.client.prepare(sql)?;
                        conn.prepared.insert(sql, s.clone());
                        s
                    }
                };
                statements.push(statement);
            }
            f(&mut conn.client, &statements)
        })();
        // A pooled connection goes back at once, unless a read
        // transaction goes on.
        if conn.client.is_closed() || (self.pool.is_some() && !self.reading.get()) {
            *slot = None;
        }
        Ok(result?)
    }

    /// See the module doc; the value only means "changed or not".
    pub fn data_version(&self) -> Result<i64> {
        Ok(self.change_mark()?.unwrap_or(0) - self.own_changes.get())
    }

    pub fn begin_read(&self) -> Result<()> {
        self.reading.set(true);
        let begun = self.with(|c| c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
        if begun.is_err() {
            self.end_reading();
        }
        begun
    }

    pub fn end_read(&self, ok: bool) -> Result<()> {
        let ended = self.with(|c| c.batch_execute(if ok { "COMMIT" } else { "ROLLBACK" }));
        self.end_reading();
        ended
    }

    /// Out of the read transaction: a pooled connection goes back.
    fn end_reading(&self) {
        self.reading.set(false);
        if self.pool.is_some() {
            *self.conn.borrow_mut() = None;
        }
    }
}

impl Pg {
    /// Connects and brings the schema up to date.
    /// `keys`: the key rule the upgrade that merges counters needs (without
    /// it the schema stops short of that version; see `schema.rs`).
    pub(crate) fn prepare(
        url: &Url,
        keys: Option<crate::store::original::KeyRule>,
    ) -> std::result::Result<(Pg, Vec<String>), String> {
        let pg = Pg::connect(url).map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let setup = |e: String| format!("cannot set up database {url}: {e}");
        schema::check(pg.with(schema::version).map_err(|e| setup(e.to_string()))?).map_err(setup)?;
        let notes = pg.with(|c| schema::migrate(c, keys)).map_err(|e| setup(e.to_string()))?;
        Ok((pg, notes))
    }

    /// Connects for reading; the schema must be there already.
    pub(crate) fn open_read_only(url: &Url) -> std::result::Result<Pg, OpenError> {
        let pg = Pg::connect(url).map_err(|e| OpenError::Other(format!("cannot connect to {url}: {e}")))?;
        match pg.with(schema::version) {
            Ok(0) => Err(OpenError::Missing),
            Ok(v) => match schema::check(v) {
                Ok(()) => Ok(pg),
                Err(e) => Err(OpenError::Other(format!("cannot read database {url}: {e}"))),
            },
            Err(e) => Err(OpenError::Other(format!("cannot read database {url}: {e}"))),
        }
    }
}

/// The client's error with its cause (the client's own text is only the
/// kind, such as "db error").
pub(super) fn describe(e: &postgres::Error, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match e.as_db_error() {
        Some(db) => write!(f, "{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => write!(f, "{e}: {cause}"),
            None => write!(f, "{e}"),
        },
    }
}
