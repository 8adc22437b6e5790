//! Printable documents built from an application: the application form with its staff roster
//! (HRB-MAT item 1), Annex 1 (HRB-ANNEX1), the evaluation summary, and the agreement from the
//! profile's template (HRB-SIGN / URC-SIGN). Each is a `dingdian_docs::Document`, rendered as PDF
//! (embedded CJK font) or as an HTML print view by the caller.

use dingdian_core::lifecycle::{self, Actor, Command, Event, FileRef, State};
use dingdian_core::policy::{FileType, Profile};
use dingdian_docs::{Block, Document};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::files::FileStore;
use crate::{AppRecord, InstitutionRecord, Result, Store, StoreError};

/// Which printable document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    ApplicationForm,
    Annex1,
    EvaluationSummary,
    Agreement,
}

impl DocKind {
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "application-form" => Some(DocKind::ApplicationForm),
            "annex1" => Some(DocKind::Annex1),
            "evaluation-summary" => Some(DocKind::EvaluationSummary),
            "agreement" => Some(DocKind::Agreement),
            _ => None,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            DocKind::ApplicationForm => "application-form",
            DocKind::Annex1 => "annex1",
            DocKind::EvaluationSummary => "evaluation-summary",
            DocKind::Agreement => "agreement",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            DocKind::ApplicationForm => "申请表及人员花名册",
            DocKind::Annex1 => "医保专线备案表（附件1）",
            DocKind::EvaluationSummary => "评估情况汇总",
            DocKind::Agreement => "医保服务协议",
        }
    }
}

fn yes(b: bool) -> String {
    if b { "有".into() } else { "无".into() }
}

/// The national code on record, or as declared.
fn national_code(app: &AppRecord, inst: &InstitutionRecord) -> String {
    inst.national_code
        .clone()
        .or_else(|| app.data.facts.get("national_code").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "（未填报）".into())
}

impl Store {
    /// Builds a printable document of application `id` for `actor` (who must be able to read it).
    /// `None` when the document does not exist yet (no Annex 1 filed, no agreement issued…).
    pub async fn document(&self, id: i64, actor: &Actor, kind: DocKind, now: Timestamp) -> Result<Option<Document>> {
        let (app, _) = self.readable(id, actor, dingdian_core::china_date(now)).await?;
        let inst = self.institution(app.institution_id).await?.ok_or(StoreError::NotFound)?;
        let today = app.updated_at.get(..10).and_then(|d| d.parse::<Date>().ok()).unwrap_or(jiff::civil::date(2026, 1, 1));
        Ok(match kind {
            DocKind::ApplicationForm => Some(self.application_form(&app, &inst, today).await?),
            DocKind::Annex1 => annex1(&*self.profile_for(&app)?, &app, &inst, today),
            DocKind::EvaluationSummary => Some(self.evaluation_summary(&app, &inst, today).await?),
            DocKind::Agreement => self.agreement_document(&app, &inst)?,
        })
    }

    async fn application_form(&self, app: &AppRecord, inst: &InstitutionRecord, today: Date) -> Result<Document> {
        let profile = self.profile_for(app)?;
        let f = &app.data.facts;
        let fact = |k: &str| f.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        let mut blocks = vec![
            Block::Heading("一、机构基本信息".into()),
            Block::Fields(vec![
                ("机构名称".into(), inst.name.clone()),
                ("统一社会信用代码".into(), inst.uscc.clone()),
                ("国家医保定点机构代码".into(), national_code(app, inst)),
                ("机构类别".into(), inst.category.clone()),
                ("地址".into(), inst.address.clone()),
                ("所在区县".into(), inst.district.clone()),
                ("核定床位".into(), fact("beds")),
                ("开始运营日期".into(), fact("operating_since")),
                ("首注医师人数".into(), fact("first_registered_physicians")),
                ("医保管理人员人数".into(), fact("insurance_administrators")),
            ]),
            Block::Heading("二、人员花名册".into()),
        ];
        let mut rows: Vec<Vec<String>> = self
            .persons(inst.id)
            .await?
            .into_iter()
            .map(|p| vec![p.name, dingdian_store_role_zh(&p.role).to_owned(), p.resident_id])
            .collect();
        for (key, role) in [("pharmacists", "药学技术人员"), ("insurance_admin_contracts", "医保管理人员")] {
            for s in f.get(key).and_then(|v| v.as_array()).into_iter().flatten() {
                let name = s.get("name").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                let start = s.get("contract_start").and_then(|v| v.as_str()).unwrap_or_default();
                rows.push(vec![name, role.to_owned(), format!("劳动合同起始 {start}")]);
            }
        }
        if rows.is_empty() {
            blocks.push(Block::Paragraph("（未登记人员）".into()));
        } else {
            blocks.push(Block::Table { headers: vec!["姓名".into(), "岗位".into(), "身份证号（脱敏）/ 说明".into()], rows });
        }
        blocks.push(Block::Heading("三、申请材料".into()));
        let rows = profile
            .materials_for(app.institution_kind(), dingdian_core::policy::MaterialPhase::Application)
            .enumerate()
            .map(|(i, m)| {
                let files = app.data.materials.get(&m.id).map(|fs| fs.iter().map(|f| f.name.clone()).collect::<Vec<_>>().join("、"));
                vec![(i + 1).to_string(), m.name.clone(), files.filter(|s| !s.is_empty()).unwrap_or_else(|| "未上传".into())]
            })
            .collect();
        blocks.push(Block::Table { headers: vec!["序号".into(), "材料".into(), "已上传文件".into()], rows });
        blocks.push(Block::Paragraph("本机构承诺所填信息及所附材料真实、准确、完整，如有不实，愿承担相应责任。".into()));
        blocks.push(Block::Signatures(vec!["法定代表人（主要负责人）签字：".into(), "单位盖章：".into(), "日期：".into()]));
        Ok(Document {
            title: profile.application_form_title.clone().unwrap_or_else(|| format!("{}定点医药机构申请表", profile.name)),
            subtitle: Some(format!("申请编号 {}", app.number)),
            created: app.data.submitted_on.unwrap_or(today),
            blocks,
            footer: Some(format!("申请编号 {}", app.number)),
        })
    }

