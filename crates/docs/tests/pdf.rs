//! Renders documents and reads them back with a PDF parser (pdf-extract, over lopdf).

use dingdian_docs::{Block, Document, PRINT_CSS, render_html, render_pdf};
use pdf_extract::{Document as PdfDocument, Object};

const INSTITUTION: &str = "哈尔滨市南岗区康宁医院";
const CODE: &str = "H23010300123";

fn application() -> Document {
    let rows = (1..=60)
        .map(|i| {
            vec![
                i.to_string(),
                format!("执业医师{i:02}"),
                format!("D230103{i:06}"),
                if i % 3 == 0 {
                    "内科（含心血管内科、呼吸内科），兼任医保管理员".to_string()
                } else {
                    "外科".to_string()
                },
            ]
        })
        .collect();
    Document {
        title: "黑龙江省哈尔滨市医疗机构申请定点协议管理申请表".into(),
        subtitle: Some("（2026 年度）".into()),
        created: jiff::civil::date(2026, 11, 27),
        blocks: vec![
            Block::Heading("一、机构基本情况".into()),
            Block::Fields(vec![
                ("机构名称".into(), INSTITUTION.into()),
                ("定点医药机构代码".into(), CODE.into()),
                ("统一社会信用代码".into(), "12230103MB0123456X".into()),
                ("地址".into(), "黑龙江省哈尔滨市南岗区学府路 1 号（康宁大厦 A 座）".into()),
            ]),
            Block::Paragraph("本机构承诺所提交的材料真实、准确、完整，如有虚假，愿承担相应的法律责任。".into()),
            Block::Heading("二、医保医师名单".into()),
            Block::Table { headers: vec!["序号".into(), "姓名".into(), "医保医师代码".into(), "科室".into()], rows },
            Block::Signatures(vec!["法定代表人签字：".into(), "单位盖章：".into(), "日期：".into()]),
        ],
        footer: Some("申请编号 HRB-2026-000123".into()),
    }
}

/// Whitespace-free text of the whole PDF, as a text extractor sees it.
fn extracted_text(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf).expect("text extraction");
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn font_file_embedded(doc: &PdfDocument) -> bool {
    doc.objects.values().any(|object| {
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &stream.dict,
            _ => return false,
        };
        let is_descriptor = dict.get(b"Type").and_then(Object::as_name).is_ok_and(|name| name == b"FontDescriptor");
        is_descriptor && [&b"FontFile"[..], b"FontFile2", b"FontFile3"].iter().any(|key| dict.has(key))
    })
}

#[test]
fn application_form_round_trips_through_a_pdf_parser() {
    let pdf = render_pdf(&application()).expect("render");
    assert!(pdf.starts_with(b"%PDF-"));

    let doc = PdfDocument::load_mem(&pdf).expect("lopdf parses the output");
    let pages = doc.get_pages().len();
    assert!(pages > 1, "60 table rows must need more than one page, got {pages}");
    assert!(font_file_embedded(&doc), "no FontDescriptor with FontFile/FontFile2/FontFile3");

    let text = extracted_text(&pdf);
    assert!(text.contains(INSTITUTION), "institution name missing from: {text}");
    assert!(text.contains(CODE), "code missing");
    assert!(text.contains("黑龙江省哈尔滨市医疗机构申请定点协议管理申请表"));
    assert!(text.contains("执业医师01") && text.contains("执业医师60"));
    assert!(text.contains(&format!("第1页/共{pages}页")), "page numbers missing");
    assert!(text.contains(&format!("第{pages}页/共{pages}页")));
    assert!(text.contains("申请编号HRB-2026-000123"));
}

#[test]
fn metadata_has_title_and_creation_date() {
    let pdf = render_pdf(&application()).expect("render");
    let doc = PdfDocument::load_mem(&pdf).expect("parse");
    let info = doc.trailer.get(b"Info").and_then(Object::as_reference).and_then(|r| doc.get_dictionary(r)).expect("Info dictionary");
    let title = info.get(b"Title").and_then(pdf_extract::decode_text_string).expect("Title");
    assert_eq!(title, "黑龙江省哈尔滨市医疗机构申请定点协议管理申请表");
    let created = info.get(b"CreationDate").and_then(Object::as_str).expect("CreationDate");
    assert!(created.starts_with(b"D:20261127"), "{}", String::from_utf8_lossy(created));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(render_pdf(&application()).unwrap(), render_pdf(&application()).unwrap());
}

