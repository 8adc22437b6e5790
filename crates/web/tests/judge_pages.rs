//! Every role sees on the application page what it must judge, and no one sees more
//! (G-VISIBILITY): the complaints in full for the agency and the supervisors (HRB-NOTICE,
//! URC-RES-2), the declared facts after submission, the site score sheets for the institution
//! confirming them and the experts reviewing them (URC-EVAL-2/3), never who scored.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use dingdian_store::testing::Backend;
use serde_json::json;

/// The part of a page from the element with this id to the next card or the end of its
/// section (or the end of the page).
fn section<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let start = page.find(&format!("id=\"{id}\""))?;
    let rest = &page[start..];
    let end = ["<div class=\"card\"", "</section>"].iter().filter_map(|m| rest[1..].find(m)).min().map_or(rest.len(), |e| e + 1);
    Some(&rest[..end])
}

/// A stored instant as `2026年3月2日 09:05` (Beijing time), computed apart from the page's code.
fn beijing_zh(ts: &str) -> String {
    let t: jiff::Timestamp = ts.parse().unwrap();
    let d = jiff::tz::offset(8).to_datetime(t);
    format!("{}年{}月{}日 {:02}:{:02}", d.year(), d.month(), d.day(), d.hour(), d.minute())
}

const CONTENT: &str = "该院并无首注医师在岗，周末无人值守";
const NAME: &str = "李四";
const CONTACT: &str = "13800001111";

