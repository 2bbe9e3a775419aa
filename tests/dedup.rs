//! Who counts, over real HTTP: cookieless deduplication by address and
//! User-Agent (`--dedup`), `--trust-proxy` telling clients apart by the
//! proxy's X-Forwarded-For, bots served a badge but not counted (GitHub's
//! image proxy always counted), `/count` keeping the original's rule, and
//! the reasons in `/metrics`.

mod support;

use std::net::Ipv4Addr;
use support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// Loads the counting badge of `url` as `ua` (plus `headers`); checks it is
/// a badge with status 200 and returns nothing: counts are read with /nocount.
fn badge(s: &Server, url: &str, ua: &str, headers: &[(&str, &str)]) {
    let path = format!("/count/tag.svg?url={}", enc(url));
    let mut all = vec![("User-Agent", ua)];
    all.extend_from_slice(headers);
    let r = Request::get(&path).headers(&all).send(&s.addr);
    assert_eq!(r.status, 200, "{ua}");
    assert_eq!(r.header("content-type"), Some("image/svg+xml"), "every client gets its badge");
}

fn count(s: &Server, url: &str) -> u64 {
    s.get(&format!("/nocount?url={}", enc(url))).text().trim().parse().unwrap()
}

#[test]
fn the_same_client_within_the_window_counts_once() {
    let s = Server::start_args(&["--dedup", "both"]);
    let url = uniq_url("same-client");
    for _ in 0..5 {
        badge(&s, &url, FIREFOX, &[]);
    }
    assert_eq!(count(&s, &url), 1, "one address, one User-Agent, no cookie sent back");
    badge(&s, &url, SAFARI_IPHONE, &[]);
    assert_eq!(count(&s, &url), 2, "another User-Agent is another visitor");
    let other = uniq_url("same-client-other");
    badge(&s, &other, FIREFOX, &[]);
    assert_eq!(count(&s, &other), 1, "per counter");
}

#[test]
fn dedup_off_counts_every_request_and_a_short_window_ends() {
    let s = Server::start_args(&["--dedup", "off"]);
    let url = uniq_url("off");
    for _ in 0..4 {
        badge(&s, &url, FIREFOX, &[]);
    }
    assert_eq!(count(&s, &url), 4);
    let w = Server::start_args(&["--dedup", "hash", "--cookie-window", "1"]);
    badge(&w, &url, FIREFOX, &[]);
    badge(&w, &url, FIREFOX, &[]);
    assert_eq!(count(&w, &url), 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    badge(&w, &url, FIREFOX, &[]);
    assert_eq!(count(&w, &url), 2, "after the window");
}

#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let url = uniq_url("xff");
    let direct = Server::start_args(&["--dedup", "hash"]);
    for client in ["203.0.113.1", "203.0.113.2"] {
        badge(&direct, &url, FIREFOX, &[("X-Forwarded-For", client)]);
    }
    assert_eq!(count(&direct, &url), 1, "without --trust-proxy a forged header changes nothing");
    let behind = Server::start_args(&["--dedup", "hash", "--trust-proxy"]);
    for client in ["198.51.100.7, 203.0.113.1", "203.0.113.2", "203.0.113.2"] {
        badge(&behind, &url, FIREFOX, &[("X-Forwarded-For", client)]);
    }
    assert_eq!(count(&behind, &url), 2, "the proxy's last entry is the client");
    badge(&behind, &url, FIREFOX, &[("X-Real-IP", "203.0.113.3")]);
    assert_eq!(count(&behind, &url), 3, "X-Real-IP when there is no X-Forwarded-For");
}

#[test]
fn clients_behind_nginx_are_told_apart() {
    let Some(p) = support::proxy::Proxy::start(&["--dedup", "hash", "--trust-proxy"]) else { return };
    let proxy = p.plain.clone();
    let url = uniq_url("nginx");
    let path = format!("/count/tag.svg?url={}", enc(&url));
    let send = |from: [u8; 4], claimed: &str| {
        let headers = [("User-Agent", FIREFOX), ("X-Forwarded-For", claimed), ("X-Real-IP", claimed)];
        let r = Request::get(&path)
            .host(Some(&support::proxy::host_of(&proxy)))
            .headers(&headers)
            .from(Ipv4Addr::from(from))
            .send(&proxy);
        assert_eq!(r.status, 200);
    };
    // One client forging different addresses: nginx appends the real one
    // to X-Forwarded-For and replaces X-Real-IP with it.
    send([127, 0, 0, 1], "203.0.113.1");
    send([127, 0, 0, 1], "203.0.113.2");
    // Another client, from another address.
    send([127, 0, 0, 2], "203.0.113.1");
    let r =
        Request::get(&format!("/nocount?url={}", enc(&url))).host(Some(&support::proxy::host_of(&proxy))).send(&proxy);
    assert_eq!(r.text().trim(), "2", "two clients, whatever they claim");
}

#[test]
fn bots_get_their_badge_and_are_not_counted() {
    let s = Server::start_args(&["--dedup", "off", "--metrics"]);
    let url = uniq_url("bots");
    let bots = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "",
    ];
    for ua in bots {
        badge(&s, &url, ua, &[]);
    }
    assert_eq!(count(&s, &url), 0);
    for ua in [FIREFOX, SAFARI_IPHONE, "github-camo (876de43e)", "github-camo (876de43e)"] {
        badge(&s, &url, ua, &[]);
    }
    assert_eq!(count(&s, &url), 4, "people and every fetch by GitHub's image proxy");
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("hitcounter_hits_not_counted_total{reason=\"bot\"} 7"), "{metrics}");
    assert!(metrics.contains("hitcounter_visitors_remembered "), "{metrics}");

    let all = Server::start_args(&["--dedup", "off", "--count-bots"]);
    badge(&all, &url, "curl/8.5.0", &[]);
    assert_eq!(count(&all, &url), 1, "--count-bots");
}

#[test]
fn the_plain_counter_keeps_the_originals_rule() {
    let s = Server::start_args(&["--dedup", "both", "--metrics"]);
    let url = uniq_url("api");
    for _ in 0..3 {
        let r =
            Request::get(&format!("/count?url={}", enc(&url))).headers(&[("User-Agent", "curl/8.5.0")]).send(&s.addr);
        assert_eq!(r.status, 200);
    }
    assert_eq!(count(&s, &url), 3, "scripts count on /count, every request (no cookie sent back)");
    let strict = Server::start_args(&["--dedup", "both", "--api-policy", "badge"]);
    let r =
        Request::get(&format!("/count?url={}", enc(&url))).headers(&[("User-Agent", "curl/8.5.0")]).send(&strict.addr);
    assert_eq!(r.text().trim(), "0", "with --api-policy badge curl is a bot there too");
    let metrics = s.get("/metrics").text();
    assert!(metrics.contains("hitcounter_hits_not_counted_total{reason=\"bot\"} 0"), "{metrics}");
}
