//! `--private`: the top table, `/stats`, `stats.json` and `graph.svg` need
//! the stats token; badges and `/nocount` stay public; the token is never
//! logged.

use crate::support;

use support::*;

const TOKEN: &str = "s3cret-token-0123456789";

fn private_server() -> Server {
    let dir = tempdir();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let args = vec!["--private", "--stats-token-file", file.to_str().unwrap()];
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
