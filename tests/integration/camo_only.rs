//! `--camo-only PATTERNS` over real HTTP: on the sites it lists, only
//! GitHub's image proxy (a `github-camo` User-Agent) counts, on every
//! counting endpoint (`/count`, `/count/tag.svg`, `/count/tag.json`); any
//! other request gets its answer uncounted, without a cookie, and
//! `/metrics` says `reason="camo_only"`. Other sites count as usual. The
//! option works as a flag, an environment variable and a config-file key.

use crate::support;

use std::time::Duration;
use support::*;

const CAMO: &str = "github-camo (876de43e)";
const CURL: &str = "curl/8.5.0";
/// A key whose host the tests list.
const README: &str = "github.com/someone/project";

/// `GET ENDPOINT?url=URL` as `agent` (the harness's browser when `None`).
fn fetch(s: &Server, endpoint: &str, url: &str, agent: Option<&str>) -> Resp {
    let path = format!("{endpoint}?url={}", enc(url));
    let r = match agent {
        Some(ua) => s.get_h(&path, &[("User-Agent", ua)]),
        None => s.get(&path),
    };
    assert_eq!(r.status, 200, "{path} as {agent:?}: {}", r.text());
    r
}

#[test]
fn only_githubs_proxy_counts_for_a_listed_site_on_every_counting_endpoint() {
    let s = Server::start_args(&["--camo-only", "github.com", "--metrics"]);
    let endpoints = ["/count/tag.svg", "/count/tag.json", "/count"];
    for endpoint in endpoints {
        for agent in [None, Some(CURL)] {
            let r = fetch(&s, endpoint, README, agent);
            assert!(r.header("set-cookie").is_none(), "{endpoint} as {agent:?}: an uncounted fetch sets no cookie");
        }
    }
    let svg = fetch(&s, "/count/tag.svg", README, None);
    assert!(svg.header("content-type").unwrap_or("").starts_with("image/svg+xml"), "the badge is still served");
    assert_eq!(peek(&s, README), 0, "neither a browser nor curl counted");
    assert_eq!(not_counted(&s, "camo_only"), 7);
    for (n, endpoint) in endpoints.iter().enumerate() {
        fetch(&s, endpoint, README, Some(CAMO));
        assert_eq!(peek(&s, README), n as u64 + 1, "{endpoint}: GitHub's proxy counts");
    }

    let other = uniq_url("elsewhere");
    fetch(&s, "/count/tag.svg", &other, None);
    assert_eq!(peek(&s, &other), 1, "a site not listed counts a browser as usual");
    assert_eq!(fetch(&s, "/count", &other, Some(CURL)).text(), "2", "and curl on /count");
    assert_eq!(not_counted(&s, "camo_only"), 7, "only the listed site's fetches were refused");
}

#[test]
fn camo_only_from_the_environment_and_the_config_file() {
    let dir = tempdir();
    let config = dir.path().join("hitcounter.toml");
    std::fs::write(&config, "camo-only = \"*.github.io, GitHub.COM\"\n").unwrap();
    let config = config.to_str().unwrap();
    for env in [("HITCOUNTER_CAMO_ONLY", "*.github.io, GitHub.COM"), ("HITCOUNTER_CONFIG", config)] {
        let s = Server::start_with(Opts { env: vec![env], ..Opts::default() });
        for url in [README, "someone.github.io/"] {
            fetch(&s, "/count/tag.svg", url, None);
            assert_eq!(peek(&s, url), 0, "{env:?}: {url} counts only GitHub's proxy");
            fetch(&s, "/count/tag.svg", url, Some(CAMO));
            assert_eq!(peek(&s, url), 1, "{env:?}: {url}");
        }
    }
}

#[test]
fn a_bad_pattern_is_a_one_line_error() {
    let (out, killed) = run_env(&["serve", "--camo-only", "github.com/someone"], &[], Duration::from_secs(10));
    assert!(!killed, "a bad --camo-only must stop the server at once");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--camo-only") && err.contains("github.com/someone"), "{err}");
}
