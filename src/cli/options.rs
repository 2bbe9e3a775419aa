//! The option table: every command-line option defined once, with its
//! environment variables, default and help text, and the commands that take
//! it. The parser (`mod.rs`), the config-file keys (`config.rs`) and
//! `--help` (`help.rs`) are all generated from [`OPTIONS`]; `values.rs`
//! answers flag, else environment (which includes the config file), else
//! default. Each option is a constant (`pub const COOKIE_WINDOW: Opt`),
//! read by reference (`s.number(&opts::COOKIE_WINDOW)`) so a misspelt name
//! does not compile. Adding an option is one constant here, its place in
//! [`OPTIONS`], and its use in `serve_config`.

use super::commands::Sub;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DB: &str = "./hitcounter.db";

/// What follows the flag on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` alone; its environment variable holds true or false.
    Switch,
    /// `--flag VALUE` (the placeholder shown in help), any text.
    Text(&'static str),
    /// `--flag N`, a whole number >= 0, checked where it is read.
    Number(&'static str),
}

pub struct Opt {
    /// `--` + this on the command line; also a config-file key, with `-` or `_`.
    pub flag: &'static str,
    pub kind: Kind,
    /// Environment variables (also config-file keys), the first looked up first.
    pub env: &'static [&'static str],
    /// The value used when none is given, shown in help as `default ...`.
    pub default: Option<&'static str>,
    /// Help text, one string per line of `--help`.
    pub help: &'static [&'static str],
    /// The commands that take it.
    pub subs: &'static [Sub],
}

const SERVER: &[Sub] = &[Sub::Serve, Sub::Cgi];
/// The commands that apply the allow and deny lists.
pub(super) const SITES: &[Sub] = &[Sub::Serve, Sub::Cgi, Sub::List, Sub::Prune];
/// The commands that may open a PostgreSQL database: those of `--db`, and
/// `copy` (last) for whichever of `--from` and `--to` is one.
const POSTGRES: &[Sub] = &[
    Sub::Serve,
    Sub::List,
    Sub::Get,
    Sub::Set,
    Sub::Delete,
    Sub::Merge,
    Sub::Prune,
    Sub::Export,
    Sub::Import,
    Sub::Migrate,
    Sub::Backup,
    Sub::Restore,
    Sub::Backups,
    Sub::Cgi,
    Sub::Copy,
];
/// The commands of `--db`: all but `copy`.
const EVERY: &[Sub] = match POSTGRES.split_last() {
    Some((_, every)) => every,
    None => &[],
};

/// In the order of `--help` (a command's own options before the shared `--db`).
pub static OPTIONS: &[Opt] = &[
    TOP,
    FORMAT,
    HISTORY,
    DRY_RUN,
    FROM,
    TO,
    LISTEN,
    DB,
    DB_PASSWORD_FILE,
    DB_CONNECTIONS,
    ALLOW,
    DENY,
    DENIED,
    ADOPT,
    COOKIE_WINDOW,
    DEDUP,
    COUNT_BOTS,
    CAMO_ONLY,
    API_POLICY,
    PUBLIC_URL,
    ENABLE_SSL,
    FLUSH_INTERVAL,
    PRIVATE,
    STATS_TOKEN,
    STATS_TOKEN_FILE,
    TOP_URLS,
    TOP_IGNORE,
    LOGO_DIR,
    METRICS_PER_PAGE,
    RATE_LIMIT,
    NEW_COUNTERS_PER_HOUR,
    IPV6_PREFIX,
    MAX_COUNTERS,
    MAX_PENDING,
    WORKERS,
    MAX_CONNECTIONS,
    HEAD_TIMEOUT,
    IDLE_TIMEOUT,
    WRITE_TIMEOUT,
    TOP_DOMAINS,
    TIMEZONE,
    METRICS,
    METRICS_PREFIX,
    TLS_CERT,
    TLS_KEY,
    TRUST_PROXY,
    QUIET,
    BACKUP_TO,
    S3_BUCKET,
    S3_KEY_PREFIX,
    BACKUP_INTERVAL,
    BACKUP_KEEP,
    BACKUP_ON_EXIT,
    FORCE,
];

pub const TOP: Opt = Opt {
    flag: "top",
    kind: Kind::Number("N"),
    env: &[],
    default: None,
    help: &["only the N biggest counters"],
    subs: &[Sub::List],
};

