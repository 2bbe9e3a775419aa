//! Every size limit the server enforces, in one place.
//!
//! tiny_http buffers request lines and headers in full and enforces no size
//! limit of its own, so these checks run on each parsed request before any
//! other work. Each limit has its own status code and is covered by tests.

/// Longest request target (path + query) accepted; longer gets 414.
pub const MAX_REQUEST_TARGET: usize = 8 * 1024;

/// Longest target URL (the `url` parameter after decoding, or the Referer)
/// accepted; longer gets 414. Browsers and proxies commonly cap URLs near 2 KiB.
pub const MAX_URL: usize = 2048;

/// Total size of all request header names and values; more gets 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

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
