//! Display parameters of badges and charts, read from the query string, and
//! the text a badge shows. Invalid values are errors (400), never guesses.

use std::borrow::Cow;

use crate::counter::Counts;
use crate::http::param;
use crate::limits::{MAX_DAYS, MAX_LABEL_CHARS, MAX_LOGO_WIDTH};
use crate::render::badge::{Badge, Logo, Style, LOGO_HEIGHT};
use crate::render::color;
use crate::render::escape::xml_allowed;
use crate::render::logo::{self, Logos};
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
    /// The logo as a data URI, and its width (`logoWidth`, default 14).
    pub logo: Option<(String, u32)>,
}

/// A display parameter that was refused: `reason` is what the error badge
/// shows and names the parameter (`bad color`, `unknown logo`), never its
/// value; `message` is the full sentence plain clients get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reason: &'static str,
    pub message: String,
}

fn refused(reason: &'static str, message: String) -> Refused {
    Refused { reason, message }
}

/// `bad NAME` for each parameter a badge reads.
fn bad(name: &str) -> &'static str {
    match name {
        "style" => "bad style",
        "label" => "bad label",
        "color" => "bad color",
        "labelColor" => "bad labelColor",
        "view" => "bad view",
        "abbreviate" => "bad abbreviate",
        "logo" => "bad logo",
        "logoColor" => "bad logoColor",
        "logoWidth" => "bad logoWidth",
        "days" => "bad days",
        _ => "bad parameter",
    }
}

/// A decoded query parameter; `None` when absent or empty.
fn decoded(query: &str, name: &str) -> Result<Option<String>, Refused> {
    match param(query, name) {
        None => Ok(None),
        Some(raw) => target::decode_param(raw)
            .map(|v| Some(v).filter(|v| !v.is_empty()))
            .map_err(|_| refused(bad(name), format!("{name}: bad percent-encoding"))),
    }
}

/// A colour parameter as `#hex`, or `default` when absent.
fn colour(query: &str, name: &str, default: &'static str) -> Result<Cow<'static, str>, Refused> {
    colour_by(query, name, default, color::parse)
}

fn colour_by(
    query: &str,
    name: &str,
    default: &'static str,
    parse: fn(&str) -> Option<Cow<'static, str>>,
) -> Result<Cow<'static, str>, Refused> {
    match decoded(query, name)? {
        None => Ok(Cow::Borrowed(default)),
        Some(c) => parse(&c).ok_or_else(|| {
            let message =
                format!("{name} {c:?} is not a colour: use hex like 4c1 or #44cc11, or a name like brightgreen");
            refused(bad(name), message)
        }),
    }
}

pub fn badge(query: &str, logos: &Logos) -> Result<BadgeParams, Refused> {
    let style = match decoded(query, "style")? {
        None => Style::Flat,
        Some(s) => Style::parse(&s).ok_or_else(|| {
            let message =
                format!("unknown style {s:?}: use flat, flat-square, plastic, for-the-badge, social or pixel");
            refused("bad style", message)
        })?,
    };
    // Characters XML cannot carry are dropped here, once, so the badge's
    // width is measured on the text it shows. An empty label is a badge
    // without one, so it is read apart from `decoded`.
    let label: Cow<'static, str> = match param(query, "label") {
        None => Cow::Borrowed("hits"),
        Some(raw) => Cow::Owned(
            target::decode_param(raw)
                .map_err(|_| refused("bad label", "label: bad percent-encoding".into()))?
                .chars()
                .filter(|c| xml_allowed(*c))
                .collect(),
        ),
    };
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(refused("label too long", format!("label is longer than {MAX_LABEL_CHARS} characters")));
    }
    let view = match decoded(query, "view")?.as_deref() {
        None | Some("total") => View::Total,
        Some("today") => View::Today,
        Some("today-total") => View::TodayTotal,
        Some("visitors") => View::Visitors,
        Some(v) => {
            return Err(refused("bad view", format!("unknown view {v:?}: use total, today, today-total or visitors")))
        }
    };
    let abbreviate = match decoded(query, "abbreviate")?.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(v) => return Err(refused("bad abbreviate", format!("abbreviate must be true or false, got {v:?}"))),
    };
    Ok(BadgeParams {
        style,
        label,
        color: colour(query, "color", "#4c1")?,
        label_color: colour(query, "labelColor", "#555")?,
        view,
        abbreviate,
        logo: logo(query, style, logos)?,
    })
}

/// `logo` (a simple-icons name or a `data:` URI), `logoColor` and
/// `logoWidth`, as shields reads them; the logo as a data URI.
fn logo(query: &str, style: Style, logos: &Logos) -> Result<Option<(String, u32)>, Refused> {
    let logo_color = match decoded(query, "logoColor")? {
        None => None,
        Some(_) => Some(colour_by(query, "logoColor", "", color::parse_with_css_names)?),
    };
    let width = match decoded(query, "logoWidth")? {
        None => LOGO_HEIGHT,
        Some(w) => match w.parse::<u32>() {
            Ok(n) if (1..=MAX_LOGO_WIDTH).contains(&n) => n,
            _ => {
                let message = format!("logoWidth must be a whole number from 1 to {MAX_LOGO_WIDTH}, got {w:?}");
                return Err(refused("bad logoWidth", message));
            }
        },
    };
    // Not `decoded`, which stops at a URL's length: a data URI may be longer
    // (the request target bounds it) and is measured by `logo::data_uri`.
    // A `+` stays a `+`, as base64 needs.
    let name = match param(query, "logo").map(|raw| percent_encoding::percent_decode_str(raw).decode_utf8()) {
        None => return Ok(None),
        Some(Err(_)) => return Err(refused("bad logo", "logo: bad percent-encoding".into())),
        Some(Ok(n)) if n.trim().is_empty() => return Ok(None),
        Some(Ok(n)) => n,
    };
    let looks_like_data = name.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:")) || name.contains(";base64,");
    let href = if looks_like_data {
        logo::data_uri(&name)
            .map_err(|r| refused(r.short(), format!("logo: {}: see the docs for custom logos", r.short())))?
    } else {
        let icon = logos.named(&name).ok_or_else(|| {
            refused(logo::Refusal::Unknown.short(), "unknown logo: use a simple-icons name the server has".into())
        })?;
        let fill = logo::fill(icon.brand.as_deref(), logo_color.as_deref(), style == Style::Social);
        logo::icon_uri(&icon, &fill)
    };
    Ok(Some((href, width)))
}

