//! The settings of a server (or one CGI request) from the option values:
//! each read as a flag, else an environment variable (or config-file key),
//! else its default, and checked. Errors are one line for the user.

use std::path::PathBuf;

use super::options::{self as opts, Opt};
use super::values::{Env, Given, Settings};
use crate::backup::periodic::{self, Backups};
use crate::backup::{Location, ORIGINAL_BUCKET};
use crate::decide::sites::Patterns;
use crate::decide::{Dedup, Policy};
use crate::limits;
use crate::settings::{Connections, ServeConfig};
use crate::store::Database;

/// The configuration of a CGI request: environment and config file only
/// (web servers may pass the query as arguments, so those are ignored).
pub fn cgi_config(env: Env, default_db: PathBuf) -> Result<ServeConfig, String> {
    let s = Settings { given: Given::default(), env };
    let db = match s.text(&opts::DB).filter(|p| !p.is_empty()) {
        Some(text) => database(&s, &text)?,
        None => Database::File(default_db),
    };
    cgi_database(&db)?;
    serve_config(&s, db)
}

/// `--db` (a path or a `postgres://` URL) with `--db-password-file`.
pub(super) fn database(s: &Settings, text: &str) -> Result<Database, String> {
    Database::parse(text, s.text(&opts::DB_PASSWORD_FILE).as_deref())
}

/// A CGI process lives for one request: a file it opens in microseconds,
/// a connection to a database server would cost more than the request.
pub(super) fn cgi_database(db: &Database) -> Result<(), String> {
    match db.file() {
        Some(_) => Ok(()),
        None => Err("CGI mode needs a SQLite database file, not a database server".into()),
    }
}

/// The token for `--private` (from `--stats-token-file` or
/// `--stats-token`), which `--private` requires.
fn stats_token(s: &Settings) -> Result<Option<crate::settings::Token>, String> {
    let token = match (s.text(&opts::STATS_TOKEN_FILE), s.text(&opts::STATS_TOKEN)) {
        (Some(path), _) => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read --stats-token-file {path}: {e}"))?
                .trim()
                .to_string(),
        ),
        (None, token) => token.map(|t| t.trim().to_string()),
    };
    match token {
        Some(t) if t.len() >= 16 => Ok(Some(crate::settings::Token(t))),
        Some(_) => Err("the stats token must be at least 16 characters".into()),
        None if s.switch(&opts::PRIVATE)? => {
            Err("--private needs a token: --stats-token-file PATH or HITCOUNTER_STATS_TOKEN".into())
        }
        None => Ok(None),
    }
}

/// The value of a site list option; when it came from `original`, one of
/// the original's regex variables, it is a regex that the original applied
/// with Python's `re.match`, so it is anchored at the start of the key
/// (`re:` written by the user keeps its search anywhere in the key).
fn site_list(s: &Settings, o: &Opt, original: &str) -> Option<String> {
    s.raw(o).map(|(v, from)| if from == original && !v.starts_with("re:") { format!("re:^(?:{v})") } else { v })
}

/// Sites left out of the top table, as a deny list (the original's
/// `TOP_SITES_IGNORE_DOMAIN_RE_MATCH`).
fn top_ignore(s: &Settings) -> Result<crate::decide::sites::Sites, String> {
    let ignore = site_list(s, &opts::TOP_IGNORE, "TOP_SITES_IGNORE_DOMAIN_RE_MATCH");
    crate::decide::sites::Sites::parse(None, ignore.as_deref()).map_err(|e| e.replace("--deny", "--top-ignore"))
}

/// The allow and deny lists (the original's `URL_WHITELIST_RE` allows).
pub(super) fn sites(s: &Settings) -> Result<crate::decide::sites::Sites, String> {
    let allow = site_list(s, &opts::ALLOW, "URL_WHITELIST_RE");
    crate::decide::sites::Sites::parse(allow.as_deref(), s.text(&opts::DENY).as_deref())
}

