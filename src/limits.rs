//! Every limit the server enforces, in one place: sizes, time limits and
//! counts.
//!
//! Request sizes are checked twice. While reading, hitcounter-http stops at
//! the hard caps (`READ_*`) and refuses the request (`414`/`431`, the
//! connection closed), so no client makes the server buffer more. Within
//! them, each parsed request is checked against the limits below before
//! any other work, and refused with the usual headers and a reason. Each
//! limit has its own status code and is covered by tests.

use std::time::Duration;

/// Longest request target (path + query) accepted; longer gets 414.
pub const MAX_REQUEST_TARGET: usize = 8 * 1024;

/// Longest target URL (the `url` parameter after decoding, or the Referer)
/// accepted; longer gets 414. Browsers and proxies commonly cap URLs near 2 KiB.
pub const MAX_URL: usize = 2048;

/// Total size of all request header names and values; more gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// A request line longer than this is not read further: `414`, closed.
pub const READ_REQUEST_LINE: usize = 2 * MAX_REQUEST_TARGET;

/// A request head (request line and headers) larger than this is not read
/// further: `431`, closed.
pub const READ_HEAD: usize = READ_REQUEST_LINE + 2 * MAX_HEADER_BYTES;

/// Request body size accepted (no route reads a body): a larger declared
/// one gets 413. A body up to this on GET, HEAD or OPTIONS is read and
/// dropped, so that a request pipelined after it is answered; past it the
/// answer carries `Connection: close` and the rest is not read.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Cookie header bytes inspected for the anti-refresh cookie.
pub const MAX_COOKIE_SCAN: usize = 8 * 1024;

/// Longest badge label, in characters; longer gets 400.
pub const MAX_LABEL_CHARS: usize = 64;

/// Largest custom logo (`logo=data:...`), in bytes after base64 decoding;
/// larger gets 400 `logo too big`. A 14 px icon needs far less.
pub const MAX_LOGO_BYTES: usize = 4 * 1024;

/// Widest `logoWidth`, in pixels; wider gets 400 `bad logoWidth`.
pub const MAX_LOGO_WIDTH: u32 = 100;

/// Largest `NAME.svg` file `--logo-dir` reads (simple-icons' largest is
/// under a third of this); a larger one stops the start.
pub const MAX_LOGO_FILE_BYTES: usize = 64 * 1024;

/// Most `.svg` files `--logo-dir` reads (all of simple-icons fits).
pub const MAX_LOGO_FILES: usize = 10_000;

/// Most days a history or chart covers.
pub const MAX_DAYS: u32 = 366;

/// Visitors (address + User-Agent + counter, hashed) remembered for the day
/// for cookieless deduplication and unique visitors, 8 bytes each; past it
/// the least recently counted are dropped (a visitor dropped and seen again
/// counts as new).
pub const MAX_VISITORS: usize = 1_000_000;

/// User-Agents whose bot verdict is cached (by hash); past this the cache
/// starts over, so the pattern list runs once per distinct agent.
pub const BOT_CACHE_AGENTS: usize = 4096;

/// A new connection must complete its TLS handshake and send its first
/// request head within this; a later request, its head within this of its
/// first byte (`--head-timeout`). Then the connection is closed.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A keep-alive connection with no new request for this long is closed
/// (`--idle-timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A response write that makes no progress for this long is abandoned and
/// the connection closed (`--write-timeout`).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-client limits (`--rate-limit`, `--new-counters-per-hour`) and the
/// global cap on counters (`--max-counters`); 0 turns each off. A person
/// loads a page's badges at a few a second and creates a counter per new
/// page; GitHub's image proxy fetches every README badge for all viewers
/// from a handful of addresses, which stays far below these for all but
/// the most viewed repositories.
pub const RATE_LIMIT: u32 = 100;
pub const NEW_COUNTERS_PER_HOUR: u32 = 1_000;
pub const MAX_COUNTERS: u64 = 10_000_000;
/// Clients remembered for `--new-counters-per-hour` at most; past it new
/// clients share one budget. An entry is a 16-byte address and 8 bytes of
/// counts; docs/operations.md has the memory it takes.
pub const MAX_CLIENTS: usize = 100_000;
/// IPv6 addresses sharing their first 64 bits are one client for the
/// limits (`--ipv6-prefix`): a /64 is what one host or home network gets.
pub const IPV6_PREFIX: u8 = 64;

/// Import refuses files with more rows than this (a typo guard, not a
/// capacity limit: 10 million rows import in well under a minute).
pub const MAX_IMPORT_ROWS: usize = 10_000_000;
/// Errors shown for an invalid import file before giving up listing them.
pub const MAX_REPORTED_ERRORS: usize = 10;

/// `restore` refuses a backup larger than this before any work: an SQLite
/// file (ours or the original's), or the original's SQL dump, whose rows
/// are converted in memory. Far above what a hit counter's data takes
/// (the dump of ten million counters is under 1 GiB).
pub const MAX_RESTORE_BYTES: u64 = 16 << 30;
pub const MAX_DUMP_BYTES: u64 = 2 << 30;

/// Longest statement read from the original's SQL dump: one row, whose
/// URL may be longer than [`MAX_URL`] (such a row is dropped and
/// reported), but never a statement that would fill memory.
pub const MAX_DUMP_STATEMENT: usize = 64 * 1024;

/// Free space below the smaller of these (bytes, and percent of the
/// filesystem) is "low": `/healthz` answers 503 before writes fail.
pub const LOW_DISK_BYTES: u64 = 64 << 20;
pub const LOW_DISK_PERCENT: u64 = 5;

