//! What the application page shows beyond the header: the declared facts form (institution,
//! draft), the material slots, the completeness review (agency), pre-signing preparation
//! (HRB-PRE-1…3), signing with its signature records, and the printable documents. Every form
//! posts to `/applications/{id}/act` (see `pages::form_to_command`) or to the upload route; no
//! JavaScript is needed.

use dingdian_core::eligibility::{self, Equipment, Fact, System};
use dingdian_core::lifecycle::{Actor, ChecklistItem, Event, FileRef, State};
use dingdian_core::policy::Profile;
use dingdian_store::{AppRecord, Available, DocKind};
use serde::Serialize;

use super::materials::SlotView;
use crate::{ApiError, AppState};

/// An option of a multi-choice fact: (value, label, checked).
pub type Choice = (String, &'static str, bool);

/// The draft's declared facts, as form values.
pub struct FactsForm {
    pub beds: String,
    pub operating_since: String,
    pub first_registered_physicians: String,
    pub insurance_administrators: String,
    pub full_time_insurance_staff: String,
    pub national_code: String,
    pub principal_responsible: bool,
    pub insurance_department: bool,
    pub non_basic_main_practice: bool,
    pub price_policy_violation: bool,
    pub facts: Vec<Choice>,
    pub systems: Vec<Choice>,
    pub equipment: Vec<Choice>,
    pub pharmacists: String,
    pub insurance_admin_contracts: String,
    /// Conditions the facts do not meet yet (shown as the institution fills them in).
    pub unmet: Vec<String>,
    /// What the form asks an institution of this kind (the core decides from the profile).
    pub asked: eligibility::Asked,
}

fn name_of<T: Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl FactsForm {
    fn new(app: &AppRecord, profile: &Profile, today: jiff::civil::Date) -> FactsForm {
        let f = &app.data.facts;
        let s = |k: &str| f.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        let b = |k: &str| f.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let has = |k: &str, v: &str| f.get(k).and_then(|a| a.as_array()).is_some_and(|a| a.iter().any(|x| x == v));
        let staff = |k: &str| {
            f.get(k)
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            format!("{}, {}", p["name"].as_str().unwrap_or_default(), p["contract_start"].as_str().unwrap_or_default())
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()
        };
        let asked = eligibility::asked(profile, app.institution_kind());
        let facts = [Fact::HisConnected, Fact::NationalCodesUsed, Fact::StaffContracts, Fact::SocialInsurance, Fact::GspZoning]
            .into_iter()
            .filter(|x| asked.facts.contains(x))
            .map(|x| (name_of(x), x.zh_for(app.institution_kind()), b(&name_of(x))))
            .collect();
        let systems = [
            System::Insurance,
            System::Finance,
            System::Statistics,
            System::Quality,
            System::Inventory,
            System::DrugManagement,
            System::StaffManagement,
            System::Settlement,
        ]
        .into_iter()
        .filter(|x| asked.systems.contains(x))
        .map(|x| (name_of(x), x.zh(), has("systems", &name_of(x))))
        .collect();
        let equipment = [Equipment::VideoSurveillance, Equipment::Biometric, Equipment::DrugTraceability]
            .into_iter()
            .filter(|x| asked.equipment.contains(x))
            .map(|x| (name_of(x), x.zh(), has("equipment", &name_of(x))))
            .collect();
        let unmet = match dingdian_core::lifecycle::declaration(f) {
            Ok(d) => eligibility::unmet(profile, app.institution_kind(), &d, today)
                .into_iter()
                // Only the institution fills this form in: the condition in words, without its
                // rule ID (`visibility::sees_rule_ids`).
                .map(|x| x.text)
                .collect(),
            Err(e) => vec![e.message_zh()],
        };
        FactsForm {
            beds: s("beds"),
            operating_since: s("operating_since"),
            first_registered_physicians: s("first_registered_physicians"),
            insurance_administrators: s("insurance_administrators"),
            full_time_insurance_staff: s("full_time_insurance_staff"),
            national_code: s("national_code"),
            principal_responsible: b("principal_responsible"),
            insurance_department: b("insurance_department"),
            non_basic_main_practice: b("non_basic_main_practice"),
            price_policy_violation: b("price_policy_violation"),
            facts,
            systems,
            equipment,
            pharmacists: staff("pharmacists"),
            insurance_admin_contracts: staff("insurance_admin_contracts"),
            unmet,
            asked,
        }
    }
}

/// The declared facts after submission, read-only: (label as the form labels it, value as
/// people read it — 是/否 for yes/no, names for choices, "未填写" for nothing).
pub type DeclaredRow = (&'static str, String);

impl FactsForm {
    /// The facts as the read-only list shown once the draft is submitted.
    fn declared(&self) -> Vec<DeclaredRow> {
        let text = |v: &str| if v.trim().is_empty() { "未填写".to_owned() } else { v.to_owned() };
        let yes_no = |b: bool| if b { "是" } else { "否" }.to_owned();
        let chosen = |list: &[Choice]| {
            let names: Vec<&str> = list.iter().filter(|c| c.2).map(|c| c.1).collect();
            if names.is_empty() { "无".to_owned() } else { names.join("、") }
        };
        let staff = |lines: &str| {
            let people: Vec<String> = lines
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| match l.split_once(", ") {
                    Some((name, start)) if !start.trim().is_empty() => format!("{name}（劳动合同起始日期 {start}）"),
                    Some((name, _)) => name.to_owned(),
                    None => l.to_owned(),
                })
                .collect();
            if people.is_empty() { "未填写".to_owned() } else { people.join("；") }
        };
        // Only what the form asked this kind of institution (eligibility::asked).
        let a = &self.asked;
        let mut rows = vec![("国家医保定点机构代码（国码）", text(&self.national_code))];
        let mut add = |on: bool, label: &'static str, value: String| {
            if on {
                rows.push((label, value));
            }
        };
        add(a.operating_since, "开始执业（营业）日期", text(&self.operating_since));
        add(a.beds, "核定床位数", text(&self.beds));
        add(a.first_registered_physicians, "首注医师人数", text(&self.first_registered_physicians));
        add(a.staffing, "医保管理人员人数", text(&self.insurance_administrators));
        add(a.staffing && a.beds, "专职医保管理人员人数", text(&self.full_time_insurance_staff));
        add(a.staffing, "主要负责人负责医保工作", yes_no(self.principal_responsible));
        add(a.staffing && a.beds, "设有医保管理部门", yes_no(self.insurance_department));
        for c in &self.facts {
            add(true, c.1, yes_no(c.2));
        }
        add(
            a.non_basic_main_practice,
            "主要执业范围为医疗美容、辅助生殖、生活照护、种植牙等非基本医疗服务",
            yes_no(self.non_basic_main_practice),
        );
        add(a.price_policy_violation, "基本医疗服务未执行政府价格政策", yes_no(self.price_policy_violation));
        add(!self.systems.is_empty(), "已建立的制度", chosen(&self.systems));
        add(!self.equipment.is_empty(), "已配备的设备", chosen(&self.equipment));
        add(a.pharmacists, "药学技术人员", staff(&self.pharmacists));
        add(a.insurance_admin_contracts, "医保管理人员", staff(&self.insurance_admin_contracts));
        rows
    }
}

