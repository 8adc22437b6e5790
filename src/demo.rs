//! Demo data: accounts for every role in both cities, thirteen institutions, and applications
//! driven through the real command path into states across the lifecycle. Idempotent: accounts
//! and institutions are keyed by username and 统一社会信用代码, and an institution that already
//! has an application is left alone.

use anyhow::{Context, Result};
use dingdian_core::ids::Uscc;
use dingdian_core::lifecycle::{Actor, ChecklistItem, Command, Outcome, Problem, Reason, Role, SupplementItem};
use dingdian_core::policy::InstitutionKind;
use dingdian_store::files::FileStore;
use dingdian_store::{NewInstitution, NewUser, Store, Upload};
use dingdian_web::DemoAccount;
use jiff::{SignedDuration, Timestamp};

/// Every demo account uses this password.
pub const PASSWORD: &str = "dingdian-demo";

struct Staff {
    username: &'static str,
    name: &'static str,
    role: Role,
    city: &'static str,
    district: Option<&'static str>,
}

const STAFF: &[Staff] = &[
    Staff { username: "hrb-agency", name: "哈尔滨市医保经办 张敏", role: Role::Agency, city: "harbin", district: None },
    Staff { username: "hrb-expert", name: "哈尔滨评估专家 李强", role: Role::Expert, city: "harbin", district: None },
    Staff { username: "hrb-evaluator", name: "哈尔滨评估人员 王芳", role: Role::Evaluator, city: "harbin", district: None },
    Staff { username: "hrb-supervisor", name: "哈尔滨医保纪检 赵刚", role: Role::Supervisor, city: "harbin", district: None },
    Staff { username: "hrb-admin", name: "哈尔滨市医保局 刘洋", role: Role::Admin, city: "harbin", district: None },
    Staff { username: "urc-agency", name: "乌鲁木齐市医保服务中心 马丽", role: Role::Agency, city: "urumqi", district: None },
    Staff {
        username: "urc-branch-tianshan",
        name: "天山区医保分中心 阿依古丽",
        role: Role::BranchReviewer,
        city: "urumqi",
        district: Some("650102"),
    },
    Staff {
        username: "urc-branch-shayibake",
        name: "沙依巴克区医保分中心 艾力",
        role: Role::BranchReviewer,
        city: "urumqi",
        district: Some("650103"),
    },
    Staff { username: "urc-evaluator", name: "乌鲁木齐评估人员 陈静", role: Role::Evaluator, city: "urumqi", district: None },
    Staff { username: "urc-expert", name: "乌鲁木齐评估专家 周涛", role: Role::Expert, city: "urumqi", district: None },
    Staff { username: "urc-supervisor", name: "乌鲁木齐医保纪检 孙伟", role: Role::Supervisor, city: "urumqi", district: None },
    Staff { username: "urc-admin", name: "乌鲁木齐市医保局 吴霞", role: Role::Admin, city: "urumqi", district: None },
];

/// What happens to a demo institution's application.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Story {
    Draft,
    Submitted,
    AwaitingSupplement,
    PublicNotice,
    FailedRectifying,
    Signed,
    InitialReview,
    InfoVerification,
    OnSiteEvaluation,
    Rejected,
    CollectiveDecision,
    SignedUrc,
    /// Harbin, in pre-signing preparation: training passed, some evidence uploaded.
    Preparing,
}

struct Inst {
    username: &'static str,
    /// First 17 characters of the 统一社会信用代码; the check character is computed.
    uscc17: &'static str,
    name: &'static str,
    kind: InstitutionKind,
    category: &'static str,
    city: &'static str,
    district: &'static str,
    code: &'static str,
    address: &'static str,
    beds: i64,
    story: Story,
}