#[test]
fn characters_missing_from_the_font_do_not_break_the_pdf() {
    // U+30EDD (biáng, CJK Extension G) is not in the subset, nor in Noto CJK at all.
    let rare = '\u{30EDD}';
    assert!(!dingdian_docs::font_has_char(rare));
    assert!(dingdian_docs::font_has_char('哈'));
    let doc = Document {
        title: format!("{rare}{rare}面馆"),
        subtitle: None,
        created: jiff::civil::date(2026, 1, 5),
        blocks: vec![
            Block::Fields(vec![("机构名称".into(), format!("西安{rare}{rare}面馆")), ("代码".into(), CODE.into())]),
            Block::Paragraph(format!("{rare}\u{1F600}\u{0}\u{7}控制字符与表情")),
        ],
        footer: None,
    };
    let pdf = render_pdf(&doc).expect("render with missing glyphs");
    let parsed = PdfDocument::load_mem(&pdf).expect("still a valid PDF");
    assert_eq!(parsed.get_pages().len(), 1);
    let text = extracted_text(&pdf);
    // Drawn with a placeholder glyph, the character itself stays in the text layer.
    assert!(text.contains(&format!("西安{rare}{rare}面馆")), "{text}");
    assert!(text.contains(CODE) && text.contains("控制字符与表情") && text.contains("第1页/共1页"), "{text}");
}

#[test]
fn short_document_is_small() {
    let doc = Document {
        title: "受理通知书".into(),
        subtitle: None,
        created: jiff::civil::date(2026, 11, 27),
        blocks: vec![Block::Paragraph(format!("{INSTITUTION}：你单位提交的定点申请材料齐全，予以受理。"))],
        footer: None,
    };
    let pdf = render_pdf(&doc).expect("render");
    // The font is subset to the characters used: a one-page notice stays far below the 3 MB font.
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
}

#[test]
fn html_escapes_text_and_has_no_inline_style_or_script() {
    let doc = Document {
        title: "<script>alert(1)</script>".into(),
        subtitle: Some("a & b \"c\" 'd'".into()),
        created: jiff::civil::date(2026, 11, 27),
        blocks: vec![
            Block::Heading("<b>标题</b>".into()),
            Block::Paragraph("第一行\n<img src=x onerror=alert(1)>".into()),
            Block::Fields(vec![("<th>".into(), "</td><script>x()</script>".into())]),
            Block::Table { headers: vec!["<u>".into(), "乙".into()], rows: vec![vec!["<i>".into()]] },
            Block::Signatures(vec!["签字<script>".into()]),
        ],
        footer: Some("</article><script>".into()),
    };
    let html = render_html(&doc);
    assert!(html.starts_with("<article class=\"print-doc\">") && html.ends_with("</article>"));
    assert_eq!(html.matches("<article").count(), 1);
    assert_eq!(html.matches("</article>").count(), 1);
    let lower = html.to_lowercase();
    for forbidden in ["<script", "<img", "<b>", "<i>", "<u>", "style=", "onerror=\"", "<th>"] {
        assert!(!lower.contains(forbidden), "{forbidden} in {html}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a &amp; b &quot;c&quot; &#39;d&#39;"));
    assert!(html.contains("<p class=\"print-doc-paragraph\">第一行</p>"));
    // The short row is padded to the header's two columns.
    assert!(html.contains("<tr><td>&lt;i&gt;</td><td></td></tr>"));
}

#[test]
fn print_css_styles_every_class_of_the_fragment() {
    let html = render_html(&application());
    let mut rest = html.as_str();
    let mut classes = Vec::new();
    while let Some(start) = rest.find("class=\"") {
        rest = &rest[start + 7..];
        let end = rest.find('"').expect("closing quote");
        classes.extend(rest[..end].split(' ').map(str::to_string));
        rest = &rest[end..];
    }
    assert!(classes.len() > 5);
    for class in classes {
        assert!(PRINT_CSS.contains(&format!(".{class}")), "no rule for .{class}");
    }
    assert!(PRINT_CSS.contains("@media print"));
}
