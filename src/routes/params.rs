//! Display parameters of badges and charts, read from the query string, and
//! the text a badge shows. Invalid values are errors (400), never guesses.

use std::borrow::Cow;

use crate::counter::Counts;
use crate::http::param;
use crate::limits::{MAX_DAYS, MAX_LABEL_CHARS};
use crate::render::badge::Style;
use crate::render::color;
use crate::render::escape::xml_allowed;
use crate::render::number::{abbreviate, thousands};
use crate::target;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Total,
    Today,
    TodayTotal,
    /// Unique visitors: the sum over the days they were counted.
    Visitors,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeParams {
    pub style: Style,
    // Cow: the defaults cost no allocation on the badge hot path.
    pub label: Cow<'static, str>,
    pub color: Cow<'static, str>,
    pub label_color: Cow<'static, str>,
    pub view: View,
    pub abbreviate: bool,
}

/// A decoded query parameter; `None` when absent.
fn decoded(query: &str, name: &str) -> Result<Option<String>, String> {
    match param(query, name) {
        None => Ok(None),
        Some(raw) => target::decode_param(raw).map(Some).map_err(|_| format!("{name}: bad percent-encoding")),
    }
}

pub fn badge(query: &str) -> Result<BadgeParams, String> {
    let style = match decoded(query, "style")?.as_deref() {
        None | Some("") => Style::Flat,
        Some(s) => Style::parse(s)
            .ok_or_else(|| format!("unknown style {s:?}: use flat, flat-square, plastic or for-the-badge"))?,
    };
    // Characters XML cannot carry are dropped here, once, so the badge's
    // width is measured on the text it shows.
    let label: Cow<'static, str> = decoded(query, "label")?
        .map_or(Cow::Borrowed("hits"), |l| Cow::Owned(l.chars().filter(|c| xml_allowed(*c)).collect()));
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("label is longer than {MAX_LABEL_CHARS} characters"));
    }
    let colour = |name: &str, default: &'static str| -> Result<Cow<'static, str>, String> {
        match decoded(query, name)?.as_deref() {
            None | Some("") => Ok(Cow::Borrowed(default)),
            Some(c) => color::parse(c).ok_or_else(|| {
                format!("{name} {c:?} is not a colour: use hex like 4c1 or #44cc11, or a name like brightgreen")
            }),
        }
    };
    let view = match decoded(query, "view")?.as_deref() {
        None | Some("") | Some("total") => View::Total,
        Some("today") => View::Today,
        Some("today-total") => View::TodayTotal,
        Some("visitors") => View::Visitors,
        Some(v) => return Err(format!("unknown view {v:?}: use total, today, today-total or visitors")),
    };
    let abbreviate = match decoded(query, "abbreviate")?.as_deref() {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(v) => return Err(format!("abbreviate must be true or false, got {v:?}")),
    };
    Ok(BadgeParams {
        style,
        label,
        color: colour("color", "#4c1")?,
        label_color: colour("labelColor", "#555")?,
        view,
        abbreviate,
    })
}

/// Number of days for history views: `days`, default 30, 1..=366.
pub fn days(query: &str) -> Result<u32, String> {
    match decoded(query, "days")?.as_deref() {
        None | Some("") => Ok(30),
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => Ok(n),
            _ => Err(format!("days must be a whole number from 1 to {MAX_DAYS}, got {d:?}")),
        },
    }
}

impl BadgeParams {
    /// The badge's message for these counts.
    pub fn message(&self, counts: Counts) -> String {
        let show = |n: u64, separators: bool| match (self.abbreviate, separators) {
            (true, _) => abbreviate(n),
            (false, true) => thousands(n),
            (false, false) => n.to_string(),
        };
        match self.view {
            View::Total => show(counts.total, false),
            View::Today => show(counts.today, false),
            View::TodayTotal => format!("{} / {}", show(counts.today, true), show(counts.total, true)),
            View::Visitors => show(counts.visitors, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let d = badge("url=x").unwrap();
        assert_eq!(
            (d.style, d.label.as_ref(), d.color.as_ref(), d.label_color.as_ref()),
            (Style::Flat, "hits", "#4c1", "#555")
        );
        let p = badge(
            "style=for-the-badge&label=my%20views&color=red&labelColor=%23abcdef&view=today-total&abbreviate=true",
        )
        .unwrap();
        assert_eq!(p.style, Style::ForTheBadge);
        assert_eq!(p.label, "my views");
        assert_eq!((p.color.as_ref(), p.label_color.as_ref()), ("#e05d44", "#abcdef"));
        assert_eq!(p.message(Counts { total: 12345, today: 3, visitors: 0 }), "3 / 12.3k");
    }

    #[test]
    fn views() {
        let c = Counts { total: 1204, today: 3, visitors: 77 };
        assert_eq!(badge("view=today-total").unwrap().message(c), "3 / 1,204");
        assert_eq!(badge("view=today").unwrap().message(c), "3");
        assert_eq!(badge("").unwrap().message(c), "1204");
        assert_eq!(badge("view=visitors").unwrap().message(c), "77");
    }

    #[test]
    fn invalid_values_are_errors() {
        for q in ["style=round", "color=nope", "labelColor=%23ggg", "view=week", "abbreviate=maybe", "label=%zz"] {
            assert!(badge(q).is_err(), "{q}");
        }
        assert!(badge(&format!("label={}", "x".repeat(65))).is_err());
        assert!(badge(&format!("label={}", "x".repeat(64))).is_ok());
        let p = badge("label=a%EF%BF%BEb%01c").unwrap();
        assert_eq!(p.label, "abc", "U+FFFE and controls dropped before the width is measured");
    }

    #[test]
    fn day_counts() {
        assert_eq!(days(""), Ok(30));
        assert_eq!(days("days=366"), Ok(366));
        assert!(days("days=0").is_err() && days("days=367").is_err() && days("days=x").is_err());
    }
}
