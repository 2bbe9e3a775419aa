//! S3 credentials, region and endpoint, found the way AWS tools find them:
//! the environment first (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`), then the profile named by
//! `AWS_PROFILE` (else `default`) in `~/.aws/credentials` and
//! `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`),
//! including the nested form `s3 =` / `  endpoint_url = ...` that S3
//! providers document. Secrets stay in [`Settings`]; nothing here logs.

use std::collections::HashMap;
use std::path::PathBuf;

/// Where and how to reach S3.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoint: String,
    pub region: String,
    /// Path-style URLs (`https://host/bucket/key`): for custom endpoints
    /// (MinIO, Wasabi, R2, B2, Garage); AWS itself gets virtual hosts.
    pub path_style: bool,
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One profile's keys; `s3.endpoint_url` for the nested block.
type Profile = HashMap<String, String>;

/// Parses an AWS config or credentials file into its sections. Section
/// names are as written (`default`, `profile wasabi`, `wasabi`); keys in a
/// nested block (`s3 =` followed by indented lines) get the block's name
/// and a dot in front.
fn parse_ini(text: &str) -> HashMap<String, Profile> {
    let mut sections: HashMap<String, Profile> = HashMap::new();
    let mut current: Option<String> = None;
    let mut block: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            block = None;
            continue;
        }
        let Some(section) = &current else { continue };
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_string());
        let indented = raw.starts_with([' ', '\t']);
        if !indented {
            block = None;
        }
        let entry = sections.entry(section.clone()).or_default();
        match (&block, indented) {
            (Some(b), true) => {
                entry.insert(format!("{b}.{key}"), value);
            }
            _ if value.is_empty() => block = Some(key),
            _ => {
                entry.insert(key, value);
            }
        }
    }
    sections
}

fn file(env: &dyn Fn(&str) -> Option<String>, var: &str, default: &str) -> Option<PathBuf> {
    env(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(default)))
}

/// The profile's keys from both files (the credentials file wins).
fn profile(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Profile {
    let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok()).map(|t| parse_ini(&t));
    let mut out = Profile::new();
    if let Some(mut config) = read(file(env, "AWS_CONFIG_FILE", ".aws/config")) {
        let section = if name == "default" { "default".to_string() } else { format!("profile {name}") };
        out.extend(config.remove(&section).or_else(|| config.remove(name)).unwrap_or_default());
    }
    if let Some(mut creds) = read(file(env, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")) {
        out.extend(creds.remove(name).unwrap_or_default());
    }
    out
}

/// A variable's value, trimmed; none when empty.
fn var(env: &dyn Fn(&str) -> Option<String>, k: &str) -> Option<String> {
    env(k).filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_string())
}

/// The profile's name (`AWS_PROFILE`, else `default`) and its keys.
fn named_profile(env: &dyn Fn(&str) -> Option<String>) -> (String, Profile) {
    let name = var(env, "AWS_PROFILE").unwrap_or_else(|| "default".into());
    let p = profile(env, &name);
    (name, p)
}

/// Key, secret and session token: the environment's, else the profile's.
fn credentials(
    env: &dyn Fn(&str) -> Option<String>,
    (name, p): &(String, Profile),
) -> Result<(String, String, Option<String>), String> {
    let from_profile = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    match (var(env, "AWS_ACCESS_KEY_ID"), var(env, "AWS_SECRET_ACCESS_KEY")) {
        (Some(k), Some(s)) => Ok((k, s, var(env, "AWS_SESSION_TOKEN"))),
        _ => match (from_profile("aws_access_key_id"), from_profile("aws_secret_access_key")) {
            (Some(k), Some(s)) => Ok((k, s, from_profile("aws_session_token"))),
            _ => Err(format!(
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (now {name:?}) \
                 with keys in ~/.aws/credentials"
            )),
        },
    }
}

/// Whether the environment or the profile holds S3 credentials.
pub fn has_credentials(env: &dyn Fn(&str) -> Option<String>) -> bool {
    credentials(env, &named_profile(env)).is_ok()
}

