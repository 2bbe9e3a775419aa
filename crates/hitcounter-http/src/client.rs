use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{HTTPVersion, Header, Method};
use crate::util::deadline::Deadline;
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::{Limits, Request};

/// hitcounter patch: the buffer responses are written through. tiny_http's
/// 1 KiB split every badge response (about 1.4 KiB) into two writes.
const WRITE_BUFFER: usize = 8 * 1024;

/// hitcounter patch: after refusing a request, at most this much more
/// input is read and dropped before closing, and for at most this long, so
/// that the client reads the answer instead of a connection reset.
const DRAIN_BYTES: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // hitcounter patch: when the next bytes must arrive (shared with the
    // socket's reader), the limits, whether a request was read yet (until
    // then the head timeout runs from the accept), and whether the client
    // may still be sending when the connection ends (an unread body).
    deadline: Arc<Deadline>,
    limits: Limits,
    first: bool,
    drain_at_end: bool,
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(#[allow(dead_code)] IoError), // shown by Debug
    // hitcounter patch: limits and framing, checked while reading
    /// the request line is longer than allowed (414)
    LineTooLong,
    /// the head is larger than allowed (431)
    HeadTooLarge(HTTPVersion),
    /// the client stopped in the middle of a head (408)
    HeadTimeout,
    /// where the body ends is ambiguous (400)
    BadFraming(HTTPVersion),
}

