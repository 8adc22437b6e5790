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
    let boundary = "----complaintboundary";
    let mut body = Vec::new();
    for (name, value) in [("number", number), ("content", "现场无药品追溯设备，附照片"), ("name", ""), ("contact", "")] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
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
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(format!("{ip}:5000").parse::<SocketAddr>().unwrap()));
    let (status, body) = t.send(req).await;
    (status, body.as_str().unwrap_or_default().to_owned())
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
