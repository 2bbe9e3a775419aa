//! `--help`, made from the command and option tables: the overview
//! (`hitcounter --help`) and one command's page (`hitcounter list --help`,
//! `hitcounter help list`). Lines stay within 80 columns.

use super::commands::{self, Cmd, Sub, COMMANDS};
use super::options::{Kind, Opt, DB, DB_PASSWORD_FILE, OPTIONS, SITES};

const WIDTH: usize = 80;
/// Where an option's help starts.
const OPTION_COLUMN: usize = 27;
/// Where a command's description starts in the overview.
const COMMAND_COLUMN: usize = 38;

const ENV_HEADER: &str = "                                   [environment variable]";

const ADMIN: &str = "\
Admin commands work on the database file directly and are safe while a
server runs; the server shows their effect within 2 seconds. They take
--db PATH (or DATABASE_FILE_PATH) like serve. get, list and export only
read the database: they never create or change it, and a missing database
is an error.
";

const CONFIG: &str = "\
A flag beats its environment variable, which beats a config file:
HITCOUNTER_CONFIG, else hitcounter.toml next to the binary, with lines
`NAME = value` (NAME an environment variable above, or a flag name such as
db or cookie-window; any other NAME is an error).

S3 backups take their credentials and endpoint from the environment only:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or
AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, or AWS_PROFILE
with ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
AWS_CONFIG_FILE).

";

/// The overview, or `sub`'s page.
pub fn text(sub: Option<Sub>) -> String {
    match sub {
        None => overview(),
        Some(sub) => page(commands::get(sub)),
    }
}

fn overview() -> String {
    let mut out = String::from("hitcounter - self-hosted page-view counter with SVG badges\n\nUSAGE:\n");
    for c in COMMANDS {
        let synopsis = match c.sub {
            Sub::Serve => "[serve] [OPTIONS]".to_string(),
            _ => synopsis(c),
        };
        columns(&mut out, &format!("    hitcounter {synopsis}"), c.summary, COMMAND_COLUMN);
    }
    let help = ["this help, or one command's usage", "(also: hitcounter COMMAND --help)"];
    columns(&mut out, "    hitcounter help [COMMAND]", &help, COMMAND_COLUMN);
    out.push('\n');
    out.push_str(ADMIN);
    out.push_str("\nSERVE OPTIONS:");
    out.push_str(ENV_HEADER);
    out.push('\n');
    options(&mut out, Sub::Serve);
    out.push('\n');
    columns(&mut out, "    -h, --help", &["this help"], OPTION_COLUMN);
    columns(&mut out, "    -V, --version", &["version"], OPTION_COLUMN);
    out.push('\n');
    out.push_str(CONFIG);
    out.push_str("Logs go to stderr.\n");
    out
}

