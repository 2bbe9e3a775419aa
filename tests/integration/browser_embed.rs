//! Badges where they really live, proven in headless Chromium: a page on
//! one site (`b.example`) embeds the badge from the counter's site
//! (`a.example`), both over HTTPS with a test certificate and both mapped to
//! 127.0.0.1 with `--host-resolver-rules`, with third-party cookies blocked
//! as browsers now do.
//! - The Referer-only snippet (`referrerpolicy="no-referrer-when-downgrade"`)
//!   counts the page's full path; a plain `<img>` only its site.
//! - The anti-refresh cookie is kept cross-site (`Partitioned`): two loads
//!   within the window count one hit, a load after it another.
//! - An invisible counter (`style=pixel`) counts the page and shows nothing
//!   (screenshot `target/browser-screenshots/invisible-counter.png`).

use crate::support;

use serde_json::json;
use std::time::Duration;
use support::browser::Driver;
use support::pages::{certificate, Pages};
use support::*;

struct Setup {
    clock: TestClock,
    server: Server,
    pages: Pages,
    driver: Driver,
    counter_port: String,
}

fn setup(extra: &[&str]) -> Option<Setup> {
    let tools = Driver::tools()?;
    let dir = tempdir();
    let (cert, key) = certificate(dir.path(), &["a.example", "b.example"]);
    let mut args = vec!["--tls-cert", cert.as_str(), "--tls-key", key.as_str()];
    args.extend_from_slice(extra);
    let clock = TestClock::start();
    let server = Server::start_with(Opts { args, env: vec![clock.env()], dir: Some(dir.clone()), ..Opts::default() });
    let pages = Pages::start(&cert, &key);
    let rules = "--host-resolver-rules=MAP a.example 127.0.0.1, MAP b.example 127.0.0.1".to_string();
    // A desktop Chrome's User-Agent: headless Chromium's says HeadlessChrome,
    // which is a bot.
    let ua = format!("--user-agent={BROWSER}");
    let driver = Driver::start_with(tools, &[rules, "--test-third-party-cookie-phaseout".into(), ua]);
    let counter_port = server.addr.rsplit(':').next().unwrap().to_string();
    Some(Setup { clock, server, pages, driver, counter_port })
}

impl Setup {
    fn badge(&self, query: &str) -> String {
        format!("https://a.example:{}/count/tag.svg{query}", self.counter_port)
    }

    /// Loads `https://b.example:PORT/PATH` and waits for its badge image.
    fn visit(&self, path: &str) {
        self.driver.goto(&format!("https://b.example:{}/{path}", self.pages.port));
        self.driver.wait_js(
            "the badge to load",
            "var i = document.getElementById('badge'); return i.complete && i.naturalWidth > 0;",
            json!([]),
            |v| v == &json!(true),
        );
    }

    /// The count of `key` now, exact (pending hits included): `/nocount`
    /// loaded in the browser, which counts nothing.
    fn count(&self, key: &str) -> u64 {
        self.driver.goto(&format!("https://a.example:{}/nocount?url={}", self.counter_port, enc(key)));
        let text = self.driver.js("return document.body.innerText;", json!([]));
        text.as_str().and_then(|t| t.trim().parse().ok()).unwrap_or_else(|| panic!("/nocount said {text}"))
    }

    /// The stored count of `key`, once the server has written it.
    fn stored(&self, key: &str, want: u64) -> bool {
        eventually(Duration::from_secs(5), || get_count(&self.server.db, key) == want)
    }
}

#[test]
fn browser_referer_only_badge_counts_the_page_path() {
    let Some(s) = setup(&[]) else { return };
    let img = |policy: &str| {
        format!(r#"<!doctype html><p>post</p><img id="badge" src="{}" alt="Hits"{policy}>"#, s.badge(""))
    };
    s.pages.page("blog/post-2.html", &img(r#" referrerpolicy="no-referrer-when-downgrade""#));
    s.pages.page("blog/post-1.html", &img(""));
    let site = format!("b.example:{}", s.pages.port);
    s.visit("blog/post-2.html");
    assert!(s.stored(&format!("{site}/blog/post-2.html"), 1), "the snippet's page is counted under its full path");
    s.visit("blog/post-1.html");
    assert!(s.stored(&format!("{site}/"), 1), "a plain <img> sends only the origin: the site's counter");
    assert_eq!(get_count(&s.server.db, &format!("{site}/blog/post-1.html")), 0);
}

#[test]
fn browser_cross_site_refresh_counts_once_within_the_window() {
    // The server's clock moves past the window at once; the browser still
    // holds the cookie (its Max-Age runs on real time), with a value now past.
    let Some(s) = setup(&["--cookie-window", "60", "--dedup", "cookie"]) else { return };
    let key = uniq_url("cross-site");
    let html =
        format!(r#"<!doctype html><img id="badge" src="{}" alt="Hits">"#, s.badge(&format!("?url={}", enc(&key))));
    s.pages.page("post.html", &html);
    s.visit("post.html");
    assert_eq!(s.count(&key), 1);
    s.clock.advance(30);
    s.visit("post.html");
    assert_eq!(s.count(&key), 1, "a reload within the window is not counted (the partitioned cookie came back)");
    s.clock.advance(31);
    s.visit("post.html");
    assert_eq!(s.count(&key), 2, "after the window the next load counts");
    assert!(s.stored(&key, 2), "and is stored");
}

#[test]
fn browser_shows_an_error_badge_not_a_broken_image() {
    let Some(s) = setup(&[]) else { return };
    // A label past 64 characters is refused (400): the page still shows an
    // image, the red badge saying why.
    let bad = format!("?label={}", "x".repeat(65));
    let html = format!(r#"<!doctype html><img id="badge" src="{}" alt="Hits">"#, s.badge(&bad));
    s.pages.page("error.html", &html);
    s.visit("error.html");
    let width = s.driver.js("return document.getElementById('badge').naturalWidth;", json!([]));
    assert!(width.as_u64().unwrap_or(0) > 60, "an error badge as wide as its text: {width}");
    let site = format!("b.example:{}", s.pages.port);
    assert_eq!(get_count(&s.server.db, &format!("{site}/")), 0, "an error counts nothing");
}

#[test]
fn browser_invisible_counter_counts_and_shows_nothing() {
    let Some(s) = setup(&[]) else { return };
    let key = format!("b.example:{}/quiet.html", s.pages.port);
    let html = format!(
        r#"<!doctype html><title>A quiet page</title><h1>A page counted by an invisible pixel</h1>
        <p>Nothing below this line but a 1&times;1 transparent image.</p>
        <img id="badge" src="{}" alt="" width="1" height="1">"#,
        s.badge(&format!("?url={}&style=pixel", enc(&key)))
    );
    s.pages.page("quiet.html", &html);
    s.visit("quiet.html");
    let size =
        s.driver.js("var i = document.getElementById('badge'); return [i.naturalWidth, i.naturalHeight];", json!([]));
    assert_eq!(size, json!([1, 1]), "a 1x1 image");
    s.driver.screenshot("invisible-counter.png");
    assert_eq!(s.count(&key), 1, "the pixel counted the page");
    assert!(s.stored(&key, 1), "and the hit is stored");
}