const INSTITUTIONS: &[Inst] = &[
    Inst {
        username: "hrb-inst-huimin",
        uscc17: "52230109MJ5E6F7G8",
        name: "哈尔滨松北惠民医院",
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district: "230109",
        code: "H23010900071",
        address: "哈尔滨市松北区世博路 88 号",
        beds: 60,
        story: Story::Preparing,
    },
    Inst {
        username: "hrb-inst-kangning",
        uscc17: "12230102MB1A2B3C4",
        name: "哈尔滨康宁综合医院",
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "harbin",
        district: "230102",
        code: "H23010200011",
        address: "哈尔滨市道里区友谊路 101 号",
        beds: 150,
        story: Story::Signed,
    },
    Inst {
        username: "hrb-inst-anxin",
        uscc17: "92230103MA1B2C3D4",
        name: "哈尔滨南岗安心诊所",
        kind: InstitutionKind::Medical,
        category: "诊所",
        city: "harbin",
        district: "230103",
        code: "H23010300021",
        address: "哈尔滨市南岗区学府路 55 号",
        beds: 0,
        story: Story::AwaitingSupplement,
    },
    Inst {
        username: "hrb-inst-xiangfang",
        uscc17: "12230110MB2C3D4E5",
        name: "哈尔滨香坊社区卫生服务中心",
        kind: InstitutionKind::Medical,
        category: "社区卫生服务中心",
        city: "harbin",
        district: "230110",
        code: "H23011000031",
        address: "哈尔滨市香坊区中山路 88 号",
        beds: 20,
        story: Story::Submitted,
    },
    Inst {
        username: "hrb-inst-zhongyi",
        uscc17: "52230104MJ3D4E5F6",
        name: "哈尔滨道外仁和中医医院",
        kind: InstitutionKind::Medical,
        category: "中医医院",
        city: "harbin",
        district: "230104",
        code: "H23010400041",
        address: "哈尔滨市道外区靖宇街 12 号",
        beds: 60,
        story: Story::PublicNotice,
    },
    Inst {
        username: "hrb-inst-menzhen",
        uscc17: "91230108MA4E5F6G7",
        name: "哈尔滨平房康泰门诊部",
        kind: InstitutionKind::Medical,
        category: "门诊部",
        city: "harbin",
        district: "230108",
        code: "H23010800051",
        address: "哈尔滨市平房区友协大街 9 号",
        beds: 0,
        story: Story::FailedRectifying,
    },
    Inst {
        username: "hrb-inst-eye",
        uscc17: "91230109MA5F6G7H8",
        name: "哈尔滨松北明目眼科医院",
        kind: InstitutionKind::Medical,
        category: "专科医院",
        city: "harbin",
        district: "230109",
        code: "H23010900061",
        address: "哈尔滨市松北区世茂大道 66 号",
        beds: 40,
        story: Story::Draft,
    },
    Inst {
        username: "urc-inst-baicao",
        uscc17: "91650102MA6G7H8J9",
        name: "乌鲁木齐百草堂大药房",
        kind: InstitutionKind::Pharmacy,
        category: "零售药店",
        city: "urumqi",
        district: "650102",
        code: "P65010200071",
        address: "乌鲁木齐市天山区解放南路 23 号",
        beds: 0,
        story: Story::SignedUrc,
    },
    Inst {
        username: "urc-inst-kangjian",
        uscc17: "91650102MA7H8J9K0",
        name: "乌鲁木齐康健药店",
        kind: InstitutionKind::Pharmacy,
        category: "零售药店",
        city: "urumqi",
        district: "650102",
        code: "P65010200081",
        address: "乌鲁木齐市天山区新华北路 8 号",
        beds: 0,
        story: Story::InitialReview,
    },
    Inst {
        username: "urc-inst-tianshan",
        uscc17: "52650102MJ8J9K0L1",
        name: "乌鲁木齐天山仁爱医院",
        kind: InstitutionKind::Medical,
        category: "综合医院",
        city: "urumqi",
        district: "650102",
        code: "H65010200091",
        address: "乌鲁木齐市天山区人民路 120 号",
        beds: 120,
        story: Story::InfoVerification,
    },
    Inst {
        username: "urc-inst-shayi",
        uscc17: "92650103MA9K0L1M2",
        name: "乌鲁木齐沙依巴克便民诊所",
        kind: InstitutionKind::Medical,
        category: "诊所",
        city: "urumqi",
        district: "650103",
        code: "H65010300101",
        address: "乌鲁木齐市沙依巴克区友好南路 17 号",
        beds: 0,
        story: Story::OnSiteEvaluation,
    },
    Inst {
        username: "urc-inst-xinmin",
        uscc17: "92650103MAAL1M2N3",
        name: "乌鲁木齐新民药店",
        kind: InstitutionKind::Pharmacy,
        category: "零售药店",
        city: "urumqi",
        district: "650103",
        code: "P65010300111",
        address: "乌鲁木齐市沙依巴克区西北路 40 号",
        beds: 0,
        story: Story::Rejected,
    },
    Inst {
        username: "urc-inst-huiren",
        uscc17: "12650103MBBM2N3P4",
        name: "乌鲁木齐惠仁社区卫生服务中心",
        kind: InstitutionKind::Medical,
        category: "社区卫生服务中心",
        city: "urumqi",
        district: "650103",
        code: "H65010300121",
        address: "乌鲁木齐市沙依巴克区扬子江路 3 号",
        beds: 30,
        story: Story::CollectiveDecision,
    },
];

