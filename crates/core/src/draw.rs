//! The double-blind evaluator draw (URC-EVAL-1, G-DRAW): from a frozen pool of evaluators, a
//! composition rule and a seed that no single person controls, deterministically form one group of
//! evaluators per institution. Pure: no I/O, no clock, no OS randomness. Anyone holding the
//! published [`DrawRecord`] can recompute it with [`verify`]. The algorithm is specified in
//! `docs/draw.md` precisely enough to be reimplemented elsewhere; its id, [`ALG`], is stored in
//! every record so that a future algorithm (e.g. SM3-based) can coexist with this one.
//!
//! Outline of "dingdian-draw-v1":
//! 1. Normalise the input (sort candidates, ties, institutions, history, minimums; refuse
//!    duplicates and malformed values).
//! 2. Check `sha256(hex_decode(secret)) == secret_commitment`.
//! 3. Seed = SHA-256 of the canonical JSON of `{alg, candidates_hash, composition, history_hash,
//!    institutions, on, public_value, round_id, secret}`.
//! 4. ChaCha20 (RFC 8439) keystream, key = seed, nonce = 12 zero bytes, counter from 0; read as
//!    little-endian `u32` words; unbiased integers below `n` by rejection sampling.
//! 5. Fisher–Yates shuffle of the candidates from the end.
//! 6. Pass 1, for each institution in order: its department minimums (departments in enum order);
//!    pass 2, for each institution in order: fill to the group size. Always in shuffled order,
//!    skipping ineligible candidates.
//! 7. Replacements continue the same keystream after the shuffle, in the recorded order.

use std::collections::{BTreeMap, BTreeSet};

use chacha20::ChaCha20;
use chacha20::KeyIvInit;
use chacha20::cipher::StreamCipher;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The id of the one-stage algorithm (still verified; no longer used for new draws).
pub const ALG: &str = "dingdian-draw-v1";

/// The id of the two-stage algorithm: stage 1 draws the evaluators, stage 2 (the day before the
/// visit, with its own committed secret and its own public value) groups them to institutions.
pub const ALG_V2: &str = "dingdian-draw-v2";

/// Stage 2 tries at most this many shuffles of the drawn evaluators before refusing.
pub const MAX_GROUPING_ATTEMPTS: u32 = 64;

/// Years during which a time-bound tie (worked for, advised, relative works for, legal dispute)
/// still counts as a conflict of interest.
pub const TIE_YEARS: i16 = 3;

/// The shortest secret accepted, in bytes: short secrets could be found from the commitment by
/// trying them all.
pub const MIN_SECRET_BYTES: usize = 16;

/// The department an evaluator comes from. The declaration order is the order in which department
/// minimums are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 医保 (medical-insurance administration / agency).
    Insurance,
    /// 卫健 (health commission).
    Health,
    /// 市场监管 (market regulation).
    MarketRegulation,
    /// 行业协会 (industry association).
    IndustryAssociation,
    /// 医保委员会 (medical-insurance committee).
    InsuranceCommittee,
}

impl Department {
    /// All departments, in the order minimums are filled.
    pub const ALL: [Department; 5] = [
        Department::Insurance,
        Department::Health,
        Department::MarketRegulation,
        Department::IndustryAssociation,
        Department::InsuranceCommittee,
    ];

    pub fn zh(self) -> &'static str {
        match self {
            Department::Insurance => "医保",
            Department::Health => "卫健",
            Department::MarketRegulation => "市场监管",
            Department::IndustryAssociation => "行业协会",
            Department::InsuranceCommittee => "医保委员会",
        }
    }

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Department::Insurance => "insurance",
            Department::Health => "health",
            Department::MarketRegulation => "market_regulation",
            Department::IndustryAssociation => "industry_association",
            Department::InsuranceCommittee => "insurance_committee",
        }
    }
}

/// The kind of a declared tie between an evaluator and an institution, after the conflict-of-
/// interest (回避) practice of public procurement review experts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieKind {
    /// Employed by the institution (劳动关系/任职). Time-bound.
    WorkedFor,
    /// Gave paid advice, consulting or services to it (咨询/顾问). Time-bound.
    AdvisedFor,
    /// A spouse or close relative works for it (近亲属任职). Time-bound.
    RelativeWorksFor,
    /// Party to a legal dispute with it (诉讼/仲裁纠纷). Time-bound.
    LegalDispute,
    /// Same legal representative, or a close relative is its legal representative (同一法定代表人).
    /// Always a conflict.
    SameLegalRepresentative,
    /// Holds shares in it or controls it (持股/实际控制). Always a conflict.
    Ownership,
    /// Any other financial interest in it (其他经济利益). Always a conflict.
    OtherFinancialInterest,
}

impl TieKind {
    pub fn zh(self) -> &'static str {
        match self {
            TieKind::WorkedFor => "曾在该机构任职",
            TieKind::AdvisedFor => "曾为该机构提供咨询服务",
            TieKind::RelativeWorksFor => "配偶或近亲属在该机构任职",
            TieKind::LegalDispute => "与该机构存在法律纠纷",
            TieKind::SameLegalRepresentative => "与该机构法定代表人相同或为其近亲属",
            TieKind::Ownership => "持有该机构股份或实际控制该机构",
            TieKind::OtherFinancialInterest => "与该机构存在其他经济利益关系",
        }
    }

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TieKind::WorkedFor => "worked_for",
            TieKind::AdvisedFor => "advised_for",
            TieKind::RelativeWorksFor => "relative_works_for",
            TieKind::LegalDispute => "legal_dispute",
            TieKind::SameLegalRepresentative => "same_legal_representative",
            TieKind::Ownership => "ownership",
            TieKind::OtherFinancialInterest => "other_financial_interest",
        }
    }

    /// Whether a tie of this kind is a conflict whatever its date.
    pub fn always_conflict(self) -> bool {
        matches!(self, TieKind::SameLegalRepresentative | TieKind::Ownership | TieKind::OtherFinancialInterest)
    }
}

/// A declared tie. For the time-bound kinds, `since` is the latest date the relationship held
/// (the declaration date for a relationship still ongoing); the tie is a conflict when that date
/// is no earlier than three years before the draw date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tie {
    pub institution_uscc: String,
    pub kind: TieKind,
    pub since: Date,
}

