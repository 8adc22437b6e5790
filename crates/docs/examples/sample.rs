//! Writes a sample application form as PDF and HTML, to look at:
//! `cargo run -p dingdian-docs --example sample -- /tmp/sample` (writes sample.pdf, sample.html).

use dingdian_docs::{Block, Document, PRINT_CSS, render_html, render_pdf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args().nth(1).unwrap_or_else(|| "sample".into());
    let rows = (1..=60)
        .map(|i| {
            vec![
                i.to_string(),
                format!("执业医师{i:02}"),
                format!("D230103{i:06}"),
                if i % 3 == 0 { "内科（含心血管内科、呼吸内科），兼任医保管理员".into() } else { "外科".into() },
            ]
        })
        .collect();
    let doc = Document {
        title: "黑龙江省哈尔滨市医疗机构申请定点协议管理申请表".into(),
        subtitle: Some("（2026 年度）".into()),
        created: jiff::civil::date(2026, 11, 27),
        blocks: vec![
            Block::Heading("一、机构基本情况".into()),
            Block::Fields(vec![
                ("机构名称".into(), "哈尔滨市南岗区康宁医院".into()),
                ("定点医药机构代码".into(), "H23010300123".into()),
                ("统一社会信用代码".into(), "12230103MB0123456X".into()),
                ("地址".into(), "黑龙江省哈尔滨市南岗区学府路 1 号（康宁大厦 A 座），邮政编码 150080，联系电话 0451-86660000".into()),
                ("服务范围".into(), "①内科；②外科；③妇产科；④儿科；⑤中医科。Outpatient and inpatient services, including a pharmacy.".into()),
            ]),
            Block::Paragraph("本机构承诺所提交的材料真实、准确、完整，如有虚假，愿承担相应的法律责任。本机构已知悉《医疗机构医疗保障定点管理暂行办法》（国家医疗保障局令第2号）的有关规定，并将严格遵守。".into()),
            Block::Heading("二、医保医师名单".into()),
            Block::Table { headers: vec!["序号".into(), "姓名".into(), "医保医师代码".into(), "科室".into()], rows },
            Block::Signatures(vec!["法定代表人签字：".into(), "单位盖章：".into(), "日期：".into()]),
        ],
        footer: Some("申请编号 HRB-2026-000123".into()),
    };
    std::fs::write(format!("{base}.pdf"), render_pdf(&doc)?)?;
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>sample</title><style>{PRINT_CSS}</style></head><body>{}</body></html>",
        render_html(&doc)
    );
    std::fs::write(format!("{base}.html"), html)?;
    Ok(())
}