pub const FORMAT: Opt = Opt {
    flag: "format",
    kind: Kind::Text("csv|json"),
    env: &[],
    default: Some("csv"),
    help: &["csv (header url,count) or json (an array of", "objects); import: by default from the extension"],
    subs: &[Sub::Export, Sub::Import],
};

pub const HISTORY: Opt = Opt {
    flag: "history",
    kind: Kind::Switch,
    env: &[],
    default: None,
    help: &["with each counter's days: csv rows", "url,count,day,hits,uniques; json \"days\""],
    subs: &[Sub::Export],
};

pub const DRY_RUN: Opt = Opt {
    flag: "dry-run",
    kind: Kind::Switch,
    env: &[],
    default: None,
    help: &["print what would be changed; change nothing"],
    subs: &[Sub::Migrate, Sub::Prune, Sub::Merge],
};

pub const FROM: Opt = Opt {
    flag: "from",
    kind: Kind::Text("DB"),
    env: &[],
    default: None,
    help: &["the database to copy: a file or postgres:// URL"],
    subs: &[Sub::Copy],
};

pub const TO: Opt = Opt {
    flag: "to",
    kind: Kind::Text("DB"),
    env: &[],
    default: None,
    help: &["the empty database to copy into"],
    subs: &[Sub::Copy],
};

pub const LISTEN: Opt = Opt {
    flag: "listen",
    kind: Kind::Text("ADDR"),
    env: &["HITCOUNTER_LISTEN"],
    default: Some(DEFAULT_LISTEN),
    help: &["address to listen on; port 0 picks a free port;", "without it, PORT=N means 127.0.0.1:N"],
    subs: &[Sub::Serve, Sub::Cgi, Sub::Healthcheck],
};

pub const DB: Opt = Opt {
    flag: "db",
    kind: Kind::Text("PATH|URL"),
    env: &["DATABASE_FILE_PATH", "HITCOUNTER_DB", "DATABASE_URL"],
    default: Some(DEFAULT_DB),
    help: &[
        "SQLite database file; serve and migrate convert a",
        "database of the original Python hit counter (a copy",
        "is kept first); or postgres://USER@HOST/DBNAME",
        "(builds with the postgres feature); a password in",
        "the URL shows in ps: use --db-password-file",
    ],
    subs: EVERY,
};

pub const DB_PASSWORD_FILE: Opt = Opt {
    flag: "db-password-file",
    kind: Kind::Text("PATH"),
    env: &["HITCOUNTER_DB_PASSWORD_FILE"],
    default: None,
    help: &["PostgreSQL password, when the URL has none", "(else PGPASSWORD)"],
    subs: POSTGRES,
};

pub const DB_CONNECTIONS: Opt = Opt {
    flag: "db-connections",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_DB_CONNECTIONS"],
    default: Some("4"),
    help: &[
        "PostgreSQL connections held at most: the flusher's",
        "and a pool for requests, opened when needed (min 2)",
    ],
    subs: &[Sub::Serve],
};

pub const ALLOW: Opt = Opt {
    flag: "allow",
    kind: Kind::Text("PATTERNS"),
    env: &["HITCOUNTER_ALLOW", "URL_WHITELIST_RE"],
    default: None,
    help: &[
        "count only these sites: example.com,*.example.com",
        "or re:REGEX searched in the key (URL_WHITELIST_RE:",
        "a regex matched at the key's start); others get 403",
    ],
    subs: SITES,
};

pub const DENY: Opt = Opt {
    flag: "deny",
    kind: Kind::Text("PATTERNS"),
    env: &["HITCOUNTER_DENY"],
    default: None,
    help: &["never count these sites (same forms as --allow)"],
    subs: SITES,
};

pub const DENIED: Opt = Opt {
    flag: "denied",
    kind: Kind::Switch,
    env: &[],
    default: None,
    help: &["only counters --allow/--deny refuse"],
    subs: &[Sub::List, Sub::Prune],
};

pub const ADOPT: Opt = Opt {
    flag: "adopt",
    kind: Kind::Switch,
    env: &["HITCOUNTER_ADOPT"],
    default: None,
    help: &["use a database that holds another application's", "tables too (refused otherwise)"],
    subs: SERVER,
};