impl Tie {
    /// Whether this tie is a conflict of interest for a draw on `on`.
    pub fn is_conflict(&self, on: Date) -> bool {
        self.kind.always_conflict() || self.since >= years_before(on, TIE_YEARS)
    }
}

/// One evaluator of the frozen pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluator {
    pub id: String,
    pub name: String,
    pub department: Department,
    pub employer: String,
    pub specialty: String,
    pub active: bool,
    pub ties: Vec<Tie>,
}

impl Evaluator {
    /// Whether any of the evaluator's ties with `institution_uscc` is a conflict on `on`.
    pub fn conflicted_with(&self, institution_uscc: &str, on: Date) -> bool {
        self.ties.iter().any(|t| t.institution_uscc == institution_uscc && t.is_conflict(on))
    }
}

/// The composition rule of a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composition {
    /// Evaluators per institution.
    pub group_size: u32,
    /// At least this many evaluators of each listed department in every group.
    pub min_per_department: Vec<(Department, u32)>,
    /// No two evaluators with the same employer in one group.
    pub distinct_employers: bool,
    /// No evaluator on the same institution twice within this many years (0: no such rule).
    pub no_repeat_years: u16,
}

impl Composition {
    /// The minimum for a department (0 when not listed).
    pub fn min_for(&self, d: Department) -> u32 {
        self.min_per_department.iter().filter(|(x, _)| *x == d).map(|(_, n)| *n).sum()
    }
}

/// A previous assignment of an evaluator to an institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastAssignment {
    pub evaluator_id: String,
    pub institution_uscc: String,
    pub on: Date,
}

/// Everything a draw depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawInput {
    pub round_id: String,
    /// The draw date: the reference date for ties and history.
    pub on: Date,
    pub composition: Composition,
    /// The frozen pool.
    pub candidates: Vec<Evaluator>,
    /// The institutions' USCCs (sorted by the draw).
    pub institutions: Vec<String>,
    /// Previous assignments, for `no_repeat_years`.
    pub history: Vec<PastAssignment>,
    /// Lower-case hex SHA-256 of the secret's bytes, published before the public value is known.
    pub secret_commitment: String,
    /// Lower-case hex of the secret's bytes, revealed after the public value is known.
    pub secret: String,
    /// A value nobody running the draw controls, fixed after the commitment (e.g. a lottery result).
    pub public_value: String,
}

/// A replacement for an evaluator who declined (or was withdrawn) after the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub institution: String,
    pub declined: String,
    pub reason: String,
    pub replacement: String,
}

/// The published record of a draw: its normalised input and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawRecord {
    pub alg: String,
    pub input: DrawInput,
    /// Hex SHA-256 of the canonical JSON of the (normalised) candidate list.
    pub candidates_hash: String,
    /// Hex SHA-256 of the canonical JSON of the (normalised) history.
    pub history_hash: String,
    /// Hex of the 32-byte seed.
    pub seed: String,
    /// Institution USCC → evaluator ids, in the order they were drawn.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Replacements, in the order they were drawn.
    pub replacements: Vec<Replacement>,
    /// `dingdian-draw-v2` only: the first stage (who is drawn, not where they go).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage1: Option<Stage1>,
    /// `dingdian-draw-v2` only, once the grouping is drawn (the day before the visit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage2: Option<Stage2>,
}

/// The first stage of a `dingdian-draw-v2` record (URC-EVAL-1 "随机抽取现场评估人员"): the drawn
/// evaluators and the commitment to the second stage's secret, both fixed when the agency draws.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage1 {
    /// Lower-case hex SHA-256 of the grouping secret's bytes; part of the stage-1 seed.
    pub grouping_commitment: String,
    /// The day the grouping is drawn and revealed.
    pub grouping_on: Date,
    /// The drawn evaluators' ids, sorted.
    pub drawn: Vec<String>,
    /// Replacements before the grouping, in the order they were drawn (`institution` is empty:
    /// nobody is placed with an institution yet).
    pub replacements: Vec<Replacement>,
}

/// The second stage of a `dingdian-draw-v2` record (URC-EVAL-1 "于现场评估前日随机抽取评估人员与医药机构的分组").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage2 {
    /// The grouping secret (lower-case hex), revealed only now.
    pub secret: String,
    /// A value that did not exist before the grouping day.
    pub public_value: String,
    /// Hex of the 32-byte stage-2 seed.
    pub seed: String,
    /// How many shuffles were tried until one met every per-institution rule (1 normally).
    pub attempts: u32,
}

/// A composition rule a group could not satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// Not enough eligible evaluators of a department.
    DepartmentMinimum { department: Department, required: u32, found: u32 },
    /// Not enough eligible evaluators to fill the group.
    GroupSize { required: u32, found: u32 },
    /// A replacement: no eligible evaluator left at all.
    NoEligibleCandidate,
    /// A replacement: every eligible evaluator shares an employer with a group member.
    DistinctEmployers,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::DepartmentMinimum { department, required, found } => write!(
                f,
                "department minimum: at least {required} from {} ({}), found {found} eligible",
                department.as_str(),
                department.zh()
            ),
            Rule::GroupSize { required, found } => write!(f, "group size: {required} required, found {found} eligible"),
            Rule::NoEligibleCandidate => write!(f, "no eligible evaluator left in the pool"),
            Rule::DistinctEmployers => write!(f, "distinct employers: every eligible evaluator shares an employer with the group"),
        }
    }
}

/// Why a draw, a replacement or a verification could not proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("the secret does not match the commitment: sha256(secret) = {actual}, committed {committed}")]
    CommitmentMismatch { committed: String, actual: String },
    #[error("institution {institution}: rule not satisfiable: {rule}")]
    Unmet { institution: String, rule: Rule },
    #[error("institution {0} is not in this draw")]
    UnknownInstitution(String),
    #[error("evaluator {evaluator} is not in the group of institution {institution}")]
    NotInGroup { institution: String, evaluator: String },
    #[error("evaluator {0} is not among the drawn evaluators")]
    NotDrawn(String),
    #[error("the grouping is already drawn")]
    AlreadyGrouped,
    #[error("this operation needs a {ALG_V2} record")]
    NotTwoStage,
    #[error("the record does not verify: {}", .0.join("; "))]
    RecordMismatch(Vec<String>),
}