/// The address to listen on (and the one `healthcheck` asks): `--listen`,
/// else PORT (the PaaS convention) on loopback, since all interfaces only
/// when the operator says so with `--listen`; else the default.
pub(super) fn listen_address(s: &Settings) -> Result<String, String> {
    match (s.text(&opts::LISTEN), (s.env)("PORT").filter(|p| !p.trim().is_empty())) {
        (Some(l), _) => Ok(l),
        (None, Some(port)) => match port.trim().parse::<u16>() {
            Ok(p) => Ok(format!("127.0.0.1:{p}")),
            Err(_) => Err(format!("PORT must be a port number, got {port:?}")),
        },
        (None, None) => Ok(s.text_or_default(&opts::LISTEN)),
    }
}

pub(super) fn serve_config(s: &Settings, db: Database) -> Result<ServeConfig, String> {
    let listen = listen_address(s)?;
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(format!("--listen needs IP:PORT (like 127.0.0.1:8080 or [::1]:8080), got {listen:?}"));
    }
    let public_url = match s.text(&opts::PUBLIC_URL).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(check_public_url(&u)?),
    };
    let workers = s.number_or_default(&opts::WORKERS)?;
    if workers == 0 || workers > 256 {
        return Err(format!("--workers must be between 1 and 256, got {workers}"));
    }
    let db_connections = s.number(&opts::DB_CONNECTIONS)?.unwrap_or(limits::DB_CONNECTIONS);
    if db_connections < limits::MIN_DB_CONNECTIONS {
        return Err(format!(
            "--db-connections must be at least {} (the flusher's and one for requests), got {db_connections}",
            limits::MIN_DB_CONNECTIONS
        ));
    }
    let max_pending = s.number_or_default(&opts::MAX_PENDING)?;
    if max_pending == 0 {
        return Err("--max-pending must be at least 1".into());
    }
    let timezone = crate::clock::parse_zone(&s.text_or_default(&opts::TIMEZONE))?;
    let metrics_prefix = s.text_or_default(&opts::METRICS_PREFIX);
    let valid_prefix = metrics_prefix.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && metrics_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !valid_prefix {
        return Err(format!("METRICS_PREFIX must be a Prometheus metric name like hitcounter, got {metrics_prefix:?}"));
    }
    let cert = s.text(&opts::TLS_CERT).filter(|s| !s.is_empty());
    let key = s.text(&opts::TLS_KEY).filter(|s| !s.is_empty());
    let tls = match (cert, key) {
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let warnings = warnings(s, &db)?;
    Ok(ServeConfig {
        listen,
        timezone,
        metrics: s.switch(&opts::METRICS)?,
        metrics_prefix,
        trust_proxy: s.switch(&opts::TRUST_PROXY)?,
        tls,
        backup: backup_config(s, &db)?,
        db,
        adopt: s.switch(&opts::ADOPT)?,
        sites: sites(s)?,
        top_ignore: top_ignore(s)?,
        logos: match s.text(&opts::LOGO_DIR).filter(|d| !d.is_empty()) {
            Some(dir) => crate::render::logo::load_dir(std::path::Path::new(&dir))?,
            None => Default::default(),
        },
        metrics_per_page: s.number_or_default(&opts::METRICS_PER_PAGE)?,
        private: s.switch(&opts::PRIVATE)?,
        stats_token: stats_token(s)?,
        clients: crate::settings::ClientLimits {
            rate: s.number(&opts::RATE_LIMIT)?.unwrap_or(limits::RATE_LIMIT),
            new_per_hour: s.number(&opts::NEW_COUNTERS_PER_HOUR)?.unwrap_or(limits::NEW_COUNTERS_PER_HOUR),
            max_counters: s.number(&opts::MAX_COUNTERS)?.unwrap_or(limits::MAX_COUNTERS),
            ipv6_prefix: ipv6_prefix(s)?,
        },
        policy: Policy {
            dedup: Dedup::parse(&s.text_or_default(&opts::DEDUP)).ok_or_else(|| {
                format!("--dedup must be cookie, hash, both or off, got {:?}", s.text_or_default(&opts::DEDUP))
            })?,
            window: s.number_or_default(&opts::COOKIE_WINDOW)?,
            count_bots: s.switch(&opts::COUNT_BOTS)?,
            api_like_badges: match s.text_or_default(&opts::API_POLICY).as_str() {
                "original" => false,
                "badge" => true,
                p => return Err(format!("--api-policy must be original or badge, got {p:?}")),
            },
            camo_only: Patterns::parse("camo-only", s.text(&opts::CAMO_ONLY).as_deref())?,
        },
        public_url,
        enable_ssl: s.switch(&opts::ENABLE_SSL)?,
        flush_interval_ms: s.number_or_default(&opts::FLUSH_INTERVAL)?,
        max_pending,
        workers,
        db_connections,
        top_domains: s.number_or_default(&opts::TOP_DOMAINS)?,
        top_urls: s.number_or_default(&opts::TOP_URLS)?,
        quiet: s.switch(&opts::QUIET)?,
        connections: connections(s)?,
        warnings,
    })
}

