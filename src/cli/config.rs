//! The optional config file, for hosts where environment variables are hard
//! to set (shared hosting). Lines are `NAME = value`; `#` starts a comment,
//! `[section]` lines are ignored and values may be quoted, so a simple TOML
//! file works. NAME is an environment variable (`DATABASE_FILE_PATH`) or a
//! flag name (`db`, `cookie-window`). The real environment beats the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "hitcounter.toml";

/// Flag names whose environment variable is not `HITCOUNTER_` + NAME.
const ALIASES: [(&str, &str); 6] = [
    ("DB", "DATABASE_FILE_PATH"),
    ("ENABLE_SSL", "ENABLE_SSL"),
    ("TOP_DOMAINS", "NUM_TOP_DOMAINS"),
    ("METRICS", "EXPOSE_METRICS"),
    ("METRICS_PREFIX", "METRICS_PREFIX"),
    ("NUM_TOP_DOMAINS", "NUM_TOP_DOMAINS"),
];
const PLAIN: [&str; 4] = ["DATABASE_FILE_PATH", "EXPOSE_METRICS", "NUM_TOP_DOMAINS", "GATEWAY_INTERFACE"];

/// The directory of the running binary (config and CGI database live there).
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe().ok()?.parent().map(Path::to_path_buf)
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
        vars.insert(env_name(name.trim()), value);
    }
    Ok(vars)
}

/// `cookie-window` -> `HITCOUNTER_COOKIE_WINDOW`, `db` -> `DATABASE_FILE_PATH`.
fn env_name(name: &str) -> String {
    let upper = name.to_ascii_uppercase().replace('-', "_");
    if let Some((_, var)) = ALIASES.iter().find(|(flag, _)| *flag == upper) {
        return var.to_string();
    }
    if upper.starts_with("HITCOUNTER_") || PLAIN.contains(&upper.as_str()) {
        upper
    } else {
        format!("HITCOUNTER_{upper}")
    }
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
    }
}