// ---------------------------------------------------------------- canonical JSON and hashing

/// The canonical JSON text of any serialisable value: object keys sorted by their UTF-8 bytes at
/// every level, no insignificant whitespace, strings as serde_json writes them (only `"`, `\` and
/// control characters escaped), integers only. For the ASCII keys used here this is the same text
/// as RFC 8785 (JCS). Shared with the audit chain.
pub fn canonical_value_json<T: Serialize>(value: &T) -> String {
    sort_keys(serde_json::to_value(value).unwrap_or(Value::Null)).to_string()
}

/// The canonical JSON of a record, for export and publication.
pub fn canonical_json(record: &DrawRecord) -> String {
    canonical_value_json(record)
}

fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            // Sort explicitly: serde_json keeps insertion order when a dependency enables
            // `preserve_order`.
            let mut entries: Vec<(String, Value)> = m.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The commitment to a secret given as lower-case hex: lower-case hex SHA-256 of its bytes.
pub fn commit(secret_hex: &str) -> Result<String, DrawError> {
    check_secret(secret_hex)?;
    let bytes = hex::decode(secret_hex).map_err(|e| DrawError::InvalidInput(format!("secret: {e}")))?;
    Ok(sha256_hex(&bytes))
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_secret(secret: &str) -> Result<(), DrawError> {
    if !is_lower_hex(secret) || !secret.len().is_multiple_of(2) {
        return Err(DrawError::InvalidInput("secret must be lower-case hex with an even number of digits".into()));
    }
    if secret.len() < 2 * MIN_SECRET_BYTES {
        return Err(DrawError::InvalidInput(format!("secret must be at least {MIN_SECRET_BYTES} bytes")));
    }
    Ok(())
}

/// The same month and day `n` years before `on`; 29 February becomes 28 February in a common year.
/// Before the first representable date (e.g. 30,000 years before year 1) it is `Date::MIN`.
fn years_before(on: Date, n: i16) -> Date {
    let Some(year) = on.year().checked_sub(n) else { return Date::MIN };
    let day = if on.month() == 2 && on.day() == 29 { 28 } else { on.day() };
    Date::new(year, on.month(), day).unwrap_or(Date::MIN)
}

// ---------------------------------------------------------------- normalisation

/// The normal form of an input: candidates sorted by id, each candidate's ties sorted by
/// (institution, kind name, date), institutions sorted, history sorted by (evaluator, institution,
/// date), minimums in department order. Refuses duplicates and malformed values.
pub fn normalize(input: &DrawInput) -> Result<DrawInput, DrawError> {
    let bad = |m: String| Err(DrawError::InvalidInput(m));
    let mut n = input.clone();
    if n.round_id.is_empty() {
        return bad("round_id is empty".into());
    }
    check_secret(&n.secret)?;
    if n.secret_commitment.len() != 64 || !is_lower_hex(&n.secret_commitment) {
        return bad("secret_commitment must be 64 lower-case hex digits".into());
    }

    let c = &mut n.composition;
    if c.group_size == 0 {
        return bad("group_size must be at least 1".into());
    }
    c.min_per_department.sort_by_key(|(d, _)| *d);
    if c.min_per_department.windows(2).any(|w| w[0].0 == w[1].0) {
        return bad("a department is listed twice in min_per_department".into());
    }
    let total: u64 = c.min_per_department.iter().map(|(_, m)| u64::from(*m)).sum();
    if total > u64::from(c.group_size) {
        return bad(format!("department minimums add up to {total}, more than the group size {}", c.group_size));
    }

    if u32::try_from(n.candidates.len()).is_err() {
        return bad("too many candidates".into());
    }
    for e in &mut n.candidates {
        if e.id.is_empty() {
            return bad("a candidate has an empty id".into());
        }
        e.ties.sort_by(|a, b| {
            (a.institution_uscc.as_str(), a.kind.as_str(), a.since).cmp(&(b.institution_uscc.as_str(), b.kind.as_str(), b.since))
        });
    }
    n.candidates.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = n.candidates.windows(2).find(|w| w[0].id == w[1].id) {
        return bad(format!("candidate {} is listed twice", w[0].id));
    }

    if n.institutions.is_empty() {
        return bad("no institutions".into());
    }
    n.institutions.sort();
    if let Some(w) = n.institutions.windows(2).find(|w| w[0] == w[1]) {
        return bad(format!("institution {} is listed twice", w[0]));
    }
    if n.institutions.iter().any(String::is_empty) {
        return bad("an institution is empty".into());
    }

    n.history.sort_by(|a, b| {
        (a.evaluator_id.as_str(), a.institution_uscc.as_str(), a.on).cmp(&(b.evaluator_id.as_str(), b.institution_uscc.as_str(), b.on))
    });
    Ok(n)
}

// ---------------------------------------------------------------- seed

#[derive(Serialize)]
struct SeedMaterial<'a> {
    alg: &'a str,
    candidates_hash: &'a str,
    composition: &'a Composition,
    history_hash: &'a str,
    institutions: &'a [String],
    on: Date,
    public_value: &'a str,
    round_id: &'a str,
    secret: &'a str,
}

#[derive(Serialize)]
struct SeedMaterialV2<'a> {
    alg: &'a str,
    candidates_hash: &'a str,
    composition: &'a Composition,
    grouping_commitment: &'a str,
    history_hash: &'a str,
    institutions: &'a [String],
    on: Date,
    public_value: &'a str,
    round_id: &'a str,
    secret: &'a str,
}

#[derive(Serialize)]
struct SeedMaterialStage2<'a> {
    alg: &'a str,
    drawn: &'a [String],
    grouping_secret: &'a str,
    public_value: &'a str,
    round_id: &'a str,
    stage1_seed: &'a str,
}

#[derive(Clone)]
struct Seeded {
    input: DrawInput,
    candidates_hash: String,
    history_hash: String,
    preimage: String,
    seed: [u8; 32],
}

