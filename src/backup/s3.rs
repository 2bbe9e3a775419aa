//! Backups in S3-compatible storage: requests signed with SigV4 by
//! `rusty-s3` (presigned URLs, no hand-written signing), sent by `ureq`.
//! Errors carry the server's own code (`SignatureDoesNotMatch`,
//! `NoSuchBucket`, ...) and never a URL: a presigned URL is a credential
//! for as long as it is valid.

use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::aws::Settings;
use super::{latest_names, Object, Objects};
use crate::limits::MAX_RESTORE_BYTES;

/// How long a signed request stays valid (a large upload must start
/// within it).
const SIGNED_FOR: Duration = Duration::from_secs(3600);
/// Most bytes of an error answer read for its code and message.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;
/// Pauses before the second and third try of a request that got no
/// answer: a kept-alive connection the storage closed just as it was
/// reused is reset, and the next try opens a new one. Every request here
/// is idempotent (a PUT of a whole file, a GET, a LIST, a DELETE).
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(500)];

pub struct S3 {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    agent: ureq::Agent,
}

impl S3 {
    pub fn new(bucket: &str, prefix: &str, s: &Settings) -> Result<S3, String> {
        let endpoint = s.endpoint.parse().map_err(|e| format!("the S3 endpoint {:?} is not a URL: {e}", s.endpoint))?;
        let style = if s.path_style { UrlStyle::Path } else { UrlStyle::VirtualHost };
        let bucket = Bucket::new(endpoint, style, bucket.to_string(), s.region.clone())
            .map_err(|e| format!("cannot use bucket {bucket:?} at {}: {e}", s.endpoint))?;
        let credentials = match &s.token {
            Some(t) => Credentials::new_with_token(&s.key, &s.secret, t),
            None => Credentials::new(&s.key, &s.secret),
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_global(Some(Duration::from_secs(30 * 60)))
            .build()
            .new_agent();
        Ok(S3 { bucket, credentials, prefix: prefix.to_string(), agent })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// A failed request, with the storage's error code when it sent one.
fn failure(what: &str, resp: ureq::http::Response<ureq::Body>) -> String {
    let status = resp.status().as_u16();
    let mut body = String::new();
    let _ = resp.into_body().into_reader().take(ERROR_BODY_LIMIT).read_to_string(&mut body);
    let tag = |t: &str| {
        let open = format!("<{t}>");
        body.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&format!("</{t}>")))
            .map(|(v, _)| v.trim().to_string())
    };
    let mut msg = format!("S3 {what} failed: HTTP {status}");
    if let Some(code) = tag("Code") {
        msg.push_str(&format!(" {code}"));
        if code == "SignatureDoesNotMatch" {
            msg.push_str(" (the secret key is wrong: check AWS_SECRET_ACCESS_KEY)");
        }
    }
    if let Some(m) = tag("Message") {
        msg.push_str(&format!(": {m}"));
    }
    msg
}

fn transport(what: &str, e: ureq::Error) -> String {
    format!("S3 {what} failed: {e}")
}

/// `send` tried again (after [`RETRY_PAUSES`]) while it fails without an
/// answer; an HTTP answer, whatever its status, is returned as it is.
fn with_retries<T>(what: &str, mut send: impl FnMut() -> Result<T, ureq::Error>) -> Result<T, String> {
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        match send() {
            Ok(resp) => return Ok(resp),
            Err(e @ (ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_))) => {
                match pauses.next() {
                    Some(pause) => std::thread::sleep(*pause),
                    None => return Err(transport(what, e)),
                }
            }
            Err(e) => return Err(transport(what, e)),
        }
    }
}