/// Resolves the settings from the environment and the AWS files.
pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let var = |k: &str| var(env, k);
    let named = named_profile(env);
    let (key, secret, token) = credentials(env, &named)?;
    let p = &named.1;
    let from_profile = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).or_else(|| from_profile("region"));
    let region = region.unwrap_or_else(|| "us-east-1".into());
    let custom = var("AWS_ENDPOINT_URL_S3")
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| from_profile("s3.endpoint_url"))
        .or_else(|| from_profile("endpoint_url"));
    let (endpoint, path_style) = match custom {
        Some(e) if e.starts_with("http://") || e.starts_with("https://") => (e, true),
        Some(e) => return Err(format!("the S3 endpoint must start with http:// or https://, got {e:?}")),
        None => (format!("https://s3.{region}.amazonaws.com"), false),
    };
    Ok(Settings { endpoint, region, path_style, key, secret, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The original's Docker example: `AWS_PROFILE=wasabi`, keys in the
    /// environment, region and endpoint in the config's nested s3 block.
    const WASABI: &str = "[default]\nregion = us-east-1\n\n[profile wasabi]\nregion = eu-central-1\ns3 =\n    endpoint_url = https://s3.eu-central-1.wasabisys.com\n    signature_version = s3v4\noutput = json\n\n[plugins]\nendpoint = awscli_plugin_endpoint\n";

    fn env_with(dir: &std::path::Path, vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut all: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        all.push(("HOME".into(), dir.display().to_string()));
        move |k: &str| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn home(config: &str, credentials: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/config"), config).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        dir
    }

    #[test]
    fn the_originals_wasabi_layout() {
        let dir = home(WASABI, "");
        let env = env_with(
            dir.path(),
            &[("AWS_PROFILE", "wasabi"), ("AWS_ACCESS_KEY_ID", "X"), ("AWS_SECRET_ACCESS_KEY", "Y")],
        );
        let s = resolve(&env).unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.region.as_str(), s.path_style),
            ("https://s3.eu-central-1.wasabisys.com", "eu-central-1", true)
        );
        assert_eq!((s.key.as_str(), s.secret.as_str(), s.token.as_deref()), ("X", "Y", None));
        assert!(!format!("{s:?}").contains('Y'), "no secret in Debug");
    }

    #[test]
    fn environment_beats_profile_and_profile_keys_work() {
        let dir =
            home(WASABI, "[wasabi]\naws_access_key_id = PK\naws_secret_access_key = PS\naws_session_token = PT\n");
        let env = env_with(
            dir.path(),
            &[("AWS_PROFILE", "wasabi"), ("AWS_REGION", "us-west-2"), ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")],
        );
        let s = resolve(&env).unwrap();
        assert_eq!((s.key.as_str(), s.secret.as_str(), s.token.as_deref()), ("PK", "PS", Some("PT")));
        assert_eq!((s.endpoint.as_str(), s.region.as_str()), ("http://127.0.0.1:9000", "us-west-2"));
    }

    #[test]
    fn plain_aws_and_missing_credentials() {
        let dir = home("", "");
        let env = env_with(
            dir.path(),
            &[("AWS_ACCESS_KEY_ID", "K"), ("AWS_SECRET_ACCESS_KEY", "S"), ("AWS_DEFAULT_REGION", "eu-west-1")],
        );
        let s = resolve(&env).unwrap();
        assert_eq!((s.endpoint.as_str(), s.path_style), ("https://s3.eu-west-1.amazonaws.com", false));
        let err = resolve(&env_with(dir.path(), &[])).unwrap_err();
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
        let bad = env_with(
            dir.path(),
            &[("AWS_ACCESS_KEY_ID", "K"), ("AWS_SECRET_ACCESS_KEY", "S"), ("AWS_ENDPOINT_URL", "minio:9000")],
        );
        assert!(resolve(&bad).is_err());
    }
}
