//! Limits per client and on the number of counters: the badge is always
//! served, what is over a limit is not counted, `/metrics` says why.

use crate::support;

use support::*;

fn not_counted(s: &Server, reason: &str) -> u64 {
    let text = s.get("/metrics").text();
    let line = format!("hitcounter_hits_not_counted_total{{reason=\"{reason}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&line)).map_or(0, |n| n.parse().unwrap())
}

#[test]
fn hits_past_the_rate_limit_are_served_but_not_counted() {
    let mut s = Server::start_args(&["--rate-limit", "5", "--dedup", "off", "--metrics"]);
    let u = uniq_url("rate");
    let path = format!("/count/tag.svg?url={}", enc(&u));
    let started = std::time::Instant::now();
    for _ in 0..40 {
        assert_eq!(s.get(&path).status, 200, "the badge is always served");
    }
    let seconds = started.elapsed().as_secs() + 1;
    let refused = not_counted(&s, "rate_limit");
    assert_eq!(s.stop().code(), Some(0));
    let stored = get_count(&s.db, &u);
    assert!(stored <= 5 * (seconds + 1), "{stored} counted in {seconds} s at 5 a second");
    assert_eq!(stored + refused, 40, "every hit is counted or refused, and /metrics says which");
    let hints = s.log_text().matches("pass --trust-proxy").count();
    assert_eq!(hints, 1, "a refused loopback client: the proxy hint, once: {}", s.log_text());
}

#[test]
fn new_counters_per_client_per_hour_and_clients_apart_behind_a_proxy() {
    let mut s = Server::start_args(&["--new-counters-per-hour", "3", "--trust-proxy", "--metrics"]);
    let from = |ip: &str, u: &str| s.get_h(&format!("/count?url={}", enc(u)), &[("X-Forwarded-For", ip)]);
    let urls: Vec<String> = (0..5).map(|_| uniq_url("new")).collect();
    let counts: Vec<String> = urls.iter().map(|u| from("203.0.113.1", u).text()).collect();
    assert_eq!(counts, ["1", "1", "1", "0", "0"], "three new counters, then served without one");
    assert_eq!(from("203.0.113.1", &urls[0]).text(), "2", "existing counters still count");
    assert_eq!(from("203.0.113.2", &urls[4]).text(), "1", "another client behind the proxy has its own budget");
    assert_eq!(not_counted(&s, "new_counters"), 2);
    assert_eq!(s.stop().code(), Some(0));
    let listed = admin_list(&s.db, &[]);
    assert_eq!(listed.len(), 4, "{listed:?}");
}

#[test]
fn past_max_counters_new_urls_are_served_but_not_stored() {
    let mut s = Server::start_args(&["--max-counters", "2", "--metrics"]);
    assert_eq!(hit(&s, "a.example/1"), 1);
    assert_eq!(hit(&s, "a.example/2"), 1);
    assert_eq!(s.get("/healthz").status, 200);
    let r = s.get("/count/tag.svg?url=a.example/3");
    assert_eq!(r.status, 200, "served");
    assert_eq!(hit(&s, "a.example/1"), 2, "existing counters go on");
    let health = s.get("/healthz");
    assert_eq!(health.status, 503);
    assert!(health.text().contains("--max-counters"), "{}", health.text());
    assert_eq!(not_counted(&s, "max_counters"), 1);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(admin_list(&s.db, &[]).len(), 2);
    let lines = s.log_text().matches("--max-counters").count();
    assert_eq!(lines, 1, "logged once: {}", s.log_text());
}
