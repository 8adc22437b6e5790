//! Complaints from the public during a notice (HRB-NOTICE, URC-RES-2): named or anonymous, with
//! a receipt to follow the outcome, throttled per address across instances, the complainant's
//! identity hidden from the institution; a founded complaint means no agreement.

#[macro_use]
mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

async fn complain(t: &TestApp, ip: &str, number: &str, content: &str, name: &str) -> (StatusCode, String) {
    let body = format!("number={number}&content={}&name={}&contact=13800001111", url(content), url(name));
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/complaints")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(format!("{ip}:5000").parse::<SocketAddr>().unwrap()));
    let (status, body) = t.send(req).await;
    (status, body.as_str().unwrap_or_default().to_owned())
}

fn url(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn receipt_of(page: &str) -> String {
    let start = page.find("回执号：<strong>").expect("a receipt") + "回执号：<strong>".len();
    page[start..].split('<').next().unwrap().to_owned()
}

async fn hrb_notice_complaints(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let expert = t.login("hrb-expert").await;
    let id = t.submitted(&hosp).await;
    t.cmd(&agency, id, json!({ "command": "accept" })).await;
    t.cmd(&agency, id, json!({ "command": "schedule_evaluation" })).await;
    t.cmd(&agency, id, json!({ "command": "record_site_evaluation", "score": 80 })).await;
    t.cmd(&expert, id, json!({ "command": "record_expert_review", "recommendation": "pass" })).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    let number = t.store().application(id).await.unwrap().unwrap().number;

    // A named complaint gets a receipt.
    let (status, page) = complain(&t, "203.0.113.1", &number, "该院并无首注医师在岗", "李四").await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let receipt = receipt_of(&page);
    let (status, page) = t.call(Method::GET, &format!("/complaints/{receipt}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("调查中"));

    // A flood from one address is throttled; others still get through.
    let mut throttled = 0;
    for i in 0..1000 {
        let (status, _) = complain(&t, "198.51.100.9", &number, &format!("刷屏 {i}"), "").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert_eq!(throttled, 1000 - dingdian_store::COMPLAINTS_PER_HOUR as usize);
    let (status, _) = complain(&t, "203.0.113.2", &number, "药品追溯设备未安装", "").await;
    assert_eq!(status, StatusCode::CREATED, "a legitimate complaint from another address");
    let (status, page) = complain(&t, "203.0.113.3", &number, " ", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("请填写投诉举报的具体内容"));

    // The institution sees that complaints came in, never who sent them.
    let view = t.get_app(&hosp, id).await;
    let text = view.to_string();
    assert!(text.contains("complaint_recorded"));
    assert!(!text.contains("李四") && !text.contains("13800001111") && !text.contains("首注医师"), "{text}");
    let (status, _) = t.call(Method::GET, &format!("/api/applications/{id}/complaints"), Some(&hosp), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The agency sees everything.
    let (_, list) = t.call(Method::GET, &format!("/api/applications/{id}/complaints"), Some(&agency), None).await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2 + dingdian_store::COMPLAINTS_PER_HOUR as usize);
    assert_eq!(list[0]["name"], "李四");

    // Resolving: unfounded ones stay; the founded one ends the application as not_signed.
    for n in 2..=list.len() {
        t.cmd(&agency, id, json!({ "command": "resolve_complaint", "number": n, "founded": false, "finding": "经查不属实" })).await;
    }
    let founded = json!({ "command": "resolve_complaint", "number": 1, "founded": true, "finding": "经查属实，条件不符（HRB-COND-2）" });
    assert_eq!(t.cmd(&agency, id, founded).await, "not_signed");
    let (_, page) = t.call(Method::GET, &format!("/complaints/{receipt}"), None, None).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("经查属实") && page.contains("条件不符"), "{page}");
    // No complaints once the notice is over.
    let (status, _) = complain(&t, "203.0.113.4", &number, "迟到的投诉", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(hrb_notice_complaints);

/// A complaint with attachments sent as the page's multipart form.
async fn complain_with_files(t: &TestApp, ip: &str, number: &str, files: &[(&str, Vec<u8>)]) -> (StatusCode, String) {
    t.complain(ip, &[("number", number), ("content", "现场无药品追溯设备，附照片"), ("name", ""), ("contact", "")], files).await
}

/// HRB-NOTICE complaints carry evidence: attachments are typed by their bytes and limited; the
/// agency and supervisors download them, the institution cannot; a throttled address stores
/// nothing.
async fn complaint_attachments(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let clinic = t.login("hrb-clinic").await;
    let id2 = t.harbin_passed(&clinic).await;
    t.cmd(&agency, id2, json!({ "command": "publish_notice" })).await;
    let number = t.store().application(id2).await.unwrap().unwrap().number;

    // An executable posing as a photo is refused, and nothing is stored.
    let before = t.files_dir.files_under("files").len();
    let (status, page) = complain_with_files(&t, "192.0.2.10", &number, &[("照片.jpg", b"MZ\x90\0\x03\0\0\0".to_vec())]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{page}");
    assert!(page.contains("不是可接受的类型"));
    assert_eq!(t.files_dir.files_under("files").len(), before);

    let photo = common::pdf("evidence photo");
    let (status, page) = complain_with_files(&t, "192.0.2.11", &number, &[("现场.pdf", photo.clone())]).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let (_, list) = t.call(Method::GET, &format!("/api/applications/{id2}/complaints"), Some(&agency), None).await;
    let file = list[0]["attachments"][0].clone();
    assert_eq!(file["name"], "现场.pdf");
    let sha = file["sha256"].as_str().unwrap();
    let path = format!("/api/applications/{id2}/files/{sha}");
    assert_eq!(t.call(Method::GET, &path, Some(&agency), None).await.0, StatusCode::OK);
    let supervisor = t.login("hrb-supervisor").await;
    assert_eq!(t.call(Method::GET, &path, Some(&supervisor), None).await.0, StatusCode::OK);
    assert_eq!(
        t.call(Method::GET, &path, Some(&clinic), None).await.0,
        StatusCode::NOT_FOUND,
        "the institution never sees complaint evidence"
    );

    // A flood from one address: once throttled, attachments are not even read.
    for _ in 0..dingdian_store::COMPLAINTS_PER_HOUR {
        complain_with_files(&t, "192.0.2.12", &number, &[]).await;
    }
    let stored = t.files_dir.files_under("files").len();
    let (status, _) = complain_with_files(&t, "192.0.2.12", &number, &[("大量.pdf", common::pdf("flood"))]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.files_dir.files_under("files").len(), stored, "a throttled complaint stores nothing");
}
both!(complaint_attachments);

/// `len` bytes that the sniffer types as PDF; the rest depends on `seed` (xorshift).
fn pdf_of_size(len: usize, seed: u64) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An application of `hrb-clinic` in its notice, and its number.
async fn in_notice(t: &TestApp) -> (i64, String) {
    let agency = t.login("hrb-agency").await;
    let clinic = t.login("hrb-clinic").await;
    let id = t.harbin_passed(&clinic).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    (id, t.store().application(id).await.unwrap().unwrap().number)
}

/// HRB-NOTICE / URC-RES-2 attachments as the README promises them: up to 3 files of 10 MB each
/// (PDF, JPEG, PNG). A 1 MB and a 9.9 MB file go through the page form and can be downloaded; an
/// 11 MB file is refused with the size in Chinese and 413, and the server keeps answering.
async fn complaint_attachments_up_to_ten_mb(b: Backend) {
    let t = TestApp::new(b).await;
    let (id, number) = in_notice(&t).await;
    let agency = t.login("hrb-agency").await;
    let text = [("number", number.as_str()), ("content", "现场无药品追溯设备，附照片与说明"), ("name", ""), ("contact", "")];
    let small = pdf_of_size(1024 * 1024, 1);
    let large = pdf_of_size(9_900 * 1024, 2);
    let (status, page) = t.complain("192.0.2.20", &text, &[("说明.pdf", small.clone()), ("照片.pdf", large.clone())]).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let (_, list) = t.call(Method::GET, &format!("/api/applications/{id}/complaints"), Some(&agency), None).await;
    let attachments = list[0]["attachments"].as_array().unwrap().clone();
    assert_eq!(attachments.len(), 2, "{list}");
    for (file, content) in attachments.iter().zip([&small, &large]) {
        assert_eq!(file["size"], content.len() as u64);
        let req = Request::builder()
            .uri(format!("/api/applications/{id}/files/{}", file["sha256"].as_str().unwrap()))
            .header(header::AUTHORIZATION, format!("Bearer {agency}"))
            .body(Body::empty())
            .unwrap();
        let resp = tower::ServiceExt::oneshot(t.router.clone(), req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
        assert!(bytes.as_ref() == content.as_slice(), "the downloaded attachment differs from the uploaded one");
    }

    let too_large = pdf_of_size(11 * 1024 * 1024, 3);
    let (status, page) = t.complain("192.0.2.21", &text, &[("太大.pdf", too_large)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{page}");
    assert!(page.contains("文件超过大小上限 10 MB"), "{page}");
    let (_, list) = t.call(Method::GET, &format!("/api/applications/{id}/complaints"), Some(&agency), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "the refused complaint was not recorded");
    assert_eq!(t.call(Method::GET, "/healthz", None, None).await.0, StatusCode::OK, "the service still answers");
}
both!(complaint_attachments_up_to_ten_mb);

/// A refused complaint leaves nothing stored (HRB-NOTICE): whatever the refusal — no such
/// application in its notice, no content, control characters, a fourth file, a bad file name, the
/// address's hourly limit — its attachments are neither in `files/` nor left in the spool.
async fn refused_complaint_stores_nothing(b: Backend) {
    let t = TestApp::new(b).await;
    let (id, number) = in_notice(&t).await;
    let agency = t.login("hrb-agency").await;
    let stored = || (t.files_dir.files_under("files"), t.files_dir.files_under("spool"));
    let before = stored();
    let evidence = |tag: &str| vec![("证据.pdf", common::pdf(tag))];
    let four: Vec<(&str, Vec<u8>)> = (0..4).map(|i| ("证据.pdf", common::pdf(&format!("four {i}")))).collect();
    let content = "现场无药品追溯设备";
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<(&'a str, Vec<u8>)>, StatusCode);
    let cases: Vec<Case> = vec![
        ("unknown number", vec![("number", "HRB-NOPE-0001"), ("content", content)], evidence("a"), StatusCode::UNPROCESSABLE_ENTITY),
        ("no content", vec![("number", &number), ("content", "  ")], evidence("b"), StatusCode::UNPROCESSABLE_ENTITY),
        ("control character", vec![("number", &number), ("content", "内容\u{1}")], evidence("c"), StatusCode::UNPROCESSABLE_ENTITY),
        ("fourth file", vec![("number", &number), ("content", content)], four, StatusCode::UNPROCESSABLE_ENTITY),
        (
            "bad file name",
            vec![("number", &number), ("content", content)],
            vec![("证据/../a.pdf", common::pdf("d"))],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (i, (case, fields, files, expected)) in cases.into_iter().enumerate() {
        let (status, page) = t.complain(&format!("192.0.2.{}", 30 + i), &fields, &files).await;
        assert_eq!(status, expected, "{case}: {page}");
        assert_eq!(stored(), before, "{case}: a refused complaint left files behind");
    }
    // The address's hourly limit: the attachment is not even read.
    for _ in 0..dingdian_store::COMPLAINTS_PER_HOUR {
        t.complain("192.0.2.40", &[("number", "HRB-NOPE-0001"), ("content", content)], &[]).await;
    }
    let (status, _) = t.complain("192.0.2.40", &[("number", &number), ("content", content)], &evidence("e")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stored(), before, "throttled: a refused complaint left files behind");
    let (_, list) = t.call(Method::GET, &format!("/api/applications/{id}/complaints"), Some(&agency), None).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");

    // An accepted one stores its file, and only it.
    let (status, page) = t.complain("192.0.2.41", &[("number", &number), ("content", content)], &evidence("kept")).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let (files, spool) = stored();
    assert_eq!((files.len(), spool.len()), (before.0.len() + 1, before.1.len()));
}
both!(refused_complaint_stores_nothing);
