//! `hitcounter export`: every counter to standard output as CSV or JSON,
//! optionally with its per-day history, in the forms `import.rs` reads
//! back. Streams: millions of counters never sit in memory at once.

use std::io::Write;

use super::progress::{self, Progress, Unit};
use super::{io, readable, Failure, Format};
use crate::render::number::noun;
use crate::store::{Database, DayRow, Store};

type Outcome = Result<(), Failure>;

/// All counters to stdout, biggest first; with `history`, by key, each
/// with its days (what `import` reads back).
pub fn export(path: &Database, format: Format, history: bool) -> Outcome {
    let store = readable(path)?;
    let progress = Progress::start_beside(&std::io::stdout());
    if progress.shown() {
        progress.counting("exporting", store.counter_rows().ok(), Unit::Items);
    }
    let mut counters = Counted::default();
    write(&store, format, history, &mut |key| {
        if counters.new_key(key) {
            progress.add(1);
        }
    })?;
    if let Some(took) = progress.finish() {
        let n = counters.n;
        eprintln!("{}", progress::timed(&format!("exported {n} {}", noun(n, "counter", "counters")), took));
    }
    Ok(())
}

/// The keys an export went through, each counted once (a counter's days
/// come one after another).
#[derive(Default)]
struct Counted {
    n: u64,
    last: Option<String>,
}

impl Counted {
    fn new_key(&mut self, key: &str) -> bool {
        if self.last.as_deref() == Some(key) {
            return false;
        }
        self.last = Some(key.to_string());
        self.n += 1;
        true
    }
}

/// Writes the export to stdout, calling `seen` with each row's key.
fn write(store: &Store, format: Format, history: bool, seen: &mut dyn FnMut(&str)) -> Outcome {
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    match (format, history) {
        (Format::Csv, false) => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["url", "count"]).map_err(io)?;
            store
                .each_by_count(None, |key, count| {
                    seen(key);
                    w.write_record([key, &count.to_string()]).map_err(std::io::Error::other)
                })
                .map_err(io)?;
            w.flush().map_err(io)
        }
        (Format::Csv, true) => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["url", "count", "day", "hits", "uniques"]).map_err(io)?;
            store
                .each_with_days(|key, count, day| {
                    seen(key);
                    let (day, hits, uniques) = match day {
                        None => (String::new(), String::new(), String::new()),
                        Some(d) => (
                            d.day.to_string(),
                            d.hits.to_string(),
                            d.uniques.map(|u| u.to_string()).unwrap_or_default(),
                        ),
                    };
                    w.write_record([key, &count.to_string(), &day, &hits, &uniques]).map_err(std::io::Error::other)
                })
                .map_err(io)?;
            w.flush().map_err(io)
        }
        (Format::Json, false) => {
            let mut json = JsonArray::new(out)?;
            store
                .each_by_count(None, |key, count| {
                    seen(key);
                    json.counter(key, count)
                })
                .map_err(io)?;
            json.finish()
        }
        (Format::Json, true) => {
            let mut json = JsonArray::new(out)?;
            let mut current: Option<String> = None;
            store
                .each_with_days(|key, count, day| {
                    seen(key);
                    if current.as_deref() != Some(key) {
                        json.counter(key, count)?;
                        current = Some(key.to_string());
                    }
                    json.day(day)
                })
                .map_err(io)?;
            json.finish()
        }
    }
}

/// The JSON `export` writes, streamed: one object a counter, its days (if
/// any are written) in a `"days"` array.
struct JsonArray<W: Write> {
    out: W,
    counters: usize,
    /// Days written for the open counter (`None`: no `"days"` key).
    days: Option<usize>,
}

impl<W: Write> JsonArray<W> {
    fn new(mut out: W) -> Result<JsonArray<W>, Failure> {
        out.write_all(b"[").map_err(io)?;
        Ok(JsonArray { out, counters: 0, days: None })
    }

    fn counter(&mut self, key: &str, count: u64) -> std::io::Result<()> {
        self.close_counter()?;
        let sep = if self.counters == 0 { "\n" } else { ",\n" };
        let key = serde_json::to_string(key).map_err(std::io::Error::other)?;
        write!(self.out, "{sep}  {{\"url\": {key}, \"count\": {count}")?;
        self.counters += 1;
        Ok(())
    }

    /// A day of the open counter; `None` (a counter without days) writes
    /// `"days": []`.
    fn day(&mut self, day: Option<DayRow>) -> std::io::Result<()> {
        let n = *self.days.get_or_insert(0);
        if n == 0 {
            self.out.write_all(b", \"days\": [")?;
        }
        if let Some(d) = day {
            let uniques = d.uniques.map_or("null".to_string(), |u| u.to_string());
            let sep = if n == 0 { "" } else { ", " };
            write!(self.out, "{sep}{{\"day\": \"{}\", \"hits\": {}, \"uniques\": {uniques}}}", d.day, d.hits)?;
            self.days = Some(n + 1);
        }
        Ok(())
    }

    fn close_counter(&mut self) -> std::io::Result<()> {
        if self.counters > 0 {
            if self.days.take().is_some() {
                self.out.write_all(b"]")?;
            }
            self.out.write_all(b"}")?;
        }
        Ok(())
    }

    fn finish(mut self) -> Outcome {
        self.close_counter().map_err(io)?;
        self.out.write_all(if self.counters == 0 { b"]\n" } else { b"\n]\n" }).map_err(io)?;
        self.out.flush().map_err(io)
    }
}
