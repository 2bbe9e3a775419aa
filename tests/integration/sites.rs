//! The owner's allow and deny lists: by host and by the original's regex,
//! `403` (an error badge on `tag.svg`), nothing stored; `list --denied` and
//! `prune --denied` for counters the lists refuse now.

use crate::support;

use support::*;

fn stored(s: &Server, key: &str) -> u64 {
    get_count(&s.db, key)
}

#[test]
fn only_allowed_sites_count() {
    let mut s = Server::start_args(&["--allow", "example.com,*.blog.example", "--deny", "spam.blog.example"]);
    assert_eq!(hit(&s, "example.com/a"), 1);
    assert_eq!(hit(&s, "me.blog.example/post"), 1);
    for (path, url) in [
        ("/count", "other.example/x"),
        ("/nocount", "other.example/x"),
        ("/count", "www.example.com/x"),
        ("/count", "spam.blog.example/p"),
    ] {
        let r = s.get(&format!("{path}?url={}", enc(url)));
        assert_eq!(r.status, 403, "{path} {url}: {}", r.text());
        assert_error_body(&r, path);
    }
    let r = s.get(&format!("/count/tag.svg?url={}&style=for-the-badge", enc("other.example/x")));
    assert_eq!(r.status, 403);
    assert_error_body(&r, "/count/tag.svg: denied");
    assert!(r.text().contains("denied"), "{}", r.text());
    let r = s.get(&format!("/count/tag.json?url={}", enc("other.example/x")));
    assert_eq!(r.status, 403);
    assert_error_body(&r, "/count/tag.json: denied");
    assert_eq!(s.stop().code(), Some(0));
    assert_eq!(stored(&s, "example.com/a"), 1);
    let keys: Vec<String> = admin_list(&s.db, &[]).into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys.len(), 2, "denied URLs never create a counter: {keys:?}");
}

#[test]
fn the_originals_regex_allow_list_is_accepted() {
    let mut s =
        Server::start_with(Opts { env: vec![("URL_WHITELIST_RE", r"^github\.com/(me|team)/")], ..Opts::default() });
    assert_eq!(hit(&s, "github.com/me/repo"), 1);
    assert_eq!(s.get(&format!("/count?url={}", enc("github.com/other/repo"))).status, 403);
    assert_eq!(s.stop().code(), Some(0));
}

/// The original applied `URL_WHITELIST_RE` with Python's `re.match`: at the
/// start of the key, so a key that merely contains the site is refused;
/// `--allow re:...` searches anywhere in the key, as documented.
#[test]
fn the_originals_regex_matches_at_the_start_of_the_key_and_re_searches() {
    let mut s = Server::start_with(Opts { env: vec![("URL_WHITELIST_RE", r"github\.com")], ..Opts::default() });
    assert_eq!(hit(&s, "github.com/x"), 1);
    let r = s.get(&format!("/count?url={}", enc("evil.com/github.com")));
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(s.stop().code(), Some(0));
    let mut s = Server::start_args(&["--allow", r"re:github\.com"]);
    assert_eq!(hit(&s, "evil.com/github.com"), 1, "re: searches the whole key");
    assert_eq!(s.stop().code(), Some(0));
}

#[test]
fn a_bad_pattern_stops_the_start_with_one_line() {
    let out = run(&["serve", "--listen", "127.0.0.1:0", "--allow", "https://x.com/path"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--allow"), "{}", stderr_of(&out));
}

#[test]
fn prune_removes_what_the_lists_now_refuse() {
    let dir = tempdir();
    let db = dir.path().join("hitcounter.db");
    for (url, n) in [("example.com/a", 5), ("spam.example/x", 3), ("localhost:3000/", 2)] {
        admin_set(&db, url, n);
    }
    let deny = ["--deny", "spam.example,localhost"];
    let listed = admin_list(&db, &[&["--denied"][..], &deny[..]].concat());
    let mut keys: Vec<String> = listed.into_iter().map(|(_, k)| k).collect();
    keys.sort();
    assert_eq!(keys, ["localhost:3000/", "spam.example/x"]);

    let dry = admin_ok(&db, &[&["prune", "--denied", "--dry-run"][..], &deny[..]].concat());
    assert_eq!(dry.lines().count(), 2, "{dry}");
    assert_eq!(admin_list(&db, &[]).len(), 3, "a dry run changes nothing");

    admin_ok(&db, &[&["prune", "--denied"][..], &deny[..]].concat());
    let left: Vec<String> = admin_list(&db, &[]).into_iter().map(|(_, k)| k).collect();
    assert_eq!(left, ["example.com/a"]);

    let out = run_db(&db, &["prune", "--denied"]);
    assert_eq!(out.status.code(), Some(2), "no lists: nothing to prune by: {}", stderr_of(&out));
}
