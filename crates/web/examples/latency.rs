//! Latency of the workbench queue page and of an application page with 100,000 applications in
//! the database, under 50 concurrent clients (issue #8). Run by hand, in release mode:
//!
//! ```sh
//! cargo run --release -p dingdian-web --example latency -- sqlite
//! cargo run --release -p dingdian-web --example latency -- postgres   # DINGDIAN_TEST_PG, default postgres://postgres@127.0.0.1:5432/test
//! cargo run --release -p dingdian-web --example latency -- both --apps 100000 --clients 50 --secs 20
//! ```
//!
//! `--keep` leaves the seeded database in place (its URL is printed), e.g. to look at query plans.
//!
//! For each database: a fresh database (a SQLite file in a temporary directory, or a new
//! PostgreSQL database that is dropped afterwards), the shipped profiles, 25,000 institutions and
//! `--apps` applications with their state-change events, seeded with plain SQL in batches (the
//! point is to measure reads). Then the real router is served on a local port, an agency user
//! signs in through `POST /api/session`, and `--clients` concurrent clients, each on its own
//! keep-alive HTTP/1.1 connection, request for `--secs` seconds: first only the workbench
//! (rotating through the default queue, state tabs, a district filter and a deep page), then
//! only application pages (a random Harbin application each time), then both mixed. Latency is
//! measured by the client from sending the request to the last byte of the body.
//!
//! Client and server run in this one process on one tokio runtime, so they share the machine's
//! cores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{AppState as Data, Role, State};
use dingdian_core::policy::Profile;
use dingdian_store::clock::{Clock, ManualClock};
use dingdian_store::testing::{Backend, TestDb};
use dingdian_store::{NewUser, Store};
use dingdian_web::{App, AppState};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use jiff::civil::{Date, date};

const PASSWORD: &str = "latency-password";

/// Percent-encodes a query value (UTF-8).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
/// "Today" of the benchmark (a Monday with calendar data around it).
const TODAY: Date = date(2026, 6, 15);

struct Args {
    backends: Vec<Backend>,
    apps: usize,
    clients: usize,
    secs: u64,
    /// Keep the seeded database (print its URL) instead of dropping it, e.g. to look at plans.
    keep: bool,
}

fn args() -> Args {
    let mut a = Args { backends: vec![Backend::Sqlite], apps: 100_000, clients: 50, secs: 20, keep: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |name: &str| it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{name} needs a number"));
        match arg.as_str() {
            "sqlite" => a.backends = vec![Backend::Sqlite],
            "postgres" => a.backends = vec![Backend::Postgres],
            "both" => a.backends = vec![Backend::Sqlite, Backend::Postgres],
            "--apps" => a.apps = num("--apps") as usize,
            "--clients" => a.clients = num("--clients") as usize,
            "--secs" => a.secs = num("--secs"),
            "--keep" => a.keep = true,
            other => panic!("unknown argument {other}; usage: latency [sqlite|postgres|both] [--apps N] [--clients N] [--secs N] [--keep]"),
        }
    }
    a
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!(
        "machine: {} cores (client and server share them), {} applications, {} clients, {} s per phase",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        a.apps,
        a.clients,
        a.secs
    );
    for backend in &a.backends {
        rt.block_on(run(*backend, &a));
    }
}

/// A tiny deterministic random number generator (xorshift64*), so runs seed the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

macro_rules! with_db {
    ($db:expr, $p:ident => $body:expr) => {
        match $db {
            Db::Sqlite($p) => $body,
            Db::Pg($p) => $body,
        }
    };
}

/// A bound value.
enum V {
    T(String),
    N,
    I(i64),
}

/// Inserts rows in one multi-row statement.
async fn insert(db: &Db, table: &str, columns: &[&str], rows: &[Vec<V>]) {
    let mut sql = format!("insert into {table} ({}) values ", columns.join(", "));
    let mut n = 0;
    for (i, _) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let marks: Vec<String> = columns
            .iter()
            .map(|_| {
                n += 1;
                format!("${n}")
            })
            .collect();
        sql.push_str(&format!("({})", marks.join(", ")));
    }
    with_db!(db, p => {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for row in rows {
            for v in row {
                q = match v {
                    V::T(s) => q.bind(s.clone()),
                    V::N => q.bind(None::<String>),
                    V::I(i) => q.bind(*i),
                };
            }
        }
        q.execute(p).await.expect("insert batch");
    });
}

