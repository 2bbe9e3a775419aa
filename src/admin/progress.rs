//! What long admin work shows while it runs, on a terminal only: a bar
//! with counts or bytes, the percentage and rate when the total is known,
//! or a spinner with the step and its elapsed time where the work is one
//! transaction that reports nothing until it ends; then the command's
//! summary line with how long it took. When stderr is not a terminal
//! (scripts, CI, a pipe) nothing is drawn and the summary is the command's
//! usual line, unchanged. Drawing is indicatif's, on stderr.

use std::cell::RefCell;
use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::render::number::thousands;

const SPINNER: &str = "{spinner} {msg} {elapsed}";
const ITEMS: &str = "{msg} [{bar:30}] {human_pos}/{human_len} {percent}% {rate} {eta} left";
const ITEMS_SO_FAR: &str = "{spinner} {msg} {human_pos} {rate} {elapsed}";
const BYTES: &str = "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {percent}% {binary_bytes_per_sec} {eta} left";
const BYTES_SO_FAR: &str = "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec} {elapsed}";

/// What a counted step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Counters or rows.
    Items,
    Bytes,
}

/// The progress of one command: its current step, and when it started.
pub struct Progress {
    /// Whether anything is drawn (stderr is a terminal).
    on: bool,
    /// The current step's bar; a new step replaces it.
    bar: RefCell<Option<ProgressBar>>,
    started: Instant,
}

impl Progress {
    /// Drawn when stderr is a terminal.
    pub fn start() -> Progress {
        Progress::drawn(std::io::stderr().is_terminal())
    }

    /// Drawn when stderr is a terminal and `out` (what the command writes
    /// its data to) is not: a bar between the lines of an export on the
    /// screen would garble them.
    pub fn start_beside(out: &impl IsTerminal) -> Progress {
        Progress::drawn(std::io::stderr().is_terminal() && !out.is_terminal())
    }

    fn drawn(on: bool) -> Progress {
        Progress { on, bar: RefCell::new(None), started: Instant::now() }
    }

    /// Whether anything is drawn.
    pub fn shown(&self) -> bool {
        self.on
    }

    /// A step whose progress is not known until it ends (one
    /// transaction): a spinner, `what`, and the time so far.
    pub fn step(&self, what: impl Into<String>) {
        if let Some(bar) = self.begin(SPINNER, what.into(), None) {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    /// A step counting up to `total` (`None`: unknown) of `unit`.
    pub fn counting(&self, what: impl Into<String>, total: Option<u64>, unit: Unit) {
        let template = match (unit, total) {
            (Unit::Items, Some(_)) => ITEMS,
            (Unit::Items, None) => ITEMS_SO_FAR,
            (Unit::Bytes, Some(_)) => BYTES,
            (Unit::Bytes, None) => BYTES_SO_FAR,
        };
        self.begin(template, what.into(), total);
    }

    /// A new bar for the next step, in place of the last one's.
    fn begin(&self, template: &str, what: String, total: Option<u64>) -> Option<ProgressBar> {
        if !self.on {
            return None;
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())
            .with_style(style(template))
            .with_message(what);
        if let Some(last) = self.bar.replace(Some(bar.clone())) {
            last.finish_and_clear();
        }
        bar.tick();
        Some(bar)
    }

    /// `n` more done in a counting step.
    pub fn add(&self, n: u64) {
        if let Some(bar) = &*self.bar.borrow() {
            bar.inc(n);
        }
    }

    /// `read`, its bytes counted in the current step as they are read.
    pub fn reader<'a, R: Read + 'a>(&self, read: R) -> Box<dyn Read + 'a> {
        match &*self.bar.borrow() {
            Some(bar) => Box::new(bar.wrap_read(read)),
            None => Box::new(read),
        }
    }

    /// Clears the bar and prints `summary` on stderr, with the time the
    /// whole command took when on a terminal.
    pub fn done(self, summary: &str) {
        match self.finish() {
            Some(elapsed) => eprintln!("{}", timed(summary, elapsed)),
            None => eprintln!("{summary}"),
        }
    }

    /// Clears the bar; the time the command took, when on a terminal.
    pub fn finish(self) -> Option<Duration> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.on.then(|| self.started.elapsed())
    }
}

impl Drop for Progress {
    /// A failure leaves no half-drawn bar above its error line.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.get_mut() {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants above (a test parses each).
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", thousands(state.per_sec() as u64));
        })
        .progress_chars("=> ")
}

/// A command's summary line with the time it took: "imported 3 counters
/// from a.csv (0.4 s)".
pub fn timed(summary: &str, elapsed: Duration) -> String {
    format!("{summary} ({})", took(elapsed))
}

/// "0.4 s", "12.0 s", "3 min 05 s", "2 h 01 min": tenths of a second under
/// a minute, then whole units.
pub fn took(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => format!("{:.1} s", d.as_secs_f64()),
        60..=3599 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(took(Duration::from_millis(420)), "0.4 s");
        assert_eq!(took(Duration::from_millis(59_940)), "59.9 s");
        assert_eq!(took(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(took(Duration::from_secs(7260)), "2 h 01 min");
    }

    #[test]
    fn every_template_parses() {
        for t in [SPINNER, ITEMS, ITEMS_SO_FAR, BYTES, BYTES_SO_FAR] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn off_a_terminal_nothing_is_drawn_and_reads_pass_through() {
        let p = Progress::drawn(false);
        p.counting("x", Some(3), Unit::Bytes);
        let mut text = String::new();
        p.reader(&b"abc"[..]).read_to_string(&mut text).unwrap();
        assert_eq!(text, "abc");
        assert_eq!(p.finish(), None);
    }
}
