//! The WebDriver client for the headless-Chromium tests (`browser.rs`,
//! `browser_stats.rs`): a minimal W3C WebDriver client over the same
//! raw HTTP as every other request (`http::Request` + JSON, no WebDriver
//! crate) that starts chromedriver and a headless Chromium in their own
//! process group, plus the page checks both tests make.
//!
//! Needs Debian's `chromium` and `chromium-driver` (plus `fonts-dejavu-core`
//! for readable screenshots; `./test.sh` installs them). When they are
//! missing the tests FAIL; set `HITCOUNTER_SKIP_BROWSER=1` to skip them on
//! purpose. `HITCOUNTER_CHROMIUM` and `HITCOUNTER_CHROMEDRIVER` override the
//! binaries found on `PATH`. Screenshots go to `target/browser-screenshots/`
//! (relative to the crate root).

use super::http::Request;
use super::process::stop_group;
use super::{find_tool, free_port};

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const ENTER: &str = "\u{E007}";
/// Upper bound for every "wait until the page shows X".
pub const WAIT: Duration = Duration::from_secs(10);

/// The page encodes `url` once, like `encodeURIComponent` plus `!'()*`:
/// everything but the RFC 3986 unreserved characters is percent-encoded.
pub fn enc_component(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

pub fn b64decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => panic!("bad base64 byte {c}"),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A browser binary: `$env_var` if set (it must exist), else the first of
/// `names` found.
pub fn tool(env_var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    names.iter().find_map(|n| find_tool(n))
}

pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots")
}

/// chromedriver plus the Chromium it starts. Everything runs in its own process
/// group, which is killed on drop (after a polite `DELETE /session`).
pub struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    profile: tempfile::TempDir,
}

