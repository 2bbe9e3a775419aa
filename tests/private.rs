//! `--private`: the top table, `/stats`, `stats.json` and `graph.svg` need
//! the stats token; badges and `/nocount` stay public; `/metrics` names no
//! page or site; the token is never logged, and one given on the command
//! line is warned about.

mod support;

use support::*;

const TOKEN: &str = "s3cret-token-0123456789";

fn private_server() -> Server {
    private_server_with(&[])
}

fn private_server_with(extra: &[&str]) -> Server {
    let dir = tempdir();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let mut args = vec!["--private", "--stats-token-file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let args: Vec<&'static str> = args.into_iter().map(|a| &*Box::leak(a.to_string().into_boxed_str())).collect();
    Server::start_with(Opts { args, dir: Some(dir), ..Opts::default() })
}

#[test]
fn private_views_need_the_token_and_badges_stay_public() {
    let mut s = private_server();
    let u = "private.example/page";
    assert_eq!(hit(&s, u), 1);
    assert_eq!(peek(&s, u), 1, "/nocount is public");
    assert_eq!(s.get(&format!("/count/tag.svg?url={}", enc(u))).status, 200, "badges are public");
    let bearer = format!("Bearer {TOKEN}");
    for ep in ["/stats", "/nocount/stats.json", "/nocount/graph.svg"] {
        let path = format!("{ep}?url={}", enc(u));
        let r = s.get(&path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert_eq!(s.get_h(&path, &[("Authorization", "Bearer wrong-token-0123456789")]).status, 401);
        assert_eq!(s.get_h(&path, &[("Authorization", &bearer)]).status, 200, "{path} with the header");
        assert_eq!(s.get(&format!("{path}&token={TOKEN}")).status, 200, "{path} with ?token=");
    }
    let shown = || s.get_h("/", &[("Authorization", &bearer)]).text().contains("private.example");
    assert!(eventually(std::time::Duration::from_secs(5), shown), "shown with the token");
    assert!(!s.get("/").text().contains("private.example"), "hidden without it");
    assert_eq!(s.stop().code(), Some(0));
    assert!(!s.log_text().contains(TOKEN), "the token is never logged: {}", s.log_text());
}

#[test]
fn private_without_a_token_does_not_start() {
    let out = run(&["serve", "--listen", "127.0.0.1:0", "--private"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--private needs a token"), "{}", stderr_of(&out));
}

#[test]
fn private_metrics_name_no_page_or_site() {
    let mut s = private_server_with(&["--metrics", "--metrics-per-page", "5"]);
    let u = "private-metrics.example/secret-page";
    assert_eq!(hit(&s, u), 1);
    let counted = || s.get("/metrics").text().contains("hitcounter_hits_counted_total 1");
    assert!(eventually(std::time::Duration::from_secs(5), counted));
    assert!(eventually(std::time::Duration::from_secs(5), || get_count(&s.db, u) == 1), "stored");
    let text = s.get("/metrics").text();
    assert!(!text.contains("private-metrics.example") && !text.contains("secret-page"), "{text}");
    let labelled: Vec<&str> = text.lines().filter(|l| l.contains("site=") || l.contains("path=")).collect();
    assert!(labelled.is_empty(), "{labelled:?}");
    assert_eq!(s.stop().code(), Some(0));
    let warned = s.log_text().matches("/metrics leaves out the per-page series").count();
    assert_eq!(warned, 1, "{}", s.log_text());
}

#[test]
fn a_token_on_the_command_line_is_warned_about_once() {
    let mut s = Server::start_args(&["--private", "--stats-token", TOKEN]);
    assert_eq!(s.stop().code(), Some(0));
    let log = s.log_text();
    assert_eq!(log.matches("warning: --stats-token is visible").count(), 1, "{log}");
    assert!(log.contains("--stats-token-file") && !log.contains(TOKEN), "{log}");
    let mut quiet = Server::start_with(Opts { env: vec![("HITCOUNTER_STATS_TOKEN", TOKEN)], ..Opts::default() });
    assert_eq!(quiet.stop().code(), Some(0));
    assert!(!quiet.log_text().contains("warning"), "from the environment: {}", quiet.log_text());
}