/// The start-up warnings: secrets on the command line, where every user
/// of the host sees them (`ps`), and `--metrics-per-page` under `--private`.
fn warnings(s: &Settings, db: &Database) -> Result<Vec<String>, String> {
    let on_command_line = |o: &Opt| s.raw(o).is_some_and(|(_, from)| from.starts_with("--"));
    let visible = "is visible to every user of this host (ps)";
    let mut warnings = Vec::new();
    if on_command_line(&opts::DB) && db.password_in_url() {
        warnings
            .push(format!("warning: the password in the --db URL {visible}: use --db-password-file (or PGPASSWORD)"));
    }
    if on_command_line(&opts::STATS_TOKEN) {
        warnings.push(format!("warning: --stats-token {visible}: use --stats-token-file (or HITCOUNTER_STATS_TOKEN)"));
    }
    if s.switch(&opts::PRIVATE)? && s.number_or_default::<u64>(&opts::METRICS_PER_PAGE)? > 0 {
        warnings.push("warning: --private: /metrics leaves out the per-page series of --metrics-per-page".into());
    }
    Ok(warnings)
}

/// `--ipv6-prefix`: a prefix length, 1 to 128.
fn ipv6_prefix(s: &Settings) -> Result<u8, String> {
    match s.number::<u64>(&opts::IPV6_PREFIX)?.unwrap_or(u64::from(limits::IPV6_PREFIX)) {
        n @ 1..=128 => Ok(n as u8),
        n => Err(format!("--ipv6-prefix must be between 1 and 128, got {n}")),
    }
}

fn connections(s: &Settings) -> Result<Connections, String> {
    // The defaults are the limits' (the option table shows the same, a
    // test keeps them equal).
    let secs = |o: &Opt, default: std::time::Duration| -> Result<std::time::Duration, String> {
        match s.number::<u64>(o)? {
            None => Ok(default),
            Some(0) => Err(format!("--{} must be at least 1 second", o.flag)),
            Some(n) => Ok(std::time::Duration::from_secs(n)),
        }
    };
    let max = match s.number::<usize>(&opts::MAX_CONNECTIONS)? {
        Some(0) => return Err("--max-connections must be at least 1".into()),
        other => other,
    };
    Ok(Connections {
        head_timeout: secs(&opts::HEAD_TIMEOUT, limits::HEAD_TIMEOUT)?,
        idle_timeout: secs(&opts::IDLE_TIMEOUT, limits::IDLE_TIMEOUT)?,
        write_timeout: secs(&opts::WRITE_TIMEOUT, limits::WRITE_TIMEOUT)?,
        max,
    })
}

