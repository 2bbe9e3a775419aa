//! Command line and environment: what to run, with which settings.
//!
//! `parse` turns the arguments into a [`Command`]: the command table
//! (`commands.rs`) says which words are commands, the option table
//! (`options.rs`) which flags exist, and `serve_config.rs` reads each serve
//! option as a flag, else an environment variable (or the config file,
//! `config.rs`), else its default. Errors are one line and exit code 2 (see
//! `main`); `help.rs` writes `--help` from the same tables.

use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::store::{self, Database};

pub mod commands;
pub mod config;
pub mod healthcheck;
pub mod help;
pub mod options;
mod serve_config;

pub use commands::{Cmd, Sub};
mod values;
pub use serve_config::cgi_config;
use serve_config::serve_config;
pub use values::Env;
use values::{Given, Settings};

use options::{self as opts, Opt, DEFAULT_DB};

use crate::backup::Location;
pub use crate::settings::ServeConfig;

pub use crate::admin::Format;

/// What to run. `Help` is the overview, or one command's usage.
#[derive(Debug, PartialEq)]
pub enum Command {
    Serve(ServeConfig),
    List { db: Database, top: Option<u64>, denied: Option<crate::decide::sites::Sites> },
    Prune { db: Database, sites: crate::decide::sites::Sites, dry_run: bool },
    Healthcheck { url: String },
    Get { db: Database, url: String },
    Set { db: Database, url: String, count: u64 },
    Delete { db: Database, url: String },
    Merge { db: Database, from: String, into: String, dry_run: bool },
    Export { db: Database, format: Format, history: bool },
    Import { db: Database, file: PathBuf, format: Option<Format> },
    Migrate { db: PathBuf, dry_run: bool },
    Backup { db: Database, to: Location, keep: usize },
    Restore { db: PathBuf, from: String, force: bool },
    BackupsList { at: Location },
    Copy { from: Database, to: Database },
    Cgi(ServeConfig),
    Help(Option<Sub>),
    Version,
}

/// The command line as given: the command word, its positional arguments
/// and the options.
#[derive(Default)]
struct Line {
    word: Option<String>,
    positional: Vec<String>,
    given: Given,
}

/// What reading the arguments found: a line to run, or an answer already
/// (`--help`, `--version`).
enum Read {
    Line(Line),
    Answer(Box<Command>),
}

pub fn parse(args: Vec<OsString>, env: Env) -> Result<Command, String> {
    let line = match read_args(args)? {
        Read::Line(line) => line,
        Read::Answer(command) => return Ok(*command),
    };
    let cmd = command(line.word.as_deref().unwrap_or("serve"))?;
    let s = Settings { given: line.given, env };
    let database = match cmd.sub {
        // Its databases are --from and --to, each read with the password
        // file by `copy`; --db is not among its options.
        Sub::Copy => Database::File(DEFAULT_DB.into()),
        _ => serve_config::database(&s, &s.text(&opts::DB).unwrap_or_else(|| DEFAULT_DB.into()))?,
    };
    check_options(&s, cmd)?;
    check_arity(cmd, &line.positional)?;
    build(cmd, &s, database, line.positional)
}

