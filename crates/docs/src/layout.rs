//! Pagination: turns a [`Document`] into positioned drawing operations, page by page.
//!
//! Coordinates are PDF points with the origin at the top-left corner of the page and y growing
//! downwards (krilla's convention).

use crate::font::FontMetrics;
use crate::text::{self, Line};
use crate::{Block, Document};

const MM: f32 = 72.0 / 25.4;
/// A4 portrait.
pub(crate) const PAGE_WIDTH: f32 = 210.0 * MM;
pub(crate) const PAGE_HEIGHT: f32 = 297.0 * MM;
const MARGIN_X: f32 = 20.0 * MM;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const BODY_TOP: f32 = 20.0 * MM;
const BODY_BOTTOM: f32 = PAGE_HEIGHT - 22.0 * MM;
const BODY_HEIGHT: f32 = BODY_BOTTOM - BODY_TOP;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 12.0 * MM;

/// Font sizes in points (小二, 小四, 四号, 小四, 五号, 小五).
const TITLE_SIZE: f32 = 18.0;
const SUBTITLE_SIZE: f32 = 12.0;
const HEADING_SIZE: f32 = 14.0;
const BODY_SIZE: f32 = 12.0;
const TABLE_SIZE: f32 = 10.5;
const FOOTER_SIZE: f32 = 9.0;

const BODY_LINE: f32 = BODY_SIZE * 1.6;
const CELL_LINE_FACTOR: f32 = 1.45;
const CELL_PAD_X: f32 = 5.0;
const CELL_PAD_Y: f32 = 4.0;
const BLOCK_GAP: f32 = 10.0;
/// Border width of tables and signature lines.
pub(crate) const RULE_WIDTH: f32 = 0.6;
/// Writing space above a signature line.
const SIGNATURE_SPACE: f32 = 26.0;
/// Shortest signature line.
const SIGNATURE_MIN_LINE: f32 = 72.0;
const EPSILON: f32 = 0.01;
/// Side of a QR code with its quiet zone (about 35 mm: easy for a phone to read from paper).
const QR_SIDE: f32 = 35.0 * MM;

/// One drawing operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// A single line of text starting at `x` on the given baseline.
    Text { x: f32, baseline: f32, size: f32, text: String, bold: bool },
    /// A straight line of [`RULE_WIDTH`].
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
    /// A light grey background rectangle (label cells, header rows).
    Shade { x: f32, y: f32, width: f32, height: f32 },
    /// A black square or rectangle (QR code modules).
    Dark { x: f32, y: f32, width: f32, height: f32 },
}

pub(crate) type Page = Vec<Op>;

/// Lay out the document; returns at least one page, each with its footer.
pub(crate) fn layout(doc: &Document, metrics: &FontMetrics) -> Vec<Page> {
    let mut layout = Layout { m: metrics, pages: vec![Vec::new()], y: BODY_TOP };
    layout.title(&doc.title, doc.subtitle.as_deref());
    for (i, block) in doc.blocks.iter().enumerate() {
        if i > 0 {
            layout.gap(BLOCK_GAP);
        }
        layout.block(block);
    }
    layout.footers(doc.footer.as_deref());
    layout.pages
}

/// A table: column widths (including padding) and how to style it.
struct Grid {
    widths: Vec<f32>,
    size: f32,
    line_height: f32,
    header: Option<GridRow>,
    shade_first_column: bool,
}

/// A table row with its cells already wrapped.
struct GridRow {
    cells: Vec<Vec<Line>>,
    /// Number of lines of the tallest cell (at least 1).
    lines: usize,
    header: bool,
}

struct Layout<'m> {
    m: &'m FontMetrics,
    pages: Vec<Page>,
    /// Top of the free space on the current page.
    y: f32,
}

