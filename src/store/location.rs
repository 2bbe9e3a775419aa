//! Where the database is: a SQLite file, or (with the `postgres` feature)
//! a PostgreSQL server named by a `postgres://` URL. Parsed once from
//! `--db`, and the one thing the rest of the program needs to open a
//! [`Store`] over either backend: the backend is built here and handed to
//! the store.

use std::path::{Path, PathBuf};

use super::{original, OpenError, Result, Role, Store};

/// The database a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    File(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(Box<super::postgres::Url>),
}

/// Whether `text` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| text.len() >= scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme))
}

/// Only the scheme of a URL we do not take, which may hold a password.
fn redact_scheme(text: &str) -> String {
    text.split_once("://").map_or_else(String::new, |(scheme, _)| format!("{scheme}://..."))
}

impl Database {
    /// `text` as given to `--db` (a path, or a `postgres://` URL).
    /// `password_file`: `--db-password-file`, for a URL without a
    /// password (`PGPASSWORD` is read otherwise, as libpq does).
    pub fn parse(text: &str, password_file: Option<&str>) -> std::result::Result<Database, String> {
        if text.is_empty() {
            return Err("the database path must not be empty".into());
        }
        if !is_postgres_url(text) {
            if text.contains("://") {
                return Err(format!("--db takes a file path or a postgres:// URL, got {:?}", redact_scheme(text)));
            }
            if password_file.is_some() {
                return Err("--db-password-file is for a postgres:// database".into());
            }
            return Ok(Database::File(PathBuf::from(text)));
        }
        #[cfg(feature = "postgres")]
        {
            super::postgres::Url::parse(text, password_file).map(|url| Database::Postgres(Box::new(url)))
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = password_file;
            Err("this build has no PostgreSQL support; rebuild with: cargo build --release --features postgres".into())
        }
    }

    /// Whether the text it was parsed from held a password (a
    /// `postgres://` URL's `user:password@` or `password=`).
    pub fn password_in_url(&self) -> bool {
        match self {
            Database::File(_) => false,
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => url.password_in_url(),
        }
    }

    /// The SQLite file, if the database is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Database::File(p) => Some(p),
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => None,
        }
    }

    /// Opens the database read-write with the settings `role` needs,
    /// without creating or upgrading anything (see [`Database::prepare`]).
    pub fn open(&self, role: Role) -> Result<Store> {
        match self {
            Database::File(p) => Store::open(p, role),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => Ok(Store::new(super::postgres::Pg::connect(url)?)),
        }
    }

    /// The request workers' connections, `n` of them, with the settings
    /// of [`Role::Worker`]: a SQLite file's own each, opened now; over
    /// PostgreSQL, `n` handles sharing at most `pooled` connections,
    /// opened when first needed (see `postgres/pool.rs`).
    pub fn open_workers(&self, n: usize, pooled: usize) -> Result<Vec<Store>> {
        match self {
            Database::File(p) => {
                let _ = pooled;
                (0..n).map(|_| Store::open(p, Role::Worker)).collect()
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => {
                let pool = super::postgres::Pool::new((**url).clone(), pooled, crate::limits::DB_CONNECTION_WAIT);
                Ok((0..n).map(|_| Store::new(super::postgres::Pg::pooled(url, pool.clone()))).collect())
            }
        }
    }

    /// Makes the database ready: creates it (a file) or its tables, and
    /// upgrades the schema. `keys`: convert a file of the original service
    /// (refused without); `adopt`: add our tables to a file that holds
    /// another application's. Returns what it did, for the log.
    pub fn prepare(
        &self,
        role: Role,
        keys: Option<original::KeyRule>,
        adopt: bool,
    ) -> std::result::Result<(Store, Vec<String>), String> {
        match (self, keys) {
            (Database::File(p), Some(keys)) => Store::prepare_converting(p, role, keys, adopt),
            (Database::File(p), None) => Store::prepare(p, role),
            #[cfg(feature = "postgres")]
            (Database::Postgres(url), keys) => {
                super::postgres::Pg::prepare(url, keys).map(|(pg, notes)| (Store::new(pg), notes))
            }
        }
    }

    /// Opens the database for reading only: nothing is created or written.
    pub fn open_read_only(&self) -> std::result::Result<Store, OpenError> {
        match self {
            Database::File(p) => Store::open_read_only(p),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => super::postgres::Pg::open_read_only(url).map(Store::new),
        }
    }
}

/// The path, or the URL without its password: safe for logs.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(p) => p.display().fmt(f),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => url.fmt(f),
        }
    }
}

impl From<&str> for Database {
    /// A file path, as tests and defaults name one.
    fn from(path: &str) -> Database {
        Database::File(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_by_their_scheme() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url("./postgres.db"));
        assert!(!is_postgres_url("postgres:"));
        assert_eq!(Database::parse("x.db", None), Ok(Database::File("x.db".into())));
        assert!(Database::parse("", None).is_err());
        let e = Database::parse("mysql://u:secret@h/db", None).unwrap_err();
        assert!(e.contains("mysql://") && !e.contains("secret"), "{e}");
        assert!(Database::parse("x.db", Some("/pw")).unwrap_err().contains("postgres://"));
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn without_the_feature_a_url_is_a_clear_error() {
        let e = Database::parse("postgres://u@h/db", None).unwrap_err();
        assert!(e.contains("cargo build --release --features postgres"), "{e}");
    }
}