/// Splits the arguments into the command word, positional arguments and
/// options; `--help` or `--version` anywhere answers at once.
fn read_args(args: Vec<OsString>) -> Result<Read, String> {
    let mut parser = lexopt::Parser::from_args(args);
    let mut line = Line::default();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => {
                return help(line.word.as_deref(), &line.positional).map(|c| Read::Answer(Box::new(c)))
            }
            Short('V') | Long("version") => return Ok(Read::Answer(Box::new(Command::Version))),
            Long(name) => match options::find(name) {
                Some(opt) => line.given.read(opt, &mut parser)?,
                None => return Err(arg.unexpected().to_string()),
            },
            Value(v) => {
                let v = v.into_string().map_err(|_| "arguments must be UTF-8")?;
                match line.word {
                    None => line.word = Some(v),
                    Some(_) => line.positional.push(v),
                }
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    if line.word.as_deref() == Some("help") {
        return help(line.word.as_deref(), &line.positional).map(|c| Read::Answer(Box::new(c)));
    }
    Ok(Read::Line(line))
}

/// Every option given belongs to the command.
fn check_options(s: &Settings, cmd: &Cmd) -> Result<(), String> {
    let Some(o) = s.given.options().find(|o| !o.takes(cmd.sub)) else { return Ok(()) };
    Err(if o.takes(Sub::Serve) {
        format!("server options do not apply to {:?}; see hitcounter {} --help", cmd.name, cmd.name)
    } else {
        let mut names: Vec<&str> = o.subs.iter().map(|&sub| commands::get(sub).name).collect();
        let last = names.pop().unwrap_or_default();
        let names = if names.is_empty() { last.to_string() } else { format!("{} and {last}", names.join(", ")) };
        format!("--{} belongs to {names}", o.flag)
    })
}

/// As many positional arguments as the command's synopsis shows.
fn check_arity(cmd: &Cmd, positional: &[String]) -> Result<(), String> {
    let words = commands::positional(cmd);
    let required = words.iter().filter(|w| !w.starts_with('[')).count();
    if positional.len() < required || positional.len() > words.len() {
        return Err(usage(cmd));
    }
    Ok(())
}

fn usage(cmd: &Cmd) -> String {
    format!("usage: hitcounter {}", help::synopsis(cmd))
}

/// The command with its settings read; `args` holds as many positional
/// arguments as [`check_arity`] allowed.
fn build(cmd: &Cmd, s: &Settings, database: Database, args: Vec<String>) -> Result<Command, String> {
    let optional = args.first().cloned();
    let mut args = args.into_iter();
    let mut arg = || args.next().expect("counted by check_arity");
    Ok(match cmd.sub {
        Sub::Serve => Command::Serve(serve_config(s, database)?),
        Sub::Cgi => cgi(s, database)?,
        Sub::List => {
            let denied = if s.switch(&opts::DENIED)? { Some(serve_config::sites(s)?) } else { None };
            Command::List { db: database, top: s.number(&opts::TOP)?, denied }
        }
        Sub::Prune => prune(s, database)?,
        Sub::Get => Command::Get { db: database, url: arg() },
        Sub::Set => set(database, arg(), arg())?,
        Sub::Delete => Command::Delete { db: database, url: arg() },
        Sub::Merge => Command::Merge { db: database, from: arg(), into: arg(), dry_run: s.switch(&opts::DRY_RUN)? },
        Sub::Healthcheck => Command::Healthcheck { url: healthcheck_url(s, optional)? },
        Sub::Export => {
            let format = format(&s.text_or_default(&opts::FORMAT))?;
            Command::Export { db: database, format, history: s.switch(&opts::HISTORY)? }
        }
        Sub::Import => {
            let format = s.text(&opts::FORMAT).as_deref().map(format).transpose()?;
            Command::Import { db: database, file: PathBuf::from(arg()), format }
        }
        Sub::Migrate => Command::Migrate { db: file(cmd, &database)?, dry_run: s.switch(&opts::DRY_RUN)? },
        Sub::Backup => Command::Backup {
            db: database,
            to: Location::parse(&arg())?,
            keep: s.number_or_default(&opts::BACKUP_KEEP)?,
        },
        Sub::Restore => Command::Restore { db: file(cmd, &database)?, from: arg(), force: s.switch(&opts::FORCE)? },
        Sub::Copy => copy(cmd, s)?,
        Sub::Backups => backups_list(cmd, arg(), arg())?,
    })
}

/// For the commands that work on a SQLite file only.
fn file(cmd: &Cmd, database: &Database) -> Result<PathBuf, String> {
    database
        .file()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| format!("hitcounter {} works on a SQLite database file, not on a database server", cmd.name))
}

/// Like automatic CGI mode, the database defaults to the binary's directory.
fn cgi(s: &Settings, database: Database) -> Result<Command, String> {
    let db = match s.text(&opts::DB) {
        Some(_) => database,
        None => store::Database::File(config::exe_dir().unwrap_or_default().join("hitcounter.db")),
    };
    serve_config::cgi_database(&db)?;
    Ok(Command::Cgi(serve_config(s, db)?))
}

