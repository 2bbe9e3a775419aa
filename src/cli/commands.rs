//! The command table: each subcommand's name, arguments and help text, in
//! the order of `hitcounter --help`. Which options a command takes is in
//! the option table (`options.rs`); `help.rs` makes its synopsis from both.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Serve,
    List,
    Get,
    Set,
    Delete,
    Merge,
    Prune,
    Healthcheck,
    Export,
    Import,
    Migrate,
    Backup,
    Restore,
    Backups,
    Copy,
    Cgi,
}

pub struct Cmd {
    pub sub: Sub,
    pub name: &'static str,
    /// Positional arguments, e.g. `URL COUNT`.
    pub args: &'static str,
    /// The overview's description, one string per line.
    pub summary: &'static [&'static str],
    /// The command's own `--help` text, one string per line.
    pub about: &'static [&'static str],
}

pub static COMMANDS: &[Cmd] = &[
    Cmd {
        sub: Sub::Serve,
        name: "serve",
        args: "",
        summary: &["run the HTTP server (the default)"],
        about: &[
            "Runs the HTTP server (also what `hitcounter` alone does): counts hits,",
            "serves badges and the stats pages. Logs go to stderr; SIGTERM or SIGINT",
            "saves the counted hits and exits 0. When GATEWAY_INTERFACE is set,",
            "hitcounter answers one CGI request instead (see hitcounter cgi --help).",
        ],
    },
    Cmd {
        sub: Sub::List,
        name: "list",
        args: "",
        summary: &["counters, biggest first (COUNT<TAB>URL)"],
        about: &[
            "Prints the counters, biggest first, one per line as COUNT<TAB>URL.",
            "It only reads the database: it never creates or changes it, and a",
            "missing database is an error.",
        ],
    },
    Cmd {
        sub: Sub::Get,
        name: "get",
        args: "URL",
        summary: &["print one counter's count (0 if none)"],
        about: &[
            "Prints the count of URL (0 if it has none). URL is normalised like a",
            "counted page's, so https://Example.com/a?x=1 is example.com/a.",
            "It only reads the database: it never creates or changes it, and a",
            "missing database is an error.",
        ],
    },
    Cmd {
        sub: Sub::Set,
        name: "set",
        args: "URL COUNT",
        summary: &["set a counter (e.g. when moving from", "another service)"],
        about: &[
            "Sets the count of URL to COUNT (it does not add), e.g. when moving from",
            "another service. The database is created when missing. Safe while a",
            "server runs; the server shows the new count within 2 seconds.",
        ],
    },
    Cmd {
        sub: Sub::Delete,
        name: "delete",
        args: "URL",
        summary: &["delete a counter and its history"],
        about: &[
            "Deletes the counter of URL and its history; exits 1 if there is none.",
            "Safe while a server runs; the server shows it within 2 seconds.",
        ],
    },
    Cmd {
        sub: Sub::Merge,
        name: "merge",
        args: "FROM INTO",
        summary: &["fold one counter into another, with its", "days and visitors (--dry-run: only say)"],
        about: &[
            "Moves the total, per-day hits and visitors of FROM into INTO (created",
            "when missing) and deletes FROM, in one transaction: for a page that",
            "moved, or two spellings of one page. FROM and INTO are normalised like",
            "a counted page's URL; FROM must have a counter and differ from INTO.",
            "With --dry-run it prints both totals and the result, and changes",
            "nothing. Safe while a server runs; it shows the merge within 2 seconds.",
        ],
    },
    Cmd {
        sub: Sub::Prune,
        name: "prune",
        args: "",
        summary: &["delete counters the site lists refuse"],
        about: &[
            "With --denied, deletes every counter whose site the current --allow and",
            "--deny lists refuse (with --dry-run, only lists them). Safe while a",
            "server runs; the server shows it within 2 seconds.",
        ],
    },
    Cmd {
        sub: Sub::Healthcheck,
        name: "healthcheck",
        args: "[URL]",
        summary: &["exit 0 when a server's /healthz says ok"],
        about: &[
            "Asks URL (default http://LISTEN/healthz, from --listen or",
            "HITCOUNTER_LISTEN) and exits 0 on 200, else 1, printing the answer.",
            "For container HEALTHCHECKs: no shell or curl needed. Plain http only.",
        ],
    },
    Cmd {
        sub: Sub::Export,
        name: "export",
        args: "",
        summary: &["all counters to stdout (default csv)"],
        about: &[
            "Writes all counters to stdout, biggest first, as CSV with the header",
            "url,count (what import reads) or as a JSON array of {\"url\", \"count\"}.",
            "With --history, by URL with each counter's days: CSV rows",
            "url,count,day,hits,uniques (one a day; empty day for a counter without",
            "any), JSON \"days\": [{\"day\", \"hits\", \"uniques\"}]. It only reads the",
            "database: it never creates or changes it; a missing one is an error.",
        ],
    },
    Cmd {
        sub: Sub::Import,
        name: "import",
        args: "FILE|-",
        summary: &["set counters (and days) from what", "export writes, CSV or JSON; - is stdin"],
        about: &[
            "Sets counters from what export writes: CSV (header url,count, or",
            "url,count,day,hits,uniques with history) or JSON (a .json file, or",
            "with --format json); - reads standard input. Days in the input replace",
            "those days of the counter; counters and days not in it are left alone.",
            "The whole input is validated first: all rows are imported or none.",
            "Safe while a server runs; it shows the new counts within 2 seconds.",
        ],
    },
    Cmd {
        sub: Sub::Migrate,
        name: "migrate",
        args: "",
        summary: &[
            "convert a database of the original hit",
            "counter (a copy is kept first); --dry-run",
            "prints what it would do",
        ],
        about: &[
            "Converts a database of the original Python hit counter in place, after",
            "keeping a copy of it. With --dry-run it prints what converting would do",
            "and changes nothing. A hitcounter database is left as it is (an older",
            "one is upgraded). serve also converts such a database when it starts.",
        ],
    },
    Cmd {
        sub: Sub::Backup,
        name: "backup",
        args: "DEST",
        summary: &["a consistent snapshot to DEST: a file, a", "folder or s3://BUCKET/PREFIX"],
        about: &[
            "Writes a consistent snapshot of the database (a plain SQLite file with",
            "every count and per-day row) while a server may be running. DEST is a",
            "file (written atomically), a folder, or s3://BUCKET/PREFIX; into a folder",
            "or S3 it goes as YYYYmmddHHMMSS.db and then as latest.db, and only the",
            "newest --backup-keep timestamped copies are kept. S3 credentials and",
            "endpoint come from AWS_* variables or AWS_PROFILE (see docs/operations.md).",
        ],
    },
    Cmd {
        sub: Sub::Restore,
        name: "restore",
        args: "SOURCE",
        summary: &["put a backup in the database's place", "(a file, or s3://BUCKET/PREFIX[/NAME])"],
        about: &[
            "Restores a backup: SOURCE is a file, a folder or s3://BUCKET/PREFIX (the",
            "newest backup: latest.db, else the original hit counter's latest.bak),",
            "or s3://BUCKET/PREFIX/NAME. The backup is checked first (integrity, our",
            "schema or the original's, whose SQL dumps are converted). An existing",
            "database is replaced only with --force and kept as DB.before-restore[.N].",
            "No server may be running on the database.",
        ],
    },
    Cmd {
        sub: Sub::Backups,
        name: "backups",
        args: "list LOCATION",
        summary: &["the backups in a folder or S3 prefix", "with time and size"],
        about: &["Lists the backups in a folder or under s3://BUCKET/PREFIX: name, time, size."],
    },
    Cmd {
        sub: Sub::Copy,
        name: "copy",
        args: "--from DB --to DB",
        summary: &["copy every counter and its history into", "an empty database (SQLite <-> PostgreSQL)"],
        about: &[
            "Copies every counter with its per-day history from --from into --to,",
            "each a SQLite file or a postgres:// URL, in one transaction, then checks",
            "that every count and day matches. --to must hold no counters yet. Stop",
            "the servers writing to --from first, or hits they count later stay there.",
            "A PostgreSQL side's password: in its URL (visible in ps), else in the",
            "file --db-password-file names (used for whichever side is a postgres://",
            "URL, both when both are), else PGPASSWORD.",
        ],
    },
    Cmd {
        sub: Sub::Cgi,
        name: "cgi",
        args: "",
        summary: &["answer one CGI request (automatic when", "GATEWAY_INTERFACE is set)"],
        about: &[
            "Answers one CGI request and exits. This is automatic when",
            "GATEWAY_INTERFACE is set; then the arguments are ignored (a web server",
            "may pass the query as arguments) and the settings come from the",
            "environment and the config file only. The database defaults to",
            "hitcounter.db next to the binary.",
        ],
    },
];

pub fn find(name: &str) -> Option<&'static Cmd> {
    COMMANDS.iter().find(|c| c.name == name)
}

pub fn get(sub: Sub) -> &'static Cmd {
    COMMANDS.iter().find(|c| c.sub == sub).expect("every command is in the table")
}

/// The positional words of a command's args: `--flag VALUE` pairs written
/// there (options it cannot do without) are not.
pub fn positional(c: &Cmd) -> Vec<&'static str> {
    let mut words = Vec::new();
    let mut all = c.args.split_whitespace();
    while let Some(w) = all.next() {
        if w.starts_with("--") {
            all.next();
        } else {
            words.push(w);
        }
    }
    words
}