fn city_zh(city: &str) -> &'static str {
    if city == "harbin" { "哈尔滨市" } else { "乌鲁木齐市" }
}

/// The accounts to list on the home page.
pub fn accounts() -> Vec<DemoAccount> {
    let staff = STAFF.iter().map(|s| DemoAccount {
        username: s.username.into(),
        password: PASSWORD.into(),
        role: s.role.zh().into(),
        city: city_zh(s.city).into(),
        note: s.name.into(),
    });
    let pool = std::iter::once(DemoAccount {
        username: "urc-e001 … urc-e018".into(),
        password: PASSWORD.into(),
        role: Role::Evaluator.zh().into(),
        city: city_zh("urumqi").into(),
        note: "乌鲁木齐评估人员库成员（抽中后可查看任务并评分）".into(),
    });
    let inst = INSTITUTIONS.iter().map(|i| DemoAccount {
        username: i.username.into(),
        password: PASSWORD.into(),
        role: Role::Institution.zh().into(),
        city: city_zh(i.city).into(),
        note: i.name.into(),
    });
    staff.chain(pool).chain(inst).collect()
}

/// More than the demo timeline spans (it reaches about 45 days back).
const DEMO_SPAN: SignedDuration = SignedDuration::from_hours(24 * 366);

/// Seeds demo data relative to `now`. Returns how many applications it created.
pub async fn seed(store: &Store, files: &FileStore, now: Timestamp) -> Result<usize> {
    // The demo timeline needs working-day data; outside the loaded years, or so close to the
    // ends of time that the timeline would not fit, pin it to 2026.
    let fits = now.checked_sub(DEMO_SPAN).is_ok() && now.checked_add(DEMO_SPAN).is_ok();
    let base = if fits && store.calendar().has_year(dingdian_core::china_date(now).year()) {
        now
    } else {
        "2026-11-27T02:00:00Z".parse().context("fixed demo date")?
    };
    seed_pool(store, base).await?;
    for s in STAFF {
        let user = NewUser {
            username: s.username,
            display_name: s.name,
            password: PASSWORD,
            role: s.role,
            city: s.city,
            district: s.district,
            institution_id: None,
        };
        store.ensure_user(user, base).await?;
    }
    let mut created = 0;
    for i in INSTITUTIONS {
        let uscc = Uscc::with_check(i.uscc17).with_context(|| format!("demo code {}", i.uscc17))?;
        let new = NewInstitution {
            uscc: &uscc,
            name: i.name,
            kind: i.kind,
            category: i.category,
            city: i.city,
            district: i.district,
            national_code: Some(i.code),
            address: i.address,
            beds: i.beds,
        };
        let inst_id = store.ensure_institution(new, base).await?;
        let user = NewUser {
            username: i.username,
            display_name: i.name,
            password: PASSWORD,
            role: Role::Institution,
            city: i.city,
            district: None,
            institution_id: Some(inst_id),
        };
        let user_id = store.ensure_user(user, base).await?;
        let inst_actor = store.user(user_id).await?.context("demo user")?.actor();
        let has_app = !store.applications_for(&inst_actor, None, 1, dingdian_core::china_date(base)).await?.is_empty();
        if !has_app {
            let mut script = Script::new(store, files, base, inst_actor, i.city, i.district).await?;
            script.inst_code = i.code.to_owned();
            script.beds = i.beds;
            script.play(i.story).await?;
            created += 1;
        }
    }
    Ok(created)
}

/// Drives one application with the real command path, at times before `base`.
struct Script<'a> {
    store: &'a Store,
    files: &'a FileStore,
    base: Timestamp,
    inst: Actor,
    agency: Actor,
    branch: Actor,
    expert: Actor,
    system: Actor,
    app: i64,
    version: i64,
    inst_code: String,
    beds: i64,
}

async fn actor(store: &Store, username: &str) -> Result<Actor> {
    Ok(store.user_by_username(username).await?.with_context(|| format!("demo user {username}"))?.actor())
}