fn page(c: &Cmd) -> String {
    let mut out = format!("USAGE:\n    hitcounter {}\n\n", synopsis(c));
    for line in c.about {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\nOPTIONS:      ");
    out.push_str(ENV_HEADER);
    out.push('\n');
    options(&mut out, c.sub);
    out.push('\n');
    columns(&mut out, "    -h, --help", &["this help"], OPTION_COLUMN);
    out.push('\n');
    out.push_str(CONFIG);
    out
}

/// The options `sub` takes, one block each.
fn options(out: &mut String, sub: Sub) {
    for o in OPTIONS.iter().filter(|o| o.takes(sub)) {
        let left = match o.kind {
            Kind::Switch => format!("    --{}", o.flag),
            Kind::Text(p) | Kind::Number(p) => format!("    --{} {p}", o.flag),
        };
        columns(out, &left, &option_lines(o), OPTION_COLUMN);
    }
}

/// The help lines, then `default X` and `[VARIABLE]`, each on the last
/// line if it fits there.
fn option_lines(o: &Opt) -> Vec<String> {
    let mut lines: Vec<String> = o.help.iter().map(|l| l.to_string()).collect();
    let mut tail = Vec::new();
    if let Some(d) = o.default {
        tail.push(("; ", format!("default {d}")));
    }
    if !o.env.is_empty() {
        let names: Vec<String> = match o.kind {
            Kind::Switch => o.env.iter().map(|e| format!("{e}=true")).collect(),
            _ => o.env.iter().map(|e| e.to_string()).collect(),
        };
        let all = format!("[{}]", names.join(", "));
        if OPTION_COLUMN + all.len() <= WIDTH {
            tail.push(("  ", all));
        } else {
            // Too long for one line: a line for each name.
            let last = names.len() - 1;
            for (i, n) in names.iter().enumerate() {
                let (open, close) = (if i == 0 { "[" } else { " " }, if i == last { "]" } else { "," });
                tail.push(("  ", format!("{open}{n}{close}")));
            }
        }
    }
    for (sep, piece) in tail {
        let last = lines.last_mut().expect("help has a line");
        if OPTION_COLUMN + last.len() + sep.len() + piece.len() <= WIDTH {
            last.push_str(sep);
            last.push_str(&piece);
        } else {
            lines.push(piece);
        }
    }
    lines
}

/// `left`, then `right`'s lines from `column` on (two spaces after a long `left`).
fn columns<S: AsRef<str>>(out: &mut String, left: &str, right: &[S], column: usize) {
    out.push_str(left);
    // A long left side gets its text on the lines below.
    let pad = if left.len() + 2 <= column {
        column - left.len()
    } else {
        out.push('\n');
        column
    };
    for (i, line) in right.iter().enumerate() {
        let pad = if i == 0 { pad } else { column };
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(line.as_ref());
        out.push('\n');
    }
}

/// `list [--top N]`: the name, the arguments, and the options only some
/// commands take (`[OPTIONS]` when there are many, as for serve).
pub fn synopsis(c: &Cmd) -> String {
    // Shared options (--db and its password; the site lists, which admin
    // commands read too) are shown with the server's.
    let server = matches!(c.sub, Sub::Serve | Sub::Cgi);
    let shared = |o: &Opt| [DB.flag, DB_PASSWORD_FILE.flag].contains(&o.flag) || (!server && o.subs == SITES);
    // Options a command cannot do without are written out in its args.
    let required = |o: &Opt| c.args.split(' ').any(|w| w.strip_prefix("--") == Some(o.flag));
    let own: Vec<_> = OPTIONS.iter().filter(|o| o.takes(c.sub) && !shared(o) && !required(o)).collect();
    let mut parts = vec![c.name.to_string()];
    if !c.args.is_empty() {
        parts.push(c.args.to_string());
    }
    if own.len() > 2 {
        parts.push("[OPTIONS]".into());
    } else {
        parts.extend(own.iter().map(|o| match o.kind {
            Kind::Switch => format!("[--{}]", o.flag),
            Kind::Text(p) | Kind::Number(p) => format!("[--{} {p}]", o.flag),
        }));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_in_80_columns() {
        let pages = std::iter::once(text(None)).chain(COMMANDS.iter().map(|c| text(Some(c.sub))));
        for page in pages {
            for line in page.lines() {
                assert!(line.len() <= WIDTH, "too long: {line:?}");
            }
        }
    }

    #[test]
    fn overview_names_every_command_flag_and_variable() {
        let help = text(None);
        for c in COMMANDS {
            assert!(help.contains(&format!("hitcounter {}", synopsis(c))) || c.sub == Sub::Serve);
        }
        for o in OPTIONS.iter().filter(|o| o.takes(Sub::Serve)) {
            assert!(help.contains(&format!("--{}", o.flag)), "--{}", o.flag);
            for e in o.env {
                assert!(help.contains(e), "{e}");
            }
        }
        assert!(help.contains("hitcounter migrate [--dry-run]") && help.contains("only\nread the database"));
    }

    #[test]
    fn a_page_lists_only_its_options() {
        let flags = |sub| -> Vec<String> {
            text(Some(sub))
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("--"))
                .map(|l| l.split(' ').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(flags(Sub::List), ["top", "db", "db-password-file", "allow", "deny", "denied"]);
        assert_eq!(flags(Sub::Export), ["format", "history", "db", "db-password-file"]);
        assert_eq!(flags(Sub::Migrate), ["dry-run", "db", "db-password-file"]);
        assert_eq!(flags(Sub::Get), ["db", "db-password-file"]);
        assert_eq!(flags(Sub::Copy), ["from", "to", "db-password-file"]);
        let serve = flags(Sub::Serve);
        assert_eq!(serve.len(), OPTIONS.iter().filter(|o| o.takes(Sub::Serve)).count());
        assert!(!serve.contains(&"top".to_string()) && serve.contains(&"listen".to_string()));
        assert!(text(Some(Sub::List)).contains("hitcounter list [--top N] [--denied]"));
    }

    #[test]
    fn synopses() {
        let syn = |name| synopsis(commands::find(name).unwrap());
        assert_eq!(syn("serve"), "serve [OPTIONS]");
        assert_eq!(syn("list"), "list [--top N] [--denied]");
        assert_eq!(syn("prune"), "prune [--dry-run] [--denied]");
        assert_eq!(syn("set"), "set URL COUNT");
        assert_eq!(syn("export"), "export [--format csv|json] [--history]");
        assert_eq!(syn("migrate"), "migrate [--dry-run]");
        assert_eq!(syn("cgi"), "cgi [OPTIONS]");
        assert_eq!(syn("backup"), "backup DEST [--backup-keep N]");
        assert_eq!(syn("restore"), "restore SOURCE [--force]");
        assert_eq!(syn("backups"), "backups list LOCATION");
        assert_eq!(syn("copy"), "copy --from DB --to DB");
    }
}
