//! `hitcounter import`: reading a file, CSV with the header `url,count`
//! (or `url,count,day,hits,uniques`, a row per day, as `export --history`
//! writes it), or the JSON array `export --format json` writes
//! (`[{"url", "count", "days"?: [{"day", "hits", "uniques"?}]}]`), from a
//! file or standard input (`-`). The whole input is checked before anything
//! is written: a usable URL and whole numbers on every row, no counter or
//! day twice, one total per counter, at most `MAX_IMPORT_ROWS` rows.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;

use super::progress::{Progress, Unit};
use super::{check_count, writable, Failure, Format, Outcome};
use crate::limits::{MAX_IMPORT_ROWS, MAX_REPORTED_ERRORS};
use crate::render::number::noun;
use crate::store::{Database, DayRow, Imported};
use crate::target;

/// `file` (`-`: standard input) in `format` (by default from the
/// extension: `.json` is JSON, anything else CSV).
pub fn import(path: &Database, file: &Path, format: Option<Format>) -> Outcome {
    let progress = Progress::start();
    let rows = read(file, format_of(file, format), &progress)?;
    let mut store = writable(path)?;
    let (n, days) = (rows.len() as u64, rows.iter().map(|r| r.days.len() as u64).sum::<u64>());
    progress.step(format!("writing {n} {} in one transaction", noun(n, "counter", "counters")));
    store.import(&rows).map_err(|e| Failure(format!("import failed, nothing changed: {e}"), 1))?;
    let history =
        if days > 0 { format!(" and {days} {} of history", noun(days, "day", "days")) } else { String::new() };
    progress.done(&format!("imported {n} {}{history} from {}", noun(n, "counter", "counters"), file.display()));
    Ok(())
}

/// The format of `file`: `format` when given, else `.json` files are JSON
/// and everything else (standard input included) is CSV.
pub fn format_of(file: &Path, format: Option<Format>) -> Format {
    format.unwrap_or_else(|| {
        let json = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if json {
            Format::Json
        } else {
            Format::Csv
        }
    })
}

/// The counters of `file` (`-`: standard input), all valid, or every
/// problem.
/// On a terminal, `progress` shows the bytes read (of the file's size).
pub fn read(file: &Path, format: Format, progress: &Progress) -> Result<Vec<Imported>, Failure> {
    let name = if file == Path::new("-") { "standard input".to_string() } else { file.display().to_string() };
    let mut text = String::new();
    let read = if file == Path::new("-") {
        progress.counting("reading standard input", None, Unit::Bytes);
        progress.reader(std::io::stdin()).read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|f| {
            progress.counting(format!("reading {name}"), f.metadata().ok().map(|m| m.len()), Unit::Bytes);
            progress.reader(f).read_to_string(&mut text)
        })
    };
    read.map_err(|e| Failure(format!("cannot read {name}: {e}"), 1))?;
    progress.step(format!("checking {name}"));
    let rows = match format {
        Format::Csv => csv_rows(&text, &name)?,
        Format::Json => json_rows(&text, &name)?,
    };
    collect(rows, &name)
}

/// One row of the input: a counter's total, and one day of its history
/// when the input has them.
#[derive(Debug, PartialEq)]
struct Row {
    key: String,
    count: u64,
    day: Option<DayRow>,
}

/// (line or item number, the row or what is wrong with it)
type Numbered = Vec<(usize, Result<Row, String>)>;

fn csv_rows(text: &str, name: &str) -> Result<Numbered, Failure> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| Failure(format!("{name}: {e}"), 1))?;
    let names: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
    let with_days = match names.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["url", "count"] => false,
        ["url", "count", "day", "hits", "uniques"] => true,
        _ => {
            return Err(Failure(
                format!("{name}: the first line must be the header url,count (or url,count,day,hits,uniques)"),
                1,
            ))
        }
    };
    let fields = names.len();
    Ok(reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let row = r.map_err(|e| e.to_string()).and_then(|r| {
                if r.len() != fields {
                    return Err(format!("expected {fields} fields ({}), found {}", names.join(","), r.len()));
                }
                let count = whole(&r[1], "count")?;
                let day = match with_days && !r[2].is_empty() {
                    false => None,
                    true => Some(day_row(&r[2], whole(&r[3], "hits")?, optional(&r[4])?)?),
                };
                row(&r[0], count, day)
            });
            (i + 2, row)
        })
        .collect())
}

fn json_rows(text: &str, name: &str) -> Result<Numbered, Failure> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| Failure(format!("{name}: not a JSON array of {{\"url\", \"count\"}} objects: {e}"), 1))?;
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let url = item.get("url").and_then(|u| u.as_str());
        let count = item.get("count").and_then(|c| c.as_u64());
        let (Some(url), Some(count)) = (url, count) else {
            rows.push((n, Err("expected an object with \"url\" (text) and \"count\" (a whole number >= 0)".into())));
            continue;
        };
        match item.get("days") {
            None => rows.push((n, row(url, count, None))),
            Some(serde_json::Value::Array(days)) if days.is_empty() => rows.push((n, row(url, count, None))),
            Some(serde_json::Value::Array(days)) => {
                for d in days {
                    let day = match (d.get("day").and_then(|v| v.as_str()), d.get("hits").and_then(|v| v.as_u64())) {
                        (Some(day), Some(hits)) => match d.get("uniques") {
                            None | Some(serde_json::Value::Null) => day_row(day, hits, None),
                            Some(u) => u
                                .as_u64()
                                .ok_or_else(|| "\"uniques\" must be a whole number >= 0 or null".to_string())
                                .and_then(|u| day_row(day, hits, Some(u))),
                        },
                        _ => Err("a day needs \"day\" (YYYY-MM-DD) and \"hits\" (a whole number >= 0)".into()),
                    };
                    rows.push((n, day.and_then(|day| row(url, count, Some(day)))));
                }
            }
            Some(_) => rows.push((n, Err("\"days\" must be an array".into()))),
        }
    }
    Ok(rows)
}