impl Driver {
    /// Finds (chromium, chromedriver) or fails the test with what to install;
    /// `None` (the test is skipped) with `HITCOUNTER_SKIP_BROWSER=1`.
    pub fn tools() -> Option<(PathBuf, PathBuf)> {
        if std::env::var("HITCOUNTER_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("browser test SKIPPED: HITCOUNTER_SKIP_BROWSER=1");
            return None;
        }
        let chromium = tool("HITCOUNTER_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = tool("HITCOUNTER_CHROMEDRIVER", &["chromedriver"]);
        match (chromium, chromedriver) {
            (Some(a), Some(b)) => Some((a, b)),
            (a, b) => panic!(
                "the browser test needs `chromium` ({}) and `chromedriver` ({}) on PATH (Debian: \
                 `apt-get install -y chromium chromium-driver fonts-dejavu-core`, or run `./test.sh`); \
                 set HITCOUNTER_SKIP_BROWSER=1 to skip it deliberately",
                if a.is_some() { "found" } else { "MISSING" },
                if b.is_some() { "found" } else { "MISSING" },
            ),
        }
    }

    pub fn start(tools: (PathBuf, PathBuf)) -> Driver {
        Driver::start_with(tools, &[])
    }

    /// A session with more Chromium arguments (e.g. `--host-resolver-rules`);
    /// it also accepts the tests' self-signed certificates.
    pub fn start_with((chromium, chromedriver): (PathBuf, PathBuf), extra: &[String]) -> Driver {
        let profile = tempfile::tempdir().expect("tempdir");
        let log_path = profile.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut d = Driver { child, port, session: None, profile };

        let start = Instant::now();
        loop {
            if let Ok(v) = d.call("GET", "/status", None) {
                if v["ready"] == json!(true) {
                    break;
                }
            }
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("chromedriver exited early ({st}); log:\n{}", d.log());
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("chromedriver not ready after 10 s; log:\n{}", d.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }

        let user_data = d.profile.path().join("chromium-profile");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--hide-scrollbars",
            "--window-size=1200,900",
            "--lang=en-US",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        args.extend(extra.iter().cloned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "acceptInsecureCerts": true,
            "timeouts": {"pageLoad": 15000, "script": 5000, "implicit": 0},
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": chromium.to_str().expect("utf-8 path"), "args": args}
        }}});
        let v = d
            .call("POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}; log:\n{}", d.log()));
        let id = v["sessionId"].as_str().expect("sessionId").to_string();
        d.session = Some(id);
        d
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.profile.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// One WebDriver command. Ok(value) on success, Err(error + message) otherwise.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        self.call_timeout(method, path, body, Duration::from_secs(30))
    }

    pub fn call_timeout(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        limit: Duration,
    ) -> Result<Value, String> {
        let addr = format!("127.0.0.1:{}", self.port);
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = Request::new(method, path).timeout(limit).stop_at_length();
        if body.is_some() || method == "POST" {
            let payload = if payload.is_empty() { "{}" } else { payload.as_str() };
            req = req.body("application/json; charset=utf-8", payload);
        }
        let resp = req.try_send(&addr).map_err(|e| format!("{method} {path} (chromedriver): {e}"))?;
        let v: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("{method} {path}: bad JSON ({e}): {}", resp.text()))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if resp.status != 200 {
            return Err(format!(
                "{method} {path} -> {}: {} {}",
                resp.status,
                value["error"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or("").lines().next().unwrap_or("")
            ));
        }
        Ok(value)
    }

    pub fn cmd(&self, method: &str, rel: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{rel}", self.session.as_ref().expect("session"));
        self.call(method, &path, body.as_ref()).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn find(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT_KEY].as_str().unwrap_or_else(|| panic!("no element id for {css}: {v}")).to_string()
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    pub fn clear(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/value"), Some(json!({ "text": text })));
    }

    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    pub fn text_of(&self, css: &str) -> String {
        self.js("var e = document.querySelector(arguments[0]); return e ? e.textContent : null;", json!([css]))
            .as_str()
            .unwrap_or_else(|| panic!("{css} not found"))
            .to_string()
    }

    /// Polls `probe` (a JS function body returning a JSON value) until `ok`
    /// accepts the value; panics with the last value after `WAIT`.
    pub fn wait_js(&self, what: &str, script: &str, args: Value, ok: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(script, args.clone());
            if ok(&v) {
                return v;
            }
            if start.elapsed() > WAIT {
                panic!("timed out after {WAIT:?} waiting for {what}; last seen: {v}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the element's rendered text (`innerText`) satisfies `ok`.
    pub fn wait_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_prop(css, "innerText", what, ok)
    }

    /// Waits until `element[prop]` (a string property) satisfies `ok`.
    pub fn wait_prop(&self, css: &str, prop: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let v = self.wait_js(
            what,
            "var e = document.querySelector(arguments[0]); return e ? e[arguments[1]] : null;",
            json!([css, prop]),
            |v| v.as_str().is_some_and(&ok),
        );
        v.as_str().unwrap().to_string()
    }

    pub fn set_window(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
        // Let layout settle, then check the viewport really changed.
        self.wait_js("the viewport to resize", "return window.innerWidth;", json!([]), |v| {
            v.as_u64().is_some_and(|w| w.abs_diff(width as u64) <= 20)
        });
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.js("window.scrollTo(0, 0); return true;", json!([]));
        let v = self.cmd("GET", "/screenshot", None);
        self.save_png(v.as_str().expect("base64 screenshot"), name)
    }

    pub fn save_png(&self, base64: &str, name: &str) -> PathBuf {
        let png = b64decode(base64);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "screenshot is not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Screenshot of the whole page (beyond the viewport), through chromedriver's CDP bridge.
    pub fn full_page_screenshot(&self, name: &str) {
        self.js("window.scrollTo(0, 0); return true;", json!([]));
        let v = self.cdp("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}));
        self.save_png(v["data"].as_str().expect("CDP screenshot data"), name);
    }

    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params})))
    }

    pub fn color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Browser console entries at SEVERE level (chromedriver's log extension).
    pub fn severe_console(&self) -> Vec<String> {
        let path = format!("/session/{}/se/log", self.session.as_ref().unwrap());
        match self.call("POST", &path, Some(&json!({"type": "browser"}))) {
            Ok(Value::Array(entries)) => entries
                .iter()
                .filter(|e| e["level"] == json!("SEVERE"))
                .map(|e| e["message"].as_str().unwrap_or("").to_string())
                .collect(),
            Ok(_) => vec![],
            Err(e) => {
                eprintln!("(console log not available: {e})");
                vec![]
            }
        }
    }

    /// The page is styled by its own `style.css` and loaded nothing from
    /// anywhere but `origin`.
    pub fn assert_styled_and_self_contained(&self, origin: &str) {
        let radius =
            self.js("return getComputedStyle(document.querySelector('.card')).borderTopLeftRadius;", json!([]));
        assert_ne!(radius, json!("0px"), "style.css not applied");
        let resources =
            self.js("return performance.getEntriesByType('resource').map(function (e) { return e.name; });", json!([]));
        for r in resources.as_array().expect("resource list") {
            let r = r.as_str().unwrap_or("");
            assert!(r.starts_with(origin), "page loaded a resource from elsewhere: {r}");
        }
    }

    /// Screenshot `name` in the dark colour scheme (prefers-color-scheme,
    /// emulated through chromedriver's CDP bridge), then back to light.
    pub fn dark_screenshot(&self, name: &str) {
        let light_bg = self.js("return getComputedStyle(document.body).backgroundColor;", json!([]));
        self.color_scheme("dark");
        self.wait_js(
            "the dark colour scheme",
            "return getComputedStyle(document.body).backgroundColor;",
            json!([]),
            |v| *v != light_bg,
        );
        std::thread::sleep(Duration::from_millis(400)); // let colour transitions finish
        self.screenshot(name);
        self.color_scheme("light");
    }

    /// The page does not scroll sideways at the current window size.
    pub fn assert_no_sideways_scroll(&self) {
        let overflow =
            self.js("return {doc: document.documentElement.scrollWidth, view: window.innerWidth};", json!([]));
        assert!(overflow["doc"].as_u64() <= overflow["view"].as_u64(), "page scrolls sideways on a phone: {overflow}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = self.call_timeout("DELETE", &format!("/session/{id}"), None, Duration::from_secs(5));
        }
        // The group: chromedriver, Chromium and its helpers.
        stop_group(&mut self.child, Duration::from_secs(3));
        // Belt and braces: any process still using our private profile dir.
        let marker = self.profile.path().to_string_lossy().into_owned();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&marker) {
                    // SAFETY: kill(2) on a process running with our private profile.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }
}
