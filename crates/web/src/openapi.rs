//! The OpenAPI 3.1 document served at `/api/openapi.json`. Written out by hand from the route
//! table in `routes/mod.rs`; the command list comes from the core so it cannot drift.

use dingdian_core::lifecycle::{ALL_STATES, COMMAND_NAMES};
use serde_json::{Value, json};

fn error_responses(codes: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for c in codes {
        m.insert(
            (*c).to_owned(),
            json!({ "description": "错误", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
        );
    }
    Value::Object(m)
}

fn op(summary: &str, ok: &str, ok_schema: Value, body: Option<&str>, errors: &[&str]) -> Value {
    let mut responses = error_responses(errors);
    responses[ok] = json!({ "description": "成功", "content": { "application/json": { "schema": ok_schema } } });
    let mut o = json!({ "summary": summary, "responses": responses, "security": [{ "bearer": [] }, { "cookie": [] }] });
    if let Some(b) = body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{b}") } } } });
    }
    o
}

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } }])
}

/// Operations the hand-written part does not describe get a generic entry from the route
/// table, so the document always lists every API route with its access.
fn complete_from_route_table(doc: &mut Value) {
    let any_obj = json!({ "type": "object" });
    for def in crate::routes::route_table() {
        if !def.path.starts_with("/api/") {
            continue;
        }
        let method = def.method.to_ascii_lowercase();
        if doc["paths"][def.path].get(&method).is_some() {
            continue;
        }
        let security = match def.access {
            crate::routes::Access::Public => json!([]),
            _ => json!([{ "bearer": [] }, { "cookie": [] }]),
        };
        let mut op = json!({
            "summary": def.path,
            "security": security,
            "responses": {
                "200": { "description": "成功", "content": { "application/json": { "schema": any_obj } } },
                "401": { "description": "未登录" }, "403": { "description": "无权" }, "404": { "description": "未找到" },
                "409": { "description": "冲突" }, "422": { "description": "输入有误" }
            }
        });
        let params: Vec<Value> = def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let schema = match name {
                    "slot" => json!({ "type": "string", "pattern": "^[a-z0-9_]+$" }),
                    "sha256" => json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }),
                    "kind" => json!({ "type": "string", "enum": ["application-form", "annex1", "evaluation-summary", "agreement"] }),
                    _ => json!({ "type": "integer", "format": "int64" }),
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        // Files: uploads take the raw bytes; downloads return them.
        if def.path.ends_with("/materials/{slot}") {
            op["summary"] = json!("上传一个材料文件（原始字节流）");
            op["parameters"].as_array_mut().expect("path params").push(
                json!({ "name": "name", "in": "query", "required": false, "schema": { "type": "string", "maxLength": 120 }, "description": "原文件名（作为数据保存）" }),
            );
            op["requestBody"] = json!({ "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } });
            op["responses"]["201"] = json!({ "description": "已保存并记录", "content": { "application/json": { "schema": any_obj } } });
            op["responses"]["413"] = json!({ "description": "超过大小上限" });
            op["responses"]["415"] = json!({ "description": "文件类型不被接受" });
        }
        if def.path.contains("/files/") || def.path.ends_with("/pdf") {
            op["responses"]["200"] = json!({ "description": "文件", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } });
        }
        if method == "post" {
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": any_obj } } });
        }
        if doc["paths"].get(def.path).is_none() {
            doc["paths"][def.path] = json!({});
        }
        doc["paths"][def.path][method] = op;
    }
}

pub fn document() -> Value {
    let mut doc = hand_written();
    complete_from_route_table(&mut doc);
    doc
}