fn prune(s: &Settings, database: Database) -> Result<Command, String> {
    if !s.switch(&opts::DENIED)? {
        return Err("usage: hitcounter prune --denied [--dry-run] (with --allow/--deny)".into());
    }
    Ok(Command::Prune { db: database, sites: serve_config::sites(s)?, dry_run: s.switch(&opts::DRY_RUN)? })
}

fn set(database: Database, url: String, count: String) -> Result<Command, String> {
    let count = count.parse().map_err(|_| format!("COUNT must be a whole number >= 0, got {count:?}"))?;
    Ok(Command::Set { db: database, url, count })
}

fn healthcheck_url(s: &Settings, given: Option<String>) -> Result<String, String> {
    match given {
        Some(url) => Ok(url),
        None => Ok(healthcheck::default_url(&serve_config::listen_address(s)?)),
    }
}

fn format(name: &str) -> Result<Format, String> {
    match name {
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        f => Err(format!("--format must be csv or json, got {f:?}")),
    }
}

/// `--db-password-file` is for whichever of `--from` and `--to` is a
/// `postgres://` URL without a password (both, when both are).
fn copy(cmd: &Cmd, s: &Settings) -> Result<Command, String> {
    let password_file = s.text(&opts::DB_PASSWORD_FILE);
    let side = |o: &Opt| -> Result<Database, String> {
        let text = s
            .text(o)
            .ok_or_else(|| format!("copy needs --{} DB (usage: hitcounter {})", o.flag, help::synopsis(cmd)))?;
        let file = password_file.as_deref().filter(|_| store::is_postgres_url(&text));
        Database::parse(&text, file).map_err(|e| format!("--{}: {e}", o.flag))
    };
    let (from, to) = (side(&opts::FROM)?, side(&opts::TO)?);
    if password_file.is_some() && from.file().is_some() && to.file().is_some() {
        return Err("--db-password-file is for a postgres:// database, and neither --from nor --to is one".into());
    }
    Ok(Command::Copy { from, to })
}

fn backups_list(cmd: &Cmd, verb: String, at: String) -> Result<Command, String> {
    if verb != "list" {
        return Err(usage(cmd));
    }
    Ok(Command::BackupsList { at: Location::parse(&at)? })
}

fn command(name: &str) -> Result<&'static Cmd, String> {
    commands::find(name).ok_or_else(|| format!("unknown command {name:?}; see hitcounter --help"))
}

/// `--help` after `word` (if any), or `help [COMMAND]`.
fn help(word: Option<&str>, positional: &[String]) -> Result<Command, String> {
    let topic = match (word, positional) {
        (None, _) | (Some("help"), []) => None,
        (Some("help"), [name]) => Some(name.as_str()),
        (Some("help"), _) => return Err("usage: hitcounter help [COMMAND]".into()),
        (Some(name), _) => Some(name),
    };
    Ok(Command::Help(topic.map(command).transpose()?.map(|c| c.sub)))
}