/// Normalises and hashes, without checking the commitment.
fn seed_of(input: &DrawInput) -> Result<Seeded, DrawError> {
    seed_of_alg(input, None)
}

/// The stage-1 seed: v1's material, or with `grouping_commitment` v2's (which binds the
/// commitment to the grouping secret into stage 1).
fn seed_of_alg(input: &DrawInput, grouping_commitment: Option<&str>) -> Result<Seeded, DrawError> {
    let input = normalize(input)?;
    let candidates_hash = sha256_hex(canonical_value_json(&input.candidates).as_bytes());
    let history_hash = sha256_hex(canonical_value_json(&input.history).as_bytes());
    let preimage = match grouping_commitment {
        None => canonical_value_json(&SeedMaterial {
            alg: ALG,
            candidates_hash: &candidates_hash,
            composition: &input.composition,
            history_hash: &history_hash,
            institutions: &input.institutions,
            on: input.on,
            public_value: &input.public_value,
            round_id: &input.round_id,
            secret: &input.secret,
        }),
        Some(gc) => {
            if gc.len() != 64 || !is_lower_hex(gc) {
                return Err(DrawError::InvalidInput("grouping_commitment must be 64 lower-case hex digits".into()));
            }
            canonical_value_json(&SeedMaterialV2 {
                alg: ALG_V2,
                candidates_hash: &candidates_hash,
                composition: &input.composition,
                grouping_commitment: gc,
                history_hash: &history_hash,
                institutions: &input.institutions,
                on: input.on,
                public_value: &input.public_value,
                round_id: &input.round_id,
                secret: &input.secret,
            })
        }
    };
    let seed: [u8; 32] = Sha256::digest(preimage.as_bytes()).into();
    Ok(Seeded { input, candidates_hash, history_hash, preimage, seed })
}

/// The canonical JSON text whose SHA-256 is the seed (for publication and reimplementation).
pub fn seed_preimage(input: &DrawInput) -> Result<String, DrawError> {
    Ok(seed_of(input)?.preimage)
}

/// The canonical JSON text whose SHA-256 is the stage-1 seed of `dingdian-draw-v2`.
pub fn seed_preimage_v2(input: &DrawInput, grouping_commitment: &str) -> Result<String, DrawError> {
    Ok(seed_of_alg(input, Some(grouping_commitment))?.preimage)
}

/// The canonical JSON text whose SHA-256 is the stage-2 seed of `dingdian-draw-v2`: the round,
/// the stage-1 seed, the drawn evaluators (after stage-1 replacements, sorted), the grouping
/// secret and the stage-2 public value.
pub fn stage2_preimage(round_id: &str, stage1_seed: &str, drawn: &[String], grouping_secret: &str, public_value: &str) -> String {
    canonical_value_json(&SeedMaterialStage2 { alg: ALG_V2, drawn, grouping_secret, public_value, round_id, stage1_seed })
}

fn check_commitment(input: &DrawInput) -> Result<(), DrawError> {
    let actual = commit(&input.secret)?;
    if actual != input.secret_commitment {
        return Err(DrawError::CommitmentMismatch { committed: input.secret_commitment.clone(), actual });
    }
    Ok(())
}

// ---------------------------------------------------------------- keystream

/// The ChaCha20 keystream (RFC 8439: key = seed, nonce = 12 zero bytes, block counter from 0) read
/// as little-endian `u32` words.
struct Keystream {
    cipher: ChaCha20,
}

impl Keystream {
    fn new(seed: &[u8; 32]) -> Self {
        Keystream { cipher: ChaCha20::new(&(*seed).into(), &[0u8; 12].into()) }
    }

    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.cipher.apply_keystream(&mut b);
        u32::from_le_bytes(b)
    }

    /// An unbiased integer in `[0, n)`, `n ≥ 1`: words at or above the largest multiple of `n` not
    /// exceeding 2^32 are rejected and the next word read; always reads at least one word.
    fn below(&mut self, n: u32) -> u32 {
        // Both callers pass a length they know is at least 1 (`shuffle`: i + 1 ≥ 2; `replace`:
        // `fits` checked non-empty); no input reaches this with 0.
        assert!(n > 0, "below(0)");
        let n = u64::from(n);
        let zone = (1u64 << 32) / n * n;
        loop {
            let x = u64::from(self.next_u32());
            if x < zone {
                return (x % n) as u32;
            }
        }
    }
}

/// The first `count` keystream words for a seed (a test vector for reimplementations).
pub fn keystream_words(seed: &[u8; 32], count: usize) -> Vec<u32> {
    let mut ks = Keystream::new(seed);
    (0..count).map(|_| ks.next_u32()).collect()
}

/// Fisher–Yates from the end: for i = n−1 down to 1, j = below(i+1), swap positions i and j.
fn shuffle(ks: &mut Keystream, n: usize) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        // n fits in u32 (checked by `normalize`).
        let j = ks.below((i + 1) as u32) as usize;
        perm.swap(i, j);
    }
    perm
}

// ---------------------------------------------------------------- grouping

/// The state after the main draw: enough to replay and extend replacements.
struct State {
    seeded: Seeded,
    ks: Keystream,
    order: Vec<usize>,
    groups: BTreeMap<String, Vec<String>>,
    /// Everyone who has appeared in any group of the round, including those who declined.
    used: BTreeSet<String>,
}

impl State {
    fn input(&self) -> &DrawInput {
        &self.seeded.input
    }

    /// Active, not conflicted with the institution, not assigned to it within `no_repeat_years`.
    fn eligible(&self, e: &Evaluator, institution: &str) -> bool {
        let input = self.input();
        if !e.active || e.conflicted_with(institution, input.on) {
            return false;
        }
        let years = input.composition.no_repeat_years;
        if years > 0 {
            let cutoff = years_before(input.on, i16::try_from(years).unwrap_or(i16::MAX));
            if input.history.iter().any(|h| h.evaluator_id == e.id && h.institution_uscc == institution && h.on >= cutoff) {
                return false;
            }
        }
        true
    }