/// One HRB-PRE-2 checklist row.
pub struct ChecklistRow {
    pub item: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub verified: Option<String>,
    pub evidence_files: usize,
    /// The agency may verify it now (evidence present, not ④).
    pub can_verify: bool,
}

/// Pre-signing preparation as shown.
pub struct PrepView {
    pub training: Vec<(String, &'static str, &'static str, String)>,
    pub training_passed: bool,
    pub attempts_left: u32,
    pub checklist: Vec<ChecklistRow>,
    pub annex1_filed: bool,
    /// HRB-ANNEX1: the slot for the signed and sealed form (its name), and its files.
    pub annex1_signed: Option<(String, Vec<FileRef>)>,
    pub annex2: String,
    pub annex2_pending: bool,
    pub annex2_can_request: bool,
    pub station: Option<String>,
}

/// One version of the agreement as shown (URC-NEGOTIATE), with the comments made on it.
pub struct VersionRow {
    pub number: u32,
    pub on: String,
    /// The stored PDF, once rendered.
    pub document: Option<FileRef>,
    /// The supplementary clauses this version adds to the template's text.
    pub clauses: Vec<String>,
    /// The agency's reply and explanation of the changes.
    pub reply: Option<String>,
    /// The institution's comments on this version: (date, text).
    pub comments: Vec<(String, String)>,
    pub current: bool,
    pub signed: bool,
}

