//! What a failed database operation is, whichever backend failed, and the
//! failures the flusher handles apart (a full disk, a file that became
//! read-only). The driver's error stays inside: callers ask questions.

use super::sqlite;

/// A failed database operation, from either backend.
#[derive(Debug)]
pub struct Error(Cause);

#[derive(Debug)]
enum Cause {
    Sqlite(rusqlite::Error),
    #[cfg(feature = "postgres")]
    Postgres(::postgres::Error),
    /// Every connection of the workers' pool stayed in use.
    #[cfg(feature = "postgres")]
    Exhausted(super::postgres::Exhausted),
}

impl Error {
    /// The disk (or a file size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(&self.0, Cause::Sqlite(e) if sqlite::disk_full(e))
    }

    /// The database file cannot be written (a read-only remount): the
    /// connection may work again once reopened.
    pub fn is_read_only(&self) -> bool {
        matches!(&self.0, Cause::Sqlite(e) if sqlite::read_only(e))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Cause::Sqlite(e) => e.fmt(f),
            #[cfg(feature = "postgres")]
            Cause::Postgres(e) => super::postgres::describe(e, f),
            #[cfg(feature = "postgres")]
            Cause::Exhausted(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error(Cause::Sqlite(e))
    }
}

#[cfg(feature = "postgres")]
impl From<::postgres::Error> for Error {
    fn from(e: ::postgres::Error) -> Error {
        Error(Cause::Postgres(e))
    }
}

#[cfg(feature = "postgres")]
impl From<super::postgres::Exhausted> for Error {
    fn from(e: super::postgres::Exhausted) -> Error {
        Error(Cause::Exhausted(e))
    }
}

pub type Result<T> = std::result::Result<T, Error>;
