//! One host, one counter: every spelling of a host (Unicode, punycode,
//! upper case, a trailing dot, U+3002, soft hyphens, zero-width spaces)
//! counts into one counter and meets the same deny list; hosts UTS-46
//! refuses or that hold `%` are a 400 with a reason; counters of a database
//! from before whose keys now collide are merged at the first start (and
//! reported by `migrate --dry-run`); text XML forbids never reaches a badge,
//! a chart or a page.

use crate::support;

use chrono::Duration as Days;
use support::history::utc_today;
use support::*;

/// Spellings of `bücher.example/a`, each a different key before.
const BUCHER: &[&str] = &[
    "bücher.example/a",
    "https://BÜCHER.example/a",
    "xn--bcher-kva.example/a",
    "http://bücher.example./a",
    "https://bücher.example.:443/a",
];

#[test]
fn every_spelling_of_a_host_counts_into_one_counter() {
    let mut s = Server::start();
    for (i, url) in BUCHER.iter().enumerate() {
        assert_eq!(hit(&s, url), i as u64 + 1, "{url}");
    }
    let r = s.get_h("/count", &[("Referer", "https://XN--BCHER-KVA.example./a")]);
    assert_eq!(r.count(), BUCHER.len() as u64 + 1, "the Referer is the same counter");
    assert_eq!(s.stop().code(), Some(0));
    let keys = admin_list(&s.db, &[]);
    assert_eq!(keys, [(BUCHER.len() as u64 + 1, "xn--bcher-kva.example/a".to_string())]);
}

/// `url` → the status of `/count` for it.
fn status(s: &Server, url: &str) -> u16 {
    s.get(&format!("/count?url={}", enc(url))).status
}

#[test]
fn no_spelling_gets_past_a_deny_list() {
    let mut s = Server::start_args(&["--deny", "spam.example"]);
    for url in [
        "spam.example/x",
        "spam.example./x",
        "https://spam.example.:443/x",
        "SPAM.EXAMPLE/x",
        "spam\u{3002}example/x",
        "sp\u{ad}am.example/x",
        "spam\u{200b}.example/x",
        "spam.exam\u{200b}ple./x",
    ] {
        assert_eq!(status(&s, url), 403, "{url:?}");
    }
    let r = s.get_h("/count", &[("Referer", "https://spam.example./x")]);
    assert_eq!(r.status, 403, "a Referer with a trailing dot: {}", r.text());
    assert_eq!(status(&s, "other.example/x"), 200);
    assert_eq!(s.stop().code(), Some(0));
    let keys: Vec<String> = admin_list(&s.db, &[]).into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys, ["other.example/x"], "no denied spelling made a counter");
}

#[test]
fn a_pattern_in_either_spelling_stops_both() {
    for pattern in ["xn--bcher-kva.example", "bücher.example", "*.BÜCHER.example."] {
        let mut s = Server::start_args(&["--deny", pattern]);
        for url in
            ["bücher.example/a", "xn--bcher-kva.example/a", "www.bücher.example/a", "www.xn--bcher-kva.example/a"]
        {
            let under = url.starts_with("www.");
            let want = if pattern.starts_with("*.") != under { 200 } else { 403 };
            assert_eq!(status(&s, url), want, "--deny {pattern}: {url}");
        }
        assert_eq!(s.stop().code(), Some(0));
    }
    let mut s = Server::start_args(&["--allow", "bücher.example"]);
    assert_eq!(status(&s, "xn--bcher-kva.example/a"), 200, "--allow in Unicode lets punycode in");
    assert_eq!(status(&s, "other.example/a"), 403);
    assert_eq!(s.stop().code(), Some(0));
}

#[test]
fn hosts_with_percent_or_refused_by_uts46_are_a_400_with_a_reason() {
    let mut s = Server::start();
    for (url, why) in [
        ("a%2541.example/x", "'%'"),
        ("xn--a.example/x", "UTS-46"),
        ("a\u{fffe}b.example/x", "UTS-46"),
        ("bad..example/x", "empty label"),
    ] {
        let r = s.get(&format!("/count?url={}", enc(url)));
        assert_eq!(r.status, 400, "{url:?}: {}", r.text());
        assert!(r.text().contains("invalid host") && r.text().contains(why), "{url:?}: {}", r.text());
        let badge = s.get(&format!("/count/tag.svg?url={}", enc(url)));
        assert_eq!(badge.status, 400);
        let svg = parse_svg(&badge.text());
        assert!(svg.raw.contains("invalid host"), "the error badge names the reason: {}", svg.raw);
    }
    assert_eq!(s.stop().code(), Some(0));
    assert!(admin_list(&s.db, &[]).is_empty(), "nothing was stored");
}

