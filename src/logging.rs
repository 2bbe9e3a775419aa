//! Log lines on stderr: one startup line, one line per request (unless
//! `--quiet`), and operational events. Only paths are logged, never query
//! strings or headers, so nothing secret or personal lands in the log.

use std::io::Write;
use std::time::Duration;

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// An operational message.
pub fn info(msg: &str) {
    let line = format!("{} {msg}\n", stamp());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// One request: time, method, path, status, duration.
pub fn request(method: &str, path: &str, status: u16, took: Duration) {
    let line = format!(
        "{} {} {} {} {:.2}ms\n",
        stamp(),
        printable(method, 16),
        printable(path, 256),
        status,
        took.as_secs_f64() * 1000.0
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Keeps one request on one line: control characters and spaces become `?`
/// and long values are cut.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c.is_control() || c == ' ' { '?' } else { c }).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_keeps_one_line() {
        assert_eq!(super::printable("/a\nb c", 10), "/a?b?c");
        assert_eq!(super::printable("/abcdef", 3), "/ab…");
    }
}