#[cfg(test)]
mod tests {
    use super::options::{Kind, Opt, DEFAULT_LISTEN, OPTIONS};
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
        assert_eq!(c.db, Database::from(DEFAULT_DB));
        assert_eq!((c.policy.window, c.flush_interval_ms, c.top_domains), (300, 100, 10));
        assert_eq!(
            (c.policy.dedup, c.policy.count_bots, c.policy.api_like_badges),
            (crate::decide::Dedup::Both, false, false)
        );
        assert!(!c.enable_ssl && !c.quiet);
    }

    #[test]
    fn flag_beats_env() {
        let env = [("HITCOUNTER_LISTEN", "127.0.0.1:1"), ("DATABASE_FILE_PATH", "/e.db")];
        let c = serve(&["serve", "--listen", "127.0.0.1:2"], &env);
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.db, Database::from("/e.db"));
        assert_eq!(serve(&["--db=/f.db"], &env).db, Database::from("/f.db"));
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
            Command::Export { db: DEFAULT_DB.into(), format: Format::Json, history: false }
        );
        assert!(parse_with(&["set", "e.com", "-1"], &[]).is_err());
        assert_eq!(
            parse_with(&["merge", "e.com/a", "e.com/b", "--dry-run"], &[]).unwrap(),
            Command::Merge { db: DEFAULT_DB.into(), from: "e.com/a".into(), into: "e.com/b".into(), dry_run: true }
        );
        assert_eq!(parse_with(&["merge", "e.com/a"], &[]), Err("usage: hitcounter merge FROM INTO [--dry-run]".into()));
    }

    #[test]
    fn migrate_and_misplaced_options() {
        assert_eq!(
            parse_with(&["migrate", "--dry-run", "--db", "o.db"], &[]),
            Ok(Command::Migrate { db: "o.db".into(), dry_run: true })
        );
        assert_eq!(parse_with(&["migrate"], &[]), Ok(Command::Migrate { db: DEFAULT_DB.into(), dry_run: false }));
        for (args, want) in [
            (&["list", "--dry-run"][..], "--dry-run belongs to migrate, prune and merge"),
            (&["migrate", "--top", "3"], "--top belongs to list"),
            (&["serve", "--format", "csv"], "--format belongs to export and import"),
            (
                &["list", "--listen", "127.0.0.1:1"],
                "server options do not apply to \"list\"; see hitcounter list --help",
            ),
            (&["migrate", "x"], "usage: hitcounter migrate [--dry-run]"),
            (&["help", "frob"], "unknown command \"frob\"; see hitcounter --help"),
        ] {
            assert_eq!(parse_with(args, &[]), Err(want.to_string()), "{args:?}");
        }
    }

    #[test]
    fn help_for_a_command() {
        let help = |args: &[&str]| parse_with(args, &[]);
        assert_eq!(help(&["--help"]), Ok(Command::Help(None)));
        assert_eq!(help(&["help"]), Ok(Command::Help(None)));
        assert_eq!(help(&["list", "--help"]), Ok(Command::Help(Some(Sub::List))));
        assert_eq!(help(&["set", "-h"]), Ok(Command::Help(Some(Sub::Set))));
        assert_eq!(help(&["help", "export"]), Ok(Command::Help(Some(Sub::Export))));
        assert_eq!(help(&["help", "migrate", "--help"]), Ok(Command::Help(Some(Sub::Migrate))));
        assert!(help(&["frob", "--help"]).is_err() && help(&["help", "a", "b"]).is_err());
    }

    /// A value each option accepts that differs from its default.
    fn sample(o: &Opt) -> &'static str {
        match (o.kind, o.flag) {
            (Kind::Switch, _) => "true",
            (Kind::Number(_), _) => "7",
            (_, "listen") => "127.0.0.1:9",
            (_, "db") => "/x.db",
            (_, "public-url") => "https://x.example",
            (_, "timezone") => "+09:00",
            (_, "metrics-prefix") => "m",
            (_, "tls-cert" | "tls-key") => "/t.pem",
            (_, "format") => "json",
            (_, "dedup") => "hash",
            (_, "api-policy") => "badge",
            (_, "backup-to") => "s3://bkt/p",
            (_, "s3-bucket") => "bkt",
            (_, "s3-key-prefix") => "p-",
            (_, "allow" | "deny" | "top-ignore" | "camo-only") => "example.com",
            (_, "stats-token") => "0123456789abcdef",
            (_, "stats-token-file") => "/token",
            (_, "db-password-file") => "/password",
            (_, "from" | "to") => "/tmp/c.db",
            // Read at start: a folder that is not there is an error naming it.
            (_, "logo-dir") => "/no-such-logo-dir",
            (_, flag) => panic!("add a sample value for --{flag}"),
        }
    }

    /// What an option needs beside it to matter (backup settings need a
    /// backup target).
    fn companion(o: &Opt) -> Vec<(&'static str, &'static str)> {
        match o.flag {
            "s3-key-prefix" => vec![("S3_BUCKET", "bkt")],
            "backup-interval" | "backup-on-exit" => vec![("HITCOUNTER_BACKUP_TO", "s3://bkt/x")],
            "backup-keep" if o.subs[0] == Sub::Serve => vec![("HITCOUNTER_BACKUP_TO", "s3://bkt/x")],
            _ => Vec::new(),
        }
    }

    #[test]
    fn every_option_is_reachable_by_flag_env_and_config_key() {
        for o in OPTIONS {
            let name = commands::get(o.subs[0]).name;
            let mut words = vec![name];
            match o.subs[0] {
                Sub::Copy => words.extend(["--from", "/tmp/a.db", "--to", "/tmp/b.db"]),
                Sub::Backup => words.push("/tmp/b.db"),
                Sub::Restore => words.push("/tmp/b.db"),
                _ => {}
            }
            let with = companion(o);
            let base = parse_with(&words, &with);
            assert!(base.is_ok(), "{name}: {base:?}");
            let flag = format!("--{}", o.flag);
            let mut args = words.clone();
            args.push(flag.as_str());
            if o.kind != Kind::Switch {
                args.push(sample(o));
            }
            assert_ne!(parse_with(&args, &with), base, "{flag}");
            for var in o.env {
                let mut vars = with.clone();
                vars.push((var, sample(o)));
                assert_ne!(parse_with(&words, &vars), base, "{var}");
            }
            let underscored = o.flag.replace('-', "_");
            for key in o.env.iter().copied().chain([o.flag, &underscored]) {
                let file = config::parse(&format!("{key} = {}", sample(o)));
                if o.env.is_empty() {
                    assert!(file.is_err(), "{key} is no config key");
                    continue;
                }
                let mut file = file.unwrap();
                file.extend(with.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                let env = |k: &str| file.get(k).cloned();
                let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
                assert_ne!(parse(argv, &env), base, "config key {key}");
            }
        }
    }

    #[test]
    fn secrets_on_the_command_line_are_warned_about() {
        let token = "0123456789abcdef";
        let warnings = |args: &[&str], vars: &[(&str, &str)]| serve(args, vars).warnings;
        assert_eq!(warnings(&[], &[]), Vec::<String>::new());
        let on_line = warnings(&["--stats-token", token], &[]);
        assert!(on_line.len() == 1 && on_line[0].contains("--stats-token-file"), "{on_line:?}");
        assert!(!on_line[0].contains(token));
        assert!(warnings(&[], &[("HITCOUNTER_STATS_TOKEN", token)]).is_empty(), "not on the command line");
        let private = warnings(&["--private", "--metrics-per-page", "5"], &[("HITCOUNTER_STATS_TOKEN", token)]);
        assert!(private.len() == 1 && private[0].contains("per-page"), "{private:?}");
        #[cfg(feature = "postgres")]
        {
            let with = warnings(&["--db", "postgres://u:s3cret@db.example/h"], &[]);
            assert!(with.len() == 1 && with[0].contains("--db-password-file") && !with[0].contains("s3cret"));
            let in_query = warnings(&["--db", "postgres://u@db.example/h?password=s3cret"], &[]);
            assert_eq!(in_query.len(), 1, "{in_query:?}");
            assert!(warnings(&["--db", "postgres://u@db.example/h"], &[]).is_empty());
            assert!(warnings(&[], &[("HITCOUNTER_DB", "postgres://u:s3cret@db.example/h")]).is_empty());
        }
    }

    #[test]
    fn ipv6_prefix_is_1_to_128() {
        assert_eq!(serve(&[], &[]).clients.ipv6_prefix, 64);
        assert_eq!(serve(&["--ipv6-prefix", "128"], &[]).clients.ipv6_prefix, 128);
        assert_eq!(serve(&[], &[("HITCOUNTER_IPV6_PREFIX", "48")]).clients.ipv6_prefix, 48);
        for bad in ["0", "129", "256"] {
            let err = parse_with(&["--ipv6-prefix", bad], &[]).unwrap_err();
            assert_eq!(err, format!("--ipv6-prefix must be between 1 and 128, got {bad}"));
        }
    }

    #[test]
    fn ssl_env_switch() {
        assert!(serve(&[], &[("ENABLE_SSL", "true")]).enable_ssl);
        assert!(!serve(&[], &[("ENABLE_SSL", "false")]).enable_ssl);
    }
}
