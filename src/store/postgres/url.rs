//! A `postgres://` URL from `--db`: the connection settings (the password
//! from the URL, `--db-password-file` or `PGPASSWORD`, in that order), the
//! TLS settings (`sslmode`, and `sslrootcert`, which we read ourselves: the
//! client library does not know it; see `tls.rs`), and the URL as it may be
//! shown, without its password.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a connection attempt may take when the URL does not say
/// (`connect_timeout`): a database that is down must fail a flush, not
/// hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database to connect to.
#[derive(Clone)]
pub struct Url {
    pub(super) config: Config,
    pub(super) tls: MakeRustlsConnect,
    root_cert: Option<PathBuf>,
    /// The URL with its password replaced: for logs and messages.
    shown: String,
    /// The URL itself held the password (`user:password@` or `password=`).
    password_in_url: bool,
}

impl Url {
    pub fn parse(text: &str, password_file: Option<&str>) -> Result<Url, String> {
        let shown = redact(text);
        let (text, root_cert) = take_param(text, "sslrootcert");
        let mut config = Config::from_str(&text).map_err(|e| format!("--db {shown}: {e}"))?;
        let password_in_url = config.get_password().is_some();
        if !password_in_url {
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
        let root_cert = root_cert.map(PathBuf::from);
        let tls = super::tls::connector(root_cert.as_deref()).map_err(|e| format!("--db {shown}: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("hitcounter");
        }
        Ok(Url { config, tls, root_cert, shown, password_in_url })
    }

    /// Whether the URL itself held the password.
    pub fn password_in_url(&self) -> bool {
        self.password_in_url
    }
}

/// The same database as the same user with the same password.
impl PartialEq for Url {
    fn eq(&self, other: &Url) -> bool {
        self.shown == other.shown
            && self.config.get_password() == other.config.get_password()
            && self.root_cert == other.root_cert
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

/// `text` without the query parameter `name`, and its value
/// (percent-decoded), if it was there.
fn take_param(text: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = text.split_once('?') else { return (text.to_string(), None) };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| match p.split_once('=') {
            Some((k, v)) if k == name => {
                value = Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
                false
            }
            _ => true,
        })
        .collect();
    let text = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (text, value)
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
    fn sslrootcert_is_ours_to_read() {
        assert_eq!(
            take_param("postgres://h/db?sslmode=require&sslrootcert=%2Fetc%2Fca.pem", "sslrootcert"),
            ("postgres://h/db?sslmode=require".to_string(), Some("/etc/ca.pem".to_string()))
        );
        assert_eq!(take_param("postgres://h/db?sslrootcert=ca.pem", "sslrootcert").0, "postgres://h/db");
        assert_eq!(take_param("postgres://h/db", "sslrootcert"), ("postgres://h/db".to_string(), None));
        assert!(Url::parse("postgres://u@h/db?sslmode=require", None).is_ok());
        let e = Url::parse("postgres://u@h/db?sslrootcert=/nonexistent.pem", None).unwrap_err();
        assert!(e.contains("sslrootcert /nonexistent.pem"), "{e}");
    }
}