pub const COOKIE_WINDOW: Opt = Opt {
    flag: "cookie-window",
    kind: Kind::Number("SECS"),
    env: &["HITCOUNTER_COOKIE_WINDOW"],
    default: Some("300"),
    help: &["anti-refresh window (cookie and cookieless); 0 turns", "deduplication off"],
    subs: SERVER,
};

pub const DEDUP: Opt = Opt {
    flag: "dedup",
    kind: Kind::Text("MODE"),
    env: &["HITCOUNTER_DEDUP"],
    default: Some("both"),
    help: &[
        "repeats within the window not counted: cookie, hash",
        "(address + User-Agent, salted, in memory), both, off",
    ],
    subs: SERVER,
};

pub const COUNT_BOTS: Opt = Opt {
    flag: "count-bots",
    kind: Kind::Switch,
    env: &["HITCOUNTER_COUNT_BOTS"],
    default: None,
    help: &["count bots and crawlers too (by default badges", "are served to them but not counted)"],
    subs: SERVER,
};

pub const CAMO_ONLY: Opt = Opt {
    flag: "camo-only",
    kind: Kind::Text("PATTERNS"),
    env: &["HITCOUNTER_CAMO_ONLY"],
    default: None,
    help: &[
        "sites (same forms as --allow) only GitHub's image",
        "proxy counts for: README badges; other requests",
        "get the badge, not counted",
    ],
    subs: SERVER,
};

pub const API_POLICY: Opt = Opt {
    flag: "api-policy",
    kind: Kind::Text("POLICY"),
    env: &["HITCOUNTER_API_POLICY"],
    default: Some("original"),
    help: &["/count (plain text): original (cookie only, every", "client counts) or badge (the badges' policy)"],
    subs: SERVER,
};

pub const PUBLIC_URL: Opt = Opt {
    flag: "public-url",
    kind: Kind::Text("URL"),
    env: &["HITCOUNTER_PUBLIC_URL"],
    default: None,
    help: &[
        "origin used in generated snippets, e.g.",
        "https://counter.example.com",
        "default: from the request's Host",
    ],
    subs: SERVER,
};

pub const ENABLE_SSL: Opt = Opt {
    flag: "enable-ssl",
    kind: Kind::Switch,
    env: &["ENABLE_SSL"],
    default: None,
    help: &["generated links use https; a request forwarded as", "plain http gets a 301 to https and HSTS"],
    subs: SERVER,
};

pub const FLUSH_INTERVAL: Opt = Opt {
    flag: "flush-interval",
    kind: Kind::Number("MS"),
    env: &["HITCOUNTER_FLUSH_INTERVAL"],
    default: Some("100"),
    help: &["write counted hits every MS milliseconds; 0 writes", "each hit before answering"],
    subs: SERVER,
};

pub const PRIVATE: Opt = Opt {
    flag: "private",
    kind: Kind::Switch,
    env: &["HITCOUNTER_PRIVATE"],
    default: None,
    help: &[
        "top tables, /stats, stats.json and graph.svg",
        "need the stats token; badges stay public; /metrics",
        "leaves out the per-page series",
    ],
    subs: SERVER,
};

pub const STATS_TOKEN: Opt = Opt {
    flag: "stats-token",
    kind: Kind::Text("TOKEN"),
    env: &["HITCOUNTER_STATS_TOKEN"],
    default: None,
    help: &["the token for --private (Authorization: Bearer", "TOKEN, or ?token=TOKEN); prefer the file form"],
    subs: SERVER,
};

pub const STATS_TOKEN_FILE: Opt = Opt {
    flag: "stats-token-file",
    kind: Kind::Text("PATH"),
    env: &["HITCOUNTER_STATS_TOKEN_FILE"],
    default: None,
    help: &["read the stats token from this file"],
    subs: SERVER,
};

pub const TOP_URLS: Opt = Opt {
    flag: "top-urls",
    kind: Kind::Number("N"),
    env: &["NUM_TOP_URLS"],
    default: Some("10"),
    help: &["pages in the / page's top-pages table; 0 hides it"],
    subs: SERVER,
};

pub const TOP_IGNORE: Opt = Opt {
    flag: "top-ignore",
    kind: Kind::Text("PATTERNS"),
    env: &["HITCOUNTER_TOP_IGNORE", "TOP_SITES_IGNORE_DOMAIN_RE_MATCH"],
    default: None,
    help: &["sites left out of the top table (as --deny;", "local and private hosts always are)"],
    subs: SERVER,
};