async fn exec(db: &Db, sql: &str) {
    with_db!(db, p => { sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.expect(sql); });
}

const HRB_DISTRICTS: &[&str] = &["230102", "230103", "230104", "230108", "230109", "230110", "230111", "230112", "230113"];
const URC_DISTRICTS: &[&str] = &["650102", "650103", "650104", "650105", "650106", "650107", "650109"];
const HRB_OPEN: &[State] = &[
    State::Submitted,
    State::AwaitingSupplement,
    State::Accepted,
    State::OnSiteEvaluation,
    State::ExpertReview,
    State::FailedRectifying,
    State::PublicNotice,
    State::PresignPreparation,
    State::ReadyToSign,
];
const URC_OPEN: &[State] = &[
    State::Submitted,
    State::InitialReview,
    State::InfoVerification,
    State::EvaluatorDraw,
    State::OnSiteEvaluation,
    State::ExpertReview,
    State::CollectiveDecision,
    State::FailedRectifying,
    State::PublicNotice,
    State::ReadyToSign,
];
const TERMINAL: &[State] = &[
    State::Signed,
    State::Signed,
    State::Signed,
    State::Signed,
    State::Signed,
    State::Withdrawn,
    State::Rejected,
    State::GivenUp,
    State::FailedFinal,
    State::NotSigned,
];

fn ts(d: Date, minute: u64) -> String {
    format!("{d}T{:02}:{:02}:00Z", (minute / 60) % 10, minute % 60)
}