    async fn evaluation_summary(&self, app: &AppRecord, inst: &InstitutionRecord, today: Date) -> Result<Document> {
        let mut rows = Vec::new();
        for e in self.events(app.id).await? {
            let text = match &e.event {
                Event::SiteEvaluationRecorded { score, notes, passes, .. } => format!(
                    "现场评估得分 {score}{}{}",
                    passes.map(|p| if p { "（达到合格分）" } else { "（未达到合格分）" }).unwrap_or(""),
                    notes.as_deref().map(|n| format!("；{n}")).unwrap_or_default()
                ),
                Event::ExpertReviewRecorded { recommendation, reasons, attendees, .. } => format!(
                    "专家评审意见：{}{}；出席专家：{}",
                    if *recommendation == lifecycle::Outcome::Pass { "通过" } else { "不通过" },
                    if reasons.is_empty() { String::new() } else { format!("（{}）", reasons.join("；")) },
                    attendees.join("、")
                ),
                Event::ResultDecided { outcome, reasons, rectification, .. } => format!(
                    "评估结果：{}{}{}",
                    if *outcome == lifecycle::Outcome::Pass { "通过" } else { "不通过" },
                    if reasons.is_empty() { String::new() } else { format!("；理由：{}", reasons.join("；")) },
                    rectification.as_deref().map(|r| format!("；整改意见：{r}")).unwrap_or_default()
                ),
                Event::ScoreSheetConfirmed => "机构已签字确认评分表".into(),
                _ => continue,
            };
            rows.push(vec![e.occurred_on.to_string(), e.label.clone(), text]);
        }
        let mut blocks = vec![Block::Fields(vec![
            ("机构名称".into(), inst.name.clone()),
            ("国家医保定点机构代码".into(), national_code(app, inst)),
            ("申请编号".into(), app.number.clone()),
            ("当前状态".into(), app.state.zh().into()),
        ])];
        if rows.is_empty() {
            blocks.push(Block::Paragraph("尚无评估记录。".into()));
        } else {
            blocks.push(Block::Table { headers: vec!["日期".into(), "环节".into(), "情况".into()], rows });
        }
        Ok(Document {
            title: "定点评估情况汇总".into(),
            subtitle: Some(inst.name.clone()),
            created: today,
            blocks,
            footer: Some(format!("申请编号 {}", app.number)),
        })
    }

    /// The agreement from the profile's template, dated the day signing opened; from version 2 on
    /// (URC-NEGOTIATE) followed by the supplementary clauses the parties agreed for the current
    /// version.
    fn agreement_document(&self, app: &AppRecord, inst: &InstitutionRecord) -> Result<Option<Document>> {
        let profile = self.profile_for(app)?;
        let Some(t) = profile.agreement.as_ref() else { return Ok(None) };
        // Declined (URC-NEGOTIATE): the last version issued stays readable.
        let declined = app.state == State::NotSigned && app.data.agreement.is_some();
        if !matches!(app.state, State::ReadyToSign | State::Signed) && !declined {
            return Ok(None);
        }
        let date = app.data.entered_on.unwrap_or(jiff::civil::date(2026, 1, 1));
        let fill = |s: &str| {
            s.replace("{institution_name}", &inst.name)
                .replace("{national_code}", &national_code(app, inst))
                .replace("{uscc}", &inst.uscc)
                .replace("{address}", &inst.address)
                .replace("{district}", &inst.district)
                .replace("{number}", &app.number)
                .replace("{agency}", &t.agency)
                .replace("{date}", &date.to_string())
        };
        let mut blocks: Vec<Block> = t.clauses.iter().map(|c| Block::Paragraph(fill(c))).collect();
        let current = app.data.negotiation.current();
        let agreed = current.map(|v| v.clauses.as_slice()).unwrap_or_default();
        if !agreed.is_empty() {
            blocks.push(Block::Heading("补充条款".into()));
            blocks.push(Block::Paragraph("经双方协商一致，对本协议作如下补充和修改；补充条款与上述条款不一致的，以补充条款为准。".into()));
            blocks.extend(agreed.iter().enumerate().map(|(i, c)| Block::Paragraph(format!("补充第{}条 {c}", i + 1))));
        }
        blocks.push(Block::Signatures(vec![format!("甲方：{}（在线签订）", t.agency), format!("乙方：{}（在线签订）", inst.name)]));
        let version = current.map_or(1, |v| v.number);
        let subtitle =
            if version > 1 { format!("协议编号 {} · 第 {version} 版", app.number) } else { format!("协议编号 {}", app.number) };
        Ok(Some(Document {
            title: t.title.clone(),
            subtitle: Some(subtitle),
            created: date,
            blocks,
            footer: Some(format!("{} · {}", t.rule, app.number)),
        }))
    }

