//! The optional config file, for hosts where environment variables are hard
//! to set (shared hosting). Lines are `NAME = value`; `#` starts a comment,
//! `[section]` lines are ignored and values may be quoted, so a simple TOML
//! file works. NAME is one of an option's environment variables
//! (`DATABASE_FILE_PATH`) or its flag name (`db`, `cookie-window` or
//! `cookie_window`), in any case; both come from the option table, and any
//! other NAME is an error. The real environment beats the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::options::OPTIONS;

pub const FILE_NAME: &str = "hitcounter.toml";

/// The directory of the running binary (config and CGI database live there).
pub fn exe_dir() -> Option<PathBuf> {
    // Asked twice by a CGI process, and each asking is a readlink of
    // /proc/self/exe.
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| std::env::current_exe().ok()?.parent().map(Path::to_path_buf)).clone()
}

/// Reads `HITCOUNTER_CONFIG`, else `hitcounter.toml` next to the binary when
/// it exists. A named file that cannot be read is an error.
pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<HashMap<String, String>, String> {
    let (path, required) = match env("HITCOUNTER_CONFIG").filter(|p| !p.is_empty()) {
        Some(p) => (PathBuf::from(p), true),
        None => match exe_dir() {
            Some(dir) => (dir.join(FILE_NAME), false),
            None => return Ok(HashMap::new()),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(format!("cannot read config file {}: {e}", path.display())),
    }
}

pub fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected NAME = value", i + 1));
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => quoted.to_string(),
            None => value.split(" #").next().unwrap_or(value).trim().to_string(),
        };
        let var = env_name(name.trim()).map_err(|e| format!("line {}: {e}", i + 1))?;
        vars.insert(var, value);
    }
    Ok(vars)
}

/// The environment variable a NAME sets: `cookie-window` ->
/// `HITCOUNTER_COOKIE_WINDOW`, `db` -> `DATABASE_FILE_PATH` (an option's
/// first variable), `hitcounter_db` -> `HITCOUNTER_DB` (itself).
fn env_name(name: &str) -> Result<String, String> {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    for o in OPTIONS {
        if let Some(var) = o.env.iter().find(|v| **v == upper) {
            return Ok(var.to_string());
        }
        if o.flag.to_ascii_uppercase().replace('-', "_") == upper {
            return match o.env.first() {
                Some(var) => Ok(var.to_string()),
                None => Err(format!("{name:?} cannot be set here: --{} is a command-line option only", o.flag)),
            };
        }
    }
    if upper == "HITCOUNTER_CONFIG" {
        return Err("HITCOUNTER_CONFIG cannot be set in the config file itself".into());
    }
    Err(format!("unknown setting {name:?} (see hitcounter --help for the names)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_like_lines() {
        let vars = parse(
            "# comment\n[hitcounter]\ndb = \"/data/hits.db\"\ncookie-window = 60 # seconds\nENABLE_SSL=true\nHITCOUNTER_PUBLIC_URL = https://c.example\n",
        )
        .unwrap();
        assert_eq!(vars["DATABASE_FILE_PATH"], "/data/hits.db");
        assert_eq!(vars["HITCOUNTER_COOKIE_WINDOW"], "60");
        assert_eq!(vars["ENABLE_SSL"], "true");
        assert_eq!(vars["HITCOUNTER_PUBLIC_URL"], "https://c.example");
        assert!(parse("just words").is_err());
        let vars = parse("Cookie_Window = 5\nhitcounter_db = /x.db\nMETRICS_PREFIX = m\ntop-domains = 3").unwrap();
        assert_eq!(vars["HITCOUNTER_COOKIE_WINDOW"], "5");
        assert_eq!(vars["HITCOUNTER_DB"], "/x.db");
        assert_eq!(vars["METRICS_PREFIX"], "m");
        assert_eq!(vars["NUM_TOP_DOMAINS"], "3");
    }

    #[test]
    fn unknown_names_are_errors_with_their_line() {
        for (text, want) in [
            ("db = x\n\ncookie-windw = 5\n", "line 3: unknown setting \"cookie-windw\""),
            ("HITCOUNTER_CONFIG = other.toml", "line 1: HITCOUNTER_CONFIG cannot be set"),
            ("GATEWAY_INTERFACE = CGI/1.1", "line 1: unknown setting \"GATEWAY_INTERFACE\""),
            ("[hitcounter]\ntop = 3", "line 2: \"top\" cannot be set here: --top is a command-line option only"),
            ("HITCOUNTER_TOP_DOMAINS = 3", "line 1: unknown setting"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(want), "{text:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }
}