    fn by_id(&self, id: &str) -> Option<&Evaluator> {
        let c = &self.input().candidates;
        c.binary_search_by(|e| e.id.as_str().cmp(id)).ok().and_then(|i| c.get(i))
    }

    fn employer_clash(&self, e: &Evaluator, members: &[String]) -> bool {
        self.input().composition.distinct_employers && members.iter().any(|m| self.by_id(m).is_some_and(|x| x.employer == e.employer))
    }

    /// Pass 1 for one institution: its department minimums, departments in enum order, each from
    /// the shuffled order. (`order` is a permutation of the candidates' indices, so indexing
    /// `candidates` with it here, in `fill` and in `replace` cannot fail.)
    fn take_minimums(&mut self, institution: &str) -> Result<Vec<String>, DrawError> {
        let comp = self.input().composition.clone();
        let mut group: Vec<String> = Vec::new();
        for (dept, min) in comp.min_per_department.iter().copied() {
            let mut found = 0;
            for &i in &self.order {
                if found == min {
                    break;
                }
                let e = &self.input().candidates[i];
                if e.department == dept
                    && !self.used.contains(&e.id)
                    && !group.contains(&e.id)
                    && self.eligible(e, institution)
                    && !self.employer_clash(e, &group)
                {
                    group.push(e.id.clone());
                    found += 1;
                }
            }
            if found < min {
                return Err(DrawError::Unmet {
                    institution: institution.to_owned(),
                    rule: Rule::DepartmentMinimum { department: dept, required: min, found },
                });
            }
        }
        self.used.extend(group.iter().cloned());
        Ok(group)
    }

    /// Pass 2 for one institution: fill its group to the group size from the shuffled order.
    fn fill(&mut self, institution: &str, group: &mut Vec<String>) -> Result<(), DrawError> {
        let size = u64::from(self.input().composition.group_size);
        for &i in &self.order {
            if group.len() as u64 >= size {
                break;
            }
            let e = &self.input().candidates[i];
            if !self.used.contains(&e.id) && self.eligible(e, institution) && !self.employer_clash(e, group) {
                let id = e.id.clone();
                self.used.insert(id.clone());
                group.push(id);
            }
        }
        if (group.len() as u64) < size {
            return Err(DrawError::Unmet {
                institution: institution.to_owned(),
                rule: Rule::GroupSize { required: self.input().composition.group_size, found: group.len() as u32 },
            });
        }
        Ok(())
    }

    /// Runs the main draw (without checking the commitment).
    fn run(input: &DrawInput) -> Result<State, DrawError> {
        Self::run_seeded(seed_of(input)?)
    }

    fn run_seeded(seeded: Seeded) -> Result<State, DrawError> {
        let mut ks = Keystream::new(&seeded.seed);
        let order = shuffle(&mut ks, seeded.input.candidates.len());
        let mut st = State { seeded, ks, order, groups: BTreeMap::new(), used: BTreeSet::new() };
        st.passes()?;
        Ok(st)
    }

    /// The two passes over `self.order` into `self.groups`, marking `self.used`.
    fn passes(&mut self) -> Result<(), DrawError> {
        // Pass 1 serves every institution's minimums before pass 2 fills any group, so that a
        // scarce department is not spent on filling an earlier group.
        let institutions = self.input().institutions.clone();
        for inst in &institutions {
            let g = self.take_minimums(inst)?;
            self.groups.insert(inst.clone(), g);
        }
        for inst in &institutions {
            let mut g = self.groups.remove(inst).unwrap_or_default();
            self.fill(inst, &mut g)?;
            self.groups.insert(inst.clone(), g);
        }
        Ok(())
    }

    /// Everyone in a group now (after replacements), sorted.
    fn members(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.groups.values().flatten().collect();
        set.into_iter().cloned().collect()
    }

    /// v2 stage 1: a replacement in the witness grouping, for a drawn evaluator wherever they are.
    fn replace_drawn(&mut self, declined: &str) -> Result<String, DrawError> {
        let Some(inst) = self.groups.iter().find(|(_, g)| g.iter().any(|m| m == declined)).map(|(k, _)| k.clone()) else {
            return Err(DrawError::NotDrawn(declined.to_owned()));
        };
        self.replace(&inst, declined)
    }