/// The reserve file next to the database, given up when the disk fills so
/// that the hits held in memory can still be written: this many bytes, or
/// this percent of a smaller filesystem.
pub const RESERVE_BYTES: u64 = 8 << 20;
pub const RESERVE_PERCENT: u64 = 5;

/// The WAL is checkpointed and truncated after a write that leaves it
/// larger than this (or than half the free space), and cut back to it
/// whenever SQLite resets it.
pub const WAL_CHECKPOINT_BYTES: u64 = 32 << 20;

/// Most counters one write takes that the table of stored counters has no
/// row id for (new URLs, mostly): each costs a lookup, and a new one an
/// insert, at a random page of the key index, most of a write's time. The
/// rest wait for the next write, which follows at once: under a flood of
/// new URLs each write stays near one flush interval, and the hits it
/// carries stay few (they count in `pending_hits` until committed).
pub const FLUSH_NEW_COUNTERS: usize = 1_000;

/// Most simultaneous connections by default (`--max-connections`); lower
/// when the open-file limit is: see `default_max_connections`.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Descriptors an open connection holds: its socket and tiny_http's clone
/// of it for writing.
pub const FDS_PER_CONNECTION: u64 = 2;
/// Connections refused past the cap kept open at once, one descriptor
/// each, for up to a second after their `503` so that the client reads it.
pub const REFUSED_LINGERING: usize = 64;
/// Descriptors of one database connection: the database file, its WAL
/// and its index, and a temporary file SQLite may open for a large sort.
/// Over PostgreSQL each is one socket.
pub const FDS_PER_DATABASE: u64 = 4;
/// SQLite connections besides the workers' (one each): the flusher's and
/// the backup's.
pub const DATABASES_BESIDES_WORKERS: usize = 2;
/// PostgreSQL connections an instance holds at most (`--db-connections`):
/// the flusher's, and the rest a pool the request workers share, opened
/// when needed. Twenty instances fit a default PostgreSQL
/// (`max_connections = 100`). At least two: one for each side.
pub const DB_CONNECTIONS: usize = 4;
pub const MIN_DB_CONNECTIONS: usize = 2;
/// A request waits this long at most for a pooled PostgreSQL connection,
/// then gets `503` (with `Retry-After`) instead of hanging.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub const DB_CONNECTION_WAIT: Duration = Duration::from_secs(2);
/// Everything else the process may hold at once, with room to spare:
/// standard streams, the listener, the signal pipe, the database's lock
/// file, the watchdog's probe, the accept loop's spare descriptor, the
/// request log, a backup in progress (its snapshot file and S3 socket), a
/// certificate being reloaded, a DNS lookup.
pub const FDS_BASE: u64 = 32;

/// Descriptors set aside for everything but open connections, with
/// `databases` database connections in all (see
/// `ServeConfig::database_connections`).
pub fn fds_reserved(databases: usize) -> u64 {
    let databases = u64::try_from(databases).unwrap_or(u64::MAX);
    (FDS_BASE + REFUSED_LINGERING as u64).saturating_add(databases.saturating_mul(FDS_PER_DATABASE))
}

/// The default cap on connections under an open-file limit of `nofile`:
/// what `fds_reserved` leaves, `FDS_PER_CONNECTION` each, at least 1 and
/// at most `MAX_CONNECTIONS`. The process then never runs out of
/// descriptors by serving clients.
pub fn default_max_connections(nofile: u64, databases: usize) -> usize {
    let by_fds = nofile.saturating_sub(fds_reserved(databases)) / FDS_PER_CONNECTION;
    usize::try_from(by_fds).unwrap_or(usize::MAX).clamp(1, MAX_CONNECTIONS)
}

/// The static build's arena for a process that answers one request (CGI):
/// what the request allocates comes from here and is never freed, and
/// anything past it from the system allocator as usual.
#[cfg(any(target_env = "musl", test))]
pub const ONE_REQUEST_ARENA_BYTES: usize = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_open_file_limit() {
        // 16 workers on SQLite: 32 + 64 lingering + 18 databases x 4 = 168
        // set aside.
        assert_eq!(fds_reserved(16 + DATABASES_BESIDES_WORKERS), 168);
        assert_eq!(default_max_connections(1024, 18), 428);
        assert_eq!(default_max_connections(256, 18), 44);
        assert_eq!(default_max_connections(65_536, 18), 10_000);
        assert_eq!(default_max_connections(1024, 3), 458);
        // PostgreSQL's default: 4 connections, 32 + 64 + 16.
        assert_eq!(fds_reserved(DB_CONNECTIONS), 112);
        assert_eq!(default_max_connections(1024, DB_CONNECTIONS), 456);
        assert_eq!(default_max_connections(100, 18), 1, "never below one");
        assert_eq!(default_max_connections(u64::MAX, usize::MAX), 1);
        assert_eq!(default_max_connections(u64::MAX, 18), 10_000);
    }

    #[test]
    fn the_cap_and_the_reserve_fit_the_open_file_limit() {
        for nofile in [256, 1024, 4096, 20_000] {
            for databases in [2, 4, 18, 66] {
                let conns = default_max_connections(nofile, databases) as u64;
                if conns > 1 {
                    assert!(conns * FDS_PER_CONNECTION + fds_reserved(databases) <= nofile, "{nofile} {databases}");
                }
            }
        }
    }
}
