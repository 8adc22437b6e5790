//! `TestApp`: the real router in-process over a fresh database (SQLite or PostgreSQL), a manual
//! clock, and a small cast of users in both cities.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::Role;
use dingdian_core::policy::{InstitutionKind, Profile};
use dingdian_store::clock::ManualClock;
use dingdian_store::files::FileStore;
use dingdian_store::testing::{Backend, TestDb};
use dingdian_store::{NewInstitution, NewUser, Store, TickReport};
use dingdian_web::{App, AppState};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const PASSWORD: &str = "test-password";

/// Runs an async test body on both databases: `both!(name, body_fn)` makes `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(dingdian_store::testing::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(dingdian_store::testing::Backend::Postgres).await
            }
        }
    };
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub db_url: String,
    /// The data directory of uploaded files (`files/`) and the spool (`spool/`).
    pub files_dir: FilesDir,
    _db: TestDb,
}

/// A temporary data directory, removed with the test app.
pub struct FilesDir(pub std::path::PathBuf);

impl FilesDir {
    fn new() -> FilesDir {
        let dir = std::env::temp_dir().join(format!("dingdian_files_{}", hex_id()));
        std::fs::create_dir_all(&dir).expect("files dir");
        FilesDir(dir)
    }

    /// Every regular file under `sub` (recursively).
    pub fn files_under(&self, sub: &str) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() { walk(&p, out) } else { out.push(p) }
            }
        }
        let mut out = Vec::new();
        walk(&self.0.join(sub), &mut out);
        out
    }
}

impl Drop for FilesDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small valid PDF whose bytes depend on `tag`.
pub fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% {tag}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

/// A valid Annex 2 acceptance package: a video and the stamped form (HRB-ANNEX2).
pub fn annex2_zip() -> Vec<u8> {
    use std::io::Write;
    let mut video = vec![0, 0, 0, 0x18];
    video.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    video.resize(32 * 1024, 7);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("录屏.mp4", opts).unwrap();
    w.write_all(&video).unwrap();
    w.start_file("验收单.pdf", opts).unwrap();
    w.write_all(&pdf("stamped form")).unwrap();
    w.finish().unwrap().into_inner()
}

/// Percent-encodes a query value (UTF-8).
pub fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn hex_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), jiff::Timestamp::now().as_nanosecond())
}

/// Institutions of the fixture: (username, city, district, kind, 17 chars of the code).
pub const INSTITUTIONS: &[(&str, &str, &str, InstitutionKind, &str)] = &[
    ("hrb-hospital", "harbin", "230102", InstitutionKind::Medical, "12230102MB1A2B3C4"),
    ("hrb-clinic", "harbin", "230103", InstitutionKind::Medical, "92230103MA1B2C3D4"),
    ("urc-pharmacy", "urumqi", "650102", InstitutionKind::Pharmacy, "91650102MA6G7H8J9"),
    ("urc-clinic", "urumqi", "650103", InstitutionKind::Medical, "92650103MA9K0L1M2"),
    ("urc-pharmacy2", "urumqi", "650102", InstitutionKind::Pharmacy, "91650102MA7H8J9K0"),
];

pub const STAFF: &[(&str, Role, &str, Option<&str>)] = &[
    ("hrb-agency", Role::Agency, "harbin", None),
    ("hrb-expert", Role::Expert, "harbin", None),
    ("hrb-evaluator", Role::Evaluator, "harbin", None),
    ("hrb-supervisor", Role::Supervisor, "harbin", None),
    ("hrb-admin", Role::Admin, "harbin", None),
    ("urc-agency", Role::Agency, "urumqi", None),
    ("urc-admin", Role::Admin, "urumqi", None),
    ("urc-branch", Role::BranchReviewer, "urumqi", Some("650102")),
    ("urc-branch-other", Role::BranchReviewer, "urumqi", Some("650103")),
    ("urc-evaluator", Role::Evaluator, "urumqi", None),
    ("urc-expert", Role::Expert, "urumqi", None),
    ("urc-supervisor", Role::Supervisor, "urumqi", None),
    // URC-RES-1: the administrative department acknowledges the filing.
];

