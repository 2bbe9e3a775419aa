//! Reading a file for `hitcounter import`: CSV with the header `url,count`,
//! or the JSON array `export --format json` writes (`[{"url","count"}]`),
//! from a file or standard input (`-`). The whole input is checked before
//! anything is written: a usable URL and a whole number on every row, no
//! counter twice, at most `MAX_IMPORT_ROWS` rows.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::admin::{check_count, Failure};
use super::Format;
use crate::limits::{MAX_IMPORT_ROWS, MAX_REPORTED_ERRORS};
use crate::target;

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

/// The rows of `file` (`-`: standard input), all valid, or every problem.
pub fn read(file: &Path, format: Format) -> Result<Vec<(String, u64)>, Failure> {
    let name = if file == Path::new("-") { "standard input".to_string() } else { file.display().to_string() };
    let mut text = String::new();
    let read = if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| Failure(format!("cannot read {name}: {e}"), 1))?;
    let rows = match format {
        Format::Csv => csv_rows(&text, &name)?,
        Format::Json => json_rows(&text, &name)?,
    };
    collect(rows, &name)
}

/// (line or item number, the row or what is wrong with it)
type Numbered = Vec<(usize, Result<(String, u64), String>)>;

fn csv_rows(text: &str, name: &str) -> Result<Numbered, Failure> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| Failure(format!("{name}: {e}"), 1))?;
    let names: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
    if names != ["url", "count"] {
        return Err(Failure(format!("{name}: the first line must be the header url,count"), 1));
    }
    Ok(reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let row = r.map_err(|e| e.to_string()).and_then(|r| {
                if r.len() != 2 {
                    return Err(format!("expected 2 fields (url,count), found {}", r.len()));
                }
                row(&r[0], r[1].parse().map_err(|_| format!("count {:?} is not a whole number >= 0", &r[1])))
            });
            (i + 2, row)
        })
        .collect())
}

fn json_rows(text: &str, name: &str) -> Result<Numbered, Failure> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| Failure(format!("{name}: not a JSON array of {{\"url\", \"count\"}} objects: {e}"), 1))?;
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let url = item.get("url").and_then(|u| u.as_str());
            let count = item.get("count").and_then(|c| c.as_u64());
            let row = match (url, count) {
                (Some(url), Some(count)) => row(url, Ok(count)),
                _ => Err("expected an object with \"url\" (text) and \"count\" (a whole number >= 0)".into()),
            };
            (i + 1, row)
        })
        .collect())
}

fn row(url: &str, count: Result<u64, String>) -> Result<(String, u64), String> {
    let key = target::key_from_url(url).map_err(|e| e.message())?;
    let count = count?;
    check_count(count).map_err(|f| f.0)?;
    Ok((key, count))
}

/// Every row valid and no counter twice, or all the errors (the first
/// `MAX_REPORTED_ERRORS` shown).
fn collect(rows: Numbered, name: &str) -> Result<Vec<(String, u64)>, Failure> {
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(Failure(format!("more than {MAX_IMPORT_ROWS} rows; split the file"), 1));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ok = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (n, row) in rows {
        let row = row.and_then(|(key, count)| match seen.insert(key.clone(), n) {
            Some(first) => Err(format!("same counter as {first} ({key})")),
            None => Ok((key, count)),
        });
        match row {
            Ok(r) => ok.push(r),
            Err(e) => errors.push(format!("{n}: {e}")),
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
        assert_eq!(rows, [("example.com/a".to_string(), 5), ("b.example".to_string(), 0)]);
    }

    #[test]
    fn every_bad_row_is_reported_and_nothing_kept() {
        let rows = json_rows(r#"[{"url":"a.example/x","count":-1},{"url":"a.example/x","count":1},{"count":2}]"#, "x");
        let err = collect(rows.unwrap(), "x").unwrap_err().0;
        assert!(err.contains("2 invalid rows"), "{err}");
        assert!(json_rows("{}", "x").is_err(), "not an array");
    }
}
