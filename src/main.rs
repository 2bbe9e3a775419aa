//! hitcounter: a self-hosted page-view counter in one binary.
//!
//! Data flows request -> parse (`request`) -> pick target URL (`target`) ->
//! decide count (`cookie`) -> count and store (`counter`, `store`) -> render
//! (`badge`, `page`) -> respond (`routes`, `server`).

mod admin;
mod badge;
mod chart;
mod cli;
mod clock;
mod color;
mod cookie;
mod counter;
mod counts;
mod escape;
mod limits;
mod logging;
mod metrics;
mod migrate;
mod page;
mod params;
mod request;
mod routes;
mod server;
mod stats;
mod store;
mod target;
mod width;

use cli::Command;

fn main() {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let env = |k: &str| std::env::var(k).ok();
    let command = match cli::parse(args, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hitcounter: {e}");
            std::process::exit(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{}", cli::HELP);
            Ok(())
        }
        Command::Version => {
            println!("hitcounter {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve(cfg) => std::process::exit(server::serve(cfg)),
        Command::List { db, top } => admin::list(&db, top),
        Command::Get { db, url } => admin::get(&db, &url),
        Command::Set { db, url, count } => admin::set(&db, &url, count),
        Command::Delete { db, url } => admin::delete(&db, &url),
        Command::Export { db, format } => admin::export(&db, format),
        Command::Import { db, file } => admin::import(&db, &file),
    };
    if let Err(admin::Failure(msg, code)) = result {
        eprintln!("hitcounter: {msg}");
        std::process::exit(code);
    }
}
