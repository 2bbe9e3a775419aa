//! Unique visitors: per counter and day, the distinct (address, User-Agent)
//! pairs counted, stored next to the hits. `view=visitors` on badges and
//! JSON, `visitors` in `stats.json` (total and per day), through a restart,
//! in write-through mode; days from before visitors were counted say so
//! (`null`), never an invented number.

use crate::support;

use chrono::{Days, Utc};
use support::history::{seed, stats_json};
use support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

fn visit(s: &Server, url: &str, ua: &str, from: [u8; 4]) {
    let path = format!("/count/tag.svg?url={}", enc(url));
    let r = Request::get(&path).headers(&[("User-Agent", ua)]).from(from.into()).send(&s.addr);
    assert_eq!(r.status, 200);
}

fn visitors_badge(s: &Server, url: &str) -> String {
    let r = s.get(&format!("/nocount/tag.json?url={}&view=visitors", enc(url)));
    let v: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    v["message"].as_str().unwrap().to_string()
}

/// Three people (one of them on two addresses, one loading twice), two
/// fetches through GitHub's proxy and a bot.
fn a_mix_of_visitors(s: &Server, url: &str) {
    for _ in 0..3 {
        visit(s, url, FIREFOX, [127, 0, 0, 1]);
    }
    visit(s, url, FIREFOX, [127, 0, 0, 2]);
    visit(s, url, SAFARI, [127, 0, 0, 1]);
    visit(s, url, SAFARI, [127, 0, 0, 1]);
    visit(s, url, "github-camo (876de43e)", [127, 0, 0, 3]);
    visit(s, url, "github-camo (876de43e)", [127, 0, 0, 3]);
    visit(s, url, "curl/8.5.0", [127, 0, 0, 4]);
}

#[test]
fn visitors_are_counted_per_day_and_shown() {
    // --dedup off: every load a hit, so hits and visitors differ.
    let mut s = Server::start_args(&["--dedup", "off"]);
    let url = uniq_url("mix");
    a_mix_of_visitors(&s, &url);
    let v = stats_json(&s, &url, "&days=2");
    assert_eq!((v["total"].as_u64(), v["visitors"].as_u64()), (Some(8), Some(5)), "{v}");
    let today = &v["days"][1];
    assert_eq!((today["hits"].as_u64(), today["visitors"].as_u64()), (Some(8), Some(5)), "{v}");
    assert_eq!(v["days"][0]["visitors"].as_u64(), Some(0), "a day without hits had no visitors");
    assert_eq!(visitors_badge(&s, &url), "5");
    let svg = s.get(&format!("/nocount/tag.svg?url={}&view=visitors", enc(&url))).text();
    assert!(svg.contains(">5<"), "{svg}");
    let graph = s.get(&format!("/nocount/graph.svg?url={}&days=2", enc(&url))).text();
    assert!(graph.contains("class=\"visitors\"") && graph.contains("5 visitors"), "{graph}");
    let page = s.get(&format!("/stats?url={}", enc(&url))).text();
    assert!(page.contains("id=\"stats-visitors\""), "the page shows visitors");

    // Stored with the hits: a restart keeps them.
    assert!(s.stop().success());
    let s = Server::start_with(Opts { dir: Some(s.dir.clone()), args: vec!["--dedup", "off"], ..Opts::default() });
    assert_eq!(visitors_badge(&s, &url), "5");
    assert_eq!(stats_json(&s, &url, "&days=1")["days"][0]["visitors"].as_u64(), Some(5));
}

#[test]
fn write_through_counts_visitors_too() {
    let s = Server::start_args(&["--dedup", "off", "--flush-interval", "0"]);
    let url = uniq_url("write-through");
    a_mix_of_visitors(&s, &url);
    assert_eq!(visitors_badge(&s, &url), "5");
    assert_eq!(admin_ok(&s.db, &["get", &url]).trim(), "8");
}

#[test]
fn days_from_before_visitors_were_counted_say_so() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    let yesterday = Utc::now().date_naive() - Days::new(1);
    seed(&db, &[("old.example/page", 40, vec![(yesterday, 40)])]);
    let s = Server::start_with(Opts { dir: Some(dir), args: vec!["--dedup", "off"], ..Opts::default() });
    visit(&s, "old.example/page", FIREFOX, [127, 0, 0, 1]);
    let v = stats_json(&s, "old.example/page", "&days=2");
    assert_eq!(v["days"][0]["hits"].as_u64(), Some(40));
    assert!(v["days"][0]["visitors"].is_null(), "not recorded, not invented: {v}");
    assert_eq!((v["visitors"].as_u64(), v["days"][1]["visitors"].as_u64()), (Some(1), Some(1)), "{v}");
}