impl TestApp {
    /// A fresh database, on 2026-03-02 (a Monday) unless moved.
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::with_net(backend, dingdian_web::Net::default()).await
    }

    /// A fresh database served with these network settings (trusted proxies).
    pub async fn with_net(backend: Backend, net: dingdian_web::Net) -> TestApp {
        let db = TestDb::new(backend).await.expect("test database (is PostgreSQL running?)");
        let store = db.open().await.expect("open store");
        let clock = Arc::new(ManualClock::on(jiff::civil::date(2026, 3, 2)));
        let now = dingdian_store::clock::Clock::now(&*clock);
        for p in Profile::shipped() {
            store.register_profile(p, now).await.expect("register profile");
        }
        for (username, role, city, district) in STAFF {
            let u = NewUser {
                username,
                display_name: username,
                password: PASSWORD,
                role: *role,
                city,
                district: *district,
                institution_id: None,
            };
            store.ensure_user(u, now).await.expect("user");
        }
        for (username, city, district, kind, code17) in INSTITUTIONS {
            let uscc = Uscc::with_check(code17).expect("code");
            let inst = NewInstitution {
                uscc: &uscc,
                name: username,
                kind: *kind,
                category: if *kind == InstitutionKind::Pharmacy { "零售药店" } else { "综合医院" },
                city,
                district,
                national_code: None,
                address: "测试地址",
                beds: 10,
            };
            let id = store.ensure_institution(inst, now).await.expect("institution");
            let u = NewUser {
                username,
                display_name: username,
                password: PASSWORD,
                role: Role::Institution,
                city,
                district: None,
                institution_id: Some(id),
            };
            store.ensure_user(u, now).await.expect("user");
        }
        let files_dir = FilesDir::new();
        let files = FileStore::open(&dingdian_store::files::Backend::Local(files_dir.0.join("files")), &files_dir.0).expect("file store");
        store.use_files(files.clone());
        let state =
            AppState(Arc::new(App { store, clock: clock.clone(), demo_accounts: Vec::new(), files, net, metrics: Default::default() }));
        TestApp { router: dingdian_web::router(state.clone()), state, clock, db_url: db.url.clone(), files_dir, _db: db }
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// Logs in with a password of one's own (accounts made during a test).
    pub async fn login_with(&self, username: &str, password: &str) -> String {
        let (status, body) =
            self.call(Method::POST, "/api/session", None, Some(json!({ "username": username, "password": password }))).await;
        assert_eq!(status, StatusCode::CREATED, "login {username}: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn login(&self, username: &str) -> String {
        let (status, body) =
            self.call(Method::POST, "/api/session", None, Some(json!({ "username": username, "password": PASSWORD }))).await;
        assert_eq!(status, StatusCode::CREATED, "login {username}: {body}");
        assert!(body["token"].as_str().is_some_and(|t| t.len() == 64), "{body}");
        // API tokens last 12 hours; tests move the clock by months, so they hold a long session.
        let user_id = body["user"]["id"].as_i64().expect("user id");
        let now = dingdian_store::clock::Clock::now(&*self.clock);
        self.store().create_session(user_id, "bearer", 3 * 365 * 86400, now).await.expect("session")
    }

    pub async fn get_app(&self, token: &str, id: i64) -> Value {
        let (status, body) = self.call(Method::GET, &format!("/api/applications/{id}"), Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "read application {id}: {body}");
        body
    }

    /// Sends a command with the version currently stored.
    pub async fn try_cmd(&self, token: &str, id: i64, mut command: Value) -> (StatusCode, Value) {
        let version = self.store().application(id).await.expect("read").expect("exists").version;
        command["expected_version"] = json!(version);
        self.call(Method::POST, &format!("/api/applications/{id}/commands"), Some(token), Some(command)).await
    }

    /// Sends a command that must succeed; returns the new state.
    pub async fn cmd(&self, token: &str, id: i64, command: Value) -> String {
        let (status, body) = self.try_cmd(token, id, command.clone()).await;
        assert_eq!(status, StatusCode::OK, "command {command} on {id}: {body}");
        body["application"]["state"].as_str().expect("state").to_owned()
    }

    /// Creates a draft as this institution, declares facts meeting every condition, submits it;
    /// returns the id.
    pub async fn submitted(&self, inst_token: &str) -> i64 {
        let (status, body) = self.call(Method::POST, "/api/applications", Some(inst_token), None).await;
        assert_eq!(status, StatusCode::CREATED, "create: {body}");
        let id = body["id"].as_i64().expect("id");
        let national = match (body["city"].as_str(), body["kind"].as_str()) {
            (Some("harbin"), _) => "H23010200001",
            (_, Some("pharmacy")) => "P65010200001",
            _ => "H65010200001",
        };
        self.cmd(inst_token, id, json!({ "command": "update_draft", "facts": full_facts(national) })).await;
        self.cmd(inst_token, id, json!({ "command": "submit" })).await;
        id
    }

    /// Posts a page form (urlencoded) with a bearer token: (status, body text, Location).
    pub async fn post_form(&self, path: &str, token: &str, fields: &[(&str, String)]) -> (StatusCode, String, Option<String>) {
        let body = fields.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&");
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status();
        let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned(), location)
    }

    /// A public complaint as its page sends it (multipart form, from client address `ip`), with
    /// any text fields and attachments; the status and the page.
    pub async fn complain(&self, ip: &str, fields: &[(&str, &str)], files: &[(&str, Vec<u8>)]) -> (StatusCode, String) {
        let boundary = "----complaintboundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (file_name, bytes) in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/complaints")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .expect("request");
        req.extensions_mut().insert(axum::extract::ConnectInfo(format!("{ip}:5000").parse::<std::net::SocketAddr>().expect("address")));
        let (status, body) = self.send(req).await;
        (status, body.as_str().unwrap_or_default().to_owned())
    }

    /// Uploads `bytes` into a material slot through the API (a streamed PUT).
    pub async fn upload(&self, token: &str, id: i64, slot: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/applications/{id}/materials/{slot}?name={}", percent(name)))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .expect("request");
        self.send(req).await
    }

    /// Uploads a small distinct PDF into a slot; it must be accepted.
    pub async fn upload_pdf(&self, token: &str, id: i64, slot: &str) -> Value {
        let (status, body) = self.upload(token, id, slot, &format!("{slot}.pdf"), pdf(&format!("{id}-{slot}-{}", self.now()))).await;
        assert_eq!(status, StatusCode::CREATED, "upload into {slot} of {id}: {body}");
        body
    }

    /// Drives a new application of this Harbin institution through acceptance, the site
    /// evaluation and a passing expert review (HRB-EVAL-1/2); returns its id, in `passed`.
    pub async fn harbin_passed(&self, inst_token: &str) -> i64 {
        let agency = self.login("hrb-agency").await;
        let expert = self.login("hrb-expert").await;
        let id = self.submitted(inst_token).await;
        self.cmd(&agency, id, json!({ "command": "accept" })).await;
        self.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await;
        self.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 90 })).await;
        let review = json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙"] });
        self.cmd(&expert, id, review).await;
        id
    }

    /// Drives a new application of this Harbin institution to pre-signing preparation
    /// (HRB-NOTICE ended by the timer); returns its id.
    pub async fn harbin_to_preparation(&self, inst_token: &str) -> i64 {
        let agency = self.login("hrb-agency").await;
        let id = self.harbin_passed(inst_token).await;
        self.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
        self.advance_days(12);
        self.tick().await;
        assert_eq!(self.state_of(id).await, "presign_preparation");
        id
    }

    /// Completes Harbin's pre-signing preparation through the API, the way the parties would:
    /// training, evidence uploads, Annex 1 and 2, verification, the station (HRB-PRE-1…3).
    /// Returns the state after `complete_preparation` ("ready_to_sign").
    pub async fn complete_harbin_preparation(&self, inst_token: &str, id: i64) -> String {
        let agency = self.login("hrb-agency").await;
        let training = json!({ "command": "record_training", "session": "2026 年第 1 期", "attended": true, "passed": true });
        self.cmd(&agency, id, training).await;
        for slot in ["evidence_network_security", "annex1_materials", "evidence_inventory_interface"] {
            self.upload_pdf(inst_token, id, slot).await;
        }
        // HRB-ANNEX1: the signed and sealed form goes with the structured one, where the bound
        // profile asks for it (a text stored before the setting does not).
        let app = self.store().application(id).await.unwrap().unwrap();
        let signed = self.store().profile_for(&app).unwrap().preparation.as_ref().and_then(|p| p.annex1_signed_slot.clone());
        if let Some(slot) = signed {
            self.upload_pdf(inst_token, id, &slot).await;
        }
        let (status, body) = self.upload(inst_token, id, "annex2_package", &self.annex2_name(id).await, annex2_zip()).await;
        assert_eq!(status, StatusCode::CREATED, "annex2 package: {body}");
        self.cmd(inst_token, id, json!({ "command": "file_annex1", "form": self.annex1_form(id).await })).await;
        self.cmd(inst_token, id, json!({ "command": "request_annex2_acceptance" })).await;
        self.cmd(&agency, id, json!({ "command": "review_annex2", "passed": true })).await;
        for item in ["network_security", "dedicated_line", "inventory_interface"] {
            self.cmd(&agency, id, json!({ "command": "verify_checklist_item", "item": item, "note": "核验属实" })).await;
        }
        self.cmd(&agency, id, json!({ "command": "record_station_acceptance", "note": "省平台验收通过" })).await;
        self.cmd(&agency, id, json!({ "command": "complete_preparation" })).await
    }

    /// The institution's Annex 2 package name for today (HRB-ANNEX2).
    pub async fn annex2_name(&self, id: i64) -> String {
        let app = self.store().application(id).await.unwrap().unwrap();
        let today = jiff::tz::offset(8).to_datetime(self.now()).date();
        format!("哈尔滨市处方流转验收材料—{}{}.zip", today.strftime("%Y%m%d"), app.institution_name)
    }

    /// A valid Annex 1 form for the application's institution (HRB-ANNEX1).
    pub async fn annex1_form(&self, id: i64) -> Value {
        let app = self.store().application(id).await.unwrap().unwrap();
        let today = jiff::tz::offset(8).to_datetime(self.now()).date();
        let inst = self.store().institution(app.institution_id).await.unwrap().unwrap();
        let code = inst
            .national_code
            .unwrap_or_else(|| app.data.facts.get("national_code").and_then(|v| v.as_str()).unwrap_or_default().to_owned());
        json!({
            "institution_name": app.institution_name, "national_code": code, "business_address": "哈尔滨市南岗区测试路 1 号",
            "carrier": "telecom", "line_form": "wired", "application_date": today.to_string(), "security_equipment": true,
            "equipment_brand": "某品牌", "equipment_model": "FW-100", "security_rules": true, "legal_representative": "张三",
            "phone": "13800138000",
            "attachments": { "business_licence_copy": true, "security_commitment": true, "security_org_chart": true, "equipment_photos": true },
            "remarks": null
        })
    }

    /// A POST with a text body (a CSV import) and a bearer token.
    pub async fn post_csv(&self, path: &str, token: &str, body: String) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// A GET with a bearer token: (status, body as text), whatever the content type.
    pub async fn get_text(&self, path: &str, token: &str) -> (StatusCode, String) {
        let req =
            Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// URC-EVAL-1: imports a pool of `size` evaluators with ids `{prefix}000…`, the three required
    /// departments in turn, each from its own employer, and gives each an account linked to its
    /// pool entry. Returns the accounts' tokens by pool id.
    pub async fn evaluator_pool(&self, agency: &str, prefix: &str, size: usize) -> std::collections::BTreeMap<String, String> {
        let departments = ["insurance", "health", "market_regulation"];
        let mut csv = String::from("id,name,department,employer,specialty,active,ties\n");
        for i in 0..size {
            csv.push_str(&format!("{prefix}{i:03},评估员{i},{},单位{prefix}-{i},医疗管理,1,\n", departments[i % 3]));
        }
        let (status, body) = self.post_csv("/api/evaluators/import", agency, csv).await;
        assert_eq!(status, StatusCode::CREATED, "pool import: {body}");
        let (_, me) = self.call(Method::GET, "/api/me", Some(agency), None).await;
        let city = me["city"].as_str().expect("the agency's city").to_owned();
        let now = self.now();
        let mut tokens = std::collections::BTreeMap::new();
        for i in 0..size {
            let id = format!("{prefix}{i:03}");
            let username = format!("pool-{}", id.to_lowercase());
            let u = NewUser {
                username: &username,
                display_name: &username,
                password: PASSWORD,
                role: Role::Evaluator,
                city: &city,
                district: None,
                institution_id: None,
            };
            let uid = self.store().ensure_user(u, now).await.expect("evaluator account");
            self.store().link_evaluator(uid, &id).await.expect("link");
            tokens.insert(id, self.login(&username).await);
        }
        tokens
    }

    /// URC-EVAL-1: commits and draws round `round_id` for a visit on `visit_on`; returns the
    /// draw as the agency sees it.
    pub async fn draw(&self, agency: &str, round_id: i64, visit_on: jiff::civil::Date) -> Value {
        let (status, body) = self.call(Method::POST, &format!("/api/rounds/{round_id}/commitment"), Some(agency), None).await;
        assert_eq!(status, StatusCode::CREATED, "commitment: {body}");
        let today = dingdian_core::china_date(self.now());
        let (status, drawn) = self
            .call(
                Method::POST,
                &format!("/api/rounds/{round_id}/draw"),
                Some(agency),
                Some(json!({ "public_value": format!("福彩3D {today}"), "visit_on": visit_on.to_string(), "confirm_rest_day": true })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "draw: {drawn}");
        drawn
    }

    /// URC-EVAL-1: draws the grouping (stage 2) of the round `drawn` (a stage-1 draw response)
    /// as the timer does on its grouping day — the clock is moved there, the timer runs, and
    /// the clock is put back — and returns the stored record (grouped).
    pub async fn grouped(&self, drawn: &Value) -> dingdian_core::draw::DrawRecord {
        let round_id = drawn["round_id"].as_i64().expect("round_id");
        let d = self.store().round_draw(round_id).await.expect("draw").expect("drawn");
        let record = d.record.expect("a record");
        if dingdian_core::draw::is_grouped(&record) {
            return record;
        }
        let back = self.now();
        self.clock.set_date(d.reveal_on.expect("a grouping day"));
        let report = self.tick().await;
        self.clock.set(back);
        assert!(report.grouped.contains(&round_id), "grouping of round {round_id}: {report:?}");
        self.store().round_draw(round_id).await.expect("draw").expect("drawn").record.expect("a record")
    }

    /// The pool ids grouped with application `id`'s institution in a draw (drawing the grouping
    /// first, see `grouped`).
    pub async fn group_of(&self, drawn: &Value, id: i64) -> Vec<String> {
        let record = self.grouped(drawn).await;
        let app = self.store().application(id).await.expect("application").expect("exists");
        let uscc = self.store().institution(app.institution_id).await.expect("institution").expect("exists").uscc;
        dingdian_core::draw::final_groups(&record).remove(&uscc).expect("a group")
    }

    /// URC-EVAL-1: draws round `round_id` (the applications `ids` have joined it) from a fresh
    /// pool with the visit tomorrow (so the grouping is drawn and revealed today, by the timer),
    /// moves the clock to the visit day, and returns for each application the tokens of the
    /// evaluators grouped with it.
    pub async fn draw_for_visit(&self, agency: &str, round_id: i64, ids: &[i64]) -> Vec<Vec<String>> {
        let tokens = self.evaluator_pool(agency, &format!("R{round_id}-"), 3 * ids.len() + 6).await;
        let visit = dingdian_core::china_date(self.now()).tomorrow().expect("tomorrow");
        let drawn = self.draw(agency, round_id, visit).await;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.group_of(&drawn, *id).await.iter().map(|e| tokens[e].clone()).collect());
        }
        self.clock.set_date(visit);
        out
    }

    pub fn now(&self) -> jiff::Timestamp {
        dingdian_store::clock::Clock::now(&*self.clock)
    }

    /// URC-RES-1: the agency files the round's passed list; the administration acknowledges.
    pub async fn file_and_acknowledge(&self, agency: &str, round_id: i64) {
        let (status, body) = self.call(Method::POST, &format!("/api/rounds/{round_id}/filing"), Some(agency), None).await;
        assert_eq!(status, StatusCode::OK, "filing: {body}");
        let admin = self.login("urc-admin").await;
        let (status, body) = self.call(Method::POST, &format!("/api/rounds/{round_id}/filing/acknowledgement"), Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "acknowledgement: {body}");
    }

    pub async fn state_of(&self, id: i64) -> String {
        self.store().application(id).await.expect("read").expect("exists").state.as_str().to_owned()
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.advance_days(days);
    }

    /// Fires due time limits, as the server's ticker does.
    pub async fn tick(&self) -> TickReport {
        self.store().run_due(dingdian_store::clock::Clock::now(&*self.clock)).await.expect("tick")
    }
}