/// Seeds 4 applications per institution (one in progress, three finished), 80 % in Harbin.
async fn seed(url: &str, apps: usize, hrb_version: &str, urc_version: &str) -> Vec<i64> {
    let db = if url.starts_with("postgres") {
        Db::Pg(sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(url).await.expect("pg"))
    } else {
        Db::Sqlite(sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&format!("sqlite://{url}")).await.expect("sqlite"))
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let institutions = apps.div_ceil(4);
    let started = Instant::now();
    let mut inst_rows = Vec::new();
    let mut meta = Vec::new();
    for i in 0..institutions {
        let harbin = i * 5 < institutions * 4;
        let district = *rng.pick(if harbin { HRB_DISTRICTS } else { URC_DISTRICTS });
        let kind = if harbin || rng.below(2) == 0 { "medical" } else { "pharmacy" };
        let uscc = Uscc::with_check(&format!("91{district}MA{i:07}")).expect("uscc");
        inst_rows.push(vec![
            V::T(uscc.as_str().to_owned()),
            V::T(format!(
                "{}第{}号{}",
                if harbin { "哈尔滨" } else { "乌鲁木齐" },
                i + 1,
                if kind == "pharmacy" { "药店" } else { "诊所" }
            )),
            V::T(kind.into()),
            V::T(if kind == "pharmacy" { "零售药店" } else { "诊所" }.into()),
            V::T(if harbin { "harbin" } else { "urumqi" }.into()),
            V::T(district.into()),
            V::N,
            V::T("测试地址".into()),
            V::I(10),
            V::T(ts(date(2025, 1, 1), 0)),
            V::T(ts(date(2025, 1, 1), 0)),
        ]);
        meta.push((harbin, district, kind));
    }
    let cols = ["uscc", "name", "kind", "category", "city", "district", "national_code", "address", "beds", "created_at", "updated_at"];
    for chunk in inst_rows.chunks(1000) {
        insert(&db, "institutions", &cols, chunk).await;
    }
    let first_inst: i64 = with_db!(&db, p => sqlx::query_scalar::<_, i64>("select min(id) from institutions").fetch_one(p).await.unwrap());

    let mut rows = Vec::new();
    let start = date(2025, 1, 6);
    let span = i64::from((TODAY - start).get_days());
    for n in 0..apps {
        let inst = n / 4;
        let (harbin, district, kind) = meta[inst];
        let open = n % 4 == 3;
        let state = if open { *rng.pick(if harbin { HRB_OPEN } else { URC_OPEN }) } else { *rng.pick(TERMINAL) };
        let state = if !harbin && state == State::NotSigned { State::Terminated } else { state };
        // Open applications moved in the last 60 days (dated ones in the last week); finished
        // ones any time since January 2025.
        let dated = matches!(state, State::AwaitingSupplement | State::PublicNotice | State::ReadyToSign);
        let updated = if dated {
            TODAY - jiff::Span::new().days(rng.below(7) as i64)
        } else if open {
            TODAY - jiff::Span::new().days(rng.below(60) as i64)
        } else {
            start + jiff::Span::new().days(rng.below(span as u64) as i64)
        };
        let submitted = updated - jiff::Span::new().days(rng.below(40) as i64 + 1);
        let (due_on, due_action) = match state {
            State::AwaitingSupplement => (Some(updated + jiff::Span::new().days(7)), Some("deem_withdrawn")),
            State::PublicNotice => (Some(updated + jiff::Span::new().days(if harbin { 7 } else { 10 })), Some("end_notice")),
            State::ReadyToSign => (Some(updated + jiff::Span::new().days(14)), Some("deem_given_up")),
            _ => (None, None),
        };
        let data = Data { state, entered_on: Some(updated), submitted_on: Some(submitted), ..Data::default() };
        let (profile, version, division) = if harbin { ("harbin", hrb_version, "230100") } else { ("urumqi", urc_version, "650100") };
        rows.push(vec![
            V::T(format!("{division}-{}-{:06}", submitted.year(), n + 1)),
            V::I(first_inst + inst as i64),
            V::T(profile.into()),
            V::T(district.into()),
            V::T(kind.into()),
            V::T(profile.into()),
            V::T(version.into()),
            V::T(state.as_str().into()),
            V::I(2),
            V::T(serde_json::to_string(&data).expect("data")),
            due_on.map(|d| V::T(d.to_string())).unwrap_or(V::N),
            due_on.map(|d| V::T(d.to_string())).unwrap_or(V::N),
            due_action.map(|a| V::T(a.into())).unwrap_or(V::N),
            V::T(ts(submitted, n as u64 % 600)),
            V::T(ts(updated, n as u64 % 600)),
            V::T(format!("Q{n:011}")),
        ]);
        if rows.len() == 1000 || n + 1 == apps {
            let cols = [
                "number",
                "institution_id",
                "city",
                "district",
                "kind",
                "profile_id",
                "profile_version",
                "state",
                "version",
                "data",
                "due_on",
                "sort_due_on",
                "due_action",
                "created_at",
                "updated_at",
                "query_code",
            ];
            insert(&db, "applications", &cols, &rows).await;
            rows.clear();
        }
    }
    // Two state changes per application: submitted on its submission day, then into its
    // current state on the day it was last updated.
    for (city, version) in [("harbin", hrb_version), ("urumqi", urc_version)] {
        let submitted =
            format!(r#"{{"type":"submitted","profile_id":"{city}","profile_version":"{version}","unmet":[],"missing_materials":[]}}"#);
        exec(
            &db,
            &format!(
                "insert into events (application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
                   occurred_at, occurred_on, created_at)
                 select id, 1, 'submitted', '{submitted}', 'draft', 'submitted', 0, 'institution', created_at, substr(created_at, 1, 10), created_at
                 from applications where city = '{city}'"
            ),
        )
        .await;
    }
    exec(
        &db,
        r#"insert into events (application_id, seq, kind, payload, from_state, to_state, actor_user_id, actor_role,
             occurred_at, occurred_on, created_at)
           select id, 2, 'accepted', '{"type":"accepted"}', 'submitted', state, 0, 'agency', updated_at, substr(updated_at, 1, 10), updated_at
           from applications where state <> 'submitted'"#,
    )
    .await;
    match &db {
        Db::Sqlite(_) => exec(&db, "analyze").await,
        Db::Pg(_) => exec(&db, "vacuum analyze").await,
    }
    let ids: Vec<i64> = with_db!(&db, p => sqlx::query_scalar::<_, i64>("select id from applications where city = 'harbin' order by id").fetch_all(p).await.unwrap());
    let events: i64 = with_db!(&db, p => sqlx::query_scalar::<_, i64>("select count(*) from events").fetch_one(p).await.unwrap());
    println!("  seeded {institutions} institutions, {apps} applications, {events} events in {:.1} s", started.elapsed().as_secs_f64());
    with_db!(&db, p => p.close().await);
    ids
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// Sends one request and reads the whole body; returns (status, body, latency).
async fn send(sender: &mut Sender, method: &str, path: &str, token: Option<&str>, body: Option<String>) -> (u16, Bytes, Duration) {
    let mut req = hyper::Request::builder().method(method).uri(path).header("host", "127.0.0.1");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).expect("request");
    sender.ready().await.expect("connection ready");
    let t0 = Instant::now();
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, bytes, t0.elapsed())
}

