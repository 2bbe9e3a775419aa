//! Command line and environment: what to run, with which settings.
//!
//! Every serve option reads a flag, else an environment variable, else its
//! default. Errors are one line and exit code 2 (see `main`).

use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

pub mod admin;
pub mod config;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DB: &str = "./hitcounter.db";

/// `--help`; kept as a text file so it reads as what the user sees.
pub const HELP: &str = include_str!("help.txt");

#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    pub listen: String,
    pub db: PathBuf,
    pub cookie_window: u64,
    pub public_url: Option<String>,
    pub enable_ssl: bool,
    pub flush_interval_ms: u64,
    pub max_pending: usize,
    pub workers: usize,
    pub top_domains: usize,
    pub timezone: chrono::FixedOffset,
    pub metrics: bool,
    pub metrics_prefix: String,
    pub trust_proxy: bool,
    /// Certificate chain and private key files for native HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub quiet: bool,
}

impl ServeConfig {
    /// How often the flusher runs (write-through mode still polls for admin changes).
    pub fn flush_period(&self) -> std::time::Duration {
        std::time::Duration::from_millis(if self.flush_interval_ms == 0 { 250 } else { self.flush_interval_ms })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Serve(ServeConfig),
    List { db: PathBuf, top: Option<u64> },
    Get { db: PathBuf, url: String },
    Set { db: PathBuf, url: String, count: u64 },
    Delete { db: PathBuf, url: String },
    Export { db: PathBuf, format: Format },
    Import { db: PathBuf, file: PathBuf },
    Cgi(ServeConfig),
    Help,
    Version,
}

/// Reads the environment through a function so tests need not mutate it.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn parse(args: Vec<OsString>, env: Env) -> Result<Command, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut sub: Option<String> = None;
    let mut positional: Vec<String> = Vec::new();
    let mut flags = Flags::default();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("listen") => flags.listen = Some(string(&mut parser)?),
            Long("db") => flags.db = Some(string(&mut parser)?),
            Long("cookie-window") => flags.cookie_window = Some(number(&mut parser, "--cookie-window")?),
            Long("public-url") => flags.public_url = Some(string(&mut parser)?),
            Long("enable-ssl") => flags.enable_ssl = true,
            Long("flush-interval") => flags.flush_interval = Some(number(&mut parser, "--flush-interval")?),
            Long("max-pending") => flags.max_pending = Some(number(&mut parser, "--max-pending")?),
            Long("workers") => flags.workers = Some(number(&mut parser, "--workers")?),
            Long("top-domains") => flags.top_domains = Some(number(&mut parser, "--top-domains")?),
            Long("quiet") => flags.quiet = true,
            Long("trust-proxy") => flags.trust_proxy = true,
            Long("tls-cert") => flags.tls_cert = Some(string(&mut parser)?),
            Long("tls-key") => flags.tls_key = Some(string(&mut parser)?),
            Long("timezone") => flags.timezone = Some(string(&mut parser)?),
            Long("metrics") => flags.metrics = true,
            Long("metrics-prefix") => flags.metrics_prefix = Some(string(&mut parser)?),
            Long("top") => flags.top = Some(number(&mut parser, "--top")?),
            Long("format") => flags.format = Some(string(&mut parser)?),
            Value(v) if sub.is_none() => sub = Some(v.into_string().map_err(|_| "arguments must be UTF-8")?),
            Value(v) => positional.push(v.into_string().map_err(|_| "arguments must be UTF-8")?),
            other => return Err(other.unexpected().to_string()),
        }
    }
    let db = match flags.db.clone().or_else(|| env("DATABASE_FILE_PATH")).or_else(|| env("HITCOUNTER_DB")) {
        Some(p) if p.is_empty() => return Err("the database path must not be empty".into()),
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(DEFAULT_DB),
    };
    let sub = sub.unwrap_or_else(|| "serve".into());
    let want = |n: usize, usage: &str| -> Result<(), String> {
        if positional.len() == n {
            Ok(())
        } else {
            Err(format!("usage: hitcounter {usage}"))
        }
    };
    if sub != "serve" && sub != "cgi" {
        flags.only_admin(&sub)?;
    }
    match sub.as_str() {
        "serve" => {
            want(0, "serve [OPTIONS]")?;
            if flags.top.is_some() || flags.format.is_some() {
                return Err("--top and --format belong to list and export".into());
            }
            serve_config(flags, db, env).map(Command::Serve)
        }
        "list" => {
            want(0, "list [--top N]")?;
            Ok(Command::List { db, top: flags.top })
        }
        "get" => {
            want(1, "get URL")?;
            Ok(Command::Get { db, url: positional.remove(0) })
        }
        "set" => {
            want(2, "set URL COUNT")?;
            let count = positional[1]
                .parse()
                .map_err(|_| format!("COUNT must be a whole number >= 0, got {:?}", positional[1]))?;
            Ok(Command::Set { db, url: positional.remove(0), count })
        }
        "delete" => {
            want(1, "delete URL")?;
            Ok(Command::Delete { db, url: positional.remove(0) })
        }
        "export" => {
            want(0, "export [--format csv|json]")?;
            let format = match flags.format.as_deref() {
                None | Some("csv") => Format::Csv,
                Some("json") => Format::Json,
                Some(f) => return Err(format!("--format must be csv or json, got {f:?}")),
            };
            Ok(Command::Export { db, format })
        }
        "cgi" => {
            want(0, "cgi")?;
            // Like automatic CGI mode, the database defaults to the binary's directory.
            let db = if flags.db.is_some() || env("DATABASE_FILE_PATH").is_some() || env("HITCOUNTER_DB").is_some() {
                db
            } else {
                config::exe_dir().unwrap_or_default().join("hitcounter.db")
            };
            serve_config(flags, db, env).map(Command::Cgi)
        }
        "import" => {
            want(1, "import FILE.csv")?;
            Ok(Command::Import { db, file: PathBuf::from(positional.remove(0)) })
        }
        other => Err(format!("unknown command {other:?}; see hitcounter --help")),
    }
}

