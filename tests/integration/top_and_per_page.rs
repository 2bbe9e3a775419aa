//! The top table's ignore list and the opt-in per-page metric.

use crate::support;

use support::*;

fn seeded_with(args: Vec<&'static str>, env: Vec<(&'static str, &'static str)>) -> Server {
    let counts = [("example.com/a", 100), ("ignored.example/x", 200), ("127.0.0.1:8080/", 300), ("b.example/p", 50)];
    start_with_counts(counts, Opts { args, env, ..Opts::default() })
}

#[test]
fn the_top_table_leaves_out_ignored_and_local_sites() {
    let mut s = seeded_with(vec!["--top-ignore", "ignored.example"], vec![]);
    let page = s.get("/").text();
    assert!(page.contains("<td>example.com</td>") && page.contains("<td>b.example</td>"), "listed sites");
    assert!(page.contains("<td>example.com/a</td>") && page.contains("<td>b.example/p</td>"), "listed pages");
    assert!(!page.contains("ignored.example"), "--top-ignore, in both tables");
    assert!(!page.contains("<td>127.0.0.1"), "local hosts are always left out");
    assert_eq!(s.stop().code(), Some(0));

    let mut s = seeded_with(vec![], vec![("NUM_TOP_URLS", "0")]);
    let page = s.get("/").text();
    assert!(page.contains("data-pages-n=\"0\"") && !page.contains("<td>example.com/a</td>"), "0 hides the pages");
    assert_eq!(s.stop().code(), Some(0));

    let mut s = seeded_with(vec![], vec![("TOP_SITES_IGNORE_DOMAIN_RE_MATCH", "ign")]);
    let page = s.get("/").text();
    assert!(!page.contains("ignored.example") && page.contains("example.com"), "the original's regex, anchored");
    assert_eq!(s.stop().code(), Some(0));
}

#[test]
fn the_per_page_metric_has_at_most_n_series() {
    let mut s = seeded_with(vec!["--metrics", "--metrics-per-page", "2"], vec![]);
    let text = s.get("/metrics").text();
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("hitcounter_hits_total{")).collect();
    assert_eq!(
        series,
        [
            "hitcounter_hits_total{site=\"127.0.0.1:8080\",path=\"/\"} 300",
            "hitcounter_hits_total{site=\"ignored.example\",path=\"/x\"} 200"
        ]
    );
    assert_eq!(s.stop().code(), Some(0));
    let mut off = seeded_with(vec!["--metrics"], vec![]);
    assert!(!off.get("/metrics").text().contains("hits_total{"), "off by default");
    assert_eq!(off.stop().code(), Some(0));
}