#[derive(Clone, Copy, PartialEq)]
enum Mix {
    Workbench,
    Application,
    Both,
}

const WORKBENCH_PATHS: &[&str] = &[
    "/workbench",
    "/workbench?state=submitted",
    "/workbench?state=awaiting_supplement",
    "/workbench?state=open&district=230104",
    "/workbench?state=expert_review&kind=medical",
    "/workbench?state=open&page=40",
];

struct Sample {
    workbench: Vec<Duration>,
    application: Vec<Duration>,
    errors: usize,
}

async fn phase(addr: SocketAddr, token: Arc<String>, ids: Arc<Vec<i64>>, clients: usize, secs: u64, mix: Mix) -> (Sample, Duration) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (token, ids) = (token.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9));
            let mut sender = connect(addr).await;
            let mut s = Sample { workbench: Vec::new(), application: Vec::new(), errors: 0 };
            let mut i = c;
            while Instant::now() < deadline {
                let workbench = match mix {
                    Mix::Workbench => true,
                    Mix::Application => false,
                    Mix::Both => i % 2 == 0,
                };
                let path = if workbench {
                    WORKBENCH_PATHS[(i / 2) % WORKBENCH_PATHS.len()].to_owned()
                } else {
                    format!("/applications/{}", rng.pick(&ids))
                };
                let (status, body, took) = send(&mut sender, "GET", &path, Some(&token), None).await;
                if status != 200 || body.len() < 500 {
                    s.errors += 1;
                    if s.errors == 1 {
                        eprintln!("  {path}: {status} {}", String::from_utf8_lossy(&body).chars().take(300).collect::<String>());
                    }
                } else if workbench {
                    s.workbench.push(took);
                } else {
                    s.application.push(took);
                }
                i += 1;
            }
            s
        }));
    }
    let mut all = Sample { workbench: Vec::new(), application: Vec::new(), errors: 0 };
    for t in tasks {
        let s = t.await.expect("client");
        all.workbench.extend(s.workbench);
        all.application.extend(s.application);
        all.errors += s.errors;
    }
    (all, started.elapsed())
}

fn report(name: &str, mut v: Vec<Duration>, wall: Duration) {
    if v.is_empty() {
        return;
    }
    v.sort();
    let q = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1].as_secs_f64() * 1000.0;
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64 * 1000.0;
    println!(
        "  {name:<22} n={:>7}  p50={:>7.1} ms  p95={:>7.1} ms  p99={:>7.1} ms  mean={:>7.1} ms  max={:>7.1} ms  {:>7.1} req/s",
        v.len(),
        q(0.50),
        q(0.95),
        q(0.99),
        mean,
        v[v.len() - 1].as_secs_f64() * 1000.0,
        v.len() as f64 / wall.as_secs_f64()
    );
}