#[derive(Default)]
struct Flags {
    listen: Option<String>,
    db: Option<String>,
    cookie_window: Option<u64>,
    public_url: Option<String>,
    enable_ssl: bool,
    flush_interval: Option<u64>,
    max_pending: Option<usize>,
    workers: Option<usize>,
    top_domains: Option<usize>,
    timezone: Option<String>,
    metrics: bool,
    metrics_prefix: Option<String>,
    trust_proxy: bool,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    quiet: bool,
    top: Option<u64>,
    format: Option<String>,
}

impl Flags {
    fn only_admin(&self, sub: &str) -> Result<(), String> {
        let serve_only = self.listen.is_some()
            || self.cookie_window.is_some()
            || self.public_url.is_some()
            || self.enable_ssl
            || self.flush_interval.is_some()
            || self.max_pending.is_some()
            || self.workers.is_some()
            || self.top_domains.is_some()
            || self.timezone.is_some()
            || self.metrics
            || self.metrics_prefix.is_some()
            || self.trust_proxy
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.quiet;
        if serve_only {
            return Err(format!("server options do not apply to {sub:?}; see hitcounter --help"));
        }
        if self.top.is_some() && sub != "list" {
            return Err("--top belongs to list".into());
        }
        if self.format.is_some() && sub != "export" {
            return Err("--format belongs to export".into());
        }
        Ok(())
    }
}

fn string(parser: &mut lexopt::Parser) -> Result<String, String> {
    parser.value().map_err(|e| e.to_string())?.into_string().map_err(|_| "option values must be UTF-8".to_string())
}

fn number<T: std::str::FromStr>(parser: &mut lexopt::Parser, name: &str) -> Result<T, String> {
    let v = string(parser)?;
    v.parse().map_err(|_| format!("{name} needs a whole number >= 0, got {v:?}"))
}

fn env_number<T: std::str::FromStr>(env: Env, var: &str) -> Result<Option<T>, String> {
    match env(var) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| format!("{var} needs a whole number >= 0, got {v:?}")),
    }
}

fn env_bool(env: Env, var: &str) -> Result<bool, String> {
    match env(var).as_deref().map(str::trim).map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
        Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
        Some(v) => Err(format!("{var} must be true or false, got {v:?}")),
    }
}

/// The configuration of a CGI request: environment and config file only
/// (web servers may pass the query as arguments, so those are ignored).
pub fn cgi_config(env: Env, default_db: PathBuf) -> Result<ServeConfig, String> {
    let db = env("DATABASE_FILE_PATH").or_else(|| env("HITCOUNTER_DB")).filter(|p| !p.is_empty());
    serve_config(Flags::default(), db.map_or(default_db, PathBuf::from), env)
}

