//! The time source for cookies and per-day counts, and the day boundary.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// Seconds since the Unix epoch: the clock of the cookie and dedup windows
/// and the per-client limits.
pub fn now_secs() -> u64 {
    (Utc::now().timestamp().max(0) as u64).saturating_add(test_offset())
}

/// Test builds only (debug assertions on, as `cargo test` builds the binary):
/// `HITCOUNTER_TEST_CLOCK=FILE` moves [`now_secs`] ahead by the seconds
/// written in FILE, read on each call, so the integration tests see a window
/// end without waiting for it, however busy the machine. A release build
/// has no such variable.
#[cfg(debug_assertions)]
fn test_offset() -> u64 {
    static FILE: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();
    let Some(file) = FILE.get_or_init(|| std::env::var_os("HITCOUNTER_TEST_CLOCK")) else { return 0 };
    std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

#[cfg(not(debug_assertions))]
fn test_offset() -> u64 {
    0
}

/// Where days begin and end (`--timezone`): a fixed offset from UTC, or
/// an IANA zone, whose offset follows daylight saving time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Fixed(FixedOffset),
    /// Leaked once at start: a zone is named once per process.
    #[cfg(feature = "tz")]
    Named(&'static jiff::tz::TimeZone),
}

impl Zone {
    /// The local day at the instant `at`.
    pub fn day_at(&self, at: DateTime<Utc>) -> NaiveDate {
        match self {
            Zone::Fixed(offset) => at.with_timezone(offset).date_naive(),
            #[cfg(feature = "tz")]
            Zone::Named(tz) => {
                let offset = jiff::Timestamp::from_second(at.timestamp()).map_or(0, |t| tz.to_offset(t).seconds());
                (at + Duration::seconds(i64::from(offset))).date_naive()
            }
        }
    }
}

/// The day a hit counts for, in the configured zone.
pub fn today(zone: Zone) -> NaiveDate {
    zone.day_at(Utc::now())
}

/// Parses `--timezone`: `UTC`, a fixed offset (`+09:00`, `-0530`, `+9`)
/// or an IANA zone name (`Europe/Berlin`).
pub fn parse_zone(s: &str) -> Result<Zone, String> {
    let s = s.trim();
    let named = s.contains('/')
        || (!s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) && !s.eq_ignore_ascii_case("utc") && s != "Z");
    if named {
        return named_zone(s);
    }
    parse_offset(s).map(Zone::Fixed)
}

#[cfg(feature = "tz")]
fn named_zone(s: &str) -> Result<Zone, String> {
    let tz = jiff::tz::TimeZone::get(s).map_err(|_| {
        format!("--timezone: unknown zone {s:?}: use an IANA name like Europe/Berlin, UTC or an offset like +09:00")
    })?;
    Ok(Zone::Named(Box::leak(Box::new(tz))))
}

#[cfg(not(feature = "tz"))]
fn named_zone(s: &str) -> Result<Zone, String> {
    Err(format!(
        "--timezone {s:?}: this build has no time zone names (built without the `tz` feature): use an offset like +01:00"
    ))
}

/// The `n` days ending with `last`, oldest first.
pub fn days_ending(last: NaiveDate, n: u32) -> Vec<NaiveDate> {
    (0..n as i64).rev().map(|back| last - Duration::days(back)).collect()
}

/// A fixed offset: `UTC`, `Z`, `+09:00`, `-0530`, `+9`.
fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" || s.is_empty() {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let err = || {
        format!("--timezone needs an IANA name like Europe/Berlin, UTC or an offset like +09:00 or -05:30, got {s:?}")
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

    #[cfg(feature = "tz")]
    #[test]
    fn iana_zones_follow_daylight_saving_time() {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Summer (UTC+2): local midnight is 22:00 UTC.
        assert_eq!(berlin.day_at(at("2026-07-14T21:59:59Z")), day("2026-07-14"));
        assert_eq!(berlin.day_at(at("2026-07-14T22:00:00Z")), day("2026-07-15"));
        // Winter (UTC+1): local midnight is 23:00 UTC.
        assert_eq!(berlin.day_at(at("2026-01-14T22:59:59Z")), day("2026-01-14"));
        assert_eq!(berlin.day_at(at("2026-01-14T23:00:00Z")), day("2026-01-15"));
        let ny = parse_zone("America/New_York").unwrap();
        assert_eq!(ny.day_at(at("2026-07-15T03:59:59Z")), day("2026-07-14"));
        assert_eq!(parse_zone("+09:00").unwrap(), Zone::Fixed(FixedOffset::east_opt(9 * 3600).unwrap()));
        assert_eq!(parse_zone("UTC").unwrap(), Zone::Fixed(FixedOffset::east_opt(0).unwrap()));
        assert!(parse_zone("Mars/Olympus").unwrap_err().contains("unknown zone"));
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
