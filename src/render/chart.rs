//! The per-day bar chart, drawn as inline SVG on the server (no JS, no
//! library): used on the `/stats` page and as `/nocount/graph.svg`.

use chrono::NaiveDate;

use super::escape::markup;
use super::number::{noun, thousands};

const W: u32 = 720;
const H: u32 = 240;
const LEFT: u32 = 48;
const RIGHT: u32 = 12;
const TOP: u32 = 36;
const BOTTOM: u32 = 28;
const FONT: &str = "-apple-system,Segoe UI,Helvetica,Arial,DejaVu Sans,sans-serif";

/// One day of the chart: its hits, and its unique visitors when they were
/// recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub day: NaiveDate,
    pub hits: u64,
    pub visitors: Option<u64>,
}

/// Renders `days` (oldest first) as a bar chart titled with `key`: a bar of
/// hits per day, with the day's unique visitors as a darker bar inside it.
pub fn render(key: &str, days: &[Bar]) -> String {
    let max = days.iter().map(|d| d.hits).max().unwrap_or(0);
    let scale_max = nice_ceiling(max);
    let plot_w = (W - LEFT - RIGHT) as f64;
    let plot_h = (H - TOP - BOTTOM) as f64;
    let slot = plot_w / days.len().max(1) as f64;
    let bar_w = (slot * 0.8).max(1.0);
    let total: u64 = days.iter().map(|d| d.hits).sum();
    let title = format!(
        "{}: {} {} in {} {}",
        markup(key),
        thousands(total),
        noun(total, "hit", "hits"),
        days.len(),
        noun(days.len() as u64, "day", "days")
    );
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{title}" font-family="{FONT}"><title>{title}</title><rect class="background" width="{W}" height="{H}" rx="6" fill="#fff"/><text class="title" x="{LEFT}" y="22" font-size="14" font-weight="600" fill="#24292f">{title}</text>"##
    );
    // Horizontal grid lines at 0, half and the top of the scale.
    for (i, value) in [0, scale_max / 2, scale_max].into_iter().enumerate() {
        let y = TOP as f64 + plot_h - plot_h * i as f64 / 2.0;
        svg.push_str(&format!(
            r##"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d7de" stroke-width="1"/><text class="axis" x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#57606a">{}</text>"##,
            W - RIGHT,
            LEFT - 6,
            y + 4.0,
            thousands(value)
        ));
    }
    let height = |n: u64| if scale_max == 0 { 0.0 } else { plot_h * n as f64 / scale_max as f64 };
    svg.push_str(r##"<g fill="#4c1">"##);
    for (i, b) in days.iter().enumerate() {
        let h = height(b.hits);
        let x = LEFT as f64 + slot * i as f64 + (slot - bar_w) / 2.0;
        let y = TOP as f64 + plot_h - h;
        let visitors = b.visitors.map(|v| format!(", {}", visitors(v))).unwrap_or_default();
        svg.push_str(&format!(
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" rx="1"><title>{}: {} {}{visitors}</title></rect>"#,
            b.day,
            thousands(b.hits),
            noun(b.hits, "hit", "hits")
        ));
    }
    svg.push_str(r##"</g><g fill="#2a7d0a">"##);
    for (i, b) in days.iter().enumerate() {
        let Some(v) = b.visitors.filter(|v| *v > 0) else { continue };
        let (w, h) = (bar_w * 0.5, height(v.min(b.hits)));
        let x = LEFT as f64 + slot * i as f64 + (slot - w) / 2.0;
        let y = TOP as f64 + plot_h - h;
        svg.push_str(&format!(
            r#"<rect class="visitors" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="1"><title>{}: {}</title></rect>"#,
            b.day,
            visitors(v)
        ));
    }
    svg.push_str("</g>");
    if days.iter().any(|b| b.visitors.is_some()) {
        let x = W - RIGHT;
        svg.push_str(&format!(
            r##"<text class="legend" x="{x}" y="22" font-size="11" text-anchor="end" fill="#57606a"><tspan fill="#4c1">■</tspan> hits <tspan fill="#2a7d0a">■</tspan> unique visitors</text>"##
        ));
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let y = H - 8;
        svg.push_str(&format!(
            r##"<text x="{LEFT}" y="{y}" font-size="11" fill="#57606a">{}</text><text x="{}" y="{y}" font-size="11" text-anchor="end" fill="#57606a">{}</text>"##,
            first.day,
            W - RIGHT,
            last.day
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// "1 visitor", "1,204 visitors".
fn visitors(n: u64) -> String {
    format!("{} {}", thousands(n), noun(n, "visitor", "visitors"))
}

/// A round, even number at or above `n` for the top of the scale (2, 4, 6,
/// 8 or 10 × 10^k), so the middle grid line sits on a whole number too.
fn nice_ceiling(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let mut base = 1u64;
    loop {
        for m in [2, 4, 6, 8, 10] {
            match base.checked_mul(m) {
                Some(v) if v >= n => return v,
                Some(_) => {}
                None => return n,
            }
        }
        match base.checked_mul(10) {
            Some(b) => base = b,
            None => return n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn one_bar_per_day_and_valid_xml() {
        let days: Vec<_> =
            (1..=7).map(|d| Bar { day: day(d), hits: d as u64 * 3, visitors: (d > 2).then_some(d as u64) }).collect();
        let svg = render("<evil>&key", &days);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed");
        let count = |class| doc.descendants().filter(|n| n.attribute("class") == Some(class)).count();
        assert_eq!((count("bar"), count("visitors")), (7, 5), "visitors only where recorded");
        assert!(svg.contains("&lt;evil&gt;&amp;key"));
    }

    #[test]
    fn one_is_said_in_the_singular() {
        let svg = render("k", &[Bar { day: day(1), hits: 1, visitors: Some(1) }]);
        assert!(svg.contains("<title>k: 1 hit in 1 day</title>"), "{svg}");
        assert!(svg.contains("2026-11-01: 1 hit, 1 visitor</title>"), "{svg}");
        let svg =
            render("k", &[Bar { day: day(1), hits: 2, visitors: None }, Bar { day: day(2), hits: 0, visitors: None }]);
        assert!(svg.contains("<title>k: 2 hits in 2 days</title>"), "{svg}");
    }

    #[test]
    fn empty_history_still_renders() {
        let days: Vec<_> = (1..=3).map(|d| Bar { day: day(d), hits: 0, visitors: None }).collect();
        roxmltree::Document::parse(&render("k", &days)).expect("well-formed");
        roxmltree::Document::parse(&render("k", &[])).expect("well-formed");
    }

    #[test]
    fn scale_tops_are_round() {
        assert_eq!(nice_ceiling(0), 0);
        assert_eq!(nice_ceiling(1), 2);
        assert_eq!(nice_ceiling(3), 4);
        assert_eq!(nice_ceiling(7), 8);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(450), 600);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }
}
