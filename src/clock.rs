//! The time source for cookies and per-day counts.

use chrono::{NaiveDate, Utc};

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// The day a hit counts for (UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}
