//! The reverse-proxy example (`deploy/nginx.conf`, issue 17 item 8) in Debian's nginx, in front
//! of a real `dingdian serve --trusted-proxies 127.0.0.1`: the file itself, with only the
//! certificate (a throw-away one made by the `openssl` CLI), the host name and the ports
//! replaced. Through it a browser-like client signs in on the form and a cookie POST carrying
//! the page's `Origin` succeeds; the same file without its `Host` line answers that POST with
//! 403 `cross_origin` (the finding this example fixes); the server takes the scheme from
//! `X-Forwarded-Proto` (Secure cookie, HSTS) and the client from `X-Forwarded-For`.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::header::{HeaderMap, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{Client, StatusCode};

const NGINX: &str = "/usr/sbin/nginx";
const HOST: &str = "dingdian.test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dingdian-nginx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A self-signed certificate for `HOST` (key.pem, cert.pem in `dir`).
fn certificate(dir: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={HOST}"), "-addext", &format!("subjectAltName=DNS:{HOST}")])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("the openssl command is needed: apt-get install openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join("cert.pem")).unwrap()
}

/// Ports of one copy of the example site.
struct Site {
    http: u16,
    https: u16,
}

/// `deploy/nginx.conf` with the test's certificate, host name and ports; without the upstream
/// block and the `Host` lines when `keep_host` is false (nginx's default `Host` then applies).
fn site(example: &str, tls: &Path, app_port: u16, ports: &Site, keep_host: bool) -> String {
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "deploy/nginx.conf no longer contains `{from}`: update tests/nginx.rs");
        text.replace(from, to)
    };
    let mut conf = example.to_owned();
    conf = replace(conf, "server 127.0.0.1:8080;", &format!("server 127.0.0.1:{app_port};"));
    conf = replace(conf, "    listen [::]:80;\n", "");
    conf = replace(conf, "    listen [::]:443 ssl http2;\n", "");
    conf = replace(conf, "listen 80;", &format!("listen 127.0.0.1:{};", ports.http));
    conf = replace(conf, "listen 443 ssl http2;", &format!("listen 127.0.0.1:{} ssl http2;", ports.https));
    conf = replace(conf, "dingdian.example.org", HOST);
    conf = replace(conf, "/etc/ssl/dingdian/fullchain.pem", &tls.join("cert.pem").display().to_string());
    conf = replace(conf, "/etc/ssl/dingdian/privkey.pem", &tls.join("key.pem").display().to_string());
    if !keep_host {
        conf = replace(conf, "        proxy_set_header Host $http_host;\n", "");
        let start = conf.find("upstream dingdian {").unwrap();
        let end = start + conf[start..].find("}\n").unwrap() + 2;
        conf.replace_range(start..end, "");
    }
    conf
}

/// nginx in the foreground with its prefix, logs and temporary files in `dir`; stopped (with
/// its workers) when dropped.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, sites: &str) -> Nginx {
        assert!(Path::new(NGINX).exists(), "{NGINX} is missing: apt-get install nginx");
        let d = dir.display();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log stderr notice;\nevents {{}}\n\
             http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n    \
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n{sites}}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("startup.log"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The master opens every listening socket before it starts its workers.
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            assert!(err.read_line(&mut line).unwrap() > 0, "nginx exited before serving:\n{seen}");
            seen.push_str(&line);
            if line.contains("start worker process") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Nginx(child)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would leave them listening).
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// The server, killed when dropped (also when an assertion fails).
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `dd_session` value a response sets.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dd_session=").map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

/// Signs hrb-agency in on the form; the session cookie's value and its whole `Set-Cookie` line.
async fn sign_in(client: &Client, base: &str) -> (String, String) {
    let resp = client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=hrb-agency&password=dingdian-demo")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "sign-in through nginx: {}", resp.status());
    let line = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dd_session="))
        .expect("the sign-in sets dd_session")
        .to_owned();
    (session_cookie(resp.headers()).unwrap(), line)
}

/// A cookie POST as a browser sends it from a page of the site: `Origin` is the public origin.
async fn logout(client: &Client, base: &str, session: &str) -> (StatusCode, HeaderMap, String) {
    let resp =
        client.post(format!("{base}/logout")).header("cookie", format!("dd_session={session}")).header(ORIGIN, base).send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

async fn me(client: &Client, base: &str, session: &str) -> StatusCode {
    client.get(format!("{base}/api/me")).header("cookie", format!("dd_session={session}")).send().await.unwrap().status()
}

#[tokio::test]
async fn nginx_example_passes_cookie_posts_scheme_and_client_address() {
    let dir = temp_dir("proxy");
    let data = dir.join("data");
    let out = support::dingdian().args(["demo", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (app, app_port) = support::start_with(&data, &["--trusted-proxies", "127.0.0.1"]);
    let app = App(app);

    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let cert = certificate(&tls);
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).unwrap();
    let good = Site { http: free_port(), https: free_port() };
    let no_host = Site { http: free_port(), https: free_port() };
    let sites = format!("{}\n{}", site(&example, &tls, app_port, &good, true), site(&example, &tls, app_port, &no_host, false));
    let nginx = Nginx::start(&dir, &sites);

    let localhost = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let client = Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .resolve(HOST, localhost(good.https))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://{HOST}:{}", good.https);

    // Plain HTTP is sent to HTTPS.
    let plain = Client::builder().resolve(HOST, localhost(good.http)).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = plain.get(format!("http://{HOST}:{}/login", good.http)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(resp.headers()[LOCATION], format!("https://{HOST}/login").as_str());

    // Sign in on the form; the cookie is Secure and HSTS is sent: X-Forwarded-Proto arrived.
    let (session, line) = sign_in(&client, &base).await;
    assert!(line.contains("; Secure"), "{line}");
    let resp = client.get(format!("{base}/login")).send().await.unwrap();
    assert!(resp.headers().contains_key("strict-transport-security"), "no HSTS through nginx: {:?}", resp.headers());

    // The cookie POST with the page's Origin is accepted and acts: the session ends.
    assert_eq!(me(&client, &base, &session).await, StatusCode::OK);
    let (status, headers, body) = logout(&client, &base, &session).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "cookie POST through nginx: {body}");
    assert_eq!(headers[LOCATION], "/");
    assert_eq!(me(&client, &base, &session).await, StatusCode::UNAUTHORIZED);

    // The same example without `proxy_set_header Host`: nginx's default Host is the upstream's
    // name, so the server refuses the very same request as cross-site.
    let bare = Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .resolve(HOST, localhost(no_host.https))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare_base = format!("https://{HOST}:{}", no_host.https);
    let (session, _) = sign_in(&bare, &bare_base).await;
    let (status, _, body) = logout(&bare, &bare_base, &session).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("\"cross_origin\""), "{body}");

    // The client address comes from X-Forwarded-For: this client is on the server's machine and
    // may read /metrics; the same request naming another client (which nginx passes on, adding
    // 127.0.0.1) is that client's, and refused.
    let resp = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.get(format!("{base}/metrics")).header("x-forwarded-for", "203.0.113.9").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("\"metrics_forbidden\""));

    drop(nginx);
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}