impl Layout<'_> {
    fn wrap(&self, text: &str, size: f32, width: f32, indent: f32) -> Vec<Line> {
        text::wrap(text, width, indent, &|c| self.m.advance(c) * size)
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.m.advance(c) * size).sum()
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn room(&self) -> f32 {
        BODY_BOTTOM - self.y
    }

    fn at_top(&self) -> bool {
        self.y <= BODY_TOP + EPSILON
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = BODY_TOP;
    }

    /// Start a new page unless `height` fits below the cursor (or the page is still empty).
    fn ensure(&mut self, height: f32) {
        if height > self.room() + EPSILON && !self.at_top() {
            self.new_page();
        }
    }

    /// Vertical space, dropped at the top of a page.
    fn gap(&mut self, height: f32) {
        if !self.at_top() {
            self.y += height;
        }
    }

    /// Draw one line of text vertically centred in a line box starting at `top`.
    fn text(&mut self, x: f32, top: f32, line_height: f32, size: f32, text: &str, bold: bool) {
        if text.is_empty() {
            return;
        }
        let ink = size * (self.m.ascent + self.m.descent);
        let baseline = top + (line_height - ink) / 2.0 + size * self.m.ascent;
        self.push(Op::Text { x, baseline, size, text: text.to_string(), bold });
    }

    /// Lines of text, each centred or left-aligned at `x`, breaking pages between lines.
    fn lines(&mut self, lines: &[Line], size: f32, line_height: f32, centred: bool, bold: bool, indent: f32) {
        for line in lines {
            self.ensure(line_height);
            let x = if centred {
                MARGIN_X + ((CONTENT_WIDTH - line.width) / 2.0).max(0.0)
            } else if line.first {
                MARGIN_X + indent
            } else {
                MARGIN_X
            };
            self.text(x, self.y, line_height, size, &line.text, bold);
            self.y += line_height;
        }
    }

    fn title(&mut self, title: &str, subtitle: Option<&str>) {
        let lines = self.wrap(title, TITLE_SIZE, CONTENT_WIDTH, 0.0);
        self.lines(&lines, TITLE_SIZE, TITLE_SIZE * 1.5, true, true, 0.0);
        if let Some(subtitle) = subtitle {
            self.y += 2.0;
            let lines = self.wrap(subtitle, SUBTITLE_SIZE, CONTENT_WIDTH, 0.0);
            self.lines(&lines, SUBTITLE_SIZE, SUBTITLE_SIZE * 1.5, true, false, 0.0);
        }
        self.y += 14.0;
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading(text) => self.heading(text),
            Block::Paragraph(text) => {
                let indent = 2.0 * BODY_SIZE;
                let lines = self.wrap(text, BODY_SIZE, CONTENT_WIDTH, indent);
                self.lines(&lines, BODY_SIZE, BODY_LINE, false, false, indent);
            }
            Block::Fields(fields) => self.fields(fields),
            Block::Table { headers, rows } => self.table(headers, rows),
            Block::Signatures(labels) => self.signatures(labels),
            Block::Qr { text, caption } => self.qr(text, caption),
        }
    }

    /// A QR code at the left margin, its caption beside it; the two are kept on one page.
    fn qr(&mut self, text: &str, caption: &str) {
        let Some((width, dark)) = crate::qr::modules(text) else {
            let lines = self.wrap(&format!("{caption}\n{text}"), TABLE_SIZE, CONTENT_WIDTH, 0.0);
            self.lines(&lines, TABLE_SIZE, TABLE_SIZE * 1.5, false, false, 0.0);
            return;
        };
        let total = (width + 2 * crate::qr::QUIET) as f32;
        let side = QR_SIDE.min(CONTENT_WIDTH);
        let module = side / total;
        let caption_x = MARGIN_X + side + 8.0;
        let lines = self.wrap(&format!("{caption}\n{text}"), TABLE_SIZE, CONTENT_WIDTH - side - 8.0, 0.0);
        let line_height = TABLE_SIZE * 1.5;
        self.ensure(side.max(lines.len() as f32 * line_height));
        let top = self.y;
        for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
            let x = MARGIN_X + ((i % width + crate::qr::QUIET) as f32) * module;
            let y = top + ((i / width + crate::qr::QUIET) as f32) * module;
            self.push(Op::Dark { x, y, width: module, height: module });
        }
        let mut y = top + module * crate::qr::QUIET as f32;
        for line in &lines {
            self.text(caption_x, y, line_height, TABLE_SIZE, &line.text, false);
            y += line_height;
        }
        self.y = top + side.max(y - top);
    }

    fn heading(&mut self, text: &str) {
        self.gap(6.0);
        let line_height = HEADING_SIZE * 1.5;
        let lines = self.wrap(text, HEADING_SIZE, CONTENT_WIDTH, 0.0);
        // Keep the heading together with the first lines of what follows it.
        let needed = lines.len() as f32 * line_height + 2.0 * BODY_LINE;
        if needed <= BODY_HEIGHT {
            self.ensure(needed);
        }
        self.lines(&lines, HEADING_SIZE, line_height, false, true, 0.0);
        self.y += 2.0;
    }

    fn row(&self, texts: &[&str], widths: &[f32], size: f32, header: bool) -> GridRow {
        let cells: Vec<Vec<Line>> = widths
            .iter()
            .enumerate()
            .map(|(i, width)| self.wrap(texts.get(i).copied().unwrap_or(""), size, width - 2.0 * CELL_PAD_X, 0.0))
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        GridRow { cells, lines, header }
    }

    fn fields(&mut self, fields: &[(String, String)]) {
        if fields.is_empty() {
            return;
        }
        let size = BODY_SIZE;
        let widest_label =
            fields.iter().map(|(label, _)| text::max_content_width(label, &|c| self.m.advance(c) * size)).fold(0.0, f32::max);
        let label_width = (widest_label + 2.0 * CELL_PAD_X).clamp(CONTENT_WIDTH * 0.25, CONTENT_WIDTH * 0.4);
        let widths = vec![label_width, CONTENT_WIDTH - label_width];
        let rows: Vec<GridRow> =
            fields.iter().map(|(label, value)| self.row(&[label.as_str(), value.as_str()], &widths, size, false)).collect();
        let grid = Grid { widths, size, line_height: size * CELL_LINE_FACTOR, header: None, shade_first_column: true };
        self.grid(&grid, &rows);
    }

    fn table(&mut self, headers: &[String], rows: &[Vec<String>]) {
        let columns = rows.iter().map(Vec::len).chain([headers.len()]).max().unwrap_or(0);
        if columns == 0 {
            return;
        }
        let size = TABLE_SIZE;
        let widths = self.column_widths(headers, rows, columns, size);
        let header = (!headers.is_empty()).then(|| {
            let texts: Vec<&str> = headers.iter().map(String::as_str).collect();
            self.row(&texts, &widths, size, true)
        });
        let body: Vec<GridRow> = rows
            .iter()
            .map(|row| {
                let texts: Vec<&str> = row.iter().map(String::as_str).collect();
                self.row(&texts, &widths, size, false)
            })
            .collect();
        let grid = Grid { widths, size, line_height: size * CELL_LINE_FACTOR, header, shade_first_column: false };
        self.grid(&grid, &body);
    }

    /// Automatic column widths (like HTML's auto table layout): columns get their unwrapped
    /// width when everything fits, otherwise at least their longest unbreakable word plus a share
    /// of the rest in proportion to how much they would like to grow.
    fn column_widths(&self, headers: &[String], rows: &[Vec<String>], columns: usize, size: f32) -> Vec<f32> {
        let advance = |c: char| self.m.advance(c) * size;
        // At least one ideograph wide.
        let mut min = vec![size; columns];
        let mut max = vec![size; columns];
        for row in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
            for (i, cell) in row.iter().enumerate() {
                min[i] = min[i].max(text::min_content_width(cell, &advance));
                max[i] = max[i].max(text::max_content_width(cell, &advance));
            }
        }
        let padding = 2.0 * CELL_PAD_X;
        let available = (CONTENT_WIDTH - columns as f32 * padding).max(columns as f32);
        let sum_min: f32 = min.iter().sum();
        let sum_max: f32 = max.iter().sum();
        let inner: Vec<f32> = if sum_max <= available {
            max.iter().map(|w| w + (available - sum_max) * w / sum_max).collect()
        } else if sum_min <= available {
            let flex = sum_max - sum_min;
            min.iter().zip(&max).map(|(lo, hi)| lo + (available - sum_min) * (hi - lo) / flex).collect()
        } else {
            min.iter().map(|w| available * w / sum_min).collect()
        };
        inner.into_iter().map(|w| w + padding).collect()
    }

    fn row_height(grid: &Grid, lines: usize) -> f32 {
        lines as f32 * grid.line_height + 2.0 * CELL_PAD_Y
    }

    /// Draw lines `from..to` of a row at the cursor, with its borders.
    fn draw_row(&mut self, grid: &Grid, row: &GridRow, from: usize, to: usize) {
        let top = self.y;
        let height = Self::row_height(grid, to - from);
        let right = MARGIN_X + grid.widths.iter().sum::<f32>();
        let mut x = MARGIN_X;
        for (i, (cell, &width)) in row.cells.iter().zip(&grid.widths).enumerate() {
            if row.header || (grid.shade_first_column && i == 0) {
                self.push(Op::Shade { x, y: top, width, height });
            }
            for (k, line) in cell.iter().enumerate().take(to).skip(from) {
                let line_top = top + CELL_PAD_Y + (k - from) as f32 * grid.line_height;
                let tx = if row.header { x + ((width - line.width) / 2.0).max(CELL_PAD_X) } else { x + CELL_PAD_X };
                self.text(tx, line_top, grid.line_height, grid.size, &line.text, row.header);
            }
            self.push(Op::Rule { x1: x, y1: top, x2: x, y2: top + height });
            x += width;
        }
        self.push(Op::Rule { x1: right, y1: top, x2: right, y2: top + height });
        self.push(Op::Rule { x1: MARGIN_X, y1: top, x2: right, y2: top });
        self.push(Op::Rule { x1: MARGIN_X, y1: top + height, x2: right, y2: top + height });
        self.y += height;
    }

    /// Continue a table on a new page, repeating its header row when there is one.
    fn continue_grid(&mut self, grid: &Grid, repeat_header: bool) {
        self.new_page();
        if let Some(header) = grid.header.as_ref().filter(|_| repeat_header) {
            self.draw_row(grid, header, 0, header.lines);
        }
    }

    fn grid(&mut self, grid: &Grid, rows: &[GridRow]) {
        let header_height = grid.header.as_ref().map_or(0.0, |h| Self::row_height(grid, h.lines));
        // A header taller than a third of the page is not worth repeating.
        let repeat_header = header_height <= BODY_HEIGHT / 3.0;
        let first_height = rows.first().map_or(0.0, |r| Self::row_height(grid, r.lines));
        // Do not leave the header (or the first row) alone at the bottom of a page.
        self.ensure((header_height + first_height).min(BODY_HEIGHT / 2.0));
        if let Some(header) = &grid.header {
            self.draw_row(grid, header, 0, header.lines);
        }
        let fresh_room = BODY_HEIGHT - if repeat_header { header_height } else { 0.0 };
        for row in rows {
            let height = Self::row_height(grid, row.lines);
            if height > self.room() + EPSILON && height <= fresh_room + EPSILON {
                self.continue_grid(grid, repeat_header);
            }
            // Rows taller than a page are split between lines.
            let mut from = 0;
            let mut continued = false;
            while from < row.lines {
                let fit = ((self.room() - 2.0 * CELL_PAD_Y) / grid.line_height + EPSILON).floor().max(0.0) as usize;
                let mut to = row.lines.min(from + fit);
                if to == from {
                    if !continued {
                        self.continue_grid(grid, repeat_header);
                        continued = true;
                        continue;
                    }
                    // Not even one line fits on a fresh page: draw it anyway.
                    to = from + 1;
                }
                self.draw_row(grid, row, from, to);
                from = to;
                continued = false;
                if from < row.lines {
                    self.continue_grid(grid, repeat_header);
                    continued = true;
                }
            }
        }
    }

    fn signatures(&mut self, labels: &[String]) {
        if labels.is_empty() {
            return;
        }
        let size = BODY_SIZE;
        let line_height = BODY_LINE;
        let widest = labels.iter().map(|l| text::max_content_width(l, &|c| self.m.advance(c) * size)).fold(0.0, f32::max);
        let columns = if widest + SIGNATURE_MIN_LINE + 16.0 <= CONTENT_WIDTH / 2.0 { 2 } else { 1 };
        let column_width = CONTENT_WIDTH / columns as f32;
        let label_width = column_width - SIGNATURE_MIN_LINE - 16.0;
        let rows: Vec<Vec<Vec<Line>>> =
            labels.chunks(columns).map(|chunk| chunk.iter().map(|l| self.wrap(l, size, label_width, 0.0)).collect()).collect();
        let row_height = |row: &Vec<Vec<Line>>| SIGNATURE_SPACE + row.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_height;
        self.gap(8.0);
        // Keep the signature block on one page when it fits on one.
        let total: f32 = rows.iter().map(row_height).sum();
        if total <= BODY_HEIGHT {
            self.ensure(total);
        }
        for row in &rows {
            let height = row_height(row);
            self.ensure(height);
            for (i, lines) in row.iter().enumerate() {
                let x = MARGIN_X + i as f32 * column_width;
                // The last label line sits at the bottom of the row, next to the signature line.
                let mut top = self.y + height - lines.len() as f32 * line_height;
                for line in lines {
                    self.text(x, top, line_height, size, &line.text, false);
                    top += line_height;
                }
                let last = lines.last().map_or(0.0, |l| l.width);
                let rule_y = self.y + height - line_height * 0.2;
                self.push(Op::Rule { x1: x + last + 4.0, y1: rule_y, x2: x + column_width - 16.0, y2: rule_y });
            }
            self.y += height;
        }
    }

    /// Footer text on the left and "第 N 页 / 共 M 页" on the right of every page.
    fn footers(&mut self, footer: Option<&str>) {
        let total = self.pages.len();
        let footer = footer.map(|f| text::normalize(f).replace('\n', " ")).filter(|f| !f.trim().is_empty());
        for i in 0..total {
            let number = format!("第 {} 页 / 共 {} 页", i + 1, total);
            let number_width = self.width(&number, FOOTER_SIZE);
            let mut ops = Vec::new();
            match &footer {
                Some(footer) => {
                    let text = self.truncate(footer, FOOTER_SIZE, CONTENT_WIDTH - number_width - 12.0);
                    ops.push(Op::Text { x: MARGIN_X, baseline: FOOTER_BASELINE, size: FOOTER_SIZE, text, bold: false });
                    ops.push(Op::Text {
                        x: MARGIN_X + CONTENT_WIDTH - number_width,
                        baseline: FOOTER_BASELINE,
                        size: FOOTER_SIZE,
                        text: number,
                        bold: false,
                    });
                }
                None => ops.push(Op::Text {
                    x: MARGIN_X + (CONTENT_WIDTH - number_width) / 2.0,
                    baseline: FOOTER_BASELINE,
                    size: FOOTER_SIZE,
                    text: number,
                    bold: false,
                }),
            }
            self.pages[i].extend(ops);
        }
    }

    /// `text` cut to `width`, with an ellipsis when something was cut.
    fn truncate(&self, text: &str, size: f32, width: f32) -> String {
        if self.width(text, size) <= width {
            return text.to_string();
        }
        let ellipsis = self.width("…", size);
        let mut out = String::new();
        let mut used = 0.0;
        for c in text.chars() {
            let w = self.m.advance(c) * size;
            if used + w + ellipsis > width {
                break;
            }
            used += w;
            out.push(c);
        }
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(blocks: Vec<Block>) -> Document {
        Document {
            title: "测试".into(),
            subtitle: None,
            created: jiff::civil::date(2026, 11, 27),
            blocks,
            footer: Some("申请编号 HRB-2026-000123".into()),
        }
    }

    fn metrics() -> &'static FontMetrics {
        FontMetrics::get().expect("embedded font parses")
    }

    fn texts(page: &Page) -> Vec<&str> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn everything_stays_inside_the_body_area() {
        let rows = (1..=80).map(|i| vec![i.to_string(), "很长的内容".repeat(i % 7 + 1)]).collect();
        let long = "这是一段很长的说明文字，".repeat(400);
        let pages = layout(
            &doc(vec![
                Block::Paragraph(long.clone()),
                Block::Table { headers: vec!["序号".into(), "内容".into()], rows },
                Block::Fields(vec![("说明".into(), long)]),
                Block::Signatures(vec!["法定代表人签字：".into(), "单位盖章：".into(), "日期：".into()]),
            ]),
            metrics(),
        );
        assert!(pages.len() > 5, "{}", pages.len());
        for (n, page) in pages.iter().enumerate() {
            for op in page {
                match op {
                    Op::Text { x, baseline, .. } => {
                        assert!(*x >= MARGIN_X - EPSILON && *x < MARGIN_X + CONTENT_WIDTH, "page {n}: {op:?}");
                        assert!(*baseline > BODY_TOP && *baseline <= FOOTER_BASELINE + EPSILON, "page {n}: {op:?}");
                    }
                    Op::Rule { x1, y1, x2, y2 } => {
                        for x in [x1, x2] {
                            assert!(*x >= MARGIN_X - EPSILON && *x <= MARGIN_X + CONTENT_WIDTH + EPSILON, "page {n}: {op:?}");
                        }
                        for y in [y1, y2] {
                            assert!(*y >= BODY_TOP - EPSILON && *y <= BODY_BOTTOM + EPSILON, "page {n}: {op:?}");
                        }
                    }
                    Op::Shade { y, height, .. } | Op::Dark { y, height, .. } => {
                        assert!(*y >= BODY_TOP - EPSILON && y + height <= BODY_BOTTOM + EPSILON)
                    }
                }
            }
        }
        let total = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let number = format!("第 {} 页 / 共 {} 页", i + 1, total);
            assert!(texts(page).contains(&number.as_str()), "page {i} lacks {number}");
            assert!(texts(page).contains(&"申请编号 HRB-2026-000123"));
        }
    }

    #[test]
    fn table_header_is_repeated_on_continuation_pages() {
        let rows = (1..=60).map(|i| vec![i.to_string(), format!("项目{i}")]).collect();
        let pages = layout(&doc(vec![Block::Table { headers: vec!["序号".into(), "名称".into()], rows }]), metrics());
        assert!(pages.len() >= 2);
        for page in &pages {
            assert!(texts(page).contains(&"序号"));
        }
        let all: Vec<&str> = pages.iter().flat_map(texts).collect();
        for i in 1..=60 {
            let name = format!("项目{i}");
            assert_eq!(all.iter().filter(|t| **t == name).count(), 1, "{name}");
        }
    }

    #[test]
    fn row_taller_than_a_page_is_split() {
        let value = (1..=120).map(|i| format!("第{i}行")).collect::<Vec<_>>().join("\n");
        let pages = layout(&doc(vec![Block::Fields(vec![("附件".into(), value)])]), metrics());
        assert!(pages.len() >= 3, "{}", pages.len());
        let all: Vec<&str> = pages.iter().flat_map(texts).collect();
        assert!(all.contains(&"第1行") && all.contains(&"第120行"));
    }

    #[test]
    fn ragged_and_empty_tables_do_not_panic() {
        let pages = layout(
            &doc(vec![
                Block::Table { headers: vec![], rows: vec![] },
                Block::Table { headers: vec!["甲".into()], rows: vec![vec![], vec!["1".into(), "2".into(), "3".into()]] },
                Block::Fields(vec![]),
                Block::Signatures(vec![]),
                Block::Heading(String::new()),
                Block::Paragraph(String::new()),
            ]),
            metrics(),
        );
        assert_eq!(pages.len(), 1);
    }
}
