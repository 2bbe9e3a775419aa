//! Operations over real HTTP against the real binary: `/metrics` (off by
//! default; `--metrics` or `EXPOSE_METRICS=true`; Prometheus text;
//! `METRICS_PREFIX`; requests by route and status, hits counted and
//! deduplicated, flushes, pending hits, number of counters). Every wait is
//! bounded polling. (`/healthz` is `healthz.rs`.)

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::*;

// ---------------------------------------------------------------------------
// Prometheus text

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_metric_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `k="v",k2="v2"` (Prometheus escapes `\\`, `\"`, `\n` in values).
fn parse_labels(s: &str, line: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (k, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("label without =\"…\": {line:?}"));
        assert!(is_label_name(k), "bad label name {k:?}: {line:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line:?}"),
            }
        };
        assert!(out.insert(k.to_string(), value).is_none(), "label {k} twice: {line:?}");
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(r) => r,
            None => {
                assert!(rest.is_empty(), "junk after a label value: {line:?}");
                rest
            }
        };
    }
    out
}

/// Parses the exposition and checks its shape: every non-comment line is
/// `name{labels} value` or `name value`; comments are `# HELP`/`# TYPE`;
/// every sample's family has a `# TYPE`.
fn parse_prom(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "exposition ends with a newline: {text:?}");
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "empty line in the exposition:\n{text}");
        if let Some(c) = line.strip_prefix('#') {
            let parts: Vec<&str> = c.trim_start().splitn(3, ' ').collect();
            match parts.as_slice() {
                ["HELP", name, help] => {
                    assert!(is_metric_name(name) && !help.is_empty(), "HELP line: {line:?}");
                }
                ["TYPE", name, kind] => {
                    assert!(is_metric_name(name), "TYPE line: {line:?}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(kind),
                        "TYPE kind: {line:?}"
                    );
                    assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "TYPE twice: {line:?}");
                }
                _ => {}
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("sample without a value: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value is not a number: {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                (name, parse_labels(inner, line))
            }
            None => (series, BTreeMap::new()),
        };
        assert!(is_metric_name(name), "bad metric name {name:?}: {line:?}");
        assert!(!name.contains(' ') && !series.ends_with(' '), "one space before the value: {line:?}");
        let family = types.keys().find(|t| name == t.as_str() || name.starts_with(&format!("{t}_"))).cloned();
        assert!(family.is_some(), "no # TYPE before {name}: {line:?}");
        samples.push(Sample { name: name.to_string(), labels, value });
    }
    samples
}

fn metrics(s: &Server) -> (String, Vec<Sample>) {
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "/metrics: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain"), "/metrics content-type {ct:?}");
    let text = r.text();
    let samples = parse_prom(&text);
    (text, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(|x| x.as_str()) == Some(*v)))
        .map(|s| s.value)
}

fn scalar(samples: &[Sample], name: &str) -> f64 {
    let found: Vec<&Sample> = samples.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "exactly one {name} sample: {samples:?}");
    found[0].value
}

/// `requests_total{route, status}`, 0 when the series is absent.
fn requests(samples: &[Sample], prefix: &str, route: &str, status: &str) -> f64 {
    value(samples, &format!("{prefix}_requests_total"), &[("route", route), ("status", status)]).unwrap_or(0.0)
}

/// Sum of `requests_total` over all routes with this status.
fn requests_with_status(samples: &[Sample], prefix: &str, status: &str) -> f64 {
    let name = format!("{prefix}_requests_total");
    samples
        .iter()
        .filter(|s| s.name == name && s.labels.get("status").map(|x| x.as_str()) == Some(status))
        .map(|s| s.value)
        .sum()
}

const FAMILIES: [&str; 8] = [
    "requests_total",
    "hits_counted_total",
    "hits_deduplicated_total",
    "flushes_total",
    "flush_duration_seconds_total",
    "pending_hits",
    "counters",
    "counters_in_memory",
];

fn assert_families(samples: &[Sample], text: &str, prefix: &str) {
    for f in FAMILIES {
        let name = format!("{prefix}_{f}");
        assert!(text.contains(&format!("# TYPE {name} ")), "# TYPE {name} missing:\n{text}");
        if f != "requests_total" {
            assert!(value(samples, &name, &[]).is_some(), "{name} missing:\n{text}");
        }
    }
    assert!(
        samples.iter().all(|s| s.name.starts_with(&format!("{prefix}_"))),
        "every name has the prefix {prefix}_:\n{text}"
    );
    for s in samples.iter().filter(|s| s.name == format!("{prefix}_requests_total")) {
        let keys: Vec<&str> = s.labels.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, vec!["route", "status"], "requests by route and status: {s:?}");
    }
    for s in samples {
        assert!(s.value >= 0.0 && s.value.is_finite(), "no negative or infinite values: {s:?}");
    }
}

// ---------------------------------------------------------------------------
// /metrics

