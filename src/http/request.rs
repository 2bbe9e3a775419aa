//! A request as the routes see it: plain values, parsed once from a
//! tiny_http request (or, in CGI mode, from the CGI variables).

use tiny_http::Method as TinyMethod;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Method {
    #[default]
    Get,
    Head,
    Options,
    Other(String),
}

/// What routing needs from a request; nothing here borrows tiny_http.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: Method,
    pub path: String,
    /// Raw (still percent-encoded) query string, without `?`.
    pub query: String,
    /// Length of the request target (path + query) as sent.
    pub target_len: usize,
    /// Total bytes of header names and values.
    pub header_bytes: usize,
    /// Declared body length (Content-Length), if any.
    pub body_len: usize,
    pub referer: Option<String>,
    pub cookie: Option<String>,
    pub origin: Option<String>,
    pub host: Option<String>,
    /// `X-Forwarded-Proto` (in CGI mode: from `HTTPS`); see
    /// `Ctx::forwarded_proto` for when it is believed.
    pub forwarded_proto: Option<String>,
    /// `X-Forwarded-Host`; believed only with `--trust-proxy`.
    pub forwarded_host: Option<String>,
    pub access_control_request_headers: Option<String>,
    pub user_agent: Option<String>,
    /// For private views (`--private`): `Authorization: Bearer TOKEN`.
    pub authorization: Option<String>,
    /// The socket peer's address (CGI: `REMOTE_ADDR`).
    pub peer: String,
    /// `X-Forwarded-For` and `X-Real-IP`; believed only with `--trust-proxy`.
    pub forwarded_for: Option<String>,
    pub real_ip: Option<String>,
    /// Path prefix the app is mounted under (CGI `SCRIPT_NAME`), for links.
    pub base_path: String,
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Other(m) => m,
        }
    }
}

pub fn parse(rq: &tiny_http::Request) -> Req {
    let url = rq.url();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut req = Req {
        method: match rq.method() {
            TinyMethod::Get => Method::Get,
            TinyMethod::Head => Method::Head,
            TinyMethod::Options => Method::Options,
            other => Method::Other(other.as_str().to_string()),
        },
        path: path.to_string(),
        query: query.to_string(),
        target_len: url.len(),
        body_len: rq.body_length().unwrap_or(0),
        peer: rq.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
        ..Req::default()
    };
    for h in rq.headers() {
        let name = h.field.as_str().as_str();
        let value = h.value.as_str();
        req.header_bytes += name.len() + value.len();
        let slot = if name.eq_ignore_ascii_case("referer") || name.eq_ignore_ascii_case("referrer") {
            // `Referer` wins over the misspelt `Referrer` when both come.
            if req.referer.is_some() && name.eq_ignore_ascii_case("referrer") {
                continue;
            }
            &mut req.referer
        } else if name.eq_ignore_ascii_case("cookie") {
            if let Some(c) = &mut req.cookie {
                c.push_str("; ");
                c.push_str(value);
                continue;
            }
            &mut req.cookie
        } else if name.eq_ignore_ascii_case("origin") {
            &mut req.origin
        } else if name.eq_ignore_ascii_case("host") {
            &mut req.host
        } else if name.eq_ignore_ascii_case("x-forwarded-proto") {
            &mut req.forwarded_proto
        } else if name.eq_ignore_ascii_case("x-forwarded-host") {
            &mut req.forwarded_host
        } else if name.eq_ignore_ascii_case("access-control-request-headers") {
            &mut req.access_control_request_headers
        } else if name.eq_ignore_ascii_case("user-agent") {
            &mut req.user_agent
        } else if name.eq_ignore_ascii_case("authorization") {
            &mut req.authorization
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            &mut req.forwarded_for
        } else if name.eq_ignore_ascii_case("x-real-ip") {
            &mut req.real_ip
        } else {
            continue;
        };
        *slot = Some(value.to_string());
    }
    req.keep_echoable()
}

impl Req {
    /// Drops the values a response echoes (`Origin` into
    /// `Access-Control-Allow-Origin`, `Access-Control-Request-Headers`
    /// into `Access-Control-Allow-Headers`) unless they are what a browser
    /// sends. Both the server and CGI build their requests through this.
    pub fn keep_echoable(mut self) -> Req {
        self.origin = self.origin.filter(|o| is_origin(o));
        self.access_control_request_headers = self.access_control_request_headers.filter(|h| is_header_list(h));
        self
    }
}

/// A serialised origin as browsers send it: `null`, or a scheme, `://`
/// and a host with an optional port; nothing else (no path, no spaces or
/// control characters), so echoing it cannot add to a response header.
pub fn is_origin(v: &str) -> bool {
    if v == "null" {
        return true;
    }
    let Some((scheme, host)) = v.split_once("://") else { return false };
    v.len() <= 512
        && !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

/// A list of header names as `Access-Control-Request-Headers` carries it
/// (`content-type, x-a`): tokens, commas and spaces, nothing else.
fn is_header_list(v: &str) -> bool {
    v.len() <= 1024
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b" ,\t!#$%&'*+-.^_`|~".contains(&b))
        && v.split(',').all(|name| !name.trim_matches([' ', '\t']).is_empty())
}

/// The raw value of the first query parameter called `name`.
pub fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::{is_header_list, is_origin, param};

    #[test]
    fn only_real_origins_are_echoed() {
        for ok in ["https://a.example", "http://127.0.0.1:8080", "null", "https://[::1]:443", "chrome-extension://abc"]
        {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in
            ["", "*", "a.example", "https://", "https://a.example/path", "https://a b", "https://a\rSet-Cookie: x"]
        {
            assert!(!is_origin(bad), "{bad:?}");
        }
        assert!(!is_origin(&format!("https://{}", "a".repeat(600))));
        assert!(!is_origin("https://evil.example/p a<x>") && !is_origin("https://a.example\u{7f}"));
    }

    #[test]
    fn only_header_lists_are_echoed() {
        for ok in ["content-type", "Content-Type, X-Requested-With", "x-a,x-b"] {
            assert!(is_header_list(ok), "{ok}");
        }
        for bad in ["", "x-a\u{7f}", "x-a\r\nSet-Cookie: x", "x-a, , x-b", "x-a;b", "x(a)", "\u{e9}"] {
            assert!(!is_header_list(bad), "{bad:?}");
        }
        assert!(!is_header_list(&"a,".repeat(600)));
    }

    #[test]
    fn finds_params() {
        assert_eq!(param("a=1&url=x%2Fy&b", "url"), Some("x%2Fy"));
        assert_eq!(param("b&url", "url"), Some(""));
        assert_eq!(param("urls=1", "url"), None);
        assert_eq!(param("", "url"), None);
    }
}
