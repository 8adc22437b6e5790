//! A small W3C WebDriver client for the browser tests: Debian's `chromedriver` started on a free
//! port, one headless Chromium session per test, JSON commands over HTTP/1.1 (hyper, already a
//! dev-dependency). Only what the tests use: navigation, CSS look-ups, clicks, typing, file
//! inputs, scripts (sync and async) and screenshots (viewport or full page, through
//! ChromeDriver's CDP endpoint).
//!
//! Waiting is WebDriver's own: an implicit wait for element look-ups, so a form submission is
//! awaited by looking up the *new* document (see [`Session::submit`]); nothing sleeps.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a look-up, a page load or a script may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running `chromedriver`, killed (by its process id) when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

/// Where Debian puts ChromeDriver and Chromium; `DINGDIAN_CHROMEDRIVER` / `DINGDIAN_CHROMIUM`
/// override them.
fn chromedriver_path() -> String {
    std::env::var("DINGDIAN_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

fn chromium_path() -> String {
    std::env::var("DINGDIAN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port and returns once it says it is listening.
    /// Fails the test with the install command when it is missing.
    pub async fn start() -> Driver {
        let (driver, browser) = (chromedriver_path(), chromium_path());
        for p in [&driver, &browser] {
            assert!(
                Path::new(p).exists(),
                "{p} is missing: the browser tests need Debian's Chromium and ChromeDriver \
                 (apt-get install -y chromium chromium-driver fonts-noto-cjk; .ci/run installs them)"
            );
        }
        tokio::task::spawn_blocking(move || {
            // The port is free when chosen; if something takes it before ChromeDriver does,
            // try another.
            let mut failures = Vec::new();
            for _ in 0..3 {
                let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
                match Self::spawn(&driver, port) {
                    Ok(d) => return d,
                    Err(e) => failures.push(e),
                }
            }
            panic!("chromedriver did not start:\n{}", failures.join("\n"))
        })
        .await
        .expect("start chromedriver")
    }

    fn spawn(driver: &str, port: u16) -> Result<Driver, String> {
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {driver}: {e}"));
        // ChromeDriver prints one line when it listens; read until then, then keep draining its
        // output so it never blocks on a full pipe.
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) => {
                    let ready = line.contains("started successfully");
                    seen.push(line);
                    if ready {
                        break;
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(seen.join("\n"));
                }
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Driver { child, port })
    }

    /// A new headless browser session with a viewport of `width` × `height` CSS pixels;
    /// `mobile` emulates a phone (touch, device pixel ratio 3, a phone's user agent).
    pub async fn session(&self, width: u32, height: u32, mobile: bool) -> Session {
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        if std::env::var_os("DINGDIAN_BROWSER_VERBOSE").is_some() {
            args.push("--enable-logging=stderr".into());
        }
        let mut chrome = json!({
            "binary": chromium_path(),
            "args": args,
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        });
        if mobile {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 3.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
            });
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": chrome,
            "timeouts": { "implicit": WAIT.as_millis() as u64, "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
        }}});
        let base = format!("127.0.0.1:{}", self.port);
        let v = request(&base, "POST", "/session", Some(caps)).await.unwrap_or_else(|e| panic!("new browser session: {e}"));
        let id = v["sessionId"].as_str().expect("session id").to_owned();
        Session { addr: base, id, closed: false }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver error: the W3C error code and message.
#[derive(Debug)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message.lines().next().unwrap_or_default())
    }
}

/// One HTTP/1.1 exchange with ChromeDriver; returns the response's `value`.
async fn request(addr: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
    let started = std::time::Instant::now();
    let result = exchange(addr, method, path, body).await;
    if std::env::var_os("DINGDIAN_WEBDRIVER_TRACE").is_some() {
        eprintln!("webdriver {method} {path}: {:?} {}", started.elapsed(), if result.is_ok() { "ok" } else { "error" });
    }
    result
}