#[test]
fn text_xml_forbids_never_reaches_a_badge_a_chart_or_a_page() {
    let s = Server::start();
    let forbidden = ['\u{fffe}', '\u{ffff}', '\u{fdd0}', '\u{1fffe}', '\u{1}', '\u{1b}'];
    let label: String = forbidden.iter().flat_map(|c| [*c, 'x']).chain("<&\"'".chars()).collect();
    let url = format!("xml.example/p{}", forbidden.iter().filter(|c| !c.is_control()).collect::<String>());
    let paths = [
        format!("/count/tag.svg?url={}&label={}", enc(&url), enc(&label)),
        format!("/count/tag.svg?url={}&label={}&style=for-the-badge", enc(&url), enc(&label)),
        format!("/nocount/graph.svg?url={}", enc(&url)),
        format!("/stats?url={}", enc(&url)),
        "/".to_string(),
    ];
    for path in &paths {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let text = r.text();
        assert!(!text.contains(forbidden), "{path}: a forbidden character got through: {text:?}");
        if path.contains(".svg") {
            let doc = roxmltree::Document::parse(&text);
            assert!(doc.is_ok(), "{path}: not well-formed XML ({:?}): {text}", doc.err());
        }
    }
    let badge = parse_svg(&s.get(&paths[0]).text());
    assert!(badge.raw.contains("xxxxxx&lt;&amp;&quot;&#39;"), "{}", badge.raw);
}

/// Keys of one page as the schema before wrote them, with days and
/// visitors: (key, total, visitors, [(days ago, hits, visitors)]).
type Old = (&'static str, i64, i64, &'static [(i64, i64, Option<i64>)]);

const OLD: &[Old] = &[
    ("bücher.example/a", 10, 3, &[(0, 4, Some(2)), (1, 6, Some(1))]),
    ("xn--bcher-kva.example/a", 5, 2, &[(0, 5, Some(2))]),
    ("BÜCHER.example./a", 7, 0, &[(1, 3, None), (2, 4, None)]),
    ("spam.example./b", 2, 0, &[(0, 2, Some(0))]),
    ("other.example/c", 1, 1, &[(0, 1, Some(1))]),
];

/// A database as the schema before this one (version 4) left it.
fn old_database(db: &std::path::Path) {
    let conn = create_db(db);
    conn.pragma_update(None, "user_version", 4).unwrap();
    let today = utc_today();
    for (key, total, visitors, days) in OLD {
        conn.execute(
            "INSERT INTO counters (key, count, created_at, updated_at, uniques) VALUES (?1, ?2, 1, 1, ?3)",
            rusqlite::params![key, total, visitors],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        for (ago, hits, uniques) in *days {
            conn.execute(
                "INSERT INTO daily (day, counter_id, hits, uniques) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![day(today - Days::days(*ago)), id, hits, uniques],
            )
            .unwrap();
        }
    }
}

fn daily(db: &std::path::Path, key: &str) -> Vec<(String, i64, Option<i64>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare(
            "SELECT day, hits, daily.uniques FROM daily JOIN counters ON id = counter_id WHERE key = ?1 ORDER BY day",
        )
        .unwrap();
    st.query_map([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn counters_whose_keys_now_collide_are_merged_at_the_first_start() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    old_database(&db);
    let before = std::fs::read(&db).unwrap();
    let dry = admin_ok(&db, &["migrate", "--dry-run"]);
    let want_lines = [
        r#"merged counter "BÜCHER.example./a" into "xn--bcher-kva.example/a""#,
        r#"merged counter "bücher.example/a" into "xn--bcher-kva.example/a""#,
        r#"renamed counter "spam.example./b" to "spam.example/b""#,
    ];
    for line in want_lines {
        assert_eq!(dry.matches(line).count(), 1, "dry run reports {line}: {dry}");
    }
    assert!(dry.contains("nothing was changed"), "{dry}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the dry run wrote nothing");

    let mut s = Server::start_with(Opts { db: Some(db.clone()), dir: Some(dir.clone()), ..Opts::default() });
    assert_eq!(peek(&s, "https://BÜCHER.example/a"), 22);
    assert_eq!(s.stop().code(), Some(0));
    let log = s.log_text();
    for line in want_lines {
        assert_eq!(log.matches(line).count(), 1, "logged once: {line}: {log}");
    }
    let mut keys = admin_list(&s.db, &[]);
    keys.sort();
    let want = [(1, "other.example/c"), (2, "spam.example/b"), (22, "xn--bcher-kva.example/a")];
    assert_eq!(keys, want.map(|(n, k)| (n, k.to_string())));
    let today = utc_today();
    let d = |ago| day(today - Days::days(ago));
    assert_eq!(
        daily(&db, "xn--bcher-kva.example/a"),
        [(d(2), 4, None), (d(1), 9, Some(1)), (d(0), 9, Some(4))],
        "days summed; a day without visitors recorded on either side stays unrecorded"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let visitors: i64 =
        conn.query_row("SELECT uniques FROM counters WHERE key = 'xn--bcher-kva.example/a'", [], |r| r.get(0)).unwrap();
    assert_eq!(visitors, 5);

    // A second start finds nothing left to merge.
    let mut again = Server::start_with(Opts { db: Some(db.clone()), dir: Some(dir.clone()), ..Opts::default() });
    assert_eq!(again.stop().code(), Some(0));
    assert!(!again.log_text().contains("merged counter"), "{}", again.log_text());
}