fn whole(text: &str, what: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("{what} {text:?} is not a whole number >= 0"))
}

fn optional(text: &str) -> Result<Option<u64>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        whole(text, "uniques").map(Some)
    }
}

fn day_row(day: &str, hits: u64, uniques: Option<u64>) -> Result<DayRow, String> {
    let day =
        NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| format!("day {day:?} is not a date like 2026-12-01"))?;
    check_count(hits).map_err(|f| f.0)?;
    if let Some(u) = uniques {
        check_count(u).map_err(|f| f.0)?;
    }
    Ok(DayRow { day, hits, uniques })
}

fn row(url: &str, count: u64, day: Option<DayRow>) -> Result<Row, String> {
    let key = target::key_from_url(url).map_err(|e| e.message())?;
    check_count(count).map_err(|f| f.0)?;
    Ok(Row { key, count, day })
}

/// Every row valid, a counter's rows agreeing on its total and naming each
/// day once, or all the errors (the first `MAX_REPORTED_ERRORS` shown).
fn collect(rows: Numbered, name: &str) -> Result<Vec<Imported>, Failure> {
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(Failure(format!("more than {MAX_IMPORT_ROWS} rows; split the file"), 1));
    }
    // Where each counter is in `ok`, and the row that named it first.
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    let mut ok: Vec<Imported> = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (n, row) in rows {
        let added = row.and_then(|row| match seen.get(&row.key) {
            None => {
                seen.insert(row.key.clone(), (ok.len(), n));
                ok.push(Imported { key: row.key, count: row.count, days: row.day.into_iter().collect() });
                Ok(())
            }
            Some(&(at, first)) => {
                let counter = &mut ok[at];
                match row.day {
                    None => Err(format!("same counter as {first} ({})", row.key)),
                    Some(_) if row.count != counter.count => {
                        Err(format!("count {} differs from {} on {first} ({})", row.count, counter.count, row.key))
                    }
                    Some(day) if counter.days.iter().any(|d| d.day == day.day) => {
                        Err(format!("day {} of {} given twice", day.day, row.key))
                    }
                    Some(day) => {
                        counter.days.push(day);
                        Ok(())
                    }
                }
            }
        });
        if let Err(e) = added {
            errors.push(format!("{n}: {e}"));
        }
    }
    if errors.is_empty() {
        return Ok(ok);
    }
    let mut msg = format!("{name}: {} invalid rows, nothing imported", errors.len());
    for e in errors.iter().take(MAX_REPORTED_ERRORS) {
        msg.push_str("\n  line/item ");
        msg.push_str(e);
    }
    Err(Failure(msg, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(key: &str, count: u64) -> Imported {
        Imported { key: key.into(), count, days: Vec::new() }
    }

    fn day(d: &str, hits: u64, uniques: Option<u64>) -> DayRow {
        DayRow { day: d.parse().unwrap(), hits, uniques }
    }

    #[test]
    fn the_format_follows_the_flag_then_the_extension() {
        assert_eq!(format_of(Path::new("a.JSON"), None), Format::Json);
        assert_eq!(format_of(Path::new("-"), None), Format::Csv);
        assert_eq!(format_of(Path::new("a.csv"), Some(Format::Json)), Format::Json);
    }

    #[test]
    fn json_as_export_writes_it() {
        let rows = json_rows(r#"[{"url":"example.com/a","count":5},{"url":"b.example","count":0}]"#, "x").unwrap();
        let rows = collect(rows, "x").unwrap();
        assert_eq!(rows, [plain("example.com/a", 5), plain("b.example", 0)]);
    }

    #[test]
    fn history_in_json_and_csv() {
        let json = r#"[{"url":"a.example","count":9,"days":[{"day":"2026-11-30","hits":4,"uniques":2},
                      {"day":"2026-12-01","hits":5,"uniques":null}]},{"url":"b.example","count":1,"days":[]}]"#;
        let want = [
            Imported {
                key: "a.example".into(),
                count: 9,
                days: vec![day("2026-11-30", 4, Some(2)), day("2026-12-01", 5, None)],
            },
            plain("b.example", 1),
        ];
        assert_eq!(collect(json_rows(json, "x").unwrap(), "x").unwrap(), want);
        let csv = "url,count,day,hits,uniques\na.example,9,2026-11-30,4,2\na.example,9,2026-12-01,5,\nb.example,1,,,\n";
        assert_eq!(collect(csv_rows(csv, "x").unwrap(), "x").unwrap(), want);
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_kept() {
        let rows = json_rows(r#"[{"url":"a.example/x","count":-1},{"url":"a.example/x","count":1},{"count":2}]"#, "x");
        let err = collect(rows.unwrap(), "x").unwrap_err().0;
        assert!(err.contains("2 invalid rows"), "{err}");
        assert!(json_rows("{}", "x").is_err(), "not an array");
        let csv = "url,count,day,hits,uniques\na.example,9,2026-11-30,4,2\na.example,8,2026-12-01,1,\n\
                   a.example,9,2026-11-30,1,1\na.example,9,2026-13-01,1,1\na.example,9,2026-12-02,x,1\n";
        let err = collect(csv_rows(csv, "x").unwrap(), "x").unwrap_err().0;
        assert!(err.contains("4 invalid rows"), "{err}");
        for want in ["differs", "given twice", "not a date", "hits \"x\""] {
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