/// HRB-NOTICE / URC-RES-2, G-VISIBILITY: the agency and the supervisors read each complaint in
/// full on the application page — number, received time, complainant, contact, text,
/// attachments, history; the institution, other roles of the city and another city's
/// supervisor see none of it, and only the first two may download the attachments.
async fn complaints_in_full_for_those_who_judge(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let clinic = t.login("hrb-clinic").await;
    let id = t.harbin_passed(&clinic).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    let number = t.store().application(id).await.unwrap().unwrap().number;
    let evidence = common::pdf("complaint evidence");
    let fields = [("number", number.as_str()), ("content", CONTENT), ("name", NAME), ("contact", CONTACT)];
    assert_eq!(t.complain("192.0.2.50", &fields, &[("现场照片.pdf", evidence)]).await.0, StatusCode::CREATED);
    let anonymous = [("number", number.as_str()), ("content", "药品追溯设备未安装"), ("name", ""), ("contact", "")];
    assert_eq!(t.complain("192.0.2.51", &anonymous, &[]).await.0, StatusCode::CREATED);
    let stored = t.store().complaints(id).await.unwrap();
    let sha = stored[0].files()[0].sha256.clone();
    let received = beijing_zh(&stored[0].created_at);
    let page_path = format!("/applications/{id}");
    let file_path = format!("/applications/{id}/files/{sha}");

    for who in ["hrb-agency", "hrb-supervisor"] {
        let token = t.login(who).await;
        let (status, page) = t.get_text(&page_path, &token).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        let c = section(&page, "complaint-1").unwrap_or_else(|| panic!("{who} sees complaint 1: {page}"));
        for expected in ["第 1 件投诉举报", received.as_str(), NAME, CONTACT, CONTENT, "现场照片.pdf", file_path.as_str(), "调查中"]
        {
            assert!(c.contains(expected), "{who} sees {expected}: {c}");
        }
        let anon = section(&page, "complaint-2").expect("complaint 2");
        assert!(anon.contains("匿名") && anon.contains("药品追溯设备未安装"), "{anon}");
        assert_eq!(t.get_text(&file_path, &token).await.0, StatusCode::OK, "{who} downloads the attachment");
        // Only the agency rules; the supervisor reads.
        assert_eq!(c.contains("记录调查结论"), who == "hrb-agency", "{who}: {c}");
    }

    // The verdict is a choice with no default, marked required.
    let (_, page) = t.get_text(&page_path, &agency).await;
    let c = section(&page, "complaint-1").unwrap();
    assert!(!c.contains("checked"), "no verdict is pre-selected: {c}");
    assert!(c.contains("required") && c.contains("必填"), "{c}");

    // Nobody else sees the complaint: not the institution, nor the city's expert or
    // administrator, nor another city's supervisor; none downloads the attachment.
    for who in ["hrb-clinic", "hrb-expert", "hrb-admin", "urc-supervisor", "hrb-evaluator", "hrb-hospital"] {
        let token = t.login(who).await;
        let (status, page) = t.get_text(&page_path, &token).await;
        for secret in [NAME, CONTACT, CONTENT, "现场照片.pdf", sha.as_str(), "投诉举报</h3>"] {
            assert!(!page.contains(secret), "{who} ({status}) must not see {secret}");
        }
        assert!(section(&page, "complaints").is_none(), "{who}");
        let (status, body) = t.get_text(&file_path, &token).await;
        assert!(matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{who} downloads: {status}");
        assert!(!body.starts_with("%PDF"), "{who}");
    }
    let clinic_page = t.get_text(&page_path, &clinic).await;
    assert_eq!(clinic_page.0, StatusCode::OK, "the institution still reads its application");
}
both!(complaints_in_full_for_those_who_judge);

/// HRB-NOTICE: a verdict sent without a choice is refused at the field, in Chinese, with the
/// finding kept; nothing changes. With a choice it is recorded and shown in the history.
async fn verdict_without_choice_is_refused_at_the_field(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("hrb-agency").await;
    let clinic = t.login("hrb-clinic").await;
    let id = t.harbin_passed(&clinic).await;
    t.cmd(&agency, id, json!({ "command": "publish_notice" })).await;
    let number = t.store().application(id).await.unwrap().unwrap().number;
    let fields = [("number", number.as_str()), ("content", CONTENT), ("name", NAME), ("contact", CONTACT)];
    assert_eq!(t.complain("192.0.2.60", &fields, &[]).await.0, StatusCode::CREATED);
    let before = t.store().application(id).await.unwrap().unwrap();
    let finding = "已电话核实，首注医师在岗";
    let form = |founded: Option<&str>| {
        let mut f = vec![
            ("command", "resolve_complaint".to_owned()),
            ("expected_version:int", before.version.to_string()),
            ("number:int", "1".to_owned()),
            ("finding", finding.to_owned()),
        ];
        if let Some(v) = founded {
            f.push(("founded:bool", v.to_owned()));
        }
        f
    };
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &agency, &form(None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let c = section(&page, "complaint-1").expect("the complaint's form");
    assert!(c.contains("请选择调查结论"), "the error is at the field: {c}");
    assert!(c.contains(&format!(">{finding}</textarea>")), "the finding typed is kept: {c}");
    assert!(!c.contains("checked"), "{c}");
    let after = t.store().application(id).await.unwrap().unwrap();
    assert_eq!(after.version, before.version, "nothing changed");
    assert!(after.data.complaints[0].open);

    // Another role sending the same form is refused and its finding is not put anywhere.
    let supervisor = t.login("hrb-supervisor").await;
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &supervisor, &form(Some("false"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("class=\"error\""), "the refusal is shown: {page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, before.version);

    let (status, _, location) = t.post_form(&format!("/applications/{id}/act"), &agency, &form(Some("false"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("done=resolve_complaint"));
    let (_, page) = t.get_text(&format!("/applications/{id}"), &agency).await;
    let c = section(&page, "complaint-1").unwrap();
    assert!(c.contains("调查完毕：不属实") && c.contains(finding), "{c}");
    assert!(!c.contains("记录调查结论"), "a resolved complaint has no form: {c}");
}
both!(verdict_without_choice_is_refused_at_the_field);

/// G-VISIBILITY: after submission the declared facts are shown read-only, labelled as the form
/// labels them, yes/no as 是/否 — to the institution and the reviewers who may read the
/// application; never to another institution, another city or an evaluator not grouped.
async fn declared_facts_after_submission(b: Backend) {
    let t = TestApp::new(b).await;
    let hospital = t.login("hrb-hospital").await;
    let id = t.submitted(&hospital).await;
    let path = format!("/applications/{id}");
    for who in ["hrb-hospital", "hrb-agency", "hrb-supervisor", "hrb-expert"] {
        let token = t.login(who).await;
        let (status, page) = t.get_text(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        let d = section(&page, "declared").unwrap_or_else(|| panic!("{who} sees the declared facts: {page}"));
        for expected in [
            "<th scope=\"row\">核定床位数</th><td>10</td>",
            "<th scope=\"row\">主要负责人负责医保工作</th><td>是</td>",
            "H23010200001",
            "医保管理制度",
        ] {
            assert!(d.contains(expected), "{who} sees {expected}: {d}");
        }
        for raw in ["his_connected", "principal_responsible", "true", "false", "video_surveillance", "facts."] {
            assert!(!d.contains(raw), "{who}: no raw key or value {raw}: {d}");
        }
        assert!(!page.contains("保存申报信息"), "{who}: no form after submission");
        // Issue #16 item 7: only what Harbin's form asks (no Urumqi not-accepted questions).
        assert!(!d.contains("基本医疗服务未执行政府价格政策"), "{who}: {d}");
    }
    for who in ["hrb-clinic", "urc-agency", "urc-supervisor", "hrb-evaluator"] {
        let token = t.login(who).await;
        let (status, page) = t.get_text(&path, &token).await;
        assert!(matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{who}: {status}");
        assert!(!page.contains("H23010200001") && !page.contains("药师甲"), "{who}");
    }

    // While a draft, the institution edits the form; no read-only copy.
    let (_, body) = t.call(Method::POST, "/api/applications", Some(&t.login("hrb-clinic").await), None).await;
    let draft = body["id"].as_i64().unwrap();
    let (_, page) = t.get_text(&format!("/applications/{draft}"), &t.login("hrb-clinic").await).await;
    assert!(page.contains("保存申报信息") && section(&page, "declared").is_none());
}
both!(declared_facts_after_submission);

/// URC-EVAL-2/3: the institution confirms the score sheets it sees — items, points, totals,
/// remarks — without learning who scored; the grouped evaluators do not see one another's
/// sheets; the expert reviews with the sheets before it.
async fn score_sheets_for_confirmation_and_review(b: Backend) {
    let t = TestApp::new(b).await;
    let inst = t.login("urc-clinic").await;
    let branch = t.login("urc-branch-other").await;
    let agency = t.login("urc-agency").await;
    let expert = t.login("urc-expert").await;
    let id = t.submitted(&inst).await;
    t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
    t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } })).await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "当期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    t.cmd(&agency, id, json!({ "command": "join_round", "round_id": round_id })).await;
    let group = t.draw_for_visit(&agency, round_id, &[id]).await.remove(0);
    let items = json!({ "layout": 18, "management": 25, "operations": 15, "conditions": 27 });
    let first = json!({ "command": "record_site_evaluation", "score": 85, "items": items, "notes": "布局合理，台账齐全" });
    t.cmd(&group[0], id, first).await;
    let path = format!("/applications/{id}");

    // Scoring is blind: a grouped evaluator does not see the sheets already in.
    for e in &group {
        let (status, page) = t.get_text(&path, e).await;
        assert_eq!(status, StatusCode::OK);
        assert!(section(&page, "site-scores").is_none(), "an evaluator sees no other sheet: {page}");
        assert!(!page.contains("布局合理，台账齐全"));
    }
    for e in &group[1..] {
        t.cmd(e, id, json!({ "command": "record_site_evaluation", "score": 80, "items": { "layout": 16, "management": 24, "operations": 14, "conditions": 26 } })).await;
    }

    let (status, page) = t.get_text(&path, &inst).await;
    assert_eq!(status, StatusCode::OK);
    let s = section(&page, "site-scores").unwrap_or_else(|| panic!("the institution sees the sheets: {page}"));
    for expected in [
        "评估人员一",
        "整体布局：科室设置与床位、就诊流程、医保政策公示</td><td>18</td><td>20</td>",
        "<strong>85</strong>",
        "布局合理，台账齐全",
        "确认评分表",
    ] {
        assert!(s.contains(expected), "{expected}: {s}");
    }
    assert_eq!(s.matches("<h3>").count(), group.len(), "{s}");
    // Who scored is never shown: no pool id, name or account of an evaluator.
    let (_, me) = t.call(Method::GET, "/api/me", Some(&group[0]), None).await;
    for secret in ["评估员", "pool-", me["username"].as_str().unwrap(), &format!("R{round_id}-")] {
        assert!(!s.contains(secret), "the sheets name no evaluator ({secret}): {s}");
    }
    // The expert's turn comes after the confirmation; other institutions never see the sheets.
    let (_, page) = t.get_text(&path, &expert).await;
    assert!(section(&page, "site-scores").is_none(), "before the confirmation the expert has nothing to review");
    let (status, page) = t.get_text(&path, &t.login("urc-pharmacy").await).await;
    assert_ne!(status, StatusCode::OK);
    assert!(!page.contains("布局合理，台账齐全"));

    t.cmd(&inst, id, json!({ "command": "confirm_score_sheet" })).await;
    let (_, page) = t.get_text(&path, &expert).await;
    let s = section(&page, "site-scores").unwrap_or_else(|| panic!("the expert sees the sheets: {page}"));
    assert!(s.contains("评审时请综合考虑") && s.contains("<strong>85</strong>") && s.contains("<strong>80</strong>"), "{s}");
    assert!(!s.contains("评估员") && !s.contains("pool-"), "{s}");
    let e = section(&page, "expert").expect("the expert's form");
    assert!(e.contains("必填") && e.contains("required"), "{e}");
    assert!(!e.contains("checked"), "no recommendation is pre-selected: {e}");
    // Sent without a recommendation, the form is refused in Chinese and nothing changes.
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields = [
        ("command", "record_expert_review".to_owned()),
        ("expected_version:int", version.to_string()),
        ("attendees:lines", "专家甲\n专家乙".to_owned()),
    ];
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &expert, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("请选择评审意见"), "{page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version, "nothing changed");

    // URC-EVAL-4: the agency decides with the sheets before it; the supervisor, who does not
    // judge, and the institution, once it has confirmed, are not shown them again.
    let review = json!({ "command": "record_expert_review", "recommendation": "pass", "attendees": ["专家甲", "专家乙", "专家丙"] });
    t.cmd(&expert, id, review).await;
    let (_, page) = t.get_text(&path, &agency).await;
    let s = section(&page, "site-scores").unwrap_or_else(|| panic!("the agency deciding sees the sheets: {page}"));
    assert!(s.contains("集体决策时") && s.contains("<strong>85</strong>"), "{s}");
    // The decision, too, has no pre-set result.
    let d = section(&page, "decide").expect("the decision form");
    assert!(!d.contains("checked") && d.contains("必填"), "{d}");
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields = [
        ("command", "decide".to_owned()),
        ("expected_version:int", version.to_string()),
        ("minutes", "集体研究会议纪要".to_owned()),
        ("attendees:lines", "主任".to_owned()),
    ];
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &agency, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("请选择决策结果"), "{page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version, "nothing changed");
    for who in [t.login("urc-supervisor").await, inst.clone()] {
        let (_, page) = t.get_text(&path, &who).await;
        assert!(section(&page, "site-scores").is_none());
    }
}
both!(score_sheets_for_confirmation_and_review);

/// URC-EVAL-1, G-DRAW: the rounds page shows a drawn round as tables — the verification, the
/// frozen pool with who is drawn, the replacements, and the groups only once they are drawn —
/// to the agency and the supervisors of the city; nobody else sees any of it, and the JSON
/// download stays.
async fn rounds_page_as_tables(b: Backend) {
    let t = TestApp::new(b).await;
    let agency = t.login("urc-agency").await;
    let branch = t.login("urc-branch").await;
    let pharmacy = t.login("urc-pharmacy").await;
    let id = t.submitted(&pharmacy).await;
    t.cmd(&branch, id, json!({ "command": "pass_initial_review" })).await;
    t.cmd(&branch, id, json!({ "command": "pass_verification", "sources": { "written_review": { "checked_on": "2026-03-02" } } })).await;
    let (_, round) = t.call(Method::POST, "/api/rounds", Some(&agency), Some(json!({ "name": "2026年第九期" }))).await;
    let round_id = round["id"].as_i64().unwrap();
    t.cmd(&agency, id, json!({ "command": "join_round", "round_id": round_id })).await;
    t.evaluator_pool(&agency, "P", 12).await;
    let drawn = t.draw(&agency, round_id, jiff::civil::date(2026, 3, 5)).await;
    let card = format!("round-{round_id}");
    let uscc = {
        let app = t.store().application(id).await.unwrap().unwrap();
        t.store().institution(app.institution_id).await.unwrap().unwrap().uscc
    };
    let record = t.store().round_draw(round_id).await.unwrap().unwrap().record.unwrap();
    let chosen = dingdian_core::draw::drawn_evaluators(&record);

    // Before the grouping: pool and drawn, no groups for anyone — not even the agency.
    for who in ["urc-agency", "urc-supervisor"] {
        let (status, page) = t.get_text("/rounds", &t.login(who).await).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        let d = section(&page, &card).unwrap_or_else(|| panic!("{who} sees the round's tables: {page}"));
        assert!(d.contains("重新计算与抽取记录一致") || d.contains("结果与抽取记录一致"), "{who}: {d}");
        assert!(d.contains("共 12 人") && d.contains("评估员0") && d.contains("已抽中"), "{who}: {d}");
        assert_eq!(d.matches("已抽中").count(), chosen.len(), "{who}: {d}");
        assert!(d.contains("尚未分组") && d.contains("2026-03-04"), "{who}: {d}");
        assert!(!d.contains(&uscc) && !d.contains("urc-pharmacy"), "{who}: no group before the grouping: {d}");
        assert!(d.contains(&format!("/api/rounds/{round_id}/draw/export")), "the download stays");
    }

    // A replacement before the grouping is listed, without an institution.
    let (status, rep) = t
        .call(
            Method::POST,
            &format!("/api/rounds/{round_id}/replacements"),
            Some(&agency),
            Some(json!({ "evaluator_id": chosen[0], "reason": "因病不能参加" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rep}");
    let (_, page) = t.get_text("/rounds", &agency).await;
    let d = section(&page, &card).unwrap();
    let row = d.split("<tr><td>分组前</td>").nth(1).unwrap_or_else(|| panic!("the replacement is listed: {d}"));
    assert!(row.starts_with("<td>—</td>") && row.contains(chosen[0].as_str()) && row.contains("因病不能参加"), "{row}");
    assert!(row.contains(rep["replacement"].as_str().unwrap()), "{row}");

    // Once grouped: the groups, by institution, with the members after replacements.
    let record = t.grouped(&drawn).await;
    let group = dingdian_core::draw::final_groups(&record).remove(&uscc).unwrap();
    for who in ["urc-agency", "urc-supervisor"] {
        let (_, page) = t.get_text("/rounds", &t.login(who).await).await;
        let d = section(&page, &card).unwrap();
        let groups = d.split("<h3>分组</h3>").nth(1).unwrap().split("<h3>").next().unwrap();
        assert!(groups.contains(&format!("urc-pharmacy（{uscc}）")), "{who}: {groups}");
        for m in &group {
            assert!(groups.contains(&format!("（{m}，")), "{who}: {m} in {groups}");
        }
        assert!(!groups.contains("尚未分组"));
    }

    // Nobody else sees the rounds' tables: not the institution, an evaluator, the expert, the
    // branch reviewer, the administrator, nor another city's supervisor.
    for who in ["urc-pharmacy", "urc-evaluator", "urc-expert", "urc-branch", "urc-admin", "hrb-supervisor", "hrb-agency"] {
        let (status, page) = t.get_text("/rounds", &t.login(who).await).await;
        assert!(section(&page, &card).is_none(), "{who} ({status})");
        assert!(!page.contains("评估员0") && !page.contains(&uscc), "{who} ({status}) sees no pool and no group");
    }
}
both!(rounds_page_as_tables);

/// HRB-ANNEX2: the agency's acceptance result has no pre-set answer either; a form without one
/// is refused in Chinese and changes nothing.
async fn annex2_result_has_no_default(b: Backend) {
    let t = TestApp::new(b).await;
    let hospital = t.login("hrb-hospital").await;
    let agency = t.login("hrb-agency").await;
    let id = t.harbin_to_preparation(&hospital).await;
    let (status, body) = t.upload(&hospital, id, "annex2_package", &t.annex2_name(id).await, common::annex2_zip()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    t.cmd(&hospital, id, json!({ "command": "request_annex2_acceptance" })).await;
    let (_, page) = t.get_text(&format!("/applications/{id}"), &agency).await;
    let p = section(&page, "preparation").expect("the preparation card");
    assert!(p.contains("通知验收结果"), "{p}");
    for value in ["true", "false"] {
        assert!(p.contains(&format!("name=\"passed:bool\" value=\"{value}\" required>")), "no pre-set result: {p}");
    }
    let version = t.store().application(id).await.unwrap().unwrap().version;
    let fields = [("command", "review_annex2".to_owned()), ("expected_version:int", version.to_string())];
    let (status, page, _) = t.post_form(&format!("/applications/{id}/act"), &agency, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("请选择验收结果"), "{page}");
    assert_eq!(t.store().application(id).await.unwrap().unwrap().version, version, "nothing changed");
}
both!(annex2_result_has_no_default);