/// The negotiation of the agreement (URC-NEGOTIATE): versions, comments and replies in order,
/// and the forms of those who may act (the core's `available`).
pub struct NegotiationView {
    pub versions: Vec<VersionRow>,
    pub declined: Option<String>,
    pub can_comment: bool,
    pub can_revise: bool,
    pub can_decline: bool,
    /// The current version's supplementary clauses, one per line (the revision form's start).
    pub current_clauses: String,
}

/// A signature record (HRB-SIGN / URC-SIGN): who, when, which document.
pub struct SignatureRow {
    pub party: &'static str,
    pub name: String,
    pub at: String,
    pub sha256: String,
}

/// URC-EVAL-3 / URC-EVAL-4: an expert review or a decided result, as recorded (the same
/// record the API's events carry).
pub struct ReviewRow {
    pub title: &'static str,
    pub at: String,
    pub outcome: &'static str,
    pub reasons: Vec<String>,
    pub rectification: Option<String>,
    pub minutes: Option<String>,
    pub attendees: Vec<String>,
    pub departure_reason: Option<String>,
}

/// URC-EVAL-2: one evaluator's site score sheet as the institution confirming it and the experts
/// reviewing it see it. The evaluator is named by order only ("评估人员一"): who scored is never
/// shown here (URC-EVAL-1's double blind).
pub struct SheetView {
    pub evaluator: String,
    pub at: String,
    /// (item, points, out of)
    pub items: Vec<(String, u16, Option<u16>)>,
    pub total: u16,
    pub notes: Option<String>,
}

/// Chinese ordinal for the n-th (1-based) evaluator.
fn ordinal(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => DIGITS[n].to_owned(),
        10 => "十".to_owned(),
        11..=19 => format!("十{}", DIGITS[n - 10]),
        _ => n.to_string(),
    }
}