/// Number of days for history views: `days`, default 30, 1..=366.
pub fn days(query: &str) -> Result<u32, Refused> {
    match decoded(query, "days")?.as_deref() {
        None => Ok(30),
        Some(d) => match d.parse::<u32>() {
            Ok(n) if (1..=MAX_DAYS).contains(&n) => Ok(n),
            _ => Err(refused("bad days", format!("days must be a whole number from 1 to {MAX_DAYS}, got {d:?}"))),
        },
    }
}

impl BadgeParams {
    /// The badge these parameters draw around `message`.
    pub fn badge<'a>(&'a self, message: &'a str) -> Badge<'a> {
        Badge {
            label: &self.label,
            message,
            label_color: &self.label_color,
            color: &self.color,
            style: self.style,
            logo: self.logo.as_ref().map(|(href, width)| Logo { href, width: *width }),
        }
    }

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

    use base64::Engine;

    fn b(query: &str) -> Result<BadgeParams, Refused> {
        badge(query, &Logos::default())
    }

    #[test]
    fn defaults_and_values() {
        let d = badge("url=x", &Logos::default()).unwrap();
        assert_eq!(
            (d.style, d.label.as_ref(), d.color.as_ref(), d.label_color.as_ref()),
            (Style::Flat, "hits", "#4c1", "#555")
        );
        let p = badge(
            "style=for-the-badge&label=my%20views&color=red&labelColor=%23abcdef&view=today-total&abbreviate=true",
            &Logos::default(),
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
        assert_eq!(b("view=today-total").unwrap().message(c), "3 / 1,204");
        assert_eq!(b("view=today").unwrap().message(c), "3");
        assert_eq!(b("").unwrap().message(c), "1204");
        assert_eq!(b("view=visitors").unwrap().message(c), "77");
    }

    #[test]
    fn invalid_values_are_errors() {
        for q in ["style=round", "color=nope", "labelColor=%23ggg", "view=week", "abbreviate=maybe", "label=%zz"] {
            assert!(b(q).is_err(), "{q}");
        }
        assert!(b(&format!("label={}", "x".repeat(65))).is_err());
        assert!(b(&format!("label={}", "x".repeat(64))).is_ok());
        let p = b("label=a%EF%BF%BEb%01c").unwrap();
        assert_eq!(p.label, "abc", "U+FFFE and controls dropped before the width is measured");
    }

    #[test]
    fn each_refusal_names_its_parameter_and_never_its_value() {
        for (q, reason) in [
            ("style=%3Cscript%3E", "bad style"),
            ("color=nope", "bad color"),
            ("labelColor=nope", "bad labelColor"),
            ("view=week", "bad view"),
            ("abbreviate=maybe", "bad abbreviate"),
            ("label=%zz", "bad label"),
            ("logo=no-such-brand", "unknown logo"),
            ("logo=github&logoColor=nope", "bad logoColor"),
            ("logo=github&logoWidth=0", "bad logoWidth"),
            ("logo=data:text/html;base64,PGI%2B", "bad logo"),
        ] {
            assert_eq!(b(q).map(|_| ()), Err(Refused { reason, message: b(q).unwrap_err().message }), "{q}");
        }
        assert_eq!(b(&format!("label={}", "x".repeat(65))).unwrap_err().reason, "label too long");
    }

    #[test]
    fn logos() {
        let p = b("logo=github&logoWidth=20").unwrap();
        let (href, width) = p.logo.unwrap();
        assert!(href.starts_with("data:image/svg+xml;base64,") && width == 20);
        assert_eq!(b("logo=github").unwrap().logo.unwrap().1, 14);
        assert_ne!(b("logo=github&logoColor=red").unwrap().logo, b("logo=github").unwrap().logo);
        assert_eq!(b("logo=").unwrap().logo, None);
        // A data URI longer than a URL may be (3 KiB decoded) is fine.
        let svg = format!(r#"<svg xmlns="http://www.w3.org/2000/svg"><!--{}--></svg>"#, "x".repeat(3000));
        let uri = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
        let q = format!("logo={}", uri.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D"));
        assert_eq!(b(&q).unwrap().logo.unwrap().0, uri);
    }

    #[test]
    fn day_counts() {
        assert_eq!(days(""), Ok(30));
        assert_eq!(days("days=366"), Ok(366));
        assert_eq!(days("days=0").unwrap_err().reason, "bad days");
        assert!(days("days=0").is_err() && days("days=367").is_err() && days("days=x").is_err());
    }
}
