//! hitcounter: a self-hosted page-view counter in one binary.
//!
//! The folders follow a request: `cli` (what to run) -> `serve` (server,
//! listener, CGI) -> `http` (request and response) -> `routes` (one route
//! table, the handlers) -> `target` (which URL counts) and `decide` (whether
//! it counts) -> `counter` (exact counts in memory, the flusher) -> `store`
//! (SQL) -> `render` (badges, charts, pages). `settings`, `metrics`,
//! `logging`, `clock` and `limits` are leaves any layer may use. Nothing imports from
//! a layer above it.

mod admin;
mod allocator;
mod backup;
mod cli;
mod clock;
mod counter;
mod decide;
mod http;
mod limits;
mod logging;
mod metrics;
mod render;
mod routes;
mod serve;
mod settings;
mod store;
mod target;

use cli::{config, Command};
use serve::cgi;

fn main() {
    let real = |k: &str| std::env::var(k).ok();
    let cgi_mode = real("GATEWAY_INTERFACE").is_some();
    let file = match config::load(&real) {
        Ok(vars) => vars,
        Err(e) if cgi_mode => cgi_config_error(&e),
        Err(e) => {
            eprintln!("hitcounter: {e}");
            std::process::exit(2);
        }
    };
    let env = |k: &str| real(k).or_else(|| file.get(k).cloned());
    if cgi_mode {
        // Under a web server: the arguments may be the query (RFC 3875 4.4).
        let default_db = config::exe_dir().unwrap_or_default().join("hitcounter.db");
        match cli::cgi_config(&env, default_db) {
            Ok(cfg) => std::process::exit(cgi::run(cfg)),
            Err(e) => cgi_config_error(&e),
        }
    }
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let command = match cli::parse(args, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hitcounter: {e}");
            std::process::exit(2);
        }
    };
    let result = match command {
        Command::Help(topic) => {
            print!("{}", cli::help::text(topic));
            Ok(())
        }
        Command::Version => {
            let features: Vec<&str> = [
                ("tls", cfg!(feature = "tls")),
                ("s3", cfg!(feature = "s3")),
                ("tz", cfg!(feature = "tz")),
                ("postgres", cfg!(feature = "postgres")),
            ]
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect();
            let features = if features.is_empty() { "none".to_string() } else { features.join(", ") };
            println!(
                "hitcounter {} (commit {}; SQLite {}; features: {features})",
                env!("CARGO_PKG_VERSION"),
                env!("HITCOUNTER_COMMIT"),
                store::sqlite_version()
            );
            Ok(())
        }
        Command::Serve(cfg) => std::process::exit(serve::serve(cfg)),
        Command::Cgi(cfg) => std::process::exit(cgi::run(cfg)),
        Command::List { db, top, denied } => admin::list(&db, top, denied.as_ref()),
        Command::Prune { db, sites, dry_run } => admin::prune(&db, &sites, dry_run),
        Command::Healthcheck { url } => std::process::exit(cli::healthcheck::run(&url)),
        Command::Get { db, url } => admin::get(&db, &url),
        Command::Set { db, url, count } => admin::set(&db, &url, count),
        Command::Delete { db, url } => admin::delete(&db, &url),
        Command::Merge { db, from, into, dry_run } => admin::merge::merge(&db, &from, &into, dry_run),
        Command::Export { db, format, history } => admin::export::export(&db, format, history),
        Command::Import { db, file, format } => admin::import::import(&db, &file, format),
        Command::Migrate { db, dry_run } => admin::migrate(&db, dry_run),
        Command::Backup { db, to, keep } => admin::backups::backup(&db, &to, keep),
        Command::Restore { db, from, force } => admin::backups::restore(&db, &from, force),
        Command::BackupsList { at } => admin::backups::list(&at),
        Command::Copy { from, to } => admin::copy::copy(&from, &to),
    };
    if let Err(admin::Failure(msg, code)) = result {
        eprintln!("hitcounter: {msg}");
        std::process::exit(code);
    }
}

/// Under a web server a configuration error is a response (the log line
/// alone would leave the visitor a bare "500" and the owner guessing).
fn cgi_config_error(e: &str) -> ! {
    eprintln!("hitcounter: {e}");
    let resp = cgi::encode(http::Resp::text(500, format!("hitcounter configuration error: {e}")), false);
    let _ = std::io::Write::write_all(&mut std::io::stdout(), &resp);
    std::process::exit(1)
}