impl<'a> Script<'a> {
    async fn new(store: &'a Store, files: &'a FileStore, base: Timestamp, inst: Actor, city: &str, district: &str) -> Result<Script<'a>> {
        let p = if city == "harbin" { "hrb" } else { "urc" };
        let branch = if district == "650103" { "urc-branch-shayibake" } else { "urc-branch-tianshan" };
        Ok(Script {
            store,
            files,
            base,
            agency: actor(store, &format!("{p}-agency")).await?,
            branch: if city == "urumqi" { actor(store, branch).await? } else { actor(store, "hrb-agency").await? },
            expert: actor(store, &format!("{p}-expert")).await?,
            system: Actor::system(city),
            inst,
            app: 0,
            version: 0,
            inst_code: String::new(),
            beds: 0,
        })
    }

    fn at(&self, days_ago: i64) -> Timestamp {
        // `seed` keeps `base` a year inside the representable range and `days_ago` is a
        // small constant, so this cannot fail; the fallback only avoids a panic path.
        self.base.checked_sub(SignedDuration::from_hours(24 * days_ago)).unwrap_or(self.base)
    }

    async fn run(&mut self, who: &Actor, days_ago: i64, cmd: Command) -> Result<()> {
        let who = who.clone();
        let out = self
            .store
            .execute(self.app, &who, self.version, &cmd, self.at(days_ago))
            .await
            .with_context(|| format!("demo: {} on application {}", cmd.name(), self.app))?;
        self.version = out.application.version;
        Ok(())
    }

    /// Uploads a small demo PDF into a material slot, through the real upload path.
    async fn upload(&mut self, days_ago: i64, slot: &str) -> Result<()> {
        let body = demo_pdf(&format!("{} {slot} {days_ago}", self.inst_code));
        let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(body))]);
        let who = self.inst.clone();
        let name = format!("{slot}.pdf");
        let out = self
            .store
            .attach_material(self.files, self.app, &who, Upload { slot, name: &name, body: stream }, self.at(days_ago))
            .await
            .with_context(|| format!("demo: upload {slot} on application {}", self.app))?;
        self.version = out.application.version;
        Ok(())
    }

    /// HRB-PRE-1…3 done the real way: training, evidence, Annex 1 and 2, verification, station.
    async fn prepare(&mut self, agency: &Actor, days_ago: i64) -> Result<()> {
        let inst = self.inst.clone();
        self.run(
            agency,
            days_ago,
            Command::RecordTraining { session: "2026 年第 3 期定点医疗机构培训".into(), attended: true, passed: true },
        )
        .await?;
        // HRB-ANNEX1: the signed and sealed scan goes with the form.
        for slot in ["evidence_network_security", "annex1_signed", "annex1_materials", "evidence_inventory_interface"] {
            self.upload(days_ago, slot).await?;
        }
        let record = self.store.institution(self.inst.institution_id.unwrap_or_default()).await?.context("demo institution")?;
        let day = dingdian_core::china_date(self.at(days_ago));
        let name = format!("哈尔滨市处方流转验收材料—{}{}.zip", day.strftime("%Y年%-m月%-d日"), record.name);
        let stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from(annex2_package()?))]);
        let out = self
            .store
            .attach_material(self.files, self.app, &inst, Upload { slot: "annex2_package", name: &name, body: stream }, self.at(days_ago))
            .await
            .context("demo: Annex 2 package")?;
        self.version = out.application.version;
        let form = dingdian_core::annex::Annex1 {
            institution_name: record.name.clone(),
            national_code: self.inst_code.clone(),
            business_address: record.address.clone(),
            carrier: dingdian_core::annex::Carrier::Unicom,
            line_form: dingdian_core::annex::LineForm::Wired,
            application_date: day,
            security_equipment: true,
            equipment_brand: Some("深信服".into()),
            equipment_model: Some("AF-1000".into()),
            security_rules: true,
            legal_representative: "王建国".into(),
            phone: "0451-86661234".into(),
            attachments: dingdian_core::annex::Attachments {
                business_licence_copy: true,
                security_commitment: true,
                security_org_chart: true,
                equipment_photos: true,
            },
            remarks: None,
        };
        self.run(&inst, days_ago, Command::FileAnnex1 { form }).await?;
        self.run(&inst, days_ago, Command::RequestAnnex2Acceptance).await?;
        self.run(agency, days_ago - 1, Command::ReviewAnnex2 { passed: true, reason: None }).await?;
        for item in [ChecklistItem::NetworkSecurity, ChecklistItem::DedicatedLine, ChecklistItem::InventoryInterface] {
            self.run(agency, days_ago - 1, Command::VerifyChecklistItem { item, note: "现场核验属实".into() }).await?;
        }
        self.run(agency, days_ago - 2, Command::RecordStationAcceptance { note: "龙江医保一体化平台服务站点验收通过".into() }).await
    }

    async fn play(mut self, story: Story) -> Result<()> {
        let start = match story {
            Story::Signed | Story::SignedUrc => 60,
            _ => 30,
        };
        self.app = self.store.create_application(&self.inst, self.at(start + 1)).await?.id;
        if story == Story::Draft {
            return Ok(());
        }
        let inst = self.inst.clone();
        let (agency, branch, expert, system) = (self.agency.clone(), self.branch.clone(), self.expert.clone(), self.system.clone());
        let facts = declaration(&self.inst_code, self.beds);
        self.run(&inst, start + 1, Command::UpdateDraft { facts }).await?;
        let slots: Vec<String> = {
            let app = self.store.application(self.app).await?.context("demo application")?;
            let profile = self.store.profile_for(&app)?;
            profile
                .materials_for(app.institution_kind(), dingdian_core::policy::MaterialPhase::Application)
                .map(|m| m.id.clone())
                .filter(|id| !(matches!(story, Story::Signed | Story::AwaitingSupplement) && id == "integrity_letter"))
                .collect()
        };
        for slot in &slots {
            self.upload(start + 1, slot).await?;
        }
        let submit_day = if matches!(story, Story::Submitted | Story::AwaitingSupplement) { 2 } else { start };
        self.run(&inst, submit_day, Command::Submit).await?;
        match story {
            Story::Submitted => Ok(()),
            Story::AwaitingSupplement => self.run(&agency, 1, supplement_notice()).await,
            Story::Signed | Story::PublicNotice | Story::FailedRectifying | Story::Preparing => {
                if story == Story::Signed {
                    self.run(&agency, start - 1, supplement_notice()).await?;
                    self.upload(start - 3, "integrity_letter").await?;
                    self.upload(start - 3, "his_evidence").await?;
                    self.run(&inst, start - 3, Command::Supplement { note: Some("已补传诚信承诺书。".into()) }).await?;
                }
                self.run(&agency, 28, Command::Accept).await?;
                self.run(&agency, 27, Command::ScheduleEvaluation { date: None, note: Some("线下踏查".into()) }).await?;
                self.run(
                    &agency,
                    25,
                    Command::RecordSiteEvaluation {
                        score: 86, items: Default::default(), notes: Some("现场核查情况与申报一致".into())
                    },
                )
                .await?;
                if story == Story::FailedRectifying {
                    return self
                        .run(
                            &expert,
                            10,
                            Command::RecordExpertReview {
                                recommendation: Outcome::Fail,
                                reasons: vec!["医保管理制度不健全".into()],
                                rectification: Some("补充医保管理制度并完成内部培训".into()),
                                attendees: vec!["李强".into(), "孙丽".into(), "周明".into()],
                            },
                        )
                        .await;
                }
                self.run(&expert, 20, pass_review()).await?;
                if story == Story::PublicNotice {
                    return self.run(&agency, 1, Command::PublishNotice).await;
                }
                self.run(&agency, 19, Command::PublishNotice).await?;
                self.run(&system, 8, Command::EndNotice).await?;
                if story == Story::Preparing {
                    let training =
                        Command::RecordTraining {
                            session: "2026 年第 4 期定点医疗机构培训".into(), attended: true, passed: true
                        };
                    self.run(&agency, 5, training).await?;
                    self.upload(4, "evidence_network_security").await?;
                    return self.upload(4, "evidence_inventory_interface").await;
                }
                self.prepare(&agency, 7).await?;
                self.run(&agency, 4, Command::CompletePreparation).await?;
                self.run(&inst, 2, Command::Sign { document_sha256: None }).await?;
                self.run(&agency, 1, Command::Countersign { document_sha256: None }).await
            }
            Story::Rejected => {
                let reason = Reason { rule: Some("URC-REJ-PHA-1".into()), text: "存在尚未履行完毕的行政处罚。".into() };
                self.run(&branch, 25, Command::Reject { reasons: vec![reason] }).await
            }
            Story::InitialReview => Ok(()),
            Story::InfoVerification => self.run(&branch, 20, Command::PassInitialReview).await,
            Story::OnSiteEvaluation | Story::CollectiveDecision | Story::SignedUrc => {
                let days = if story == Story::SignedUrc { start } else { 25 };
                self.run(&branch, days - 2, Command::PassInitialReview).await?;
                self.run(
                    &branch,
                    days - 4,
                    Command::PassVerification {
                        sources: [(
                            dingdian_core::lifecycle::VerificationSource::WrittenReview,
                            dingdian_core::lifecycle::SourceInput {
                                checked_on: dingdian_core::china_date(self.at(days - 4)),
                                note: None,
                                attachments: vec![],
                            },
                        )]
                        .into(),
                    },
                )
                .await?;
                let name = if story == Story::SignedUrc { "2026年第一期定点评估" } else { "2026年第二期定点评估" };
                let round = self.store.create_round(&agency, &format!("{name}（{}）", self.app), self.at(days - 5)).await?;
                self.run(&agency, days - 5, Command::JoinRound { round_id: round.id }).await?;
                // URC-EVAL-1: commit, then draw the evaluators with a public value; the visit is a
                // few days on (confirmed, should it fall on a rest day); the timer draws the
                // grouping the day before the visit.
                self.store.commit_draw(round.id, &agency, self.at(days - 6)).await?;
                let visit = dingdian_core::china_date(self.at(days - 10));
                let public_value = format!("福彩3D {}", dingdian_core::china_date(self.at(days - 7)));
                self.store.draw_round(round.id, &agency, &public_value, visit, true, self.at(days - 7)).await?;
                self.store.group_due_rounds(self.at(days - 9)).await?;
                let drawn = self.store.round_draw(round.id).await?.context("the drawn round")?;
                self.version += 1;
                // One of the evaluators drawn for this institution records the score.
                let record = self.store.institution(self.inst.institution_id.unwrap_or_default()).await?.context("demo institution")?;
                let group = drawn.record.as_ref().map(dingdian_core::draw::final_groups).unwrap_or_default();
                let members = group.get(&record.uscc).cloned().context("a drawn group")?;
                if story == Story::OnSiteEvaluation {
                    return Ok(());
                }
                // Every drawn evaluator scores the sheet (URC-EVAL-2), item by item.
                for (k, member) in members.iter().enumerate() {
                    let evaluator = actor(self.store, &member.to_lowercase()).await?;
                    let points = [("layout", 18), ("management", 21), ("operations", 17), ("conditions", 27 - k as u16)];
                    let items: std::collections::BTreeMap<String, u16> = points.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
                    let score = items.values().sum();
                    // URC-EVAL-2: on the visit day.
                    self.run(&evaluator, days - 10, Command::RecordSiteEvaluation { score, items, notes: None }).await?;
                }
                self.run(&inst, days - 10, Command::ConfirmScoreSheet).await?;
                self.run(&expert, days - 11, pass_review()).await?;
                if story == Story::CollectiveDecision {
                    return Ok(());
                }
                self.run(
                    &agency,
                    40,
                    Command::Decide {
                        outcome: Outcome::Pass,
                        reasons: vec![],
                        rectification: None,
                        minutes: Some("2026年第一期定点评估集体研究会议纪要".into()),
                        attendees: vec!["经办机构负责人".into(), "评估工作组".into()],
                        departure_reason: None,
                    },
                )
                .await?;
                // URC-RES-1: the round's passed list is filed and acknowledged before the notice.
                let round_id = self.store.application(self.app).await?.and_then(|a| a.round_id).context("demo: round")?;
                self.store.file_round(round_id, &agency, self.at(35)).await?;
                let admin = actor(self.store, "urc-admin").await?;
                self.store.acknowledge_filing(round_id, &admin, self.at(33)).await?;
                self.version = self.store.application(self.app).await?.context("demo: application")?.version;
                self.run(&agency, 30, Command::PublishNotice).await?;
                self.run(&system, 15, Command::EndNotice).await?;
                self.run(&inst, 10, Command::Sign { document_sha256: None }).await?;
                self.run(&agency, 9, Command::Countersign { document_sha256: None }).await
            }
            Story::Draft => Ok(()),
        }
    }
}