async fn run(backend: Backend, a: &Args) {
    println!("== {backend:?}");
    let db = TestDb::new(backend).await.expect("database (is PostgreSQL running?)");
    let store = db.open().await.expect("open store");
    let clock = Arc::new(ManualClock::on(TODAY));
    let now = clock.now();
    let mut versions = Vec::new();
    for p in Profile::shipped() {
        versions.push((p.id.clone(), p.version.clone()));
        store.register_profile(p, now).await.expect("profile");
    }
    let version = |id: &str| versions.iter().find(|(i, _)| i == id).map(|(_, v)| v.clone()).expect("shipped profile");
    let user = NewUser {
        username: "bench-agency",
        display_name: "经办人员",
        password: PASSWORD,
        role: Role::Agency,
        city: "harbin",
        district: None,
        institution_id: None,
    };
    store.ensure_user(user, now).await.expect("user");
    let ids = Arc::new(seed(&db.url, a.apps, &version("harbin"), &version("urumqi")).await);
    // Reopen, so the store starts with the seeded data as any restarted server would.
    store.close().await;
    let store: Store = db.open().await.expect("reopen store");
    let files_dir = std::env::temp_dir().join(format!("dingdian_latency_{}", std::process::id()));
    let files = dingdian_store::files::FileStore::open(&dingdian_store::files::Backend::Local(files_dir.join("files")), &files_dir)
        .expect("file store");
    let state = AppState(Arc::new(App {
        store,
        clock: clock.clone(),
        demo_accounts: Vec::new(),
        files,
        net: Default::default(),
        metrics: Default::default(),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = dingdian_web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut c = connect(addr).await;
    let login = serde_json::json!({ "username": "bench-agency", "password": PASSWORD }).to_string();
    let (status, body, _) = send(&mut c, "POST", "/api/session", None, Some(login)).await;
    assert_eq!(status, 201, "login: {}", String::from_utf8_lossy(&body));
    let token: serde_json::Value = serde_json::from_slice(&body).expect("login json");
    let token = Arc::new(token["token"].as_str().expect("token").to_owned());

    // Single requests (no concurrency): what one person waits for.
    let mut singles: Vec<String> = WORKBENCH_PATHS
        .iter()
        .copied()
        .chain(["/stats", "/workbench/export.csv?state=open", "/workbench/export.xlsx?state=open"])
        .map(str::to_owned)
        .collect();
    // The search box (issue #16 item 9) over every application of the city (`state=all`): a
    // Harbin application's number (with and without hyphens) and its institution's USCC, a
    // national code (none registered: every row's data is looked at), and name fragments that
    // match nothing, one institution, about 11,000 institutions, and the whole city.
    let sample = state.store.application(ids[ids.len() / 3]).await.expect("read").expect("an application");
    let uscc = state.store.institution(sample.institution_id).await.expect("read").expect("its institution").uscc;
    for q in [
        sample.number.clone(),
        sample.number.replace('-', ""),
        uscc.to_string(),
        "H23010200001".to_owned(),
        "康宁".to_owned(),
        sample.institution_name.clone(),
        "哈尔滨第1".to_owned(),
        "哈尔滨".to_owned(),
    ] {
        singles.push(format!("/workbench?state=all&q={}", percent(&q)));
    }
    singles.push(format!("/workbench/export.csv?state=all&q={}", percent("哈尔滨第1")));
    for path in &singles {
        let path = path.as_str();
        let (status, body, _) = send(&mut c, "GET", path, Some(&token), None).await;
        assert_eq!(status, 200, "{path}");
        let mut took = Vec::new();
        for _ in 0..3 {
            took.push(send(&mut c, "GET", path, Some(&token), None).await.2);
        }
        took.sort();
        println!("  single {path:<36} {:>8.1} ms (median of 3, {} bytes)", took[1].as_secs_f64() * 1000.0, body.len());
    }

    // Warm-up, then the measured phases.
    phase(addr, token.clone(), ids.clone(), a.clients, 2, Mix::Both).await;
    for (mix, name) in [(Mix::Workbench, "workbench only"), (Mix::Application, "application page only"), (Mix::Both, "mixed 50/50")] {
        let (s, wall) = phase(addr, token.clone(), ids.clone(), a.clients, a.secs, mix).await;
        println!("  -- {name} ({} clients, {:.1} s, {} errors)", a.clients, wall.as_secs_f64(), s.errors);
        report("GET /workbench", s.workbench, wall);
        report("GET /applications/{id}", s.application, wall);
    }
    server.abort();
    state.store.close().await;
    let _ = std::fs::remove_dir_all(files_dir);
    if a.keep {
        println!("  kept the database: {}", db.url);
        std::mem::forget(db);
    }
}