pub const LOGO_DIR: Opt = Opt {
    flag: "logo-dir",
    kind: Kind::Text("DIR"),
    env: &["HITCOUNTER_LOGO_DIR"],
    default: None,
    help: &["more badge logos: NAME.svg files (simple-icons'", "icons/ folder works), read at start"],
    subs: SERVER,
};

pub const METRICS_PER_PAGE: Opt = Opt {
    flag: "metrics-per-page",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_METRICS_PER_PAGE"],
    default: Some("0"),
    help: &["/metrics: hits_total{site,path} for the N", "biggest counters (0: none; none under --private)"],
    subs: SERVER,
};

pub const RATE_LIMIT: Opt = Opt {
    flag: "rate-limit",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_RATE_LIMIT"],
    default: Some("100"),
    help: &["most counted hits per client per second (0: off);", "past it the badge is served, not counted"],
    subs: SERVER,
};

pub const NEW_COUNTERS_PER_HOUR: Opt = Opt {
    flag: "new-counters-per-hour",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_NEW_COUNTERS_PER_HOUR"],
    default: Some("1000"),
    help: &["most new counters per client per hour (0: off)"],
    subs: SERVER,
};

pub const IPV6_PREFIX: Opt = Opt {
    flag: "ipv6-prefix",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_IPV6_PREFIX"],
    default: Some("64"),
    help: &["for the limits per client, IPv6 addresses in one", "/N are one client (1-128; IPv4: each address)"],
    subs: SERVER,
};

pub const MAX_COUNTERS: Opt = Opt {
    flag: "max-counters",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_MAX_COUNTERS"],
    default: Some("10000000"),
    help: &["most counters; past it new URLs are served but", "not stored (0: off)"],
    subs: SERVER,
};

pub const MAX_PENDING: Opt = Opt {
    flag: "max-pending",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_MAX_PENDING"],
    default: Some("100000"),
    help: &[
        "most URLs with unsaved hits held in memory; hits on",
        "further URLs are answered but not counted (logged)",
    ],
    subs: SERVER,
};

pub const WORKERS: Opt = Opt {
    flag: "workers",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_WORKERS"],
    default: Some("16"),
    help: &["requests answered at once, each with its own", "SQLite connection (PostgreSQL: --db-connections)"],
    subs: SERVER,
};

pub const MAX_CONNECTIONS: Opt = Opt {
    flag: "max-connections",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_MAX_CONNECTIONS"],
    default: None,
    help: &[
        "most connections open at once; past it a client",
        "gets 503 (default: what the open-file limit leaves",
        "for them, at most 10000)",
    ],
    subs: &[Sub::Serve],
};

pub const HEAD_TIMEOUT: Opt = Opt {
    flag: "head-timeout",
    kind: Kind::Number("SECS"),
    env: &["HITCOUNTER_HEAD_TIMEOUT"],
    default: Some("10"),
    help: &["a request head (and a TLS handshake) must arrive", "within SECS, else the connection is closed"],
    subs: &[Sub::Serve],
};

pub const IDLE_TIMEOUT: Opt = Opt {
    flag: "idle-timeout",
    kind: Kind::Number("SECS"),
    env: &["HITCOUNTER_IDLE_TIMEOUT"],
    default: Some("60"),
    help: &["close a keep-alive connection idle for SECS"],
    subs: &[Sub::Serve],
};

pub const WRITE_TIMEOUT: Opt = Opt {
    flag: "write-timeout",
    kind: Kind::Number("SECS"),
    env: &["HITCOUNTER_WRITE_TIMEOUT"],
    default: Some("10"),
    help: &["abandon a response the client does not read for SECS"],
    subs: &[Sub::Serve],
};

pub const TOP_DOMAINS: Opt = Opt {
    flag: "top-domains",
    kind: Kind::Number("N"),
    env: &["NUM_TOP_DOMAINS"],
    default: Some("10"),
    help: &["sites in the / page's top table; 0 hides it"],
    subs: SERVER,
};

pub const TIMEZONE: Opt = Opt {
    flag: "timezone",
    kind: Kind::Text("TZ"),
    env: &["HITCOUNTER_TIMEZONE"],
    default: Some("UTC"),
    help: &["day boundary for per-day counts: an IANA zone", "(Europe/Berlin), UTC or an offset like +09:00"],
    subs: SERVER,
};

