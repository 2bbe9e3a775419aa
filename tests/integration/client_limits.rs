//! Limits per client and on the number of counters: the badge is always
//! served, what is over a limit is not counted, `/metrics` says why. A
//! client is an IPv4 address or an IPv6 /64 (`--ipv6-prefix`); behind a
//! trusted proxy, the address the proxy vouches for.

use crate::support;

use support::*;

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

/// Twenty new counters from twenty addresses (only a header value) as `--trust-proxy` sees them.
fn twenty_new_counters(
    s: &Server,
    address: impl Fn(usize) -> String,
    headers: impl Fn(&str) -> Vec<(&'static str, String)>,
) {
    for i in 0..20 {
        let ip = address(i);
        let headers = headers(&ip);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(s.get_h(&format!("/count?url={}", enc(&uniq_url("v6"))), &headers).status, 200);
    }
}

#[test]
fn the_addresses_of_one_ipv6_64_are_one_client() {
    let in_one_64 = |i: usize| format!("2001:db8:aa:bb:{i:x}::{:x}", i * 7 + 1);
    let forwarded = |ip: &str| vec![("X-Forwarded-For", ip.to_string())];
    let mut s = Server::start_args(&["--new-counters-per-hour", "3", "--trust-proxy", "--metrics"]);
    twenty_new_counters(&s, in_one_64, forwarded);
    assert_eq!(not_counted(&s, "new_counters"), 17);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(admin_list(&s.db, &[]).len(), 3, "one /64, three new counters");

    let args = ["--new-counters-per-hour", "3", "--trust-proxy", "--ipv6-prefix", "128"];
    let mut s = Server::start_args(&args);
    twenty_new_counters(&s, in_one_64, forwarded);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(admin_list(&s.db, &[]).len(), 20, "--ipv6-prefix 128: each address is a client");
}

#[test]
fn x_real_ip_from_the_proxy_beats_a_forwarded_for_the_client_wrote() {
    let mut s = Server::start_args(&["--new-counters-per-hour", "3", "--trust-proxy", "--metrics"]);
    // A proxy that sets only X-Real-IP passes on whatever X-Forwarded-For the client sent.
    let written_by_client = |i: usize| format!("198.51.100.{}", i + 1);
    let proxied = |ip: &str| vec![("X-Forwarded-For", ip.to_string()), ("X-Real-IP", "203.0.113.50".to_string())];
    twenty_new_counters(&s, written_by_client, proxied);
    assert_eq!(not_counted(&s, "new_counters"), 17);
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(admin_list(&s.db, &[]).len(), 3, "one client: the one the proxy named");
}

#[test]
fn ipv6_prefix_is_checked() {
    for bad in ["0", "129"] {
        let out = run(&["serve", "--ipv6-prefix", bad, "--db", "/nonexistent/x.db"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert_eq!(stderr_of(&out).trim().lines().count(), 1, "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains("--ipv6-prefix must be between 1 and 128"), "{}", stderr_of(&out));
    }
    let out = run_env(
        &["serve", "--db", "/nonexistent/x.db"],
        &[("HITCOUNTER_IPV6_PREFIX", "200")],
        std::time::Duration::from_secs(30),
    )
    .0;
    assert!(stderr_of(&out).contains("--ipv6-prefix must be between 1 and 128, got 200"), "{}", stderr_of(&out));
}