#[test]
fn metrics_are_off_by_default() {
    let s = Server::start();
    let r = s.get("/metrics");
    assert_eq!(r.status, 404, "/metrics without --metrics: {}", r.text());
    assert!(!r.text().contains("_requests_total"), "no metrics leak on a 404");
    let s = Server::start_with(Opts { env: vec![("EXPOSE_METRICS", "false")], ..Opts::default() });
    assert_eq!(s.get("/metrics").status, 404, "EXPOSE_METRICS=false");
}

#[test]
fn metrics_flag_and_env_serve_prometheus_text() {
    let by_flag = Server::start_args(&["--metrics"]);
    let by_env = Server::start_with(Opts { env: vec![("EXPOSE_METRICS", "true")], ..Opts::default() });
    for s in [&by_flag, &by_env] {
        assert_eq!(s.get(&format!("/count?url={}", enc(&uniq_url("m")))).status, 200);
        let (text, samples) = metrics(s);
        assert_families(&samples, &text, "hitcounter");
        assert!(!text.contains("foo_"), "{text}");
    }
}

#[test]
fn metrics_prefix_renames_every_metric() {
    let env = Server::start_with(Opts {
        env: vec![("EXPOSE_METRICS", "true"), ("METRICS_PREFIX", "foo")],
        ..Opts::default()
    });
    let flag = Server::start_args(&["--metrics", "--metrics-prefix", "bar"]);
    for (s, prefix) in [(&env, "foo"), (&flag, "bar")] {
        assert_eq!(s.get(&format!("/count?url={}", enc(&uniq_url("p")))).status, 200);
        let (text, samples) = metrics(s);
        assert_families(&samples, &text, prefix);
        assert!(!text.contains("hitcounter_"), "{prefix}: the default prefix is gone:\n{text}");
        for line in text.lines() {
            let name = line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE ")).unwrap_or(line);
            assert!(name.starts_with(&format!("{prefix}_")), "{prefix}: {line:?}");
        }
        assert_eq!(value(&samples, &format!("{prefix}_hits_counted_total"), &[]), Some(1.0), "{text}");
    }
}

#[test]
fn requests_are_counted_by_route_and_status() {
    let s = Server::start_args(&["--metrics"]);
    let p = "hitcounter";
    let url = enc(&uniq_url("routes"));
    let (_, before) = metrics(&s);
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/count?url={url}")).status, 200);
    }
    for _ in 0..2 {
        assert_eq!(s.get(&format!("/nocount/tag.svg?url={url}")).status, 200);
    }
    assert_eq!(s.get(&format!("/count/tag.svg?url={url}&style=nope")).status, 400);
    assert_eq!(s.get(&format!("/nocount/stats.json?url={url}&days=0")).status, 400);
    assert_eq!(s.get(&format!("/nocount/tag.json?url={url}")).status, 200);
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(s.get("/no-such-page").status, 404);
    assert_eq!(s.get("/count/nope.png").status, 404);
    assert_eq!(s.req("POST", &format!("/count?url={url}"), &[("Content-Length", "0")]).status, 405);
    let want: Vec<(&str, &str, f64)> = vec![
        ("/count", "200", 3.0),
        ("/nocount/tag.svg", "200", 2.0),
        ("/count/tag.svg", "400", 1.0),
        ("/nocount/stats.json", "400", 1.0),
        ("/nocount/tag.json", "200", 1.0),
        ("/healthz", "200", 1.0),
        ("/count", "405", 1.0),
    ];
    let delta = |after: &[Sample], route: &str, status: &str| {
        requests(after, p, route, status) - requests(&before, p, route, status)
    };
    let reached = |after: &[Sample]| {
        want.iter().all(|(r, st, n)| delta(after, r, st) >= *n)
            && requests_with_status(after, p, "404") - requests_with_status(&before, p, "404") >= 2.0
    };
    let mut last = before.clone();
    let ok = eventually(Duration::from_secs(10), || {
        last = metrics(&s).1;
        reached(&last)
    });
    assert!(ok, "requests never showed up in /metrics: {last:?}");
    for (route, status, n) in &want {
        assert_eq!(delta(&last, route, status), *n, "requests_total{{route={route:?},status={status:?}}}");
    }
    let d404 = requests_with_status(&last, p, "404") - requests_with_status(&before, p, "404");
    assert_eq!(d404, 2.0, "two 404s");
    assert_eq!(delta(&last, "/count", "400"), 0.0, "nothing else was counted on /count");
    assert!(delta(&last, "/metrics", "200") >= 1.0, "/metrics itself is a route");
}

