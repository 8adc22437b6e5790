//! The annexes of the Harbin guide: the dedicated-line filing form (HRB-ANNEX1) and the
//! e-prescription flow acceptance package (HRB-ANNEX2). Every test names the rule it proves;
//! every archive is built in memory with the `zip` writer.

use std::io::{Cursor, Write};

use dingdian_core::annex::{
    self, Annex1, Attachments, BombReason, Carrier, EntryKind, LineForm, NameProblem, PackageError, PackageLimits, PathProblem,
};
use jiff::civil::{Date, date};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const NAME: &str = "哈尔滨市南岗区康宁诊所";
/// Harbin's `[preparation] annex2_package_prefix`.
const PREFIX: &str = "哈尔滨市处方流转验收材料";
const CODE: &str = "H23010200001";

fn today() -> Date {
    date(2026, 11, 27)
}

fn form() -> Annex1 {
    Annex1 {
        institution_name: NAME.to_string(),
        national_code: CODE.to_string(),
        business_address: "哈尔滨市南岗区学府路 1 号".to_string(),
        carrier: Carrier::Telecom,
        line_form: LineForm::Wired,
        application_date: date(2026, 11, 20),
        security_equipment: true,
        equipment_brand: Some("深信服".to_string()),
        equipment_model: Some("AF-1000".to_string()),
        security_rules: true,
        legal_representative: "张三".to_string(),
        phone: "13912345678".to_string(),
        attachments: Attachments {
            business_licence_copy: true,
            security_commitment: true,
            security_org_chart: true,
            equipment_photos: true,
        },
        remarks: None,
    }
}

/// The fields that fail, in order.
fn failing(f: &Annex1) -> Vec<&'static str> {
    match f.validate(NAME, CODE, today()) {
        Ok(()) => Vec::new(),
        Err(errors) => {
            for e in &errors {
                assert!(!e.message.is_empty() && !e.message.is_ascii(), "{}: message should be Chinese: {}", e.field, e.message);
            }
            errors.into_iter().map(|e| e.field).collect()
        }
    }
}

/// The start of an MP4 file (an `ftyp` box, brand `isom`) followed by some payload.
fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    v.extend_from_slice(&[0, 0, 0, 8]);
    v.extend_from_slice(b"free");
    v.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