/// Everything the page adds for the current user.
pub struct Portal {
    pub facts: Option<FactsForm>,
    /// The declared facts, read-only, once the draft is no longer editable (everyone who may
    /// read the application: the page is shown only after `visibility::can_read`).
    pub declared: Vec<DeclaredRow>,
    pub slots: Vec<SlotView>,
    /// The agency's completeness review (HRB-ACC-1) is open.
    pub review: bool,
    pub missing_at_submit: Vec<String>,
    pub prep: Option<PrepView>,
    pub prep_agency: bool,
    pub prep_institution: bool,
    pub agreement: Option<FileRef>,
    pub negotiation: Option<NegotiationView>,
    pub signatures: Vec<SignatureRow>,
    pub documents: Vec<(&'static str, &'static str)>,
    /// Score entry: (item id, name, max) of the profile's sheet, when the user scores now.
    pub score_items: Vec<(String, String, u16)>,
    pub can_score: bool,
    /// URC-EVAL-2/3/4: the site score sheets of the current evaluation, for whoever is asked to
    /// judge them now — the institution confirming them, the experts reviewing them, the
    /// agency deciding.
    pub sheets: Vec<SheetView>,
    pub can_review_expert: bool,
    pub can_reject: bool,
    pub can_resolve: bool,
    /// URC-EVAL-1: open rounds this application may join (agency, before the draw).
    pub open_rounds: Vec<(i64, String)>,
    /// URC-EVAL-4: the collective decision is recorded here.
    pub can_decide: bool,
    /// URC-EVAL-3 / URC-EVAL-4: the expert reviews and results recorded, oldest first.
    pub reviews: Vec<ReviewRow>,
    // --- urc: information verification (URC-REV-2) ---
    /// The verification forms shown now: (command, terminates).
    pub verify_forms: Vec<(&'static str, bool)>,
    /// The ways of verification: (id, name).
    pub verify_sources: Vec<(&'static str, &'static str)>,
    /// Files uploaded to the verification slots, to attach to a source.
    pub verify_files: Vec<FileRef>,
    /// The verifications recorded: (outcome, when, the sources).
    pub verifications: Vec<VerificationRow>,
    /// URC-REV-1: the district's planning figures, during the initial review (staff only).
    pub planning: Option<PlanningView>,
    /// HRB-NOTICE / URC-RES-2: the complaints in full, for those who may see the complainant;
    /// `None` for everyone else.
    pub complaints: Option<Vec<ComplaintView>>,
}

/// A complaint from the public (HRB-NOTICE, URC-RES-2) in full, for those the core lets see the
/// complainant (`visibility::sees_complainant`): the agency investigating and the supervisors.
pub struct ComplaintView {
    pub number: i64,
    /// Received, Beijing time (`2026年12月1日 14:05`).
    pub received: String,
    /// The complainant's name; `None`: anonymous.
    pub name: Option<String>,
    pub contact: Option<String>,
    pub content: String,
    pub attachments: Vec<FileRef>,
    /// Still under investigation.
    pub open: bool,
    /// The recorded outcome as people read it (属实 / 不属实), once resolved.
    pub outcome: Option<&'static str>,
    pub finding: Option<String>,
    /// Resolved, Beijing time.
    pub resolved: Option<String>,
    /// The verdict form as last sent, after a refusal: the finding typed, the choice made, and
    /// the error to show at the choice.
    pub draft: ResolveDraft,
}

/// What the investigator last typed into a complaint's verdict form (kept after a refusal).
#[derive(Debug, Clone, Default)]
pub struct ResolveDraft {
    pub finding: String,
    pub founded: Option<bool>,
    /// A missing or refused verdict, shown at the choice.
    pub error: Option<String>,
}

/// URC-REV-1: the figures the initial review is held against, as shown.
pub struct PlanningView {
    pub rule: String,
    pub district: String,
    pub kind: &'static str,
    pub population: String,
    pub ceiling: String,
    pub density: String,
    pub density_now: String,
    pub designated: u32,
    pub capacity: String,
    /// `None`: no plan set for the district and kind.
    pub fits: Option<bool>,
}

/// URC-REV-2: a recorded verification (passed, or terminated with its reason) and its sources.
pub struct VerificationRow {
    pub outcome: String,
    pub at: String,
    /// (way, day checked, note, files).
    pub sources: Vec<(&'static str, String, String, Vec<FileRef>)>,
}

/// Builds the page's parts for this user. Which forms show is `available`, the core's answer to
/// "what may this actor do now"; nothing here decides a permission.
pub async fn build(s: &AppState, actor: &Actor, app: &AppRecord, profile: &Profile, available: &Available) -> Result<Portal, ApiError> {
    let today = s.clock.today();
    let slots = super::materials::slot_views(s, app, &available.uploadable).await?;
    let facts = available.can("update_draft").then(|| FactsForm::new(app, profile, today));
    let declared = if facts.is_none() && app.state != State::Draft && !app.data.facts.is_empty() {
        FactsForm::new(app, profile, today).declared()
    } else {
        Vec::new()
    };
    let review = available.can("issue_supplement_notice");
    let missing_at_submit =
        app.data.missing_materials.iter().map(|m| profile.material(m).map_or_else(|| m.clone(), |x| x.name.clone())).collect();

    let prep =
        profile.preparation.as_ref().filter(|_| matches!(app.state, State::PresignPreparation | State::ReadyToSign | State::Signed)).map(
            |cfg| {
                let p = &app.data.prep;
                let checklist = ChecklistItem::ALL
                    .into_iter()
                    .map(|item| {
                        let evidence_files = app.data.materials.get(item.evidence_slot()).map_or(0, Vec::len);
                        let verified = p.verified.get(&item).cloned();
                        ChecklistRow {
                            item: item.as_str(),
                            label: item.zh(),
                            required: item != ChecklistItem::RealNameDevice || cfg.real_name_device,
                            can_verify: available.verifiable.contains(&item),
                            verified,
                            evidence_files,
                        }
                    })
                    .collect();
                let a = &p.annex2;
                let tries = if cfg.annex2_attempts > 0 {
                    format!("（已申请 {} 次，共可申请 {} 次）", a.requests, cfg.annex2_attempts)
                } else if a.requests > 0 {
                    format!("（已申请 {} 次）", a.requests)
                } else {
                    String::new()
                };
                let reason = a.last_reason.clone().unwrap_or_default();
                let annex2 = if a.accepted {
                    "验收通过".to_owned()
                } else if a.pending {
                    format!(
                        "已申请验收，等待经办机构通知结果（应于 {} 前通知）{tries}",
                        a.review_due.map(|d| d.to_string()).unwrap_or_default()
                    )
                } else if a.withdrawn {
                    format!("上次验收未通过且未在期限内重新提交，验收申请已视为撤回；可整改后重新申请验收{tries}")
                } else if a.open_window().is_some() {
                    let due = a.resubmit_due.map(|d| format!("于 {d} 24:00 前")).unwrap_or_else(|| "在规定期限内".into());
                    format!("验收未通过：{reason}。请整改后{due}重新提交验收材料，逾期视为撤回验收申请{tries}")
                } else if a.requests > 0 && !available.can("request_annex2_acceptance") {
                    format!("验收未通过：{reason}。验收次数已用完{tries}")
                } else if a.requests > 0 {
                    format!("验收未通过：{reason}{tries}")
                } else {
                    "尚未申请验收".to_owned()
                };
                let failed = p.training.iter().filter(|t| !t.passed).count() as u32;
                PrepView {
                    training: p
                        .training
                        .iter()
                        .map(|t| {
                            (
                                t.session.clone(),
                                if t.attended { "参加" } else { "未参加" },
                                if t.passed { "通过" } else { "未通过" },
                                t.on.to_string(),
                            )
                        })
                        .collect(),
                    training_passed: p.training_passed(),
                    attempts_left: cfg.training_attempts.saturating_sub(failed),
                    checklist,
                    annex1_filed: p.annex1.is_some(),
                    annex1_signed: cfg.annex1_signed_slot.as_ref().map(|slot| {
                        let name = profile.material(slot).map_or_else(|| slot.clone(), |m| m.name.clone());
                        (name, app.data.materials.get(slot).cloned().unwrap_or_default())
                    }),
                    annex2,
                    annex2_pending: a.pending,
                    annex2_can_request: available.can("request_annex2_acceptance"),
                    station: p.station_accepted.clone(),
                }
            },
        );
    let mut signatures = Vec::new();
    let mut reviews = Vec::new();
    let outcome_zh = |o: &dingdian_core::lifecycle::Outcome| match o {
        dingdian_core::lifecycle::Outcome::Pass => "通过",
        dingdian_core::lifecycle::Outcome::Fail => "不通过",
    };
    let mut verifications = Vec::new();
    let sources_of = |list: &[dingdian_core::lifecycle::SourceChecked]| {
        list.iter()
            .map(|c| (c.source.zh(), c.checked_on.to_string(), c.note.clone().unwrap_or_default(), c.attachments.clone()))
            .collect::<Vec<_>>()
    };
    let mut sheets = Vec::new();
    let sheet_items = profile.score_sheets.iter().find(|sh| sh.applies_to.contains(&app.institution_kind()));
    for e in s.store.events(app.id).await? {
        match &e.event {
            Event::SiteEvaluationRecorded { score, notes, items, .. } => sheets.push(SheetView {
                evaluator: format!("评估人员{}", ordinal(sheets.len() + 1)),
                at: super::beijing(&e.occurred_at),
                items: sheet_rows(sheet_items, items),
                total: *score,
                notes: notes.clone(),
            }),
            // A re-evaluation starts the sheets afresh (URC-EVAL-2).
            Event::ReevaluationRequested => sheets.clear(),
            Event::VerificationPassed { sources } if !sources.is_empty() => verifications.push(VerificationRow {
                outcome: "信息核查通过".into(),
                at: super::beijing(&e.occurred_at),
                sources: sources_of(sources),
            }),
            Event::Terminated { reason, sources } if !sources.is_empty() => verifications.push(VerificationRow {
                outcome: format!("核查不符，终止申请：{reason}"),
                at: super::beijing(&e.occurred_at),
                sources: sources_of(sources),
            }),
            Event::ExpertReviewRecorded { recommendation, reasons, rectification, attendees } => reviews.push(ReviewRow {
                title: "专家评审意见",
                at: super::beijing(&e.occurred_at),
                outcome: outcome_zh(recommendation),
                reasons: reasons.clone(),
                rectification: rectification.clone(),
                minutes: None,
                attendees: attendees.clone(),
                departure_reason: None,
            }),
            Event::ResultDecided { outcome, reasons, rectification, minutes, attendees, departure_reason, .. } => reviews.push(ReviewRow {
                title: if minutes.is_some() { "集体决策结果" } else { "评估结果" },
                at: super::beijing(&e.occurred_at),
                outcome: outcome_zh(outcome),
                reasons: reasons.clone(),
                rectification: rectification.clone(),
                minutes: minutes.clone(),
                attendees: attendees.clone(),
                departure_reason: departure_reason.clone(),
            }),
            _ => {}
        }
        let (party, sha) = match &e.event {
            Event::InstitutionSigned { document_sha256 } => ("乙方（申请机构）", document_sha256.clone()),
            Event::Countersigned { document_sha256 } => ("甲方（经办机构）", document_sha256.clone()),
            _ => continue,
        };
        let name = s.store.user(e.actor_user_id).await?.map(|u| u.display_name).unwrap_or_default();
        signatures.push(SignatureRow { party, name, at: super::beijing(&e.occurred_at), sha256: sha.unwrap_or_default() });
    }
    let n = &app.data.negotiation;
    let negotiation = profile.agreement.as_ref().filter(|a| a.negotiation && !n.versions.is_empty()).map(|_| {
        let last = n.versions.last().map(|v| v.number);
        let versions = n
            .versions
            .iter()
            .map(|v| VersionRow {
                number: v.number,
                on: v.on.to_string(),
                document: v.document.clone(),
                clauses: v.clauses.clone(),
                reply: v.reply.clone(),
                comments: n.comments.iter().filter(|c| c.version == v.number).map(|c| (c.on.to_string(), c.text.clone())).collect(),
                current: Some(v.number) == last,
                signed: v.document.as_ref().is_some_and(|d| n.signed_sha256.as_deref() == Some(d.sha256.as_str())),
            })
            .collect();
        NegotiationView {
            versions,
            declined: n.declined.clone(),
            can_comment: available.can("comment_agreement"),
            can_revise: available.can("revise_agreement"),
            can_decline: available.can("decline_agreement"),
            current_clauses: n.current().map(|v| v.clauses.join("\n")).unwrap_or_default(),
        }
    });
    let mut documents = vec![(DocKind::ApplicationForm.slug(), DocKind::ApplicationForm.zh())];
    if app.data.site_recorded || app.data.expert_recommendation.is_some() {
        documents.push((DocKind::EvaluationSummary.slug(), DocKind::EvaluationSummary.zh()));
    }
    if app.data.prep.annex1.is_some() {
        documents.push((DocKind::Annex1.slug(), DocKind::Annex1.zh()));
    }
    if app.data.agreement.is_some() {
        documents.push((DocKind::Agreement.slug(), DocKind::Agreement.zh()));
    }
    // URC-EVAL-1/2: the grouped evaluators, from the visit day on, once each (the core decides).
    let can_score = available.can("record_site_evaluation");
    let score_items = if can_score {
        profile
            .score_sheets
            .iter()
            .find(|sh| sh.applies_to.contains(&app.institution_kind()))
            .map(|sh| sh.items.iter().map(|i| (i.id.clone(), i.name.clone(), i.max)).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let open_rounds = if available.open_rounds.is_empty() {
        Vec::new()
    } else {
        s.store.rounds(&app.city).await?.into_iter().filter(|r| available.open_rounds.contains(&r.id)).map(|r| (r.id, r.name)).collect()
    };
    // URC-REV-1: the plan, for the staff holding the initial review.
    let planning = if app.state == State::InitialReview && available.can("reject") {
        s.store.planning_for(app).await?.map(|a| {
            let dash = || "—".to_owned();
            let district =
                profile.districts.iter().find(|d| d.code == app.district).map_or_else(|| app.district.clone(), |d| d.name.clone());
            PlanningView {
                rule: a.rule.clone(),
                district,
                kind: app.institution_kind().zh(),
                population: a.plan.as_ref().map_or_else(dash, |p| p.population.to_string()),
                ceiling: a.plan.as_ref().and_then(|p| p.ceiling).map_or_else(dash, |c| c.to_string()),
                density: a
                    .plan
                    .as_ref()
                    .and_then(|p| p.density_centi)
                    .map_or_else(dash, |d| dingdian_core::planning::centi_label(d.into())),
                density_now: a.density_now_centi.map_or_else(dash, dingdian_core::planning::centi_label),
                designated: a.designated,
                capacity: a.capacity.map_or_else(dash, |c| c.to_string()),
                fits: a.fits,
            }
        })
    } else {
        None
    };
    let complaints = if dingdian_core::visibility::sees_complainant(actor) { Some(complaint_views(s, app).await?) } else { None };
    Ok(Portal {
        complaints,
        declared,
        planning,
        facts,
        slots,
        review,
        missing_at_submit,
        prep,
        prep_agency: available.can("fail_preparation"),
        prep_institution: available.can("file_annex1"),
        agreement: app.data.agreement.clone(),
        negotiation,
        signatures,
        documents,
        score_items,
        can_score,
        sheets: if ["confirm_score_sheet", "record_expert_review", "decide"].iter().any(|c| available.can(c)) {
            sheets
        } else {
            Vec::new()
        },
        can_review_expert: available.can("record_expert_review"),
        can_reject: available.can("reject"),
        can_resolve: available.can("resolve_complaint"),
        open_rounds,
        can_decide: available.can("decide"),
        reviews,
        verify_forms: [("pass_verification", false), ("terminate", true)].into_iter().filter(|(c, _)| available.can(c)).collect(),
        verify_sources: dingdian_core::lifecycle::VerificationSource::ALL.iter().map(|v| (v.as_str(), v.zh())).collect(),
        verify_files: profile
            .materials
            .iter()
            .filter(|m| m.phase == dingdian_core::policy::MaterialPhase::Verification)
            .flat_map(|m| app.data.materials.get(&m.id).cloned().unwrap_or_default())
            .collect(),
        verifications,
    })
}

/// The complaints on an application in full, with the outcome the application's record holds.
/// Only called for those the core lets see the complainant.
async fn complaint_views(s: &AppState, app: &AppRecord) -> Result<Vec<ComplaintView>, ApiError> {
    Ok(s.store
        .complaints(app.id)
        .await?
        .into_iter()
        .map(|c| {
            let recorded = app.data.complaints.iter().find(|x| i64::from(x.number) == c.number);
            let open = recorded.is_none_or(|x| x.open);
            ComplaintView {
                number: c.number,
                received: super::beijing_zh(&c.created_at),
                attachments: c.files(),
                name: c.name,
                contact: c.contact,
                content: c.content,
                open,
                outcome: recorded.and_then(|x| x.founded).map(|f| if f { "属实" } else { "不属实" }),
                finding: c.finding,
                resolved: c.resolved_at.as_deref().map(super::beijing_zh),
                draft: ResolveDraft::default(),
            }
        })
        .collect())
}

/// A score sheet's items in the profile's order (as the evaluator filled them in), then any
/// item the profile no longer lists, under its id: (name, points, out of).
fn sheet_rows(
    sheet: Option<&dingdian_core::policy::ScoreSheet>,
    items: &std::collections::BTreeMap<String, u16>,
) -> Vec<(String, u16, Option<u16>)> {
    let known = sheet.map(|sh| sh.items.as_slice()).unwrap_or_default();
    let listed = known.iter().filter_map(|i| items.get(&i.id).map(|p| (i.name.clone(), *p, Some(i.max))));
    let other = items.iter().filter(|(id, _)| !known.iter().any(|i| &i.id == *id)).map(|(id, p)| (id.clone(), *p, None));
    listed.chain(other).collect()
}