impl Objects for S3 {
    fn put(&self, name: &str, file: &Path) -> Result<(), String> {
        let key = self.key(name);
        let url = self.bucket.put_object(Some(&self.credentials), &key).sign(SIGNED_FOR);
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let what = format!("upload of {key}");
        let resp = with_retries(&what, || {
            let f = std::fs::File::open(file).map_err(ureq::Error::Io)?;
            self.agent.put(url.as_str()).send(&f)
        })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(failure(&what, resp))
        }
    }

    fn get(&self, name: &str, to: &Path) -> Result<bool, String> {
        let key = self.key(name);
        let url = self.bucket.get_object(Some(&self.credentials), &key).sign(SIGNED_FOR);
        let what = format!("download of {key}");
        let resp = with_retries(&what, || self.agent.get(url.as_str()).call())?;
        if resp.status().as_u16() == 404 {
            return Ok(false);
        }
        if !resp.status().is_success() {
            return Err(failure(&what, resp));
        }
        // No backup is larger than an SQLite file may be: refused before
        // the download when the storage says so, and never written past it.
        let too_big = |n: u64| {
            format!("{what}: {n} bytes or more, more than a backup may be ({MAX_RESTORE_BYTES} bytes): refused")
        };
        let declared = resp.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(n) = declared.filter(|n| *n > MAX_RESTORE_BYTES) {
            return Err(too_big(n));
        }
        let mut out = std::fs::File::create(to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        let mut body = resp.into_body().into_reader().take(MAX_RESTORE_BYTES + 1);
        let copied = std::io::copy(&mut body, &mut out).map_err(|e| format!("{what}: {e}"))?;
        if copied > MAX_RESTORE_BYTES {
            drop(out);
            let _ = std::fs::remove_file(to);
            return Err(too_big(copied));
        }
        out.sync_all().map_err(|e| format!("cannot write {}: {e}", to.display()))?;
        Ok(true)
    }

    fn list(&self) -> Result<Vec<Object>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
            action.with_prefix(self.prefix.as_str());
            action.with_delimiter("/");
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let url = action.sign(SIGNED_FOR);
            let resp = with_retries("listing", || self.agent.get(url.as_str()).call())?;
            if !resp.status().is_success() {
                return Err(failure("listing", resp));
            }
            let xml = resp.into_body().read_to_string().map_err(|e| transport("listing", e))?;
            let page =
                ListObjectsV2::parse_response(&xml).map_err(|e| format!("S3 listing: unexpected answer ({e})"))?;
            for c in page.contents {
                let Some(name) = c.key.strip_prefix(self.prefix.as_str()) else { continue };
                if !name.is_empty() && !name.contains('/') {
                    out.push(Object {
                        name: name.to_string(),
                        size: c.size.unwrap_or(0),
                        modified: c.last_modified.unwrap_or_default(),
                    });
                }
            }
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    fn latest_names(&self) -> Vec<String> {
        latest_names(&self.prefix)
    }

    fn delete(&self, name: &str) -> Result<(), String> {
        let key = self.key(name);
        let url = self.bucket.delete_object(Some(&self.credentials), &key).sign(SIGNED_FOR);
        let what = format!("delete of {key}");
        let resp = with_retries(&what, || self.agent.delete(url.as_str()).call())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(failure(&what, resp))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_an_answer_is_tried_three_times() {
        let reset = || ureq::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        let mut tries = 0;
        let got = with_retries("download", || {
            tries += 1;
            if tries < 3 {
                Err(reset())
            } else {
                Ok(7)
            }
        });
        assert_eq!((got, tries), (Ok(7), 3));
        let mut tries = 0;
        let got: Result<u8, String> = with_retries("download of x", || {
            tries += 1;
            Err(reset())
        });
        assert_eq!(tries, 3);
        assert!(got.unwrap_err().starts_with("S3 download of x failed: "));
        // A refusal the request itself caused is not tried again.
        let mut tries = 0;
        let got: Result<u8, String> = with_retries("listing", || {
            tries += 1;
            Err(ureq::Error::BadUri("x".into()))
        });
        assert!(got.is_err());
        assert_eq!(tries, 1);
    }
}
