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

/// Declared request body size accepted (no route reads a body); more gets 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Cookie header bytes inspected for the anti-refresh cookie.
pub const MAX_COOKIE_SCAN: usize = 8 * 1024;

/// Longest badge label, in characters; longer gets 400.
pub const MAX_LABEL_CHARS: usize = 64;

/// Most days a history or chart covers.
pub const MAX_DAYS: u32 = 366;

/// Visitors (address + User-Agent + counter, hashed) remembered for the day
/// for cookieless deduplication and unique visitors; past it the oldest are
/// dropped (a visitor dropped and seen again counts as new).
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
/// Clients remembered for those limits at most (~100 bytes each).
pub const MAX_CLIENTS: usize = 100_000;

/// Import refuses files with more rows than this (a typo guard, not a
/// capacity limit: 10 million rows import in well under a minute).
pub const MAX_IMPORT_ROWS: usize = 10_000_000;
/// Errors shown for an invalid import file before giving up listing them.
pub const MAX_REPORTED_ERRORS: usize = 10;

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

/// Most simultaneous connections by default (`--max-connections`); lower
/// when the open-file limit is: each connection holds two descriptors
/// (and a thread), and `FDS_RESERVED` stay for the database and the rest.
pub const MAX_CONNECTIONS: usize = 10_000;
pub const FDS_RESERVED: u64 = 64;

/// The default cap on connections under an open-file limit of `nofile`.
pub fn default_max_connections(nofile: u64) -> usize {
    let by_fds = nofile.saturating_sub(FDS_RESERVED) / 2;
    usize::try_from(by_fds).unwrap_or(usize::MAX).clamp(1, MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_open_file_limit() {
        assert_eq!(default_max_connections(65_536), 10_000);
        assert_eq!(default_max_connections(1024), 480);
        assert_eq!(default_max_connections(10), 1);
        assert_eq!(default_max_connections(u64::MAX), 10_000);
    }
}
