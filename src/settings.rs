//! The settings of a server (or one CGI request) once the command line,
//! the environment and the config file have been read (`cli` builds them).
//! Plain data made of the types of the steps it configures (the store's
//! location, the counting policy, the site lists), so it sits above `store`
//! and `decide` and below `routes`, `serve` and `cli`: those read it, none
//! of them parses.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    pub listen: String,
    pub db: crate::store::Database,
    /// Add our tables to a database that holds another application's.
    pub adopt: bool,
    /// Which sites may count (`--allow`, `--deny`).
    pub sites: crate::decide::sites::Sites,
    /// Sites left out of the top table (`--top-ignore`).
    pub top_ignore: crate::decide::sites::Sites,
    /// Named logos beyond the bundled ones (`--logo-dir`).
    pub logos: crate::render::logo::Logos,
    /// `--metrics-per-page N`: per-counter series for the N biggest.
    pub metrics_per_page: u64,
    /// `--private`: the private views need `stats_token`.
    pub private: bool,
    pub stats_token: Option<Token>,
    /// Limits per client and on the number of counters.
    pub clients: ClientLimits,
    /// Who counts: bots, deduplication, the window.
    pub policy: crate::decide::Policy,
    pub public_url: Option<String>,
    pub enable_ssl: bool,
    pub flush_interval_ms: u64,
    pub max_pending: usize,
    pub workers: usize,
    /// PostgreSQL connections at most (`--db-connections`).
    pub db_connections: usize,
    pub top_domains: usize,
    /// Rows of the top-pages table (`NUM_TOP_URLS`).
    pub top_urls: usize,
    pub timezone: crate::clock::Zone,
    pub metrics: bool,
    pub metrics_prefix: String,
    pub trust_proxy: bool,
    /// Certificate chain and private key files for native HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub quiet: bool,
    /// Periodic backups, and restore on start (serve only), or why none.
    pub backup: crate::backup::periodic::Backups,
    /// Time limits and the cap on connections (serve only).
    pub connections: Connections,
    /// What `serve` warns about once at start (a secret on the command
    /// line, an option `--private` overrides); never a secret itself.
    pub warnings: Vec<String>,
}

/// A secret compared in constant time; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// Whether `given` is the token, in time that does not depend on where
    /// they differ.
    pub fn matches(&self, given: &str) -> bool {
        use subtle::ConstantTimeEq;
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

/// `--rate-limit`, `--new-counters-per-hour`, `--max-counters` (0: off;
/// defaults in `limits.rs`), and `--ipv6-prefix`, the bits of an IPv6
/// address that name one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    pub rate: u32,
    pub new_per_hour: u32,
    pub max_counters: u64,
    pub ipv6_prefix: u8,
}

/// What the listener allows its clients (defaults in `limits.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    pub head_timeout: std::time::Duration,
    pub idle_timeout: std::time::Duration,
    pub write_timeout: std::time::Duration,
    /// `None`: from the open-file limit at start.
    pub max: Option<usize>,
}

impl ServeConfig {
    /// Database connections the server may hold at once: on SQLite, one
    /// per worker, the flusher's and the backup's; on PostgreSQL, at most
    /// `--db-connections` (the flusher's and the workers' pool), no more
    /// than the workers could use.
    pub fn database_connections(&self) -> usize {
        match self.db.file() {
            Some(_) => self.workers + crate::limits::DATABASES_BESIDES_WORKERS,
            None => self.db_connections.min(self.workers + 1),
        }
    }

    /// How often the flusher runs (write-through mode still polls for admin changes).
    pub fn flush_period(&self) -> std::time::Duration {
        std::time::Duration::from_millis(if self.flush_interval_ms == 0 { 250 } else { self.flush_interval_ms })
    }
}