    /// v2 stage 2 from the stage-1 state: shuffle the drawn evaluators with the stage-2 keystream
    /// and run the two passes over them alone, up to `MAX_GROUPING_ATTEMPTS` shuffles. Returns
    /// the stage-2 state (ready for replacements: the stage-1 order, everyone drawn so far used)
    /// and the number of attempts.
    fn group(stage1: &State, seed2: &[u8; 32]) -> Result<(State, u32), DrawError> {
        let drawn = stage1.members();
        let candidates = &stage1.input().candidates;
        // Candidates are sorted by id, as is `drawn`: the indices come out ascending.
        let idx: Vec<usize> = drawn.iter().filter_map(|id| candidates.binary_search_by(|e| e.id.as_str().cmp(id)).ok()).collect();
        let mut st = State {
            seeded: stage1.seeded.clone(),
            ks: Keystream::new(seed2),
            order: Vec::new(),
            groups: BTreeMap::new(),
            used: BTreeSet::new(),
        };
        let mut last = DrawError::InvalidInput("no grouping attempt".into());
        for attempt in 1..=MAX_GROUPING_ATTEMPTS {
            let perm = shuffle(&mut st.ks, idx.len());
            st.order = perm.iter().map(|&p| idx[p]).collect();
            st.groups.clear();
            st.used.clear();
            match st.passes() {
                Ok(()) => {
                    st.order = stage1.order.clone();
                    st.used.extend(stage1.used.iter().cloned());
                    return Ok((st, attempt));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Draws one replacement and applies it to the groups.
    fn replace(&mut self, institution: &str, declined: &str) -> Result<String, DrawError> {
        let Some(group) = self.groups.get(institution) else {
            return Err(DrawError::UnknownInstitution(institution.to_owned()));
        };
        let Some(pos) = group.iter().position(|m| m == declined) else {
            return Err(DrawError::NotInGroup { institution: institution.to_owned(), evaluator: declined.to_owned() });
        };
        let mut rest = group.clone();
        rest.remove(pos);
        let comp = &self.input().composition;
        let counts = |d: Department| rest.iter().filter(|m| self.by_id(m).is_some_and(|e| e.department == d)).count() as u64;
        // At most one department can fall short: the declined evaluator's.
        let short: Option<Department> = comp.min_per_department.iter().find(|(d, m)| counts(*d) < u64::from(*m)).map(|(d, _)| *d);

        let pool: Vec<&Evaluator> = self
            .order
            .iter()
            .map(|&i| &self.input().candidates[i])
            .filter(|e| !self.used.contains(&e.id) && self.eligible(e, institution))
            .collect();
        let employer_ok: Vec<&Evaluator> = pool.iter().copied().filter(|e| !self.employer_clash(e, &rest)).collect();
        let fits: Vec<String> = employer_ok.iter().filter(|e| short.is_none_or(|d| e.department == d)).map(|e| e.id.clone()).collect();
        if fits.is_empty() {
            let rule = if pool.is_empty() {
                Rule::NoEligibleCandidate
            } else if employer_ok.is_empty() {
                Rule::DistinctEmployers
            } else {
                let d = short.unwrap_or(Department::Insurance);
                Rule::DepartmentMinimum { department: d, required: comp.min_for(d), found: counts(d) as u32 }
            };
            return Err(DrawError::Unmet { institution: institution.to_owned(), rule });
        }
        // `fits` is no longer than the candidate list, whose length fits in u32.
        let k = self.ks.below(fits.len() as u32) as usize;
        // `below(n)` is less than `n`.
        let chosen = fits[k].clone();
        self.used.insert(chosen.clone());
        self.used.insert(declined.to_owned());
        if let Some(g) = self.groups.get_mut(institution) {
            g[pos] = chosen.clone();
        }
        Ok(chosen)
    }

    /// Replays recorded replacements; lists each one that comes out differently.
    fn replay(&mut self, replacements: &[Replacement]) -> Vec<String> {
        let mut diffs = Vec::new();
        for (n, r) in replacements.iter().enumerate() {
            match self.replace(&r.institution, &r.declined) {
                Ok(id) if id == r.replacement => {}
                Ok(id) => diffs.push(format!(
                    "replacement {n} for {} at institution {}: recorded {}, recomputed {id}",
                    r.declined, r.institution, r.replacement
                )),
                Err(e) => {
                    diffs.push(format!("replacement {n} for {} at institution {}: recomputation fails: {e}", r.declined, r.institution))
                }
            }
        }
        diffs
    }
}

// ---------------------------------------------------------------- public operations

/// Runs the draw: checks the commitment, computes the seed, shuffles, forms every group. Refuses
/// (naming the institution and the rule) when the pool cannot satisfy the composition; never
/// relaxes a rule.
pub fn draw(input: &DrawInput) -> Result<DrawRecord, DrawError> {
    let normal = normalize(input)?;
    check_commitment(&normal)?;
    let st = State::run(&normal)?;
    Ok(DrawRecord {
        alg: ALG.to_owned(),
        candidates_hash: st.seeded.candidates_hash.clone(),
        history_hash: st.seeded.history_hash.clone(),
        seed: hex::encode(st.seeded.seed),
        groups: st.groups.clone(),
        replacements: Vec::new(),
        input: st.seeded.input,
        stage1: None,
        stage2: None,
    })
}

/// `dingdian-draw-v2`, stage 1: checks the commitment, computes the stage-1 seed (which also
/// binds `grouping_commitment`, the commitment to the stage-2 secret), shuffles and forms a
/// witness grouping exactly as v1 does — so every composition and per-institution rule can be
/// met by the drawn evaluators — and records only who is drawn (sorted), never the witness
/// groups. `groups` stays empty until [`draw_stage2`].
pub fn draw_stage1(input: &DrawInput, grouping_commitment: &str, grouping_on: Date) -> Result<DrawRecord, DrawError> {
    let normal = normalize(input)?;
    check_commitment(&normal)?;
    let st = State::run_seeded(seed_of_alg(&normal, Some(grouping_commitment))?)?;
    Ok(DrawRecord {
        alg: ALG_V2.to_owned(),
        candidates_hash: st.seeded.candidates_hash.clone(),
        history_hash: st.seeded.history_hash.clone(),
        seed: hex::encode(st.seeded.seed),
        groups: BTreeMap::new(),
        replacements: Vec::new(),
        stage1: Some(Stage1 {
            grouping_commitment: grouping_commitment.to_owned(),
            grouping_on,
            drawn: st.members(),
            replacements: Vec::new(),
        }),
        stage2: None,
        input: st.seeded.input,
    })
}

/// `dingdian-draw-v2`, stage 2 (the grouping): the record must verify; `grouping_secret` must
/// match the stage-1 commitment. Seed = SHA-256 of [`stage2_preimage`]; the drawn evaluators
/// (sorted) are shuffled with its keystream and grouped by the same two passes, each
/// institution's rules applied (ties, history, distinct employers); a shuffle that cannot meet
/// them is followed by the next one from the same keystream, up to [`MAX_GROUPING_ATTEMPTS`].
pub fn draw_stage2(record: &mut DrawRecord, grouping_secret: &str, public_value: &str) -> Result<(), DrawError> {
    if record.alg != ALG_V2 || record.stage1.is_none() {
        return Err(DrawError::NotTwoStage);
    }
    if record.stage2.is_some() {
        return Err(DrawError::AlreadyGrouped);
    }
    let public_value = public_value.trim();
    if public_value.is_empty() {
        return Err(DrawError::InvalidInput("the stage-2 public value is empty".into()));
    }
    let (st1, _) = recompute_v2(record).map_err(DrawError::RecordMismatch)?;
    let committed = record.stage1.as_ref().map(|s| s.grouping_commitment.clone()).unwrap_or_default();
    let actual = commit(grouping_secret)?;
    if actual != committed {
        return Err(DrawError::CommitmentMismatch { committed, actual });
    }
    let seed = stage2_seed(&st1, grouping_secret, public_value);
    let (st2, attempts) = State::group(&st1, &seed)?;
    record.groups = st2.groups;
    record.stage2 =
        Some(Stage2 { secret: grouping_secret.to_owned(), public_value: public_value.to_owned(), seed: hex::encode(seed), attempts });
    Ok(())
}

fn stage2_seed(st1: &State, grouping_secret: &str, public_value: &str) -> [u8; 32] {
    let pre = stage2_preimage(&st1.input().round_id, &hex::encode(st1.seeded.seed), &st1.members(), grouping_secret, public_value);
    Sha256::digest(pre.as_bytes()).into()
}

/// Is the record's grouping drawn? (Always for v1, whose single stage groups.)
pub fn is_grouped(record: &DrawRecord) -> bool {
    record.alg != ALG_V2 || record.stage2.is_some()
}

/// Everyone drawn for the round now: v2 before the grouping, the stage-1 drawn evaluators after
/// the stage-1 replacements; otherwise every member of the final groups. Sorted.
pub fn drawn_evaluators(record: &DrawRecord) -> Vec<String> {
    match (&record.stage1, is_grouped(record)) {
        (Some(s1), false) => {
            let mut set: BTreeSet<String> = s1.drawn.iter().cloned().collect();
            for r in &s1.replacements {
                set.remove(&r.declined);
                set.insert(r.replacement.clone());
            }
            set.into_iter().collect()
        }
        _ => {
            let set: BTreeSet<String> = final_groups(record).into_values().flatten().collect();
            set.into_iter().collect()
        }
    }
}

/// Draws a replacement for `declined_evaluator_id` in the group of `institution`, appends it to
/// `record.replacements` and returns the new evaluator's id. The record is first recomputed (it
/// must verify). The replacement continues the keystream after the shuffle and after every earlier
/// replacement; it is drawn uniformly from the candidates, in shuffled order, who are eligible for
/// the institution, have not appeared in any group of the round (nor declined), do not share an
/// employer with the remaining members (when required), and keep the department minimums met.
///
/// For a `dingdian-draw-v2` record before its grouping, the replacement is drawn in the stage-1
/// set instead (`institution` is ignored): the stage-1 keystream continues, in the witness group
/// the declined evaluator holds, by the same rule; it is appended to `stage1.replacements` with
/// an empty institution. After the grouping, it continues the stage-2 keystream, as above.
pub fn replacement(record: &mut DrawRecord, institution: &str, declined_evaluator_id: &str, reason: &str) -> Result<String, DrawError> {
    if record.alg == ALG_V2 {
        let (mut st1, st2) = recompute_v2(record).map_err(DrawError::RecordMismatch)?;
        let reason = reason.to_owned();
        if let Some(mut st2) = st2 {
            let id = st2.replace(institution, declined_evaluator_id)?;
            record.replacements.push(Replacement {
                institution: institution.to_owned(),
                declined: declined_evaluator_id.to_owned(),
                reason,
                replacement: id.clone(),
            });
            return Ok(id);
        }
        let id = st1.replace_drawn(declined_evaluator_id)?;
        if let Some(s1) = record.stage1.as_mut() {
            s1.replacements.push(Replacement {
                institution: String::new(),
                declined: declined_evaluator_id.to_owned(),
                reason,
                replacement: id.clone(),
            });
        }
        return Ok(id);
    }
    let mut st = recompute(record).map_err(DrawError::RecordMismatch)?;
    let id = st.replace(institution, declined_evaluator_id)?;
    record.replacements.push(Replacement {
        institution: institution.to_owned(),
        declined: declined_evaluator_id.to_owned(),
        reason: reason.to_owned(),
        replacement: id.clone(),
    });
    Ok(id)
}

/// Recomputes a record fully; every difference is listed.
fn recompute(record: &DrawRecord) -> Result<State, Vec<String>> {
    let mut diffs = Vec::new();
    if record.alg != ALG {
        return Err(vec![format!("unknown algorithm {:?} (this verifier implements {ALG} and {ALG_V2})", record.alg)]);
    }
    if record.stage1.is_some() || record.stage2.is_some() {
        return Err(vec![format!("a {ALG} record has no stages")]);
    }
    match check_commitment(&record.input) {
        Ok(()) => {}
        Err(e @ DrawError::CommitmentMismatch { .. }) => diffs.push(format!("commitment mismatch: {e}")),
        Err(e) => return Err(vec![e.to_string()]),
    }
    let mut st = match State::run(&record.input) {
        Ok(st) => st,
        Err(e) => {
            // Still report the hashes and seed that can be computed.
            if let Ok(s) = seed_of(&record.input) {
                hash_diffs(record, &s, &mut diffs);
            }
            diffs.push(format!("the draw cannot be recomputed: {e}"));
            return Err(diffs);
        }
    };
    hash_diffs(record, &st.seeded, &mut diffs);
    let keys: BTreeSet<&String> = record.groups.keys().chain(st.groups.keys()).collect();
    for k in keys {
        match (record.groups.get(k), st.groups.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => diffs.push(format!("group for institution {k}: recorded {a:?}, recomputed {b:?}")),
            (Some(_), None) => diffs.push(format!("group for institution {k} is recorded but the institution is not in the input")),
            (None, _) => diffs.push(format!("group for institution {k} is missing from the record")),
        }
    }
    diffs.extend(st.replay(&record.replacements));
    if diffs.is_empty() { Ok(st) } else { Err(diffs) }
}

fn hash_diffs(record: &DrawRecord, s: &Seeded, diffs: &mut Vec<String>) {
    if record.candidates_hash != s.candidates_hash {
        diffs.push(format!("candidates hash mismatch: recorded {}, recomputed {}", record.candidates_hash, s.candidates_hash));
    }
    if record.history_hash != s.history_hash {
        diffs.push(format!("history hash mismatch: recorded {}, recomputed {}", record.history_hash, s.history_hash));
    }
    let seed = hex::encode(s.seed);
    if record.seed != seed {
        diffs.push(format!("seed mismatch: recorded {}, recomputed {seed}", record.seed));
    }
}

/// Recomputes a `dingdian-draw-v2` record: stage 1 (commitment, hashes, seed, the drawn
/// evaluators, the stage-1 replacements), then, when present, stage 2 (its commitment, seed,
/// attempts, every group, every later replacement). Every difference is listed, prefixed with
/// the stage it belongs to. Returns the stage-1 state after its replacements, and the stage-2
/// state after its replacements once grouped.
fn recompute_v2(record: &DrawRecord) -> Result<(State, Option<State>), Vec<String>> {
    let Some(s1) = &record.stage1 else { return Err(vec!["stage 1: the record has no stage-1 part".into()]) };
    let mut diffs = Vec::new();
    match check_commitment(&record.input) {
        Ok(()) => {}
        Err(e @ DrawError::CommitmentMismatch { .. }) => diffs.push(format!("stage 1: commitment mismatch: {e}")),
        Err(e) => return Err(vec![format!("stage 1: {e}")]),
    }
    let seeded = match seed_of_alg(&record.input, Some(&s1.grouping_commitment)) {
        Ok(s) => s,
        Err(e) => return Err(vec![format!("stage 1: {e}")]),
    };
    let mut h = Vec::new();
    hash_diffs(record, &seeded, &mut h);
    diffs.extend(h.into_iter().map(|d| format!("stage 1: {d}")));
    let mut st1 = match State::run_seeded(seeded) {
        Ok(st) => st,
        Err(e) => {
            diffs.push(format!("stage 1: the draw cannot be recomputed: {e}"));
            return Err(diffs);
        }
    };
    let drawn = st1.members();
    if drawn != s1.drawn {
        diffs.push(format!("stage 1: drawn evaluators: recorded {:?}, recomputed {drawn:?}", s1.drawn));
    }
    for (n, r) in s1.replacements.iter().enumerate() {
        match st1.replace_drawn(&r.declined) {
            Ok(id) if id == r.replacement && r.institution.is_empty() => {}
            Ok(id) => diffs.push(format!(
                "stage 1: replacement {n} for {}: recorded {} (institution {:?}), recomputed {id}",
                r.declined, r.replacement, r.institution
            )),
            Err(e) => diffs.push(format!("stage 1: replacement {n} for {}: recomputation fails: {e}", r.declined)),
        }
    }
    let Some(s2) = &record.stage2 else {
        if !record.groups.is_empty() || !record.replacements.is_empty() {
            diffs.push("stage 2: groups or replacements are recorded without a stage-2 part".into());
        }
        return if diffs.is_empty() { Ok((st1, None)) } else { Err(diffs) };
    };
    match commit(&s2.secret) {
        Ok(actual) if actual == s1.grouping_commitment => {}
        Ok(actual) => {
            diffs.push(format!("stage 2: commitment mismatch: sha256(grouping secret) = {actual}, committed {}", s1.grouping_commitment))
        }
        Err(e) => diffs.push(format!("stage 2: {e}")),
    }
    let seed = stage2_seed(&st1, &s2.secret, &s2.public_value);
    if hex::encode(seed) != s2.seed {
        diffs.push(format!("stage 2: seed mismatch: recorded {}, recomputed {}", s2.seed, hex::encode(seed)));
    }
    let (mut st2, attempts) = match State::group(&st1, &seed) {
        Ok(x) => x,
        Err(e) => {
            diffs.push(format!("stage 2: the grouping cannot be recomputed: {e}"));
            return Err(diffs);
        }
    };
    if attempts != s2.attempts {
        diffs.push(format!("stage 2: attempts: recorded {}, recomputed {attempts}", s2.attempts));
    }
    let keys: BTreeSet<&String> = record.groups.keys().chain(st2.groups.keys()).collect();
    for k in keys {
        match (record.groups.get(k), st2.groups.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => diffs.push(format!("stage 2: group for institution {k}: recorded {a:?}, recomputed {b:?}")),
            (Some(_), None) => {
                diffs.push(format!("stage 2: group for institution {k} is recorded but the institution is not in the input"))
            }
            (None, _) => diffs.push(format!("stage 2: group for institution {k} is missing from the record")),
        }
    }
    diffs.extend(st2.replay(&record.replacements).into_iter().map(|d| format!("stage 2: {d}")));
    if diffs.is_empty() { Ok((st1, Some(st2))) } else { Err(diffs) }
}

/// Recomputes the record from its input and lists every difference: commitment, hashes, seed,
/// each institution's group, each replacement; for `dingdian-draw-v2` both stages, each
/// difference naming its stage.
pub fn verify(record: &DrawRecord) -> Result<(), Vec<String>> {
    if record.alg == ALG_V2 {
        return recompute_v2(record).map(|_| ());
    }
    recompute(record).map(|_| ())
}

/// The groups after the record's replacements (a replacement takes the declined evaluator's place).
pub fn final_groups(record: &DrawRecord) -> BTreeMap<String, Vec<String>> {
    let mut groups = record.groups.clone();
    for r in &record.replacements {
        if let Some(g) = groups.get_mut(&r.institution)
            && let Some(slot) = g.iter_mut().find(|m| **m == r.declined)
        {
            *slot = r.replacement.clone();
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_zone_is_unbiased() {
        // n = 3: zone = 4294967295 − 0 = 3·1431655765 = 4294967295; the word 0xFFFFFFFF is rejected.
        assert_eq!((1u64 << 32) / 3 * 3, 0xFFFF_FFFF);
        let seed = [7u8; 32];
        let mut ks = Keystream::new(&seed);
        for _ in 0..1000 {
            assert!(ks.below(3) < 3);
        }
        assert_eq!(Keystream::new(&seed).below(1), 0);
    }

    #[test]
    fn years_before_clamps_leap_day() {
        assert_eq!(years_before(jiff::civil::date(2024, 2, 29), 3), jiff::civil::date(2021, 2, 28));
        assert_eq!(years_before(jiff::civil::date(2026, 3, 2), 3), jiff::civil::date(2023, 3, 2));
    }

    /// G-DRAW records are read from files: `no_repeat_years = 65535` on a draw dated -9999-01-01
    /// reaches before the first representable date and clamps instead of overflowing.
    #[test]
    fn years_before_clamps_at_first_date() {
        assert_eq!(years_before(Date::MIN, i16::MAX), Date::MIN);
        assert_eq!(years_before(Date::MAX, i16::MAX), Date::MIN);
    }
}