fn jpeg() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9");
    v
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A ZIP archive of `(name, content)` entries, deflated; names ending in `/` are directories.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, deflated()).unwrap();
        } else {
            w.start_file(*name, deflated()).unwrap();
            w.write_all(content).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// A valid package: the video and the stamped form (a PDF), in a folder.
fn valid_zip() -> Vec<u8> {
    zip_of(&[("验收材料/", b""), ("验收材料/处方流转验收视频.mp4", &mp4()), ("验收材料/6-03-01验收申请表.pdf", &pdf())])
}

fn inspect(bytes: &[u8]) -> Result<annex::PackageSummary, PackageError> {
    annex::inspect_package(Cursor::new(bytes), &PackageLimits::default())
}

const MIB: u64 = 1 << 20;

/// Limits lowered for the bomb tests: 10 MiB in all.
fn small_limits() -> PackageLimits {
    PackageLimits { max_total_uncompressed: 10 * MIB, ..PackageLimits::default() }
}

/// Writes `len` bytes of an MP4 header followed by zeros into the open entry, 1 MiB at a time.
fn write_zeros_video(w: &mut ZipWriter<Cursor<Vec<u8>>>, len: u64) {
    let header = mp4();
    w.write_all(&header[..32]).unwrap();
    let chunk = vec![0u8; MIB as usize];
    let mut left = len - 32;
    while left > 0 {
        let n = left.min(MIB);
        w.write_all(&chunk[..n as usize]).unwrap();
        left -= n;
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The offset of the first central-directory header, from the end-of-central-directory record.
fn central_directory(b: &[u8]) -> usize {
    let eocd = b.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    u32_at(b, eocd + 16) as usize
}

/// Overwrites the first entry's declared uncompressed size in its local header (offset 22) and
/// in its central-directory header (offset 24).
fn patch_first_declared_size(b: &mut [u8], size: u32) {
    assert_eq!(&b[..4], b"PK\x03\x04");
    b[22..26].copy_from_slice(&size.to_le_bytes());
    let cd = central_directory(b);
    assert_eq!(&b[cd..cd + 4], b"PK\x01\x02");
    b[cd + 24..cd + 28].copy_from_slice(&size.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// HRB-ANNEX1: dedicated-line filing form
// ---------------------------------------------------------------------------------------------

// HRB-ANNEX1
#[test]
fn hrb_annex1_accepts_a_complete_form() {
    assert_eq!(failing(&form()), Vec::<&str>::new());
    // Without equipment, brand, model and photos are not needed (and ignored if given).
    let mut f = form();
    f.security_equipment = false;
    f.equipment_brand = None;
    f.equipment_model = Some("  ".to_string());
    f.attachments.equipment_photos = false;
    f.carrier = Carrier::Broadcast;
    f.line_form = LineForm::Vpdn;
    f.remarks = Some("专线已与运营商确认可安装".to_string());
    assert_eq!(failing(&f), Vec::<&str>::new());
    // Surrounding spaces, a lower-case code and today's date are fine.
    let mut f = form();
    f.institution_name = format!("  {NAME} ");
    f.national_code = " h23010200001".to_string();
    f.application_date = today();
    assert_eq!(failing(&f), Vec::<&str>::new());
}

// HRB-ANNEX1
#[test]
fn hrb_annex1_labels_carrier_and_line_form_in_chinese() {
    let labels: Vec<_> = [Carrier::Unicom, Carrier::Mobile, Carrier::Telecom, Carrier::Broadcast].map(Carrier::zh).into();
    assert_eq!(labels, ["联通", "移动", "电信", "广电"]);
    assert_eq!([LineForm::Wired.zh(), LineForm::Vpdn.zh()], ["有线", "VPDN"]);
    let f = form();
    assert_eq!((f.carrier_zh(), f.line_form_zh()), ("电信", "有线"));
}

// HRB-ANNEX1
#[test]
fn hrb_annex1_serde_is_snake_case_and_refuses_unknown_fields() {
    let json = serde_json::to_value(form()).unwrap();
    assert_eq!(json["carrier"], "telecom");
    assert_eq!(json["line_form"], "wired");
    assert_eq!(json["application_date"], "2026-11-20");
    let back: Annex1 = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, form());
    let mut extra = json;
    extra["seal"] = serde_json::json!(true);
    assert!(serde_json::from_value::<Annex1>(extra).is_err());
}

// HRB-ANNEX1: brand and model of the equipment, and its photos, when equipment is declared.
#[test]
fn hrb_annex1_equipment_requires_brand_model_and_photos() {
    let mut f = form();
    f.equipment_brand = None;
    f.equipment_model = Some(" ".to_string());
    f.attachments.equipment_photos = false;
    assert_eq!(failing(&f), ["equipment_brand", "equipment_model", "attachments.equipment_photos"]);
}

// HRB-ANNEX1: the institution's own name and national code.
#[test]
fn hrb_annex1_refuses_another_institutions_name_or_code() {
    let mut f = form();
    f.national_code = "H23010200002".to_string();
    let errors = f.validate(NAME, CODE, today()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "national_code");
    assert!(errors[0].message.contains(CODE), "{}", errors[0].message);

    let mut f = form();
    f.institution_name = "哈尔滨市南岗区康宁门诊部".to_string();
    assert_eq!(failing(&f), ["institution_name"]);
}

// HRB-ANNEX1: a mainland mobile number or a landline with area code.
#[test]
fn hrb_annex1_refuses_a_bad_phone() {
    for good in ["13912345678", "19900001111", "0451-12345678", "045112345678", "010-1234567", "0101234567", " 0451-1234567 "] {
        let mut f = form();
        f.phone = good.to_string();
        assert_eq!(failing(&f), Vec::<&str>::new(), "{good}");
    }
    for bad in [
        "",
        "12912345678",
        "1391234567",
        "139123456789",
        "451-12345678",
        "0451-123456",
        "0451-123456789",
        "0451--1234567",
        "+8613912345678",
        "139 1234 5678",
        "0451-1234567a",
    ] {
        let mut f = form();
        f.phone = bad.to_string();
        assert_eq!(failing(&f), ["phone"], "{bad:?}");
    }
}

// HRB-ANNEX1: the application date is not in the future.
#[test]
fn hrb_annex1_refuses_a_future_application_date() {
    let mut f = form();
    f.application_date = date(2026, 11, 28);
    let errors = f.validate(NAME, CODE, today()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "application_date");
    assert!(errors[0].message.contains("2026年11月28日"), "{}", errors[0].message);
}

// HRB-ANNEX1: every failing field is reported, in form order, not just the first.
#[test]
fn hrb_annex1_reports_every_failing_field_at_once() {
    let f = Annex1 {
        institution_name: " ".to_string(),
        national_code: "P23010200001".to_string(),
        business_address: String::new(),
        application_date: date(2027, 1, 1),
        equipment_brand: None,
        equipment_model: None,
        legal_representative: "\t".to_string(),
        phone: "12345".to_string(),
        attachments: Attachments {
            business_licence_copy: false,
            security_commitment: false,
            security_org_chart: false,
            equipment_photos: false,
        },
        ..form()
    };
    assert_eq!(
        failing(&f),
        [
            "institution_name",
            "national_code",
            "business_address",
            "application_date",
            "equipment_brand",
            "equipment_model",
            "legal_representative",
            "phone",
            "attachments.business_licence_copy",
            "attachments.security_commitment",
            "attachments.security_org_chart",
            "attachments.equipment_photos",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// HRB-ANNEX2: package name
// ---------------------------------------------------------------------------------------------

// HRB-ANNEX2: `哈尔滨市处方流转验收材料—<年月日><机构名>.zip`, with the tolerated variants.
#[test]
fn hrb_annex2_accepts_the_prescribed_name_and_its_variants() {
    for name in [
        "哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所.zip",
        "哈尔滨市处方流转验收材料——2026年11月27日哈尔滨市南岗区康宁诊所.zip",
        "哈尔滨市处方流转验收材料-20261127哈尔滨市南岗区康宁诊所.ZIP",
        "哈尔滨市处方流转验收材料－2026年11月27日哈尔滨市南岗区康宁诊所.Zip",
        "哈尔滨市处方流转验收材料―2026年11月27日哈尔滨市南岗区康宁诊所.zip",
        "哈尔滨市处方流转验收材料 — 2026年11月27日 哈尔滨市南岗区康宁诊所 .zip",
        "C:\\fakepath\\哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所.zip",
    ] {
        assert_eq!(annex::check_package_name(name, PREFIX, NAME, today()), Ok(today()), "{name}");
    }
    let earlier = annex::check_package_name("哈尔滨市处方流转验收材料—2026年1月5日哈尔滨市南岗区康宁诊所.zip", PREFIX, NAME, today());
    assert_eq!(earlier, Ok(date(2026, 1, 5)));
    let padded = annex::check_package_name("哈尔滨市处方流转验收材料—2026年01月05日哈尔滨市南岗区康宁诊所.zip", PREFIX, NAME, today());
    assert_eq!(padded, Ok(date(2026, 1, 5)));
}

// HRB-ANNEX2: the prefix is the profile's, not the code's: Harbin's profile carries the one the
// guide prints, and another profile's prefix is checked and quoted instead.
#[test]
fn hrb_annex2_prefix_comes_from_the_profile() {
    let harbin = dingdian_core::policy::Profile::shipped().swap_remove(0);
    let prep = harbin.preparation.expect("HRB-PRE");
    assert_eq!(prep.annex2_package_prefix.as_deref(), Some(PREFIX));

    let other = "示范市电子处方验收包";
    let name = format!("{other}—2026年11月27日{NAME}.zip");
    assert_eq!(annex::check_package_name(&name, other, NAME, today()), Ok(today()));
    let harbin_name = format!("{PREFIX}—2026年11月27日{NAME}.zip");
    let err = annex::check_package_name(&harbin_name, other, NAME, today()).unwrap_err();
    assert!(matches!(&err, PackageError::NameFormat { problem: NameProblem::Prefix, .. }), "{err:?}");
    let msg = err.message_zh();
    assert!(msg.contains(&format!("须以“{other}”开头")) && msg.contains(&name) && !msg.contains(PREFIX), "{msg}");
    let err = annex::check_package_name(&format!("{other}2026年11月27日{NAME}.zip"), other, NAME, today()).unwrap_err();
    assert!(err.message_zh().contains(&format!("“{other}”之后须接破折号")), "{}", err.message_zh());
}

// HRB-ANNEX2: the institution named is the institution's own, exactly.
#[test]
fn hrb_annex2_name_refuses_another_institution() {
    let err =
        annex::check_package_name("哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市道里区康宁诊所.zip", PREFIX, NAME, today()).unwrap_err();
    assert_eq!(err.code(), "package_name_institution");
    assert_eq!(err, PackageError::NameInstitution { found: "哈尔滨市道里区康宁诊所".to_string(), expected: NAME.to_string() });
    assert!(err.message_zh().contains(NAME), "{}", err.message_zh());

    let err = annex::check_package_name("哈尔滨市处方流转验收材料—20261127.zip", PREFIX, NAME, today()).unwrap_err();
    assert_eq!(err, PackageError::NameInstitution { found: String::new(), expected: NAME.to_string() });
    assert!(err.message_zh().contains("缺少机构名称"), "{}", err.message_zh());
}

// HRB-ANNEX2: the date in the name is a real date.
#[test]
fn hrb_annex2_name_refuses_an_impossible_date() {
    let err =
        annex::check_package_name("哈尔滨市处方流转验收材料—2026年2月30日哈尔滨市南岗区康宁诊所.zip", PREFIX, NAME, today()).unwrap_err();
    assert_eq!(err.code(), "package_name_date");
    assert_eq!(err, PackageError::NameDate { text: "2026年2月30日".to_string() });
    let err = annex::check_package_name("哈尔滨市处方流转验收材料—20261301哈尔滨市南岗区康宁诊所.zip", PREFIX, NAME, today()).unwrap_err();
    assert_eq!(err.code(), "package_name_date");
}

// HRB-ANNEX2: the date in the name is not after today.
#[test]
fn hrb_annex2_name_refuses_a_future_date() {
    let err =
        annex::check_package_name("哈尔滨市处方流转验收材料—2026年11月28日哈尔滨市南岗区康宁诊所.zip", PREFIX, NAME, today()).unwrap_err();
    assert_eq!(err.code(), "package_name_future_date");
    assert_eq!(err, PackageError::NameDateFuture { date: date(2026, 11, 28), today: today() });
    assert!(err.message_zh().contains("2026年11月28日"), "{}", err.message_zh());
}

// HRB-ANNEX2: the fixed parts of the name; the message shows a correct name.
#[test]
fn hrb_annex2_name_refuses_a_wrong_pattern() {
    let example = "哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所.zip";
    for (name, problem) in [
        ("哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所.rar", NameProblem::Extension),
        ("哈尔滨市处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所", NameProblem::Extension),
        ("处方流转验收材料—2026年11月27日哈尔滨市南岗区康宁诊所.zip", NameProblem::Prefix),
        ("哈尔滨市处方流转验收材料2026年11月27日哈尔滨市南岗区康宁诊所.zip", NameProblem::Dash),
        ("哈尔滨市处方流转验收材料———2026年11月27日哈尔滨市南岗区康宁诊所.zip", NameProblem::Dash),
        ("哈尔滨市处方流转验收材料—2026-11-27哈尔滨市南岗区康宁诊所.zip", NameProblem::Date),
        ("哈尔滨市处方流转验收材料—2026年11月27哈尔滨市南岗区康宁诊所.zip", NameProblem::Date),
        ("哈尔滨市处方流转验收材料—哈尔滨市南岗区康宁诊所.zip", NameProblem::Date),
    ] {
        let err = annex::check_package_name(name, PREFIX, NAME, today()).unwrap_err();
        assert_eq!(err.code(), "package_name", "{name}");
        assert!(
            matches!(&err, PackageError::NameFormat { problem: p, example: e, .. } if *p == problem && e == example),
            "{name}: {err:?}"
        );
        assert!(err.message_zh().contains(example), "{}", err.message_zh());
    }
}

// ---------------------------------------------------------------------------------------------
// HRB-ANNEX2: package content
// ---------------------------------------------------------------------------------------------

// HRB-ANNEX2: the video plus the stamped acceptance form.
#[test]
fn hrb_annex2_accepts_a_complete_package() {
    let summary = inspect(&valid_zip()).unwrap();
    assert_eq!(summary.video.name, "验收材料/处方流转验收视频.mp4");
    assert_eq!(summary.video.kind, EntryKind::Video("mp4".to_string()));
    assert_eq!(summary.video.size, mp4().len() as u64);
    assert_eq!(summary.form.name, "验收材料/6-03-01验收申请表.pdf");
    assert_eq!(summary.form.kind, EntryKind::Pdf);
    assert_eq!(summary.entries.len(), 2, "directories are not listed");

    // A photographed form (JPEG) and an extra file of another type are fine too.
    let summary = inspect(&zip_of(&[("视频.mp4", &mp4()), ("申请表.jpg", &jpeg()), ("说明.txt", "测试说明".as_bytes())])).unwrap();
    assert_eq!(summary.form.kind, EntryKind::Jpeg);
    assert_eq!(summary.entries[2].kind, EntryKind::Other);
}

// HRB-ANNEX2: the package is a ZIP archive.
#[test]
fn hrb_annex2_refuses_a_file_that_is_not_a_zip() {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(4096, 0);
    for bytes in [elf, Vec::new(), b"PK\x03\x04 truncated".to_vec()] {
        let err = inspect(&bytes).unwrap_err();
        assert_eq!(err, PackageError::NotAZip);
        assert_eq!(err.code(), "not_a_zip");
        assert!(err.message_zh().contains("ZIP"), "{}", err.message_zh());
    }
}

// HRB-ANNEX2: no entry may escape the extraction directory.
#[test]
fn hrb_annex2_refuses_traversal_entries() {
    for (name, problem) in [
        ("../evil.mp4", PathProblem::ParentDir),
        ("材料/../../evil.mp4", PathProblem::ParentDir),
        ("a/./../b.mp4", PathProblem::ParentDir),
        ("..\\evil.mp4", PathProblem::ParentDir),
        ("材料\\..\\..\\evil.mp4", PathProblem::ParentDir),
        ("材料/.. /evil.mp4", PathProblem::ParentDir),
        ("C:\\Windows\\evil.mp4", PathProblem::DriveLetter),
        ("c:evil.mp4", PathProblem::DriveLetter),
        ("\\\\server\\share\\evil.mp4", PathProblem::Absolute),
    ] {
        let err = inspect(&zip_of(&[("视频.mp4", &mp4()), (name, &mp4()), ("申请表.pdf", &pdf())])).unwrap_err();
        assert_eq!(err.code(), "unsafe_path", "{name}");
        assert_eq!(err, PackageError::UnsafePath { entry: name.to_string(), problem }, "{name}");
    }
    // Dots that are not a parent directory are fine.
    assert!(inspect(&zip_of(&[("..视频...mp4", &mp4()), ("申请表.v1..pdf", &pdf())])).is_ok());
}

// HRB-ANNEX2: no absolute entries.
#[test]
fn hrb_annex2_refuses_absolute_entries() {
    let err =
        inspect(&zip_of(&[("视频.mp4", &mp4()), ("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), ("申请表.pdf", &pdf())])).unwrap_err();
    assert_eq!(err, PackageError::UnsafePath { entry: "/etc/passwd".to_string(), problem: PathProblem::Absolute });
    assert!(err.message_zh().contains("/etc/passwd"), "{}", err.message_zh());
}

// HRB-ANNEX2: no symbolic links (extracting one can point later writes outside).
#[test]
fn hrb_annex2_refuses_symlinks() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("视频.mp4", deflated()).unwrap();
    w.write_all(&mp4()).unwrap();
    w.add_symlink("申请表.pdf", "/etc/passwd", SimpleFileOptions::default()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let err = inspect(&bytes).unwrap_err();
    assert_eq!(err, PackageError::UnsafePath { entry: "申请表.pdf".to_string(), problem: PathProblem::Symlink });
}

// HRB-ANNEX2: no password-protected entries (the agency could not open them).
#[test]
fn hrb_annex2_refuses_encrypted_entries() {
    let mut bytes = valid_zip();
    // Set general-purpose flag bit 0 (encrypted) on the video, in the local header (offset 6)
    // and in the central directory (offset 8).
    let cd = central_directory(&bytes);
    let local = bytes.windows(4).enumerate().filter(|(_, w)| *w == b"PK\x03\x04").map(|(i, _)| i).nth(1).unwrap();
    let central = (cd..bytes.len()).filter(|&i| &bytes[i..i + 4] == b"PK\x01\x02").nth(1).unwrap();
    bytes[local + 6] |= 1;
    bytes[central + 8] |= 1;
    let err = inspect(&bytes).unwrap_err();
    assert_eq!(err.code(), "encrypted");
    assert_eq!(err, PackageError::Encrypted { entry: "验收材料/处方流转验收视频.mp4".to_string() });
}

// HRB-ANNEX2: only entries the platform can read (stored or deflate).
#[test]
fn hrb_annex2_refuses_unsupported_compression() {
    let mut bytes = zip_of(&[("视频.mp4", &mp4()), ("申请表.pdf", &pdf())]);
    let cd = central_directory(&bytes);
    bytes[8] = 12; // bzip2, local header
    bytes[cd + 10] = 12; // bzip2, central directory
    let err = inspect(&bytes).unwrap_err();
    assert_eq!(err.code(), "unsupported_compression");
    assert!(err.message_zh().contains("视频.mp4"), "{}", err.message_zh());
}

// HRB-ANNEX2: the entry count is bounded.
#[test]
fn hrb_annex2_refuses_too_many_entries() {
    let names: Vec<String> = (0..12).map(|i| format!("f{i}.txt")).collect();
    let mut entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
    let (video, form) = (mp4(), pdf());
    entries.push(("视频.mp4", &video));
    entries.push(("申请表.pdf", &form));
    let bytes = zip_of(&entries);
    let limits = PackageLimits { max_entries: 10, ..PackageLimits::default() };
    let err = annex::inspect_package(Cursor::new(&bytes), &limits).unwrap_err();
    assert_eq!(err, PackageError::TooManyEntries { count: 14, max: 10 });
    assert_eq!(err.code(), "too_many_entries");
    assert!(annex::inspect_package(Cursor::new(&bytes), &PackageLimits { max_entries: 14, ..limits }).is_ok());
}

// HRB-ANNEX2: a ZIP bomb (200 MiB of zeros in one entry, about 200 KiB compressed) is refused
// from its declared sizes without decompressing it, and by its ratio even under the total limit.
#[test]
fn hrb_annex2_refuses_a_zip_bomb() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("视频.mp4", deflated().compression_level(Some(1))).unwrap();
    write_zeros_video(&mut w, 200 * MIB);
    w.start_file("申请表.pdf", deflated()).unwrap();
    w.write_all(&pdf()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert!(bytes.len() < 2 * MIB as usize, "compressed to {} bytes", bytes.len());

    let err = annex::inspect_package(Cursor::new(&bytes), &small_limits()).unwrap_err();
    assert_eq!(err.code(), "zip_bomb");
    assert!(matches!(err, PackageError::ZipBomb(BombReason::DeclaredTotal { declared, max }) if declared == 200 * MIB && max == 10 * MIB));
    assert!(err.message_zh().contains("压缩炸弹"), "{}", err.message_zh());

    // Under the default 4 GiB total it is still refused: ratio far above 100.
    let err = inspect(&bytes).unwrap_err();
    assert!(
        matches!(err, PackageError::ZipBomb(BombReason::DeclaredRatio { ref entry, max_ratio: 100 }) if entry == "视频.mp4"),
        "{err:?}"
    );
}

// HRB-ANNEX2: declared sizes are not trusted. The headers (local and central, consistently)
// claim 4 KiB for an entry that inflates to 20 MiB: the fast path passes, decompression finds
// out.
#[test]
fn hrb_annex2_refuses_a_zip_bomb_whose_declared_size_lies() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("视频.mp4", deflated().compression_level(Some(1))).unwrap();
    write_zeros_video(&mut w, 20 * MIB);
    w.start_file("申请表.pdf", deflated()).unwrap();
    w.write_all(&pdf()).unwrap();
    let mut bytes = w.finish().unwrap().into_inner();
    patch_first_declared_size(&mut bytes, 4096);

    let err = annex::inspect_package(Cursor::new(&bytes), &small_limits()).unwrap_err();
    assert_eq!(err.code(), "zip_bomb");
    assert_eq!(err, PackageError::ZipBomb(BombReason::SizeMismatch { entry: "视频.mp4".to_string(), declared: 4096 }));
}

// HRB-ANNEX2: local and central headers that disagree are refused (extractors that read the
// local headers would see another archive).
#[test]
fn hrb_annex2_refuses_inconsistent_headers() {
    let mut bytes = zip_of(&[("视频.mp4", &mp4()), ("申请表.pdf", &pdf())]);
    let declared = u32_at(&bytes, 22);
    bytes[22..26].copy_from_slice(&(declared + 1).to_le_bytes()); // local header only
    let err = inspect(&bytes).unwrap_err();
    assert_eq!(err.code(), "corrupt");
    assert!(matches!(&err, PackageError::Corrupt { entry: Some(e), .. } if e == "视频.mp4"), "{err:?}");
}

// HRB-ANNEX2: entries sharing compressed data (the non-recursive ZIP bomb) are refused.
#[test]
fn hrb_annex2_refuses_overlapping_entries() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("视频.mp4", deflated()).unwrap();
    w.write_all(&mp4()).unwrap();
    for i in 0..3 {
        w.shallow_copy_file("视频.mp4", &format!("副本{i}.mp4")).unwrap();
    }
    w.start_file("申请表.pdf", deflated()).unwrap();
    w.write_all(&pdf()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    assert_eq!(inspect(&bytes).unwrap_err(), PackageError::ZipBomb(BombReason::Overlapping));
}

// HRB-ANNEX2: no video, no acceptance.
#[test]
fn hrb_annex2_refuses_a_package_without_video() {
    let err = inspect(&zip_of(&[("申请表.pdf", &pdf())])).unwrap_err();
    assert_eq!(err, PackageError::NoVideo { misnamed: Vec::new(), form_missing_too: false });
    assert_eq!(err.code(), "no_video");

    let err = inspect(&zip_of(&[("空目录/", b"")])).unwrap_err();
    assert_eq!(err, PackageError::NoVideo { misnamed: Vec::new(), form_missing_too: true });
    assert!(err.message_zh().contains("验收申请表"), "{}", err.message_zh());
}

// HRB-ANNEX2: no stamped form, no acceptance.
#[test]
fn hrb_annex2_refuses_a_package_without_form() {
    let err = inspect(&zip_of(&[("视频.mp4", &mp4()), ("申请表.pdf", b"not really a pdf")])).unwrap_err();
    assert_eq!(err, PackageError::NoForm { misnamed: vec!["申请表.pdf".to_string()] });
    assert_eq!(err.code(), "no_form");
    assert!(err.message_zh().contains("6-03-01"), "{}", err.message_zh());
}

// HRB-ANNEX2: the video is recognised by its content, not its name.
#[test]
fn hrb_annex2_a_text_file_named_mp4_is_not_a_video() {
    let err = inspect(&zip_of(&[("验收视频.mp4", "这不是视频".as_bytes()), ("申请表.pdf", &pdf())])).unwrap_err();
    assert_eq!(err.code(), "no_video");
    assert_eq!(err, PackageError::NoVideo { misnamed: vec!["验收视频.mp4".to_string()], form_missing_too: false });
    assert!(err.message_zh().contains("验收视频.mp4"), "{}", err.message_zh());
}

// HRB-ANNEX2: every refusal has a stable code and a Chinese message.
#[test]
fn hrb_annex2_errors_have_codes_and_chinese_messages() {
    let errors = [
        PackageError::NotAZip,
        PackageError::DuplicateEntries,
        PackageError::Corrupt { entry: None, detail: "x".to_string() },
        PackageError::ZipBomb(BombReason::RealTotal { max: 4 << 30 }),
        PackageError::ZipBomb(BombReason::RealRatio { entry: "a".to_string(), max_ratio: 100 }),
    ];
    for e in errors {
        assert!(e.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", e.code());
        assert!(!e.message_zh().is_ascii(), "{}", e.message_zh());
        assert!(!e.to_string().is_empty());
    }
    assert!(PackageError::ZipBomb(BombReason::RealTotal { max: 4 << 30 }).message_zh().contains("4.0 GB"));
    assert_eq!(PackageLimits::default(), PackageLimits { max_entries: 1000, max_total_uncompressed: 4 << 30, max_ratio: 100 });
}
