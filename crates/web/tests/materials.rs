//! Materials: uploads, downloads, the supplement notice's reopened slots, the Annex 2 package
//! (HRB-MAT, HRB-ACC-1/2, G-ONE-NOTICE, G-NOTHING-LOST, HRB-ANNEX2).

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, pdf};
use dingdian_store::testing::Backend;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// What must not change when an upload is refused: blobs on disk, spool files, the version.
async fn snapshot(t: &TestApp, id: i64) -> (usize, usize, i64) {
    let version = t.store().application(id).await.unwrap().unwrap().version;
    (t.files_dir.files_under("files").len(), t.files_dir.files_under("spool").len(), version)
}

async fn draft(t: &TestApp, token: &str) -> i64 {
    let (status, body) = t.call(Method::POST, "/api/applications", Some(token), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn get_raw(t: &TestApp, path: &str, token: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::builder().uri(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

/// HRB-MAT, G-NOTHING-LOST: an upload is stored under its digest, recorded, listed and
/// downloadable with its Chinese name; identical files are stored once; other institutions and
/// other cities cannot read it.
async fn upload_list_download_dedupe(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = draft(&t, &hosp).await;
    let bytes = pdf("许可证正本");
    let (status, body) = t.upload(&hosp, id, "licence", "执业许可证（正本）.pdf", bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let file = &body["application"]["data"]["materials"]["licence"][0];
    assert_eq!(file["name"], "执业许可证（正本）.pdf");
    assert_eq!(file["file_type"], "pdf");
    assert_eq!(file["size"], bytes.len());
    let sha = file["sha256"].as_str().unwrap().to_owned();
    assert_eq!(body["events"][0]["kind"], "material_attached");

    // The file is on disk under our name, not the user's.
    let stored = t.files_dir.files_under("files");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].ends_with(format!("{}/{sha}", &sha[..2])), "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), bytes);
    assert!(t.files_dir.files_under("spool").is_empty(), "the spool file became the stored file");

    // Listed per slot.
    let (status, slots) = t.call(Method::GET, &format!("/api/applications/{id}/materials"), Some(&hosp), None).await;
    assert_eq!(status, StatusCode::OK);
    let licence = slots.as_array().unwrap().iter().find(|s| s["id"] == "licence").unwrap();
    assert_eq!((licence["open"].as_bool(), licence["files"].as_array().unwrap().len()), (Some(true), 1));
    assert_eq!(slots.as_array().unwrap().len(), 8, "HRB-MAT: eight slots before preparation");

    // Downloaded with type and an RFC 5987 name.
    let (status, headers, got) = get_raw(&t, &format!("/api/applications/{id}/files/{sha}"), &hosp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    let cd = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(cd.starts_with("attachment; filename=\"") && cd.contains("filename*=UTF-8''%E6%89%A7%E4%B8%9A"), "{cd}");

    // Identical bytes in another slot: recorded twice, stored once.
    let (status, body) = t.upload(&hosp, id, "legal_entity", "副本.pdf", bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(t.files_dir.files_under("files").len(), 1);

    // The agency of the city reads it; another institution and another city do not.
    let agency = t.login("hrb-agency").await;
    assert_eq!(get_raw(&t, &format!("/api/applications/{id}/files/{sha}"), &agency).await.0, StatusCode::OK);
    for other in ["hrb-clinic", "urc-agency"] {
        let token = t.login(other).await;
        let (status, _, body) = get_raw(&t, &format!("/api/applications/{id}/files/{sha}"), &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}: {}", String::from_utf8_lossy(&body));
    }
    // A digest that is not this application's is simply not found.
    let (status, _, _) = get_raw(&t, &format!("/api/applications/{id}/files/{}", "ab".repeat(32)), &hosp).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nobody sends attach_material through the command API (it would name any stored digest).
    let (status, body) = t
        .try_cmd(&hosp, id, json!({ "command": "attach_material", "slot": "licence", "file": { "sha256": sha, "size": 1, "file_type": "pdf", "name": "x" } }))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_command")), "{body}");
}
both!(upload_list_download_dedupe);

/// Bad uploads are refused with a clear error and change nothing: not on disk, not in the
/// database (HRB-MAT limits, G-NOTHING-LOST).
async fn bad_uploads_change_nothing(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = draft(&t, &hosp).await;
    t.upload_pdf(&hosp, id, "forecast_report").await;
    let before = snapshot(&t, id).await;

    let mut oversize = pdf("big");
    oversize.resize(10 * 1024 * 1024 + 1, b' '); // integrity_letter takes 10 MB
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(4096, 0);
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        ("integrity_letter", "承诺书.pdf", oversize, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
        ("licence", "许可证.pdf", elf, StatusCode::UNSUPPORTED_MEDIA_TYPE, "file_type_not_accepted"),
        ("licence", "空文件.pdf", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "file_empty"),
        ("licence", "../../x", pdf("traversal"), StatusCode::UNPROCESSABLE_ENTITY, "file_name_invalid"),
        ("licence", "..\\..\\x.pdf", pdf("traversal2"), StatusCode::UNPROCESSABLE_ENTITY, "file_name_invalid"),
        // A PNG where only PDF is accepted (HRB-MAT item 6 takes PDF).
        (
            "self_evaluation",
            "表.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "file_type_not_accepted",
        ),
        ("no_such_slot", "x.pdf", pdf("x"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
    ];
    for (slot, name, bytes, status, code) in cases {
        let (got, body) = t.upload(&hosp, id, slot, name, bytes).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{slot} {name}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "a Chinese message: {message}");
        assert_eq!(snapshot(&t, id).await, before, "{name}: nothing stored");
    }
    // The same bytes twice in one slot is refused too, and stores nothing new.
    let body = t.upload_pdf(&hosp, id, "licence").await;
    let sha = body["application"]["data"]["materials"]["licence"][0]["sha256"].as_str().unwrap().to_owned();
    let stored = t.files_dir.files_under("files").len();
    let again = std::fs::read(t.files_dir.files_under("files").into_iter().find(|p| p.ends_with(&sha)).unwrap()).unwrap();
    let (status, body) = t.upload(&hosp, id, "licence", "again.pdf", again).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    assert_eq!(t.files_dir.files_under("files").len(), stored);
}
both!(bad_uploads_change_nothing);

/// HRB-ACC-1/2, G-ONE-NOTICE: once submitted, materials are closed; the one supplement notice
/// reopens exactly the slots it names; supplementing needs a new file in each; earlier versions
/// are kept; a second notice in the round is refused.
async fn supplement_reopens_only_named_slots(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let (_, body) = t.call(Method::POST, "/api/applications", Some(&hosp), None).await;
    let id = body["id"].as_i64().unwrap();
    let first = t.upload_pdf(&hosp, id, "licence").await["application"]["data"]["materials"]["licence"][0]["sha256"].clone();
    t.cmd(&hosp, id, json!({ "command": "update_draft", "facts": common::full_facts("H23010200001") })).await;
    let view = t.get_app(&agency, id).await;
    assert_eq!(view["application"]["state"], "draft");
    t.cmd(&hosp, id, json!({ "command": "submit" })).await;
    let data = &t.get_app(&agency, id).await["application"]["data"];
    assert_eq!(data["missing_materials"].as_array().unwrap().len(), 7, "HRB-MAT: seven slots empty at submission are listed");

    // Submitted: nothing can be changed.
    let (status, body) = t.upload(&hosp, id, "licence", "新.pdf", pdf("late")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_allowed_in_state")), "{body}");

    let notice = json!({ "command": "issue_supplement_notice", "items": [
        { "slot": "licence", "problem": "defective", "reason": "副本不清晰" },
        { "slot": "integrity_letter", "problem": "missing", "reason": "未上传诚信承诺书" }
    ]});
    assert_eq!(t.cmd(&agency, id, notice.clone()).await, "awaiting_supplement");

    // The institution sees exactly what to fix.
    let (_, slots) = t.call(Method::GET, &format!("/api/applications/{id}/materials"), Some(&hosp), None).await;
    let open: Vec<&str> = slots.as_array().unwrap().iter().filter(|s| s["open"] == true).map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(open, vec!["licence", "integrity_letter"]);
    let licence = slots.as_array().unwrap().iter().find(|s| s["id"] == "licence").unwrap();
    assert_eq!((licence["problem"].as_str(), licence["reason"].as_str()), (Some("defective"), Some("副本不清晰")));

    // A slot not named stays closed.
    let (status, body) = t.upload(&hosp, id, "legal_entity", "执照.pdf", pdf("x")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("slot_closed")), "{body}");
    // Supplementing before every named slot has a new file is refused, naming what is left.
    t.upload_pdf(&hosp, id, "integrity_letter").await;
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "supplement" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("supplement_incomplete")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("执业许可证"), "{body}");

    // Replace the defective file: remove the old one, upload the new; the old version is kept.
    let (status, body) = t.try_cmd(&hosp, id, json!({ "command": "remove_material", "slot": "licence", "sha256": first })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    t.upload_pdf(&hosp, id, "licence").await;
    assert_eq!(t.cmd(&hosp, id, json!({ "command": "supplement" })).await, "submitted");
    let (_, slots) = t.call(Method::GET, &format!("/api/applications/{id}/materials"), Some(&agency), None).await;
    let licence = slots.as_array().unwrap().iter().find(|s| s["id"] == "licence").unwrap();
    assert_eq!(licence["files"].as_array().unwrap().len(), 1);
    let history: Vec<&Value> = licence["history"].as_array().unwrap().iter().collect();
    assert_eq!(history.len(), 2, "both versions kept: {licence}");
    assert_eq!(history[0][0]["sha256"], first);
    // The old version is still downloadable by the agency.
    assert_eq!(get_raw(&t, &format!("/api/applications/{id}/files/{}", first.as_str().unwrap()), &agency).await.0, StatusCode::OK);
    // G-ONE-NOTICE: back in review, a second notice in this round is refused.
    let (status, body) = t.try_cmd(&agency, id, notice).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("second_supplement_notice")), "{body}");
    // Closed again after supplementing.
    let (status, _) = t.upload(&hosp, id, "integrity_letter", "再次.pdf", pdf("again")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
both!(supplement_reopens_only_named_slots);

/// Sends the integrity letter's page form (multipart/form-data, as a browser does) with `file`.
async fn page_upload(t: &TestApp, token: &str, id: i64, file: &[u8]) -> axum::response::Response {
    let boundary = "----dingdianboundary";
    let mut body = Vec::new();
    write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"诚信承诺书.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").unwrap();
    body.extend_from_slice(file);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/applications/{id}/materials/integrity_letter"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    t.router.clone().oneshot(req).await.unwrap()
}

/// The page form uploads with multipart/form-data (no JavaScript needed).
async fn page_form_uploads(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = draft(&t, &hosp).await;
    let resp = page_upload(&t, &hosp, id, &pdf("form")).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let app = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(app.data.materials["integrity_letter"][0].name, "诚信承诺书.pdf");
}
both!(page_form_uploads);

/// Issue #16 item 1: a refused upload from the page says so at the slot's own row (not only at
/// the top of the page), and the error summary links there.
async fn page_form_upload_refusal_is_shown_at_its_slot(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = draft(&t, &hosp).await;
    let resp = page_upload(&t, &hosp, id, b"\x7fELF\x02\x01\x01\0not a pdf at all").await;
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let page = String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap().to_vec()).unwrap();
    assert!(page.contains("id=\"error-summary\""), "the error summary: {page}");
    let row = page.split("id=\"slot-integrity_letter\"").nth(1).and_then(|r| r.split("</tr>").next()).expect("the slot's row");
    assert!(row.contains("class=\"field-message\""), "the refusal is at the slot's row: {row}");
    let app = t.store().application(id).await.unwrap().unwrap();
    assert!(app.data.materials.get("integrity_letter").is_none_or(|m| m.is_empty()), "nothing stored");
}
both!(page_form_upload_refusal_is_shown_at_its_slot);

// ---------------------------------------------------------------------------------------------
// HRB-ANNEX2: the acceptance package.

fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    v.resize(64 * 1024, 7);
    v
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn annex2_package_is_checked_before_it_is_stored(b: Backend) {
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = t.harbin_to_preparation(&hosp).await;
    let today = jiff::tz::offset(8).to_datetime(t.now()).date();
    let good_name = format!("哈尔滨市处方流转验收材料—{}hrb-hospital.zip", today.strftime("%Y年%-m月%-d日"));
    let good = zip_of(&[("录屏.mp4", mp4()), ("验收单.pdf", pdf("stamped"))]);
    let before = snapshot(&t, id).await;

    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("验收单.pdf", opts).unwrap();
        w.write_all(&pdf("x")).unwrap();
        w.start_file("录屏.mp4", opts).unwrap();
        w.write_all(&mp4()).unwrap();
        w.start_file("zeros.bin", opts).unwrap();
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        ("验收材料.zip".into(), good.clone(), "package_name"),
        (good_name.replace("hrb-hospital", "别家医院"), good.clone(), "package_name_institution"),
        (good_name.clone(), zip_of(&[("../录屏.mp4", mp4()), ("验收单.pdf", pdf("s"))]), "unsafe_path"),
        (good_name.clone(), bomb, "zip_bomb"),
        (good_name.clone(), zip_of(&[("验收单.pdf", pdf("s"))]), "no_video"),
        (good_name.clone(), zip_of(&[("录屏.mp4", mp4())]), "no_form"),
    ];
    for (name, bytes, code) in cases {
        let (status, body) = t.upload(&hosp, id, "annex2_package", &name, bytes).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{name}: {body}");
        assert_eq!(snapshot(&t, id).await, before, "{name}: nothing stored");
    }
    // A PDF is not a package.
    let (status, body) = t.upload(&hosp, id, "annex2_package", &good_name, pdf("not a zip")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("file_type_not_accepted")), "{body}");

    let (status, body) = t.upload(&hosp, id, "annex2_package", &good_name, good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Application materials are closed during preparation.
    let (status, body) = t.upload(&hosp, id, "licence", "x.pdf", pdf("late")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("slot_closed")), "{body}");
}
both!(annex2_package_is_checked_before_it_is_stored);

/// A request body of `prefix` then `total` bytes of a ZIP-looking file, produced 8 KiB at a time
/// as it is pulled (never held whole), then `suffix`; the counter says how many bytes the server
/// pulled. Like a network connection, the body is not always ready: each chunk is pending once
/// (a parser that reads until the source is pending would otherwise swallow the whole stream).
fn counted_body(prefix: Vec<u8>, total: usize, suffix: Vec<u8>) -> (Body, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use futures_util::StreamExt;
    use std::sync::atomic::Ordering;
    const CHUNK: usize = 8 * 1024;
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pulled.clone();
    let mut chunks = vec![axum::body::Bytes::from(prefix)];
    let mut head = b"PK\x03\x04".to_vec();
    head.resize(CHUNK, 0);
    chunks.push(axum::body::Bytes::from(head));
    let filler = axum::body::Bytes::from(vec![0x5au8; CHUNK]);
    let middle = futures_util::stream::iter((CHUNK..total).step_by(CHUNK).map(move |_| filler.clone()));
    let stream = futures_util::stream::iter(chunks)
        .chain(middle)
        .chain(futures_util::stream::iter([axum::body::Bytes::from(suffix)]))
        .then(move |chunk| {
            let counter = counter.clone();
            async move {
                tokio::task::yield_now().await;
                counter.fetch_add(chunk.len(), Ordering::SeqCst);
                Ok::<_, std::io::Error>(chunk)
            }
        });
    (Body::from_stream(stream), pulled)
}

/// HRB-ANNEX2: the package's name is checked before a byte of it is read. A 50 MB upload under a
/// wrong name — through the API (name in the query) and the page form (name in the part's
/// header) — is refused with the package-name code while the server has pulled at most 64 KiB of
/// the body, and nothing reaches the spool.
async fn annex2_wrong_name_refused_before_the_body_is_read(b: Backend) {
    const FIFTY_MB: usize = 50 * 1024 * 1024;
    const AT_MOST: usize = 64 * 1024;
    let t = TestApp::new(b).await;
    let hosp = t.login("hrb-hospital").await;
    let id = t.harbin_to_preparation(&hosp).await;
    let before = snapshot(&t, id).await;

    let (body, pulled) = counted_body(Vec::new(), FIFTY_MB, Vec::new());
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/applications/{id}/materials/annex2_package?name={}", common::percent("验收材料.zip")))
        .header(header::AUTHORIZATION, format!("Bearer {hosp}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(body)
        .unwrap();
    let (status, body) = t.send(req).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("package_name")), "{body}");
    let pulled_api = pulled.load(std::sync::atomic::Ordering::SeqCst);
    assert!(pulled_api <= AT_MOST, "the API pulled {pulled_api} bytes of a misnamed package before refusing it");
    assert_eq!(snapshot(&t, id).await, before);

    let boundary = "----dingdianboundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"验收材料.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    );
    let (body, pulled) = counted_body(head.into_bytes(), FIFTY_MB, format!("\r\n--{boundary}--\r\n").into_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/applications/{id}/materials/annex2_package"))
        .header(header::AUTHORIZATION, format!("Bearer {hosp}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .unwrap();
    let resp = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
    assert!(page.contains("哈尔滨市处方流转验收材料"), "the page names the required package name: {page}");
    let pulled_form = pulled.load(std::sync::atomic::Ordering::SeqCst);
    let shown = page.find("压缩包").map(|i| page[i..].chars().take(120).collect::<String>()).unwrap_or_default();
    assert!(pulled_form <= AT_MOST, "the form pulled {pulled_form} bytes of a misnamed package before refusing it: {shown}");
    assert_eq!(snapshot(&t, id).await, before);
}
both!(annex2_wrong_name_refused_before_the_body_is_read);