async fn exchange(addr: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
    let io_err = |e: &dyn std::fmt::Display| WdError { error: "http".into(), message: format!("{method} {path}: {e}") };
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| io_err(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| io_err(&e))?;
    tokio::spawn(conn);
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| io_err(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| io_err(&e))?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(|e| io_err(&e))?.to_bytes();
    let v: Value = serde_json::from_slice(&body).map_err(|e| io_err(&e))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(WdError {
            error: value["error"].as_str().unwrap_or("unknown error").to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// A browser session. Call [`Session::quit`] at the end; if the test fails first, dropping it
/// still ends the browser.
pub struct Session {
    addr: String,
    id: String,
    closed: bool,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element {
    id: String,
}

impl Session {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        request(&self.addr, method, &format!("/session/{}{path}", self.id), body).await
    }

    async fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.cmd(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("WebDriver {method} {path}: {e} (page: {})", self.url().await),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// The current address, or an empty string.
    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", None).await.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// The path and query of the current address.
    pub async fn path(&self) -> String {
        let url = self.url().await;
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
        rest.find('/').map(|i| rest[i..].to_owned()).unwrap_or_else(|| "/".into())
    }

    pub async fn title(&self) -> String {
        self.must("GET", "/title", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching `css`, waiting (implicitly) until there is one.
    pub async fn find(&self, css: &str) -> Element {
        match self.cmd("POST", "/element", Some(json!({ "using": "css selector", "value": css }))).await {
            Ok(v) => Element { id: v[ELEMENT].as_str().expect("element reference").to_owned() },
            Err(e) => panic!("no element `{css}` on {} within {WAIT:?}: {e}", self.url().await),
        }
    }

    /// Every element matching `css` now (no waiting when there is none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.must("POST", "/elements", Some(json!({ "using": "css selector", "value": css }))).await;
        v.as_array().into_iter().flatten().map(|e| Element { id: e[ELEMENT].as_str().expect("element").to_owned() }).collect()
    }

    /// Whether some element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        let css = serde_json::to_string(css).expect("json");
        self.script(&format!("return document.querySelector({css}) !== null;"), vec![]).await == Value::Bool(true)
    }

    /// The first element matching `css` whose text contains `text`.
    pub async fn find_with_text(&self, css: &str, text: &str) -> Element {
        // The implicit wait covers the first look-up; the page is server-rendered, so once one
        // matching element is there, all of them are.
        self.find(css).await;
        for e in self.find_all(css).await {
            if self.text_of(&e).await.contains(text) {
                return e;
            }
        }
        panic!("no `{css}` with text “{text}” on {}", self.url().await)
    }

    /// The first element matching `css` whose text is exactly `label` (trimmed): a button.
    pub async fn find_labelled(&self, css: &str, label: &str) -> Element {
        self.find(css).await;
        let mut seen = Vec::new();
        for e in self.find_all(css).await {
            let text = self.text_of(&e).await;
            if text.trim() == label {
                return e;
            }
            seen.push(text);
        }
        panic!("no `{css}` labelled “{label}” on {} (there are: {})", self.url().await, seen.join("、"))
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text_of(&e).await
    }

    pub async fn text_of(&self, e: &Element) -> String {
        self.must("GET", &format!("/element/{}/text", e.id), None).await.as_str().unwrap_or_default().to_owned()
    }

    /// A DOM property (`value`, `checked`, …) of an element.
    pub async fn prop(&self, e: &Element, name: &str) -> Value {
        self.must("GET", &format!("/element/{}/property/{name}", e.id), None).await
    }

    pub async fn click(&self, e: &Element) {
        self.must("POST", &format!("/element/{}/click", e.id), Some(json!({}))).await;
    }

    /// Clears a text field and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.must("POST", &format!("/element/{}/clear", e.id), Some(json!({}))).await;
        self.type_into(&e, text).await;
    }

    /// Types into an element (for a file input: the file's path).
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.must("POST", &format!("/element/{}/value", e.id), Some(json!({ "text": text }))).await;
    }

    /// Ticks a checkbox or radio button (clicks it unless it already is).
    pub async fn check(&self, css: &str) {
        let e = self.find(css).await;
        if self.prop(&e, "checked").await != Value::Bool(true) {
            self.click(&e).await;
        }
        assert_eq!(self.prop(&e, "checked").await, Value::Bool(true), "`{css}` ticked");
    }

    /// Selects the `<option>` with this value.
    pub async fn select(&self, select_css: &str, value: &str) {
        let opt = self.find(&format!("{select_css} option[value=\"{value}\"]")).await;
        self.click(&opt).await;
        assert_eq!(self.prop(&self.find(select_css).await, "value").await, json!(value));
    }

    /// Clicks an element that submits a form (or follows a link) and waits for the next page:
    /// the current document is marked first, and the look-up for an unmarked `<body>` waits
    /// (WebDriver's implicit wait) until the browser shows the response — a new document, or,
    /// for an upload the page's script sends itself, the refusal page's body put in place.
    pub async fn submit(&self, e: &Element) {
        self.script("document.documentElement.setAttribute('data-wd-old', ''); document.body.setAttribute('data-wd-old', '');", vec![])
            .await;
        self.click(e).await;
        self.find("html:not([data-wd-old]) > body, body:not([data-wd-old])").await;
        let state = self.script("return document.readyState;", vec![]).await;
        assert_eq!(state, json!("complete"), "the next page loaded");
    }

    /// Clicks the first `css` match labelled `text`, then waits for the next page.
    pub async fn submit_button(&self, css: &str, text: &str) {
        let b = self.find_labelled(css, text).await;
        self.submit(&b).await;
    }

    /// Runs a script in the page (as a function body; `arguments` are `args`).
    pub async fn script(&self, body: &str, args: Vec<Value>) -> Value {
        self.must("POST", "/execute/sync", Some(json!({ "script": body, "args": args }))).await
    }

    /// Runs an asynchronous script: it calls `arguments[arguments.length - 1](result)` when done.
    pub async fn script_async(&self, body: &str, args: Vec<Value>) -> Value {
        self.must("POST", "/execute/async", Some(json!({ "script": body, "args": args }))).await
    }

    /// A PNG of the whole page (beyond the viewport) at one image pixel per CSS pixel.
    pub async fn screenshot_full_page(&self) -> Vec<u8> {
        let metrics = self.must("POST", "/goog/cdp/execute", Some(json!({ "cmd": "Page.getLayoutMetrics", "params": {} }))).await;
        let size = &metrics["cssContentSize"];
        let (w, h) = (size["width"].as_f64().unwrap_or(1280.0), size["height"].as_f64().unwrap_or(800.0));
        self.capture(0.0, 0.0, w, h, 1.0).await
    }

    /// A PNG of one element, whole even when it is taller than the viewport, at up to two image
    /// pixels per CSS pixel.
    pub async fn screenshot_of(&self, e: &Element) -> Vec<u8> {
        let rect = self
            .script(
                "const r = arguments[0].getBoundingClientRect();
                 return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];",
                vec![json!({ ELEMENT: e.id })],
            )
            .await;
        let n = |i: usize| rect[i].as_f64().unwrap_or(0.0);
        self.capture(n(0), n(1), n(2), n(3), 2.0).await
    }

    /// Captures a rectangle of the page (CSS pixels, document coordinates) through ChromeDriver's
    /// CDP endpoint, at `density` image pixels per CSS pixel (at most the device's).
    async fn capture(&self, x: f64, y: f64, w: f64, h: f64, density: f64) -> Vec<u8> {
        let ratio = self.script("return window.devicePixelRatio;", vec![]).await.as_f64().unwrap_or(1.0);
        let params = json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": { "x": x, "y": y, "width": w.ceil(), "height": h.ceil().min(16000.0), "scale": density.min(ratio) / ratio },
        });
        let shot = self.must("POST", "/goog/cdp/execute", Some(json!({ "cmd": "Page.captureScreenshot", "params": params }))).await;
        base64_decode(shot["data"].as_str().expect("screenshot data"))
    }

    /// Ends the browser.
    pub async fn quit(mut self) {
        self.closed = true;
        let _ = request(&self.addr, "DELETE", &format!("/session/{}", self.id), None).await;
    }
}

impl Drop for Session {
    /// After a failure: end the browser with a plain blocking request (no runtime needed).
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(&self.addr) {
            let _ = s.set_read_timeout(Some(WAIT));
            let req =
                format!("DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", self.id, self.addr);
            if s.write_all(req.as_bytes()).is_ok() {
                // Read the one response (ChromeDriver keeps the connection open).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n @ 1..) = s.read(&mut chunk) {
                    buf.extend_from_slice(&chunk[..n]);
                    if response_complete(&buf) {
                        break;
                    }
                }
            }
        }
    }
}

/// Whether `buf` holds a whole HTTP response with a `Content-Length` body.
fn response_complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    buf.len() >= end + 4 + length
}

/// Standard base64 (the screenshot encoding).
pub fn base64_decode(s: &str) -> Vec<u8> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a' + 26) as u32),
            b'0'..=b'9' => Some((c - b'0' + 52) as u32),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