fn serve_config(f: Flags, db: PathBuf, env: Env) -> Result<ServeConfig, String> {
    let listen = f.listen.or_else(|| env("HITCOUNTER_LISTEN")).unwrap_or_else(|| DEFAULT_LISTEN.into());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(format!("--listen needs IP:PORT (like 127.0.0.1:8080 or [::1]:8080), got {listen:?}"));
    }
    let public_url = match f.public_url.or_else(|| env("HITCOUNTER_PUBLIC_URL")).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(check_public_url(&u)?),
    };
    let workers = match f.workers {
        Some(w) => w,
        None => env_number(env, "HITCOUNTER_WORKERS")?.unwrap_or(4),
    };
    if workers == 0 || workers > 256 {
        return Err(format!("--workers must be between 1 and 256, got {workers}"));
    }
    let max_pending = match f.max_pending {
        Some(n) => n,
        None => env_number(env, "HITCOUNTER_MAX_PENDING")?.unwrap_or(100_000),
    };
    if max_pending == 0 {
        return Err("--max-pending must be at least 1".into());
    }
    let timezone = crate::clock::parse_offset(&f.timezone.or_else(|| env("HITCOUNTER_TIMEZONE")).unwrap_or_default())?;
    let metrics_prefix = f.metrics_prefix.or_else(|| env("METRICS_PREFIX")).unwrap_or_else(|| "hitcounter".into());
    let valid_prefix = metrics_prefix.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && metrics_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !valid_prefix {
        return Err(format!("METRICS_PREFIX must be a Prometheus metric name like hitcounter, got {metrics_prefix:?}"));
    }
    let cert = f.tls_cert.or_else(|| env("HITCOUNTER_TLS_CERT")).filter(|s| !s.is_empty());
    let key = f.tls_key.or_else(|| env("HITCOUNTER_TLS_KEY")).filter(|s| !s.is_empty());
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(ServeConfig {
        listen,
        timezone,
        metrics: f.metrics || env_bool(env, "EXPOSE_METRICS")?,
        metrics_prefix,
        trust_proxy: f.trust_proxy || env_bool(env, "HITCOUNTER_TRUST_PROXY")?,
        tls,
        db,
        cookie_window: match f.cookie_window {
            Some(w) => w,
            None => env_number(env, "HITCOUNTER_COOKIE_WINDOW")?.unwrap_or(300),
        },
        public_url,
        enable_ssl: f.enable_ssl || env_bool(env, "ENABLE_SSL")?,
        flush_interval_ms: match f.flush_interval {
            Some(ms) => ms,
            None => env_number(env, "HITCOUNTER_FLUSH_INTERVAL")?.unwrap_or(100),
        },
        max_pending,
        workers,
        top_domains: match f.top_domains {
            Some(n) => n,
            None => env_number(env, "NUM_TOP_DOMAINS")?.unwrap_or(10),
        },
        quiet: f.quiet || env_bool(env, "HITCOUNTER_QUIET")?,
    })
}

fn check_public_url(u: &str) -> Result<String, String> {
    let trimmed = u.trim_end_matches('/');
    let ok = (trimmed.starts_with("http://") || trimmed.starts_with("https://"))
        && trimmed.len() > "https://".len()
        && !trimmed.contains(char::is_whitespace);
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(format!("--public-url needs an http(s) origin like https://counter.example.com, got {u:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(args: &[&str], vars: &[(&str, &str)]) -> Result<Command, String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        parse(args.iter().map(OsString::from).collect(), &env)
    }

    fn serve(args: &[&str], vars: &[(&str, &str)]) -> ServeConfig {
        match parse_with(args, vars).unwrap() {
            Command::Serve(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = serve(&[], &[]);
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.db, PathBuf::from(DEFAULT_DB));
        assert_eq!((c.cookie_window, c.flush_interval_ms, c.top_domains), (300, 100, 10));
        assert!(!c.enable_ssl && !c.quiet);
    }

    #[test]
    fn flag_beats_env() {
        let env = [("HITCOUNTER_LISTEN", "127.0.0.1:1"), ("DATABASE_FILE_PATH", "/e.db")];
        let c = serve(&["serve", "--listen", "127.0.0.1:2"], &env);
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.db, PathBuf::from("/e.db"));
        assert_eq!(serve(&["--db=/f.db"], &env).db, PathBuf::from("/f.db"));
    }

    #[test]
    fn bad_input_is_an_error() {
        for args in [&["--nope"][..], &["--cookie-window", "x"], &["--listen", "nohost"], &["frob"], &["get"]] {
            assert!(parse_with(args, &[]).is_err(), "{args:?}");
        }
        assert!(parse_with(&[], &[("ENABLE_SSL", "maybe")]).is_err());
        assert!(parse_with(&["get", "x", "--listen", "1.2.3.4:5"], &[]).is_err());
    }

    #[test]
    fn admin_commands() {
        assert_eq!(
            parse_with(&["set", "e.com/a", "5", "--db", "x.db"], &[]).unwrap(),
            Command::Set { db: "x.db".into(), url: "e.com/a".into(), count: 5 }
        );
        assert_eq!(
            parse_with(&["export", "--format", "json"], &[]).unwrap(),
            Command::Export { db: DEFAULT_DB.into(), format: Format::Json }
        );
        assert!(parse_with(&["set", "e.com", "-1"], &[]).is_err());
    }

    #[test]
    fn ssl_env_switch() {
        assert!(serve(&[], &[("ENABLE_SSL", "true")]).enable_ssl);
        assert!(!serve(&[], &[("ENABLE_SSL", "false")]).enable_ssl);
    }
}