pub const METRICS: Opt = Opt {
    flag: "metrics",
    kind: Kind::Switch,
    env: &["EXPOSE_METRICS"],
    default: None,
    help: &["serve Prometheus metrics at /metrics"],
    subs: SERVER,
};

pub const METRICS_PREFIX: Opt = Opt {
    flag: "metrics-prefix",
    kind: Kind::Text("NAME"),
    env: &["METRICS_PREFIX"],
    default: Some("hitcounter"),
    help: &["metric name prefix"],
    subs: SERVER,
};

pub const TLS_CERT: Opt = Opt {
    flag: "tls-cert",
    kind: Kind::Text("FILE"),
    env: &["HITCOUNTER_TLS_CERT"],
    default: None,
    help: &["serve HTTPS directly with this PEM certificate chain"],
    subs: SERVER,
};

pub const TLS_KEY: Opt = Opt {
    flag: "tls-key",
    kind: Kind::Text("FILE"),
    env: &["HITCOUNTER_TLS_KEY"],
    default: None,
    help: &["and this PEM private key (RSA, ECDSA or Ed25519:", "PKCS#8, PKCS#1 or SEC1); SIGHUP reloads both"],
    subs: SERVER,
};

pub const TRUST_PROXY: Opt = Opt {
    flag: "trust-proxy",
    kind: Kind::Switch,
    env: &["HITCOUNTER_TRUST_PROXY"],
    default: None,
    help: &[
        "believe a reverse proxy (nginx): the client address",
        "from X-Real-IP, else the last X-Forwarded-For entry;",
        "X-Forwarded-Proto and -Host for https and links",
    ],
    subs: SERVER,
};

pub const QUIET: Opt = Opt {
    flag: "quiet",
    kind: Kind::Switch,
    env: &["HITCOUNTER_QUIET"],
    default: None,
    help: &["no per-request log lines"],
    subs: SERVER,
};

pub const BACKUP_TO: Opt = Opt {
    flag: "backup-to",
    kind: Kind::Text("DEST"),
    env: &["HITCOUNTER_BACKUP_TO"],
    default: None,
    help: &["back up now and then to s3://BUCKET/PREFIX or a", "folder; a missing database is restored from there"],
    subs: &[Sub::Serve],
};

pub const S3_BUCKET: Opt = Opt {
    flag: "s3-bucket",
    kind: Kind::Text("NAME"),
    env: &["S3_BUCKET"],
    default: None,
    help: &["the original's form of --backup-to s3://NAME/..."],
    subs: &[Sub::Serve],
};

pub const S3_KEY_PREFIX: Opt = Opt {
    flag: "s3-key-prefix",
    kind: Kind::Text("PREFIX"),
    env: &["S3_KEY_PREFIX"],
    default: None,
    help: &["with --s3-bucket: object names start with PREFIX"],
    subs: &[Sub::Serve],
};

pub const BACKUP_INTERVAL: Opt = Opt {
    flag: "backup-interval",
    kind: Kind::Number("SECS"),
    env: &["HITCOUNTER_BACKUP_INTERVAL", "BKPINTERVAL"],
    default: Some("900"),
    help: &["seconds between backups (none if nothing changed)"],
    subs: &[Sub::Serve],
};

pub const BACKUP_KEEP: Opt = Opt {
    flag: "backup-keep",
    kind: Kind::Number("N"),
    env: &["HITCOUNTER_BACKUP_KEEP"],
    default: Some("96"),
    help: &["timestamped backups kept (the newest); 0 keeps all"],
    subs: &[Sub::Serve, Sub::Backup],
};

pub const BACKUP_ON_EXIT: Opt = Opt {
    flag: "backup-on-exit",
    kind: Kind::Switch,
    env: &["HITCOUNTER_BACKUP_ON_EXIT"],
    default: None,
    help: &["one more backup at a clean shutdown"],
    subs: &[Sub::Serve],
};

pub const FORCE: Opt = Opt {
    flag: "force",
    kind: Kind::Switch,
    env: &[],
    default: None,
    help: &["replace an existing database (kept aside first)"],
    subs: &[Sub::Restore],
};

/// The option spelled `--flag`.
pub fn find(flag: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.flag == flag)
}