    /// Generates and records the agreement once an application is ready to sign (HRB-SIGN /
    /// URC-SIGN), and each revised version (URC-NEGOTIATE). Idempotent: does nothing when the
    /// current version was issued or the state is another.
    pub async fn issue_agreement(&self, files: &FileStore, id: i64, now: Timestamp) -> Result<()> {
        let app = self.application(id).await?.ok_or(StoreError::NotFound)?;
        if app.state != State::ReadyToSign || app.data.agreement.is_some() || app.data.institution_signed {
            return Ok(());
        }
        let inst = self.institution(app.institution_id).await?.ok_or(StoreError::NotFound)?;
        let Some(doc) = self.agreement_document(&app, &inst)? else { return Ok(()) };
        let pdf = dingdian_docs::render_pdf(&doc).map_err(|e| StoreError::Internal(format!("agreement PDF: {e}")))?;
        let size = pdf.len() as u64;
        let sha256 = files.put_bytes(bytes::Bytes::from(pdf)).await?;
        let version = app.data.negotiation.current().filter(|v| v.document.is_none()).map_or(1, |v| v.number);
        let name = if version > 1 {
            format!("{}-{}-第{version}版.pdf", doc.title, app.number)
        } else {
            format!("{}-{}.pdf", doc.title, app.number)
        };
        let document = FileRef { sha256, size, file_type: FileType::Pdf, name };
        match self.execute_with(id, &Actor::system(&app.city), app.version, &Command::IssueAgreement { document }, now, None).await {
            // Someone else issued it (or the application moved on) meanwhile: fine.
            Ok(_) | Err(StoreError::Conflict { .. }) | Err(StoreError::Refused(lifecycle::Refusal::StaleVersion { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn annex1(profile: &Profile, app: &AppRecord, inst: &InstitutionRecord, today: Date) -> Option<Document> {
    let form = app.data.prep.annex1.as_ref()?;
    let a = &form.attachments;
    let tick = |b: bool| if b { "■" } else { "□" };
    let blocks = vec![
        Block::Fields(vec![
            ("机构名称".into(), form.institution_name.clone()),
            ("国码".into(), form.national_code.clone()),
            ("营业地址".into(), form.business_address.clone()),
            ("运营商".into(), form.carrier_zh().into()),
            ("专线形式".into(), form.line_form_zh().into()),
            ("申请日期".into(), form.application_date.to_string()),
            ("网络安全设备".into(), yes(form.security_equipment)),
            ("设备品牌".into(), form.equipment_brand.clone().unwrap_or_default()),
            ("设备型号".into(), form.equipment_model.clone().unwrap_or_default()),
            ("网络安全制度".into(), yes(form.security_rules)),
            ("法定代表人".into(), form.legal_representative.clone()),
            ("联系电话".into(), form.phone.clone()),
            ("备注".into(), form.remarks.clone().unwrap_or_default()),
        ]),
        Block::Heading("审核材料".into()),
        Block::Paragraph(format!(
            "{} 营业执照复印件　{} 网络和数据安全承诺书　{} 网络安全组织架构图　{} 网络安全设备照片",
            tick(a.business_licence_copy),
            tick(a.security_commitment),
            tick(a.security_org_chart),
            tick(a.equipment_photos)
        )),
        Block::Paragraph("医保部门不收取任何费用。专线由运营商按营业执照地址安装。".into()),
        Block::Signatures(vec!["法定代表人签字：".into(), "单位盖章：".into(), "日期：".into()]),
    ];
    Some(Document {
        title: profile
            .preparation
            .as_ref()
            .and_then(|p| p.annex1_title.clone())
            .unwrap_or_else(|| format!("{}定点医药机构医疗保障业务专线连接申请备案表", profile.name)),
        subtitle: Some(format!("{}（{}）", inst.name, app.number)),
        created: app.data.prep.annex1.as_ref().map(|f| f.application_date).unwrap_or(today),
        blocks,
        footer: Some(format!("HRB-ANNEX1 · {}", app.number)),
    })
}

fn dingdian_store_role_zh(role: &str) -> &str {
    crate::PERSON_ROLES.iter().find(|(r, _)| *r == role).map_or(role, |(_, zh)| zh)
}