#[test]
fn hits_counted_and_deduplicated_exactly() {
    let s = Server::start_args(&["--metrics", "--flush-interval", "50"]);
    let p = "hitcounter";
    let (_, before) = metrics(&s);
    let counted0 = scalar(&before, &format!("{p}_hits_counted_total"));
    let dedup0 = scalar(&before, &format!("{p}_hits_deduplicated_total"));
    let a = uniq_url("dedup-a");
    let b = uniq_url("dedup-b");
    let first = s.get(&format!("/count?url={}", enc(&a)));
    assert_eq!(first.count(), 1);
    let c = the_cookie(&first);
    let cookie = format!("{}={}", c.name, c.value);
    // Two more without the cookie: counted.
    assert_eq!(s.get(&format!("/count?url={}", enc(&a))).count(), 2);
    assert_eq!(s.get(&format!("/count/tag.json?url={}", enc(&a))).status, 200);
    // Four with the cookie sent back: deduplicated.
    for path in [
        format!("/count?url={}", enc(&a)),
        format!("/count?url={}", enc(&a)),
        format!("/count/tag.svg?url={}", enc(&a)),
        format!("/count/tag.json?url={}", enc(&a)),
    ] {
        let r = s.get_h(&path, &[("Cookie", &cookie)]);
        assert_eq!(r.status, 200, "{path}");
    }
    // The cookie of `a` does not stop a hit on `b`.
    assert_eq!(s.get_h(&format!("/count?url={}", enc(&b)), &[("Cookie", &cookie)]).count(), 1);
    // Never counted, never deduplicated.
    assert_eq!(s.get(&format!("/nocount?url={}", enc(&a))).count(), 3);
    assert_eq!(s.get(&format!("/count/tag.svg?url={}&view=bad", enc(&a))).status, 400);
    assert_eq!(peek(&s, &a), 3);
    let (text, after) = metrics(&s);
    assert_eq!(scalar(&after, &format!("{p}_hits_counted_total")) - counted0, 4.0, "{text}");
    assert_eq!(scalar(&after, &format!("{p}_hits_deduplicated_total")) - dedup0, 4.0, "{text}");
}

#[test]
fn flushes_pending_hits_and_counters() {
    let p = "hitcounter";
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    for i in 0..5 {
        admin_set(&db, &format!("seed-{i}.metrics.test/p"), 10 + i);
    }
    let s = Server::start_with(Opts {
        args: vec!["--metrics", "--flush-interval", "50"],
        dir: Some(dir),
        ..Opts::default()
    });
    let (text, m0) = metrics(&s);
    assert_eq!(scalar(&m0, &format!("{p}_counters")), 5.0, "five counters in the db:\n{text}");
    let pending0 = scalar(&m0, &format!("{p}_pending_hits"));
    assert!(pending0 >= 0.0);
    let flushes0 = scalar(&m0, &format!("{p}_flushes_total"));
    let duration0 = scalar(&m0, &format!("{p}_flush_duration_seconds_total"));
    let mut last = m0.clone();
    assert!(
        eventually(Duration::from_secs(10), || {
            last = metrics(&s).1;
            scalar(&last, &format!("{p}_flushes_total")) >= flushes0 + 2.0
        }),
        "flush count does not grow: {last:?}"
    );
    assert!(scalar(&last, &format!("{p}_flush_duration_seconds_total")) >= duration0, "duration never shrinks");
    // Two new counters and one old one.
    for u in ["new-1.metrics.test/p", "new-2.metrics.test/p", "seed-0.metrics.test/p"] {
        assert_eq!(s.get(&format!("/count?url={}", enc(u))).status, 200);
    }
    assert!(
        eventually(Duration::from_secs(10), || {
            last = metrics(&s).1;
            scalar(&last, &format!("{p}_pending_hits")) == 0.0 && scalar(&last, &format!("{p}_counters")) == 7.0
        }),
        "after the flush: no pending hits and 7 counters: {last:?}"
    );
    // The five loaded at start and the two a flush created.
    assert!(
        eventually(Duration::from_secs(10), || scalar(&metrics(&s).1, &format!("{p}_counters_in_memory")) == 7.0),
        "counts of all 7 counters in memory: {:?}",
        metrics(&s).0
    );
    let listed = run_db(&s.db, &["list"]);
    let rows = String::from_utf8_lossy(&listed.stdout).lines().filter(|l| !l.is_empty()).count();
    assert_eq!(rows, 7, "the gauge equals the rows `hitcounter list` shows");
}

#[test]
fn pending_hits_gauge_counts_unwritten_hits() {
    let p = "hitcounter";
    // A long flush interval keeps the hits in memory for the whole test.
    let s = Server::start_args(&["--metrics", "--flush-interval", "60000"]);
    let (_, m0) = metrics(&s);
    assert_eq!(scalar(&m0, &format!("{p}_pending_hits")), 0.0);
    let url = uniq_url("pending");
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/count?url={}", enc(&url))).status, 200);
    }
    assert_eq!(s.get(&format!("/count?url={}", enc(&uniq_url("pending2")))).status, 200);
    let (text, m1) = metrics(&s);
    assert_eq!(scalar(&m1, &format!("{p}_pending_hits")), 4.0, "{text}");
}