impl Opt {
    pub fn takes(&self, sub: Sub) -> bool {
        self.subs.contains(&sub)
    }
}

#[cfg(test)]
mod tests {
    use super::super::values::{Given, Settings};
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn time_limit_defaults_are_the_ones_in_limits() {
        use crate::limits;
        for (o, limit) in [
            (&HEAD_TIMEOUT, limits::HEAD_TIMEOUT),
            (&IDLE_TIMEOUT, limits::IDLE_TIMEOUT),
            (&WRITE_TIMEOUT, limits::WRITE_TIMEOUT),
        ] {
            assert_eq!(o.default, Some(limit.as_secs().to_string()).as_deref(), "--{}", o.flag);
        }
    }

    #[test]
    fn client_limit_defaults_are_the_ones_in_limits() {
        use crate::limits;
        let want = [
            (&RATE_LIMIT, limits::RATE_LIMIT.to_string()),
            (&NEW_COUNTERS_PER_HOUR, limits::NEW_COUNTERS_PER_HOUR.to_string()),
            (&MAX_COUNTERS, limits::MAX_COUNTERS.to_string()),
            (&IPV6_PREFIX, limits::IPV6_PREFIX.to_string()),
            (&DB_CONNECTIONS, limits::DB_CONNECTIONS.to_string()),
        ];
        for (o, limit) in want {
            assert_eq!(o.default, Some(limit.as_str()), "--{}", o.flag);
        }
    }

    #[test]
    fn the_table_is_consistent() {
        let mut keys = HashSet::new();
        for o in OPTIONS {
            assert!(!o.subs.is_empty() && !o.help.is_empty(), "--{}", o.flag);
            assert!(o.help.iter().all(|l| !l.is_empty() && l.len() <= 53), "--{}: help lines fit", o.flag);
            // every config-file key names one option
            let flag_key = o.flag.to_ascii_uppercase().replace('-', "_");
            let own: HashSet<&str> = o.env.iter().copied().chain([flag_key.as_str()]).collect();
            for key in own {
                assert!(keys.insert(key.to_string()), "{key} names two options");
            }
            if let (Kind::Number(_), Some(d)) = (o.kind, o.default) {
                assert!(d.parse::<u64>().is_ok(), "--{}: default {d:?}", o.flag);
            }
        }
        assert!(!keys.contains("HITCOUNTER_CONFIG"));
        // An option defined but left out of the table could be read but
        // never given on the command line or in --help.
        let defined = include_str!("options.rs").matches(concat!(": Opt = ", "Opt {")).count();
        assert_eq!(defined, OPTIONS.len(), "every `pub const NAME: Opt` is in OPTIONS");
    }

    #[test]
    fn flag_then_variables_in_order_then_default() {
        let vars = [
            ("HITCOUNTER_DB", "/second.db"),
            ("HITCOUNTER_WORKERS", " 8 "),
            ("NUM_TOP_DOMAINS", " "),
            ("HITCOUNTER_COOKIE_WINDOW", "x"),
            ("EXPOSE_METRICS", "Yes"),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let mut s = Settings { given: Given::default(), env: &env };
        assert_eq!(s.text(&DB).as_deref(), Some("/second.db"));
        assert_eq!(s.number_or_default::<usize>(&WORKERS), Ok(8));
        assert_eq!(s.number_or_default::<usize>(&TOP_DOMAINS), Ok(10), "blank is unset");
        let err = "HITCOUNTER_COOKIE_WINDOW needs a whole number >= 0, got \"x\"";
        assert_eq!(s.number::<u64>(&COOKIE_WINDOW), Err(err.into()));
        assert_eq!(s.text_or_default(&LISTEN), DEFAULT_LISTEN);
        assert_eq!((s.switch(&METRICS), s.switch(&QUIET)), (Ok(true), Ok(false)));

        let mut p = lexopt::Parser::from_args(["--db", "/flag.db", "--cookie-window", "-1"]);
        p.next().unwrap();
        s.given.read(find("db").unwrap(), &mut p).unwrap();
        assert_eq!(s.text(&DB).as_deref(), Some("/flag.db"));
        p.next().unwrap();
        let err = s.given.read(find("cookie-window").unwrap(), &mut p).unwrap_err();
        assert_eq!(err, "--cookie-window needs a whole number >= 0, got \"-1\"");
    }
}