/// A minimal, valid one-page PDF carrying `text` (distinct per institution and slot, so the
/// demo's files are distinct).
fn demo_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({}) Tj ET", text.replace(['(', ')', '\\'], ""));
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// An Annex 2 acceptance package: a (tiny) screen recording and the stamped form.
fn annex2_package() -> Result<Vec<u8>> {
    use std::io::Write;
    let mut video = vec![0, 0, 0, 0x18];
    video.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    video.resize(16 * 1024, 0);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("处方流转测试录屏.mp4", opts)?;
    w.write_all(&video)?;
    w.start_file("验收单（盖章）.pdf", opts)?;
    w.write_all(&demo_pdf("acceptance form 6-03-01"))?;
    Ok(w.finish()?.into_inner())
}

fn supplement_notice() -> Command {
    Command::IssueSupplementNotice {
        items: vec![
            SupplementItem { slot: "integrity_letter".into(), problem: Problem::Missing, reason: "未上传诚信承诺书。".into() },
            SupplementItem {
                slot: "his_evidence".into(), problem: Problem::Defective, reason: "销售记录截图不足 3 个月。".into()
            },
        ],
    }
}

fn pass_review() -> Command {
    Command::RecordExpertReview {
        recommendation: Outcome::Pass,
        reasons: vec![],
        rectification: None,
        attendees: vec!["李强".into(), "孙丽".into(), "周明".into()],
    }
}

