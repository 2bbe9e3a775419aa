//! The time source for cookies and per-day counts, and the day boundary.

use chrono::{Duration, FixedOffset, NaiveDate, Utc};

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// The day a hit counts for, at the configured offset from UTC.
pub fn today(offset: FixedOffset) -> NaiveDate {
    Utc::now().with_timezone(&offset).date_naive()
}

/// The `n` days ending with `last`, oldest first.
pub fn days_ending(last: NaiveDate, n: u32) -> Vec<NaiveDate> {
    (0..n as i64).rev().map(|back| last - Duration::days(back)).collect()
}

/// Parses `--timezone`: `UTC`, `Z`, or a fixed offset `+09:00`, `-0530`, `+9`.
pub fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" || s.is_empty() {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let err = || {
        format!(
            "--timezone needs UTC or a fixed offset like +09:00 or -05:30, got {s:?} (IANA names are not supported)"
        )
    };
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(err()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(err());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("UTC").unwrap().local_minus_utc(), 0);
        assert_eq!(parse_offset("+09:00").unwrap().local_minus_utc(), 9 * 3600);
        assert_eq!(parse_offset("-0530").unwrap().local_minus_utc(), -(5 * 3600 + 1800));
        assert_eq!(parse_offset("+9").unwrap().local_minus_utc(), 9 * 3600);
        for bad in ["Europe/Paris", "+25:00", "09:00", "+09:70"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_ranges() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let days = days_ending(d, 3);
        assert_eq!(days.first().unwrap().to_string(), "2026-02-27");
        assert_eq!(days.len(), 3);
        assert_eq!(*days.last().unwrap(), d);
    }
}