/// Periodic backups: `--backup-to`, or the original's `S3_BUCKET` (with
/// `S3_KEY_PREFIX` used as it is, as the original did), or the original's
/// environment without it (see [`originals_default`]); else why none.
fn backup_config(s: &Settings, db: &Database) -> Result<Backups, String> {
    let prefix = s.text(&opts::S3_KEY_PREFIX).unwrap_or_default();
    let to = match (
        s.text(&opts::BACKUP_TO).filter(|t| !t.is_empty()),
        s.text(&opts::S3_BUCKET).filter(|b| !b.is_empty()),
    ) {
        (Some(t), _) => match Location::parse(&t)? {
            Location::File(p) => Location::Dir(p),
            other => other,
        },
        (None, Some(bucket)) => Location::from_original_env(&bucket, &prefix)?,
        (None, None) => match originals_default(s, db) {
            Ok(()) => Location::from_original_env(ORIGINAL_BUCKET, &prefix)?,
            Err(why) => return Ok(Backups::Off(why)),
        },
    };
    if db.file().is_none() {
        return Err("periodic backups copy a SQLite database file; back up PostgreSQL with its own tools \
                    or `hitcounter copy`"
            .into());
    }
    let secs: u64 = s.number_or_default(&opts::BACKUP_INTERVAL)?;
    if secs == 0 {
        return Err("--backup-interval must be at least 1 second".into());
    }
    Ok(Backups::On(periodic::Config {
        to,
        interval: std::time::Duration::from_secs(secs),
        keep: s.number_or_default(&opts::BACKUP_KEEP)?,
        on_exit: s.switch(&opts::BACKUP_ON_EXIT)?,
    }))
}

/// The original backs up to its bucket `sqlite` when `S3_BUCKET` is unset:
/// so do we, given its environment (S3 credentials, and `S3_KEY_PREFIX` or
/// `BKPINTERVAL`) and a database file. `Err` says why there are no backups.
fn originals_default(s: &Settings, db: &Database) -> Result<(), String> {
    let hint = s
        .raw(&opts::S3_KEY_PREFIX)
        .or_else(|| s.raw(&opts::BACKUP_INTERVAL).filter(|(_, from)| from == "BKPINTERVAL"))
        .map(|(_, from)| from);
    let Some(hint) = hint else {
        return Err("neither --backup-to nor S3_BUCKET is set".into());
    };
    if !crate::backup::has_credentials(s.env) {
        return Err(format!(
            "{hint} is set, but there are no S3 credentials for the original's bucket {ORIGINAL_BUCKET:?} \
             (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
        ));
    }
    if db.file().is_none() {
        return Err(format!("{hint} is set, but the database is not a SQLite file"));
    }
    Ok(())
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

    fn backups(vars: &[(&str, &str)]) -> Result<Backups, String> {
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let s = Settings { given: Given::default(), env: &env };
        backup_config(&s, &Database::File("/x.db".into()))
    }

    fn to(vars: &[(&str, &str)]) -> String {
        match backups(vars) {
            Ok(Backups::On(c)) => c.to.to_string(),
            other => panic!("{vars:?}: {other:?}"),
        }
    }

    fn off(vars: &[(&str, &str)]) -> String {
        match backups(vars) {
            Ok(Backups::Off(why)) => why,
            other => panic!("{vars:?}: {other:?}"),
        }
    }

    const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")];

    #[test]
    fn the_originals_environment_backs_up_to_its_default_bucket() {
        assert_eq!(to(&[KEYS[0], KEYS[1], ("S3_KEY_PREFIX", "hits")]), "s3://sqlite/hits");
        assert_eq!(to(&[KEYS[0], KEYS[1], ("BKPINTERVAL", "60")]), "s3://sqlite/");
        assert_eq!(to(&[KEYS[0], KEYS[1], ("S3_BUCKET", "mine"), ("S3_KEY_PREFIX", "h/")]), "s3://mine/h/");
        assert_eq!(off(&[]), "neither --backup-to nor S3_BUCKET is set");
        assert_eq!(off(&KEYS), "neither --backup-to nor S3_BUCKET is set", "credentials alone ask for nothing");
        assert_eq!(
            off(&[KEYS[0], KEYS[1], ("HITCOUNTER_BACKUP_INTERVAL", "60")]),
            "neither --backup-to nor S3_BUCKET is set"
        );
        assert!(off(&[("S3_KEY_PREFIX", "hits")]).starts_with("S3_KEY_PREFIX is set, but there are no S3 credentials"));
        assert!(off(&[("BKPINTERVAL", "60"), KEYS[0]]).starts_with("BKPINTERVAL is set, but there are no S3"));
        let err = backups(&[KEYS[0], KEYS[1], ("S3_KEY_PREFIX", "../x")]).unwrap_err();
        assert!(err.contains("`..` segment"), "{err}");
    }
}
