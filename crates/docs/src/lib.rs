//! Printable documents of dingdian (申请表, 受理通知书, lists …), rendered
//!
//! - as PDF ([`render_pdf`]): A4, with an embedded subset of Noto Serif CJK SC (SIL OFL 1.1,
//!   see `fonts/OFL.txt`; rebuilt by `scripts/subset-font.sh`), wrapped by measured glyph
//!   advances, paginated, with "第 N 页 / 共 M 页" footers; the text is extractable;
//! - as an HTML fragment ([`render_html`]) for the browser's print view, styled by [`PRINT_CSS`].
//!
//! The crate has no clock: the creation date is part of the [`Document`].

mod font;
mod html;
mod layout;
mod pdf;
mod qr;
mod text;

/// A printable document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// e.g. the application form's title, as the city's profile names it.
    pub title: String,
    pub subtitle: Option<String>,
    /// Creation date, written to the PDF metadata.
    pub created: jiff::civil::Date,
    pub blocks: Vec<Block>,
    /// Printed at the bottom of every page, e.g. "申请编号 HRB-2026-000123".
    pub footer: Option<String>,
}

/// A block of content. Texts may contain `\n` for hard line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    /// A paragraph; each hard line starts with a two-character indent.
    Paragraph(String),
    /// Label/value pairs in a two-column bordered table.
    Fields(Vec<(String, String)>),
    /// A bordered table with a header row; cells wrap. Rows shorter than the header are padded
    /// with empty cells. Long tables continue on the next page with the header row repeated.
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Signature/seal lines, e.g. ["法定代表人签字：", "单位盖章：", "日期："].
    Signatures(Vec<String>),
    /// A QR code encoding `text` (e.g. a progress-query address), with a caption beside it. Drawn
    /// as vector squares in the PDF and as an inline SVG in the HTML view; text too long for a
    /// QR code is shown as the caption and the text only.
    Qr {
        text: String,
        caption: String,
    },
}

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DocError {
    /// The embedded font could not be read: a defect of the build, not of the input.
    #[error("the embedded font could not be loaded")]
    Font,
    /// The creation date cannot be written into a PDF (years before 0).
    #[error("creation date {0} cannot be written into a PDF")]
    Date(jiff::civil::Date),
    #[error("PDF could not be written: {0}")]
    Pdf(String),
}

/// Render the document as an A4 PDF with the CJK font embedded (subset to the characters used).
///
/// Characters the font lacks (beyond GB 2312 and the 通用规范汉字表, emoji …) are drawn as 〓;
/// they are still in the text layer, so searching and copying the text give them back.
/// Invisible format characters (zero-width spaces, variation selectors …) are dropped.
pub fn render_pdf(doc: &Document) -> Result<Vec<u8>, DocError> {
    pdf::render(doc)
}

/// An HTML fragment `<article class="print-doc">…</article>`. Every text is HTML-escaped; there
/// is no inline style or script, only classes, which [`PRINT_CSS`] styles.
pub fn render_html(doc: &Document) -> String {
    html::render(doc)
}

/// CSS for the classes of [`render_html`], including `@media print` rules (A4 page, page
/// numbers, table rows kept whole, header rows repeated). Serve it as a static file.
pub const PRINT_CSS: &str = html::PRINT_CSS;

/// Whether the embedded font can draw `ch`; characters for which this is false come out as a box
/// in the PDF. Useful for warning a user about a rare character in a name.
pub fn font_has_char(ch: char) -> bool {
    font::FontMetrics::get().is_some_and(|m| m.has_glyph(ch))
}
