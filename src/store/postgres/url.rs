//! A `postgres://` URL from `--db`: the connection settings (the password
//! from the URL, `--db-password-file` or `PGPASSWORD`, in that order) and
//! the URL as it may be shown, without its password.

use std::str::FromStr;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::Config;

/// How long a connection attempt may take when the URL does not say
/// (`connect_timeout`): a database that is down must fail a flush, not
/// hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database to connect to.
#[derive(Clone)]
pub struct Url {
    pub(super) config: Config,
    /// The URL with its password replaced: for logs and messages.
    shown: String,
}

impl Url {
    pub fn parse(text: &str, password_file: Option<&str>) -> Result<Url, String> {
        let shown = redact(text);
        let mut config = Config::from_str(text).map_err(|e| format!("--db {shown}: {e}"))?;
        if config.get_password().is_none() {
            let password = match password_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read --db-password-file {path}: {e}"))?
                        .trim_end_matches(['\r', '\n'])
                        .to_string(),
                ),
                None => std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
            };
            if let Some(p) = password {
                config.password(p);
            }
        }
        if !matches!(config.get_ssl_mode(), SslMode::Disable | SslMode::Prefer) {
            return Err(format!(
                "--db {shown}: this build connects to PostgreSQL without TLS; use sslmode=disable or prefer \
                 (over a private network or a tunnel)"
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("hitcounter");
        }
        Ok(Url { config, shown })
    }
}

/// The same database as the same user with the same password.
impl PartialEq for Url {
    fn eq(&self, other: &Url) -> bool {
        self.shown == other.shown && self.config.get_password() == other.config.get_password()
    }
}

impl Eq for Url {}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// `text` with the password of its user info (`user:password@`) and any
/// `password=` parameter replaced by `***`.
pub fn redact(text: &str) -> String {
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| if p.to_ascii_lowercase().starts_with("password=") { "password=***".into() } else { p.into() })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgresql://u:p@ss@h/db?sslmode=disable"), "postgresql://u:***@h/db?sslmode=disable");
        assert_eq!(redact("postgres://h/db?user=u&password=secret"), "postgres://h/db?user=u&password=***");
        let url = Url::parse("postgres://u:secret@127.0.0.1:1/db", None).unwrap();
        assert!(!format!("{url} {url:?}").contains("secret"));
    }

    #[test]
    fn the_url_password_comes_first_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let file = file.to_str().unwrap();
        let url = Url::parse("postgres://u:in-url@h/db", Some(file)).unwrap();
        assert_eq!(url.config.get_password(), Some(&b"in-url"[..]));
        let url = Url::parse("postgres://u@h/db", Some(file)).unwrap();
        assert_eq!(url.config.get_password(), Some(&b"from-file"[..]));
        assert!(Url::parse("postgres://u@h/db", Some("/nonexistent/pw")).is_err());
    }

    #[test]
    fn tls_is_refused_with_a_clear_message() {
        let e = Url::parse("postgres://u@h/db?sslmode=require", None).unwrap_err();
        assert!(e.contains("without TLS"), "{e}");
        assert!(Url::parse("postgres://u@h/db?sslmode=disable", None).is_ok());
    }
}
