//! The HTML print view: a fragment with classes only (no inline style or script, for the site's
//! strict Content-Security-Policy), styled by [`PRINT_CSS`](crate::PRINT_CSS).

use std::fmt::Write;

use crate::text::normalize;
use crate::{Block, Document};

/// Append `text` HTML-escaped (safe in element content and in quoted attribute values).
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Escaped text with its line breaks as `<br>`.
fn multiline_into(out: &mut String, text: &str) {
    for (i, line) in normalize(text).split('\n').enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        escape_into(out, line);
    }
}

fn element(out: &mut String, tag: &str, class: &str, text: &str) {
    let _ = write!(out, "<{tag} class=\"{class}\">");
    multiline_into(out, text);
    let _ = write!(out, "</{tag}>");
}

pub(crate) fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<article class=\"print-doc\">");
    out.push_str("<header class=\"print-doc-header\">");
    element(&mut out, "h1", "print-doc-title", &doc.title);
    if let Some(subtitle) = &doc.subtitle {
        element(&mut out, "p", "print-doc-subtitle", subtitle);
    }
    out.push_str("</header>");
    for block in &doc.blocks {
        match block {
            Block::Heading(text) => element(&mut out, "h2", "print-doc-heading", text),
            Block::Paragraph(text) => {
                // One <p> per hard line, so that each gets the first-line indent, as in the PDF.
                for line in normalize(text).split('\n') {
                    element(&mut out, "p", "print-doc-paragraph", line);
                }
            }
            Block::Fields(fields) => {
                if fields.is_empty() {
                    continue;
                }
                out.push_str("<table class=\"print-doc-fields\"><tbody>");
                for (label, value) in fields {
                    out.push_str("<tr><th scope=\"row\">");
                    multiline_into(&mut out, label);
                    out.push_str("</th><td>");
                    multiline_into(&mut out, value);
                    out.push_str("</td></tr>");
                }
                out.push_str("</tbody></table>");
            }
            Block::Table { headers, rows } => {
                let columns = rows.iter().map(Vec::len).chain([headers.len()]).max().unwrap_or(0);
                if columns == 0 {
                    continue;
                }
                out.push_str("<table class=\"print-doc-table\">");
                if !headers.is_empty() {
                    out.push_str("<thead><tr>");
                    for i in 0..columns {
                        out.push_str("<th scope=\"col\">");
                        multiline_into(&mut out, headers.get(i).map_or("", String::as_str));
                        out.push_str("</th>");
                    }
                    out.push_str("</tr></thead>");
                }
                out.push_str("<tbody>");
                for row in rows {
                    out.push_str("<tr>");
                    for i in 0..columns {
                        out.push_str("<td>");
                        multiline_into(&mut out, row.get(i).map_or("", String::as_str));
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table>");
            }
            Block::Qr { text, caption } => {
                out.push_str("<figure class=\"print-doc-qr\">");
                if let Some(svg) = crate::qr::svg(text) {
                    out.push_str(&svg);
                }
                element(&mut out, "figcaption", "print-doc-qr-caption", &format!("{caption}\n{text}"));
                out.push_str("</figure>");
            }
            Block::Signatures(labels) => {
                if labels.is_empty() {
                    continue;
                }
                out.push_str("<div class=\"print-doc-signatures\">");
                for label in labels {
                    out.push_str("<div class=\"print-doc-signature\">");
                    element(&mut out, "span", "print-doc-signature-label", label);
                    out.push_str("<span class=\"print-doc-signature-line\"></span></div>");
                }
                out.push_str("</div>");
            }
        }
    }
    if let Some(footer) = &doc.footer {
        element(&mut out, "footer", "print-doc-footer", footer);
    }
    out.push_str("</article>");
    out
}

/// Styles of the print view. Served as a static file by the web layer.
pub(crate) const PRINT_CSS: &str = r#"/* dingdian-docs: print view of documents (classes emitted by render_html). */
.print-doc {
  box-sizing: border-box;
  max-width: 210mm;
  margin: 0 auto;
  padding: 20mm;
  background: #fff;
  color: #000;
  font-family: "Noto Serif CJK SC", "Noto Serif SC", "Source Han Serif SC", "Songti SC", "SimSun", serif;
  font-size: 12pt;
  line-height: 1.6;
}
.print-doc *, .print-doc *::before, .print-doc *::after { box-sizing: inherit; }
.print-doc-header { text-align: center; margin: 0 0 14pt; }
.print-doc-title { font-size: 18pt; font-weight: bold; line-height: 1.5; margin: 0; }
.print-doc-subtitle { font-size: 12pt; margin: 2pt 0 0; }
.print-doc-heading {
  font-size: 14pt;
  font-weight: bold;
  line-height: 1.5;
  margin: 16pt 0 4pt;
  break-after: avoid;
  page-break-after: avoid;
}
.print-doc-paragraph { margin: 0; text-indent: 2em; overflow-wrap: anywhere; }
.print-doc-fields, .print-doc-table {
  width: 100%;
  border-collapse: collapse;
  margin: 10pt 0;
}
.print-doc-fields th, .print-doc-fields td, .print-doc-table th, .print-doc-table td {
  border: 0.6pt solid #000;
  padding: 4pt 5pt;
  vertical-align: top;
  text-align: left;
  overflow-wrap: anywhere;
}
.print-doc-fields { line-height: 1.45; }
.print-doc-fields th { width: 25%; background: #ebebeb; font-weight: normal; }
.print-doc-table { font-size: 10.5pt; line-height: 1.45; }
.print-doc-table thead { display: table-header-group; }
.print-doc-table thead th { background: #ebebeb; font-weight: bold; text-align: center; }
.print-doc-fields tr, .print-doc-table tr { break-inside: avoid; page-break-inside: avoid; }
.print-doc-qr { display: flex; gap: 1em; align-items: flex-start; margin: 1em 0; break-inside: avoid; }
.print-doc-qr-caption { font-size: 0.9em; word-break: break-all; }
.print-doc-signatures {
  display: grid;
  grid-template-columns: repeat(auto-fit, minmax(16em, 1fr));
  column-gap: 16pt;
  margin: 18pt 0 0;
  break-inside: avoid;
  page-break-inside: avoid;
}
.print-doc-signature { display: flex; align-items: flex-end; min-height: 3.6em; }
.print-doc-signature-label { flex: none; max-width: 70%; }
.print-doc-signature-line { flex: 1; min-width: 6em; margin: 0 16pt 0.3em 4pt; border-bottom: 0.6pt solid #000; }
.print-doc-footer { margin: 24pt 0 0; font-size: 9pt; color: #333; }
@media screen {
  .print-doc { margin: 16px auto; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25); }
}
@media print {
  @page {
    size: A4;
    margin: 20mm 20mm 22mm;
    @bottom-right { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页"; font-size: 9pt; }
  }
  .print-doc { max-width: none; margin: 0; padding: 0; box-shadow: none; }
  .print-doc-fields th, .print-doc-table thead th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;