/// hitcounter patch: one line of the head, or how reading it stopped.
enum Line {
    Done(Vec<u8>),
    TooLong,
    /// the deadline passed with part of the line read
    Cut,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub(crate) fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        deadline: Arc<Deadline>,
        limits: Limits,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(
                WRITE_BUFFER,
                write_socket,
            )),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            deadline,
            limits,
            first: true,
            drain_at_end: false,
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// hitcounter patch: reads one line of the head up to its CRLF, at most
    /// `limit` bytes (tiny_http buffered a whole line, however long, before
    /// any check). With `starts_request`, the first byte starts the head
    /// timeout: until then the connection was idle.
    fn read_next_raw_line(&mut self, limit: usize, starts_request: bool) -> IoResult<Line> {
        // hitcounter patch: the bytes are taken from the reader's buffer
        // (before: one `Read` call through three layers per byte).
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let available = match self.next_header_source.fill_buf() {
                Ok([]) => return Err(IoError::new(ErrorKind::ConnectionAborted, "Unexpected EOF")),
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::TimedOut && !buf.is_empty() => {
                    return Ok(Line::Cut)
                }
                Err(e) => return Err(e),
            };
            if starts_request && buf.is_empty() && !self.first {
                self.deadline.set_in(self.limits.timeouts.head);
            }
            let mut used = 0;
            let mut end = None;
            for &byte in available {
                used += 1;
                if byte == b'\n' && prev_byte_was_cr {
                    buf.pop(); // removing the '\r'
                    end = Some(Line::Done(std::mem::take(&mut buf)));
                    break;
                }
                prev_byte_was_cr = byte == b'\r';
                buf.push(byte);
                // one more for the CR of the line's end
                if buf.len() > limit.saturating_add(1) {
                    end = Some(Line::TooLong);
                    break;
                }
            }
            self.next_header_source.consume(used);
            if let Some(line) = end {
                return Ok(line);
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        let max_line = self.limits.max_request_line.unwrap_or(usize::MAX);
        let mut head_left = self.limits.max_head.unwrap_or(usize::MAX);
        if !self.first {
            // hitcounter patch: an idle keep-alive connection is closed
            self.deadline.set_in(self.limits.timeouts.idle);
        }

        // reading the request line
        let line = match self.read_next_raw_line(max_line.min(head_left), true) {
            Ok(Line::Done(line)) => line,
            Ok(Line::TooLong) if max_line <= head_left => return Err(ReadError::LineTooLong),
            Ok(Line::TooLong) => return Err(ReadError::HeadTooLarge(HTTPVersion(1, 1))),
            Ok(Line::Cut) => return Err(ReadError::HeadTimeout),
            // nothing of a request arrived: close without an answer
            Err(e) => return Err(ReadError::ReadIoError(e)),
        };
        self.first = false;
        head_left = head_left.saturating_sub(line.len() + 2);
        // hitcounter patch: a request line that is not ASCII, or holds a
        // control character, gets a 400 instead of a silently dropped
        // connection (or a path with a bare CR or LF in it).
        let line = match AsciiString::from_ascii(line) {
            Ok(line) if !line.as_str().bytes().any(is_forbidden) => line,
            _ => return Err(ReadError::WrongRequestLine),
        };
        let (method, path, version) = parse_request_line(line.as_str().trim())?;

        // getting all headers
        let mut headers = Vec::new();
        loop {
            let line = match self.read_next_raw_line(head_left, false) {
                Ok(Line::Done(line)) => line,
                Ok(Line::TooLong) => return Err(ReadError::HeadTooLarge(version.clone())),
                Ok(Line::Cut) => return Err(ReadError::HeadTimeout),
                Err(e) if e.kind() == ErrorKind::TimedOut => return Err(ReadError::HeadTimeout),
                Err(e) => return Err(ReadError::ReadIoError(e)),
            };
            if line.is_empty() {
                break;
            }
            head_left = head_left.saturating_sub(line.len() + 2);
            headers.push(
                parse_header_line(line).ok_or_else(|| ReadError::WrongHeader(version.clone()))?,
            );
        }
        framing(&headers).map_err(|()| ReadError::BadFraming(version.clone()))?;

        // hitcounter patch: a body gets its own head timeout
        self.deadline.set_in(self.limits.timeouts.head);

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // hitcounter patch: the body of a GET, HEAD or OPTIONS request is
        // read and dropped (below), and no further than its limit with
        // room for chunked framing: a chunk-size line has no limit of its
        // own in the decoder. A declared body past the limit is not read
        // at all (the reader of a declared length reads the rest of it
        // when dropped); up to 1 KiB `new_request` reads it ahead.
        let discard = self
            .limits
            .discard_body
            .filter(|_| matches!(method, Method::Get | Method::Head | Method::Options));
        let declared = headers
            .iter()
            .find(|h| h.field.equiv("Content-Length"))
            .and_then(|h| h.value.as_str().trim().parse::<u64>().ok());
        let raw_limit = match discard {
            None => u64::MAX,
            Some(max) if declared.map_or(false, |len| len > max.max(1024) as u64) => 0,
            Some(max) => (max as u64).saturating_mul(2).saturating_add(1024),
        };
        let data_source = data_source.take(raw_limit);

        // building the next reader
        let mut request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            self.remote_addr.as_ref().ok().copied().flatten(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // hitcounter patch: a body the handler has no use for must not be
        // read as the next request
        if let Some(max) = discard {
            if !request.discard_body(max) {
                self.no_more_requests = true;
                self.drain_at_end = true;
            }
        }

        // return the request
        Ok(request)
    }

    /// hitcounter patch: answers a request that cannot be served with a
    /// one-line response of `status`, then drains the connection.
    fn refuse(&mut self, status: u16, version: HTTPVersion) {
        use crate::{Response, StatusCode};
        let mut writer = self.sink.next().unwrap();
        let reason = match status {
            408 => "the request head did not arrive in time",
            414 => "request line too long",
            431 => "request head too large",
            _ => "malformed request",
        };
        let response =
            Response::from_string(format!("{reason}\n")).with_status_code(StatusCode(status));
        if response
            .raw_print(&mut writer, version, &[], false, None)
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
        drop(writer);
        self.drain();
    }

    /// hitcounter patch: reads and drops what the client still sends
    /// (within `DRAIN_BYTES` and `DRAIN_TIME`) before the connection is
    /// closed, so that the close does not reset it before the client has
    /// read the answer.
    fn drain(&mut self) {
        self.deadline.set_in(Some(DRAIN_TIME));
        let mut scratch = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_BYTES {
            match self.next_header_source.read(&mut scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

/// hitcounter patch: bytes no request line or header may hold. A bare CR
/// or LF would otherwise end up inside a header value or the path (and from
/// there in a response header that echoes it).
fn is_forbidden(byte: u8) -> bool {
    byte == b'\r' || byte == b'\n' || byte == 0
}

/// hitcounter patch: parses one header line. Refused (400): a line that
/// starts with whitespace (obsolete line folding), a name that is not a
/// token (which includes whitespace before the colon, RFC 9112 §5.1), and
/// CR, LF or NUL anywhere. Bytes other than ASCII in a value (RFC 7230
/// obs-text, e.g. a UTF-8 cookie set by `document.cookie` on a shared
/// parent domain) are percent-encoded instead of dropping the connection
/// without an answer.
fn parse_header_line(line: Vec<u8>) -> Option<Header> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    if value.iter().any(|&b| is_forbidden(b)) {
        return None;
    }
    let encoded = if value.is_ascii() {
        line
    } else {
        let mut encoded = Vec::with_capacity(line.len() * 3);
        encoded.extend_from_slice(name);
        encoded.push(b':');
        for &byte in value {
            if byte.is_ascii() {
                encoded.push(byte);
            } else {
                encoded.extend_from_slice(format!("%{:02X}", byte).as_bytes());
            }
        }
        encoded
    };
    let encoded = AsciiString::from_ascii(encoded).ok()?;
    Header::from_str(encoded.as_str()).ok()
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// hitcounter patch: the body's framing must be unambiguous (RFC 9112
/// §6.1, §6.3), or a proxy in front and this server could disagree on
/// where a request ends (request smuggling). Refused: `Content-Length`
/// together with `Transfer-Encoding`, a `Transfer-Encoding` other than
/// exactly `chunked` (or given twice), more than one `Content-Length`, or
/// one that is not a plain decimal number.
fn framing(headers: &[Header]) -> Result<(), ()> {
    let mut lengths = headers.iter().filter(|h| h.field.equiv("Content-Length"));
    let mut encodings = headers
        .iter()
        .filter(|h| h.field.equiv("Transfer-Encoding"));
    let (length, encoding) = (lengths.next(), encodings.next());
    if lengths.next().is_some() || encodings.next().is_some() {
        return Err(());
    }
    match (length, encoding) {
        (Some(_), Some(_)) => Err(()),
        (None, Some(te)) if te.value.as_str().trim().eq_ignore_ascii_case("chunked") => Ok(()),
        (None, Some(_)) => Err(()),
        (Some(cl), None) => {
            let v = cl.value.as_str().trim();
            if !v.is_empty() && v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(())
            }
        }
        (None, None) => Ok(()),
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            if std::mem::take(&mut self.drain_at_end) {
                self.drain();
            }
            return None;
        }

        loop {
            // hitcounter patch: every refusal below closes the connection:
            // where the next request would start is unknown.
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    self.refuse(400, HTTPVersion(1, 1));
                    return None;
                }

                Err(ReadError::WrongHeader(ver)) | Err(ReadError::BadFraming(ver)) => {
                    self.refuse(400, ver);
                    return None;
                }

                Err(ReadError::LineTooLong) => {
                    self.refuse(414, HTTPVersion(1, 1));
                    return None;
                }

                Err(ReadError::HeadTooLarge(ver)) => {
                    self.refuse(431, ver);
                    return None;
                }

                Err(ReadError::HeadTimeout) => {
                    self.refuse(408, HTTPVersion(1, 1));
                    return None;
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(417));
                    response.raw_print(writer, ver, &[], true, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                // the client closed, or sent nothing of a request in time
                Err(ReadError::ReadIoError(_)) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                let writer = self.sink.next().unwrap();
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505));
                response
                    .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                    .ok();
                continue;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }

    fn header(line: &str) -> Option<Header> {
        parse_header_line(line.as_bytes().to_vec())
    }

    #[test]
    fn header_lines() {
        let h = header("Host: example.com").unwrap();
        assert!(h.field.equiv("host"));
        assert_eq!(h.value.as_str(), "example.com");
        assert!(
            header("Host : example.com").is_none(),
            "space before the colon"
        );
        assert!(header("Host\t: example.com").is_none());
        assert!(
            header(" Host: example.com").is_none(),
            "obsolete line folding"
        );
        assert!(header(": nothing").is_none());
        assert!(header("no colon").is_none());
        assert!(header("Origin: https://a.example\rSet-Cookie: x=1").is_none());
        assert!(header("Origin: https://a.example\nSet-Cookie: x=1").is_none());
        assert!(header("X: a\0b").is_none());
        let utf8 = parse_header_line("Cookie: n=é".as_bytes().to_vec()).unwrap();
        assert_eq!(utf8.value.as_str(), "n=%C3%A9");
    }

    fn headers(lines: &[&str]) -> Vec<Header> {
        lines.iter().map(|l| header(l).unwrap()).collect()
    }

    #[test]
    fn framing_must_be_unambiguous() {
        assert!(framing(&headers(&[])).is_ok());
        assert!(framing(&headers(&["Content-Length: 5"])).is_ok());
        assert!(framing(&headers(&["Transfer-Encoding: chunked"])).is_ok());
        assert!(framing(&headers(&["Transfer-Encoding: Chunked"])).is_ok());
        assert!(framing(&headers(&[
            "Content-Length: 5",
            "Transfer-Encoding: chunked"
        ]))
        .is_err());
        assert!(framing(&headers(&["Transfer-Encoding: gzip, chunked"])).is_err());
        assert!(framing(&headers(&["Transfer-Encoding: chunked, identity"])).is_err());
        assert!(framing(&headers(&["Transfer-Encoding: xchunked"])).is_err());
        assert!(framing(&headers(&[
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: chunked"
        ]))
        .is_err());
        assert!(framing(&headers(&["Content-Length: 5", "Content-Length: 5"])).is_err());
        assert!(framing(&headers(&["Content-Length: +5"])).is_err());
        assert!(framing(&headers(&["Content-Length: 5x"])).is_err());
        assert!(framing(&headers(&["Content-Length: "])).is_err());
        assert!(framing(&headers(&["Content-Length: 99999999999999999999"])).is_err());
    }
}