/// Declared facts meeting every condition of both profiles (SPEC §2).
pub fn full_facts(national: &str) -> Value {
    json!({
        "operating_since": "2025-01-01", "beds": 10, "first_registered_physicians": 2, "principal_responsible": true,
        "insurance_administrators": 1, "insurance_department": true, "full_time_insurance_staff": 1,
        "systems": ["insurance", "finance", "statistics", "quality", "inventory", "drug_management", "staff_management", "settlement"],
        "equipment": ["video_surveillance", "biometric", "drug_traceability"],
        "his_connected": true, "national_codes_used": true, "staff_contracts": true, "social_insurance": true, "gsp_zoning": true,
        "national_code": national,
        "pharmacists": [{ "name": "药师甲", "contract_start": "2025-01-01" }],
        "insurance_admin_contracts": [{ "name": "医保员甲", "contract_start": "2025-01-01" }, { "name": "医保员乙", "contract_start": "2025-01-01" }]
    })
}

/// An Urumqi application of `inst` through a round of its own to its public notice
/// (URC-REV-1…URC-RES-2).
pub async fn urc_to_notice(t: &TestApp, inst: &str, branch: &str, agency: &str) -> i64 {
    let expert = t.login("urc-expert").await;
    let id = t.submitted(inst).await;
    t.cmd(branch, id, json!({ "command": "pass_initial_review" })).await;
    t.cmd(branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } })).await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(agency), Some(json!({ "name": "当期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    t.cmd(agency, id, json!({ "command": "join_round", "round_id": round_id })).await;
    for e in &t.draw_for_visit(agency, round_id, &[id]).await[0] {
        t.cmd(e, id, json!({ "command": "record_site_evaluation", "score": 80 })).await;
    }
    t.cmd(inst, id, json!({ "command": "confirm_score_sheet" })).await;
    t.cmd(&expert, id, json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] }))
        .await;
    t.cmd(agency, id, json!({ "command": "decide", "outcome": "pass", "minutes": "集体研究会议纪要", "attendees": ["主任", "副主任"] }))
        .await;
    t.file_and_acknowledge(agency, round_id).await;
    assert_eq!(t.cmd(agency, id, json!({ "command": "publish_notice" })).await, "public_notice");
    id
}