fn hand_written() -> Value {
    let r = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let any_obj = json!({ "type": "object" });
    let mut login = op("登录，换取 bearer token", "201", r("Session"), Some("Login"), &["400", "401", "413", "415", "422"]);
    login["security"] = json!([]);
    let mut health = json!({ "summary": "健康检查", "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } } });
    health["security"] = json!([]);
    let mut spec = json!({ "summary": "本文档", "responses": { "200": { "description": "OpenAPI 文档", "content": { "application/json": { "schema": any_obj } } } } });
    spec["security"] = json!([]);
    let mut get_app = op("读取申请：状态、事件与时限", "200", r("ApplicationView"), None, &["401", "403", "404"]);
    get_app["parameters"] = id_param();
    let mut cmd = op(
        "对申请执行一个操作（命令）",
        "200",
        r("Executed"),
        Some("CommandRequest"),
        &["400", "401", "403", "404", "409", "413", "415", "422"],
    );
    cmd["parameters"] = id_param();
    let mut start = op("当期评估：抽取完成，批次内申请进入现场评估", "200", any_obj.clone(), None, &["401", "403", "404", "409", "422"]);
    start["parameters"] = id_param();
    // --- urc: URC-EVAL-4 decision, URC-RES-1 filing, URC-REV-1 planning ---
    let mut decision = op(
        "当期评估：集体决策（会议纪要、参会人员、每件申请的结果）",
        "200",
        any_obj.clone(),
        Some("RoundDecision"),
        &["400", "401", "403", "404", "409", "422"],
    );
    decision["parameters"] = id_param();
    let mut file =
        op("当期评估：评估合格名单报医疗保障行政部门备案（经办机构）", "200", any_obj.clone(), None, &["401", "403", "404", "409"]);
    file["parameters"] = id_param();
    let mut ack = op("医疗保障行政部门确认备案（管理员）；确认后方可公示", "200", any_obj.clone(), None, &["401", "403", "404", "409"]);
    ack["parameters"] = id_param();
    let mut filing = op("当期评估合格名单（备案用）", "200", json!({ "type": "array", "items": any_obj }), None, &["401", "403", "404"]);
    filing["parameters"] = id_param();
    let mut planning = op(
        "初审依据的设置规划：区县与机构类别的规划数据、现有定点数、是否符合规划",
        "200",
        r("PlanningAssessment"),
        None,
        &["401", "403", "404"],
    );
    planning["parameters"] = id_param();
    let round_decision = json!({ "type": "object", "required": ["minutes", "decisions"], "additionalProperties": false,
                    "properties": { "minutes": { "type": "string" }, "attendees": { "type": "array", "items": { "type": "string" } },
                        "decisions": { "type": "array", "items": { "type": "object", "required": ["application_id", "outcome"],
                            "properties": { "application_id": { "type": "integer" }, "outcome": { "type": "string", "enum": ["pass", "fail"] },
                                "reasons": { "type": "array", "items": { "type": "string" } }, "rectification": { "type": "string" },
                                "departure_reason": { "type": "string" } } } } } });
    let planning_schema = json!({ "type": ["object", "null"], "properties": {
                    "rule": { "type": "string" },
                    "plan": { "type": ["object", "null"], "properties": { "district": { "type": "string" }, "kind": { "type": "string" },
                        "population": { "type": "integer" }, "ceiling": { "type": ["integer", "null"] },
                        "density_centi": { "type": ["integer", "null"], "description": "每万人规划密度 × 100" } } },
                    "designated": { "type": "integer", "description": "该区县此类机构已签订协议的数量" },
                    "capacity": { "type": ["integer", "null"] }, "density_now_centi": { "type": ["integer", "null"] },
                    "fits": { "type": ["boolean", "null"], "description": "再定点一家是否符合规划；未设定规划为 null" } } });
    let mut list = op("可见的申请列表", "200", json!({ "type": "array", "items": r("Application") }), None, &["401", "422"]);
    list["parameters"] = json!([
        { "name": "state", "in": "query", "required": false, "schema": r("State") },
        { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
    ]);
    json!({
        "openapi": "3.1.0",
        "info": { "title": "dingdian 医保定点协议管理 API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "所有错误均返回 JSON：{code, message}，code 为稳定的机器可读代码，message 为中文说明。" },
        "paths": {
            "/healthz": { "get": health },
            "/api/openapi.json": { "get": spec },
            "/api/session": {
                "post": login,
                "delete": { "summary": "注销当前 token", "responses": error_responses(&["401"]), "security": [{ "bearer": [] }] }
            },
            "/api/me": { "get": op("当前用户", "200", r("User"), None, &["401"]) },
            "/api/profiles": { "get": op("当前城市规则", "200", json!({ "type": "array", "items": any_obj }), None, &["401"]) },
            "/api/applications": {
                "get": list,
                "post": op("机构新建定点申请（草稿）", "201", r("Application"), None, &["401", "403", "409", "422"])
            },
            "/api/applications/{id}": { "get": get_app },
            "/api/applications/{id}/commands": { "post": cmd },
            "/api/rounds": {
                "get": op("当期评估批次", "200", json!({ "type": "array", "items": r("Round") }), None, &["401"]),
                "post": op("新建当期评估批次", "201", r("Round"), Some("NewRound"), &["400", "401", "403", "413", "415", "422"])
            },
            "/api/rounds/{id}/start": { "post": start },
            "/api/rounds/{id}/draw": { "post": {
                "summary": "抽取现场评估人员（第一阶段，须先公布承诺值）。评估人员与机构的分组于现场评估前日由系统另行随机抽取（第二阶段），此前任何人都无法知道分组。现场评估日期为休息日或法定节假日时须 confirm_rest_day: true，否则 422 rest_day_visit。",
                "parameters": id_param(), "security": [{ "bearer": [] }, { "cookie": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": r("DrawRequest") } } },
                "responses": error_responses(&["200", "400", "401", "403", "404", "409", "413", "415", "422"]) } },
            "/api/rounds/{id}/replacements": { "post": {
                "summary": "更换已抽取的评估人员（回避或无法参加）。分组前在已抽取人员中更换（institution_uscc 可省略）；分组后在该机构的组内更换。",
                "parameters": id_param(), "security": [{ "bearer": [] }, { "cookie": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": r("ReplacementRequest") } } },
                "responses": error_responses(&["201", "400", "401", "403", "404", "409", "413", "415", "422"]) } },
            "/api/rounds/{id}/decision": { "post": decision },
            "/api/rounds/{id}/filing": { "get": filing, "post": file },
            "/api/rounds/{id}/filing/acknowledgement": { "post": ack },
            "/api/applications/{id}/planning": { "get": planning },
            "/api/institutions": {
                "get": op("登记库中的机构（按权限范围）", "200", json!({ "type": "array", "items": any_obj }), None, &["401"]),
                "post": op("登记一家机构（经办机构或管理员）", "201", any_obj.clone(), Some("NewInstitution"), &["400", "401", "403", "409", "413", "415", "422"])
            },
            "/api/institutions/import": { "post": {
                "summary": "批量导入机构（CSV，UTF-8，可带 BOM；全部成功或全部不导入）", "security": [{ "bearer": [] }, { "cookie": [] }],
                "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } },
                "responses": { "201": { "description": "已导入", "content": { "application/json": { "schema": any_obj } } },
                               "422": { "description": "有错误行，未导入；errors 列出每一行的行号和原因", "content": { "application/json": { "schema": any_obj } } },
                               "401": { "description": "未登录" }, "403": { "description": "无权" }, "413": { "description": "过大" } } } },
            "/api/institutions/{id}": { "get": { "summary": "机构登记信息、人员（身份证号码脱敏）与历史记录", "parameters": id_param(),
                "security": [{ "bearer": [] }, { "cookie": [] }],
                "responses": { "200": { "description": "成功", "content": { "application/json": { "schema": any_obj } } }, "403": { "description": "无权" }, "404": { "description": "未找到" } } } },
            "/api/institutions/{id}/persons": { "post": { "summary": "登记法定代表人、主要负责人或实际控制人", "parameters": id_param(),
                "security": [{ "bearer": [] }, { "cookie": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": r("NewPerson") } } },
                "responses": error_responses(&["201", "400", "401", "403", "404", "422"]) } },
            "/api/institutions/{id}/records": { "post": { "summary": "登记处罚、弄虚作假、解除协议、失信等历史记录", "parameters": id_param(),
                "security": [{ "bearer": [] }, { "cookie": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": r("NewRecord") } } },
                "responses": error_responses(&["201", "400", "401", "403", "404", "422"]) } },
            "/api/ids/check": { "post": op("校验统一社会信用代码、国家医保编码、人员编码或身份证号码", "200", any_obj.clone(), Some("IdCheck"), &["400", "401", "413", "415", "422"]) },
            "/api/calendar": { "get": { "summary": "已载入的节假日安排年份", "security": [],
                "responses": { "200": { "description": "年份列表", "content": { "application/json": { "schema": { "type": "array", "items": any_obj } } } } } } },
            "/api/calendar/years": { "post": op("管理员载入（或替换）一年的节假日安排，并重新计算所有未结期限", "201", any_obj.clone(), Some("NewCalendarYear"), &["400", "401", "403", "413", "415", "422"]) }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "dd_session" }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["code", "message"],
                           "properties": { "code": { "type": "string" }, "message": { "type": "string" },
                                          "detail": { "description": "Facts about the refusal, by code: for `invalid_input` the command field it is about (`field`, e.g. `facts.beds`, `score`, `visit_on`); for `stale_version` the versions; for deadline refusals the rule and date." } } },
                "Login": { "type": "object", "required": ["username", "password"], "additionalProperties": false,
                           "properties": { "username": { "type": "string" }, "password": { "type": "string" } } },
                "Session": { "type": "object", "properties": { "token": { "type": "string" }, "user": r("User") } },
                "User": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "username": { "type": "string" }, "display_name": { "type": "string" },
                    "role": { "type": "string" }, "city": { "type": "string" },
                    "district": { "type": ["string", "null"] }, "institution_id": { "type": ["integer", "null"] },
                    "province": { "type": ["string", "null"], "description": "A provincial administrator's province (GB/T 2260, e.g. 230000); its city is empty." } } },
                "State": { "type": "string", "enum": ALL_STATES.iter().map(|s| s.as_str()).collect::<Vec<_>>() },
                "Application": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "number": { "type": "string" }, "state": r("State"),
                    "version": { "type": "integer" }, "profile_id": { "type": "string" }, "profile_version": { "type": "string" },
                    "due_on": { "type": ["string", "null"], "format": "date" }, "due_action": { "type": ["string", "null"] } } },
                "ApplicationView": { "type": "object", "properties": {
                    "application": r("Application"), "events": { "type": "array", "items": any_obj },
                    "clocks": { "type": "array", "items": any_obj,
                        "description": "各期限：id、rule、name、budget、started_on、ended_on、status、on_expiry、due、explanation（截止日期的计算说明）。处方流转验收每次未通过后的重新提交期限也在其中（id 为 annex2_resubmit_1、annex2_resubmit_2……）。" } } },
                "Executed": { "type": "object", "properties": { "application": r("Application"), "events": { "type": "array", "items": any_obj } } },
                "CommandRequest": {
                    "type": "object", "required": ["command", "expected_version"],
                    "description": "command 为操作名称，expected_version 为调用方看到的申请版本号（乐观并发）。各操作的参数与 command 同级，例如 issue_supplement_notice 需要 items: [{slot, problem: missing|defective, reason}]；reject 需要 reasons: [{rule?, text}]；record_site_evaluation 需要 score (0–100)；record_expert_review / decide 需要 recommendation / outcome: pass|fail，未通过须有 reasons（专家评审未通过而无理由：reasons_required）和 rectification；record_expert_review 需要 attendees；decide 需要 minutes 与 attendees，结果与专家评审意见不同时需要 departure_reason（否则 departure_reason_required）；pass_verification / terminate 需要 sources: {written_review|department_letter|credit_system: {checked_on, note?, attachments?: [sha256]}}，至少一项（否则 verification_sources_required）；terminate / fail_preparation 需要 reason；publish_notice 在须备案的城市于备案确认前被拒（filing_not_acknowledged）；pass_initial_review 在区县已达设置规划数时被拒（outside_plan）；join_round / start_site_evaluation 需要 round_id；record_complaint 需要 summary；resolve_complaint 需要 number, founded, finding；sign / countersign 可带 document_sha256（所签协议版本的 SHA-256，须为当前版本 / 机构所签版本，否则 agreement_version_mismatch）；协商签约的城市：comment_agreement 需要 text，revise_agreement 需要 reply 和 clauses（协商一致的补充条款，字符串数组，替换上一版本的补充条款），decline_agreement 需要 reason；不协商的城市对这三项返回 negotiation_not_offered；file_annex1 需要 form（附件1 备案表），且须先在 annex1_signed 材料栏上传法定代表人签字并加盖公章的扫描件（否则 annex1_unsigned）；review_annex2 需要 passed，未通过须有 reason（验收次数用完时 request_annex2_acceptance 返回 annex2_attempts_used）。",
                    "properties": {
                        "command": { "type": "string", "enum": COMMAND_NAMES },
                        "expected_version": { "type": "integer", "minimum": 0 }
                    }
                },
                "NewCalendarYear": { "type": "object", "required": ["toml"], "additionalProperties": false,
                    "properties": { "name": { "type": "string" }, "toml": { "type": "string", "description": "与 calendars/2026.toml 相同格式的文本" } } },
                "NewInstitution": { "type": "object", "required": ["uscc", "name", "kind", "category", "city", "district", "address"],
                    "properties": { "uscc": { "type": "string" }, "name": { "type": "string" }, "kind": { "type": "string", "enum": ["medical", "pharmacy"] },
                        "category": { "type": "string" }, "city": { "type": "string" }, "district": { "type": "string" },
                        "national_code": { "type": "string" }, "address": { "type": "string" }, "beds": { "type": "integer", "minimum": 0 } } },
                "NewPerson": { "type": "object", "required": ["resident_id", "name", "role"], "additionalProperties": false,
                    "properties": { "resident_id": { "type": "string" }, "name": { "type": "string" },
                        "role": { "type": "string", "enum": ["legal_representative", "principal", "actual_controller"] } } },
                "NewRecord": { "type": "object", "required": ["kind", "occurred_on", "source"], "additionalProperties": false,
                    "properties": { "kind": { "type": "string", "enum": ["penalty", "fraud", "termination_violation", "termination_serious_breach", "person_caused_termination", "dishonest", "other"] },
                        "occurred_on": { "type": "string", "format": "date" }, "fulfilled": { "type": "boolean" },
                        "until_on": { "type": "string", "format": "date" }, "source": { "type": "string" }, "note": { "type": "string" },
                        "person_resident_id": { "type": "string" } } },
                "IdCheck": { "type": "object", "required": ["code"], "additionalProperties": false, "properties": { "code": { "type": "string" } } },
                "NewRound": { "type": "object", "required": ["name"], "additionalProperties": false, "properties": { "name": { "type": "string" } } },
                "DrawRequest": { "type": "object", "required": ["public_value", "visit_on"], "additionalProperties": false,
                    "properties": { "public_value": { "type": "string", "description": "承诺值公布后才产生的公开随机值（如当日福彩3D开奖号码）" },
                        "visit_on": { "type": "string", "format": "date" },
                        "confirm_rest_day": { "type": "boolean", "default": false, "description": "确认在休息日或法定节假日进行现场评估" } } },
                "ReplacementRequest": { "type": "object", "required": ["evaluator_id", "reason"], "additionalProperties": false,
                    "properties": { "institution_uscc": { "type": "string", "description": "分组后必填：该评估人员所在组的机构" },
                        "evaluator_id": { "type": "string" }, "reason": { "type": "string" } } },
                "Round": { "type": "object", "properties": { "id": { "type": "integer" }, "city": { "type": "string" },
                           "name": { "type": "string" }, "status": { "type": "string" },
                           "filed_at": { "type": ["string", "null"] }, "filing_acknowledged_at": { "type": ["string", "null"] } } },
                "RoundDecision": round_decision,
                "PlanningAssessment": planning_schema
            }
        }
    })
}