/// Declared facts that meet every condition of both profiles (SPEC §2).
fn declaration(national_code: &str, beds: i64) -> serde_json::Map<String, serde_json::Value> {
    let contract = |name: &str| serde_json::json!({ "name": name, "contract_start": "2025-01-01" });
    let v = serde_json::json!({
        "operating_since": "2025-03-01",
        "beds": beds,
        "first_registered_physicians": 2,
        "principal_responsible": true,
        "insurance_administrators": 2,
        "insurance_department": beds >= 100,
        "full_time_insurance_staff": if beds >= 100 { 2 } else { 0 },
        "systems": ["insurance", "finance", "statistics", "quality", "inventory", "drug_management", "staff_management", "settlement"],
        "equipment": ["video_surveillance", "biometric", "drug_traceability"],
        "his_connected": true,
        "national_codes_used": true,
        "staff_contracts": true,
        "social_insurance": true,
        "gsp_zoning": true,
        "national_code": national_code,
        "pharmacists": [contract("李药师")],
        "insurance_admin_contracts": [contract("王医保"), contract("赵医保")],
    });
    v.as_object().cloned().unwrap_or_default()
}

/// Urumqi's evaluator pool (URC-EVAL-1): 18 people from the five departments, some with ties.
async fn seed_pool(store: &Store, now: Timestamp) -> Result<()> {
    let agency = Actor { role: Role::Agency, ..Actor::system("urumqi") };
    let departments = ["insurance", "health", "market_regulation", "industry_association", "insurance_committee"];
    let employers = ["市医保局", "市卫健委", "市市场监管局", "市医药行业协会", "市医保委员会", "新疆医科大学", "自治区人民医院"];
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高"];
    let mut csv = String::from("id,name,department,employer,specialty,active,ties\n");
    for (i, surname) in surnames.iter().enumerate() {
        let dept = departments[i % departments.len()];
        let employer = if i < 10 { employers[i % 5] } else { employers[5 + i % 2] };
        csv.push_str(&format!(
            "URC-E{:03},{surname}评估员,{dept},{employer},{},1,\n",
            i + 1,
            if i % 2 == 0 { "医疗管理" } else { "药品管理" }
        ));
    }
    store.import_evaluators(&agency, &csv, now).await?;
    // Every pool member can sign in (urc-e001 … urc-e018) to see assignments and score.
    for (i, surname) in surnames.iter().enumerate() {
        let username = format!("urc-e{:03}", i + 1);
        let name = format!("{surname}评估员");
        let user = NewUser {
            username: &username,
            display_name: &name,
            password: PASSWORD,
            role: Role::Evaluator,
            city: "urumqi",
            district: None,
            institution_id: None,
        };
        let id = store.ensure_user(user, now).await?;
        store.link_evaluator(id, &format!("URC-E{:03}", i + 1)).await?;
    }
    if let Some(u) = store.user_by_username("urc-evaluator").await? {
        store.link_evaluator(u.id, "URC-E001").await?;
    }
    Ok(())
}
