//! The response type every handler returns, and the content types.
//! Turning it into bytes is the server's job (tiny_http, or CGI's encoder).

use std::borrow::Cow;

pub const TEXT: &str = "text/plain; charset=utf-8";
pub const SVG: &str = "image/svg+xml";
pub const JSON: &str = "application/json";
pub const HTML: &str = "text/html; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
pub const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Most values are constants; `Cow` spares an allocation for each.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// For an error: the few words a badge shows instead of the count
    /// (`no url`); without them the status decides.
    pub reason: Option<&'static str>,
}

impl Resp {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Resp {
        Resp { status, content_type, body: body.into(), headers: Vec::new(), reason: None }
    }

    /// A plain-text response, e.g. a one-line error.
    pub fn text(status: u16, body: impl Into<String>) -> Resp {
        Resp::new(status, TEXT, body.into())
    }

    pub fn reason(mut self, reason: &'static str) -> Resp {
        self.reason = Some(reason);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Resp {
        self.headers.push((name, value.into()));
        self
    }
}

/// The headers of a response to send, by the server and by CGI alike: a
/// value with anything but visible ASCII, spaces and tabs (a control
/// character such as CR, LF or DEL) is left out, so no value a request
/// influenced can add a header or break the response head.
pub fn sendable<'a>(headers: &'a [(&'static str, Cow<'static, str>)]) -> impl Iterator<Item = (&'static str, &'a str)> {
    headers
        .iter()
        .map(|(name, value)| (*name, &**value))
        .filter(|(_, value)| value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::{sendable, Resp};

    #[test]
    fn no_control_character_is_sent_in_a_header() {
        let resp = Resp::text(200, "")
            .header("A", "fine value\twith a tab")
            .header("B", "a\r\nInjected: yes")
            .header("C", "del\u{7f}")
            .header("D", "nul\0")
            .header("E", "caf\u{e9}");
        let sent: Vec<&str> = sendable(&resp.headers).map(|(name, _)| name).collect();
        assert_eq!(sent, ["A"]);
    }
}
