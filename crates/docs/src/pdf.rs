//! Writes laid-out pages with krilla, which subsets the embedded font per document and writes
//! a ToUnicode map, so that the text of the PDF can be searched and copied.

use std::sync::OnceLock;

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, LineCap, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};

use crate::font::{FONT_DATA, FontMetrics};
use crate::layout::{self, Op, PAGE_HEIGHT, PAGE_WIDTH, RULE_WIDTH};
use crate::{DocError, Document};

/// Grey of shaded cells (0 = black, 255 = white).
const SHADE: u8 = 235;
/// Stroke width of faux-bold text, relative to the font size (the font has one weight only).
const BOLD_STROKE: f32 = 0.03;

fn font() -> Option<Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| Font::new(FONT_DATA.into(), 0)).clone()
}

pub(crate) fn render(doc: &Document) -> Result<Vec<u8>, DocError> {
    let metrics = FontMetrics::get().ok_or(DocError::Font)?;
    let font = font().ok_or(DocError::Font)?;
    let pages = layout::layout(doc, metrics);
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(DocError::Pdf("invalid page size".into()))?;

    let mut document = krilla::Document::new();
    for ops in &pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        // Backgrounds first, then borders, then text, so that nothing hides a border or text.
        for op in ops {
            if let Op::Shade { x, y, width, height } = op {
                shade(&mut surface, *x, *y, *width, *height);
            }
        }
        rules(&mut surface, ops);
        dark(&mut surface, ops);
        for op in ops {
            if let Op::Text { x, baseline, size, text, bold } = op {
                draw_text(&mut surface, metrics, &font, *x, *baseline, *size, text, *bold);
            }
        }
        surface.finish();
        page.finish();
    }

    let year = u16::try_from(doc.created.year()).map_err(|_| DocError::Date(doc.created))?;
    // A civil date; the platform works in Asia/Shanghai (UTC+8).
    let created = DateTime::new(year).month(doc.created.month().unsigned_abs()).day(doc.created.day().unsigned_abs()).utc_offset_hour(8);
    let mut metadata = Metadata::new().title(doc.title.clone()).language("zh-CN".into()).creator("dingdian".into()).creation_date(created);
    if let Some(subtitle) = doc.subtitle.as_ref().filter(|s| !s.is_empty()) {
        metadata = metadata.description(subtitle.clone());
    }
    document.set_metadata(metadata);
    document.finish().map_err(|e| DocError::Pdf(e.to_string()))
}

fn black_fill() -> Fill {
    Fill { paint: luma::Color::black().into(), opacity: NormalizedF32::ONE, rule: Default::default() }
}

fn shade(surface: &mut Surface, x: f32, y: f32, width: f32, height: f32) {
    let Some(rect) = Rect::from_xywh(x, y, width, height) else { return };
    let mut builder = PathBuilder::new();
    builder.push_rect(rect);
    let Some(path) = builder.finish() else { return };
    surface.set_stroke(None);
    surface.set_fill(Some(Fill { paint: luma::Color::new(SHADE).into(), ..black_fill() }));
    surface.draw_path(&path);
}

/// All dark squares of a page (QR code modules) as one filled path.
fn dark(surface: &mut Surface, ops: &[Op]) {
    let mut builder = PathBuilder::new();
    for op in ops {
        if let Op::Dark { x, y, width, height } = op
            && let Some(rect) = Rect::from_xywh(*x, *y, *width, *height)
        {
            builder.push_rect(rect);
        }
    }
    let Some(path) = builder.finish() else { return };
    surface.set_stroke(None);
    surface.set_fill(Some(black_fill()));
    surface.draw_path(&path);
}

/// All rules of a page as one path.
fn rules(surface: &mut Surface, ops: &[Op]) {
    let mut builder = PathBuilder::new();
    for op in ops {
        if let Op::Rule { x1, y1, x2, y2 } = op {
            builder.move_to(*x1, *y1);
            builder.line_to(*x2, *y2);
        }
    }
    let Some(path) = builder.finish() else { return };
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        paint: luma::Color::black().into(),
        width: RULE_WIDTH,
        line_cap: LineCap::Square,
        ..Default::default()
    }));
    surface.draw_path(&path);
}

#[allow(clippy::too_many_arguments)]
fn draw_text(surface: &mut Surface, metrics: &FontMetrics, font: &Font, x: f32, baseline: f32, size: f32, text: &str, bold: bool) {
    let glyphs: Vec<KrillaGlyph> = text
        .char_indices()
        .filter_map(|(i, c)| {
            let (gid, advance) = metrics.glyph(c)?;
            Some(KrillaGlyph::new(GlyphId::new(gid), advance, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None))
        })
        .collect();
    if glyphs.is_empty() {
        return;
    }
    surface.set_fill(Some(black_fill()));
    surface.set_stroke(bold.then(|| Stroke { paint: luma::Color::black().into(), width: size * BOLD_STROKE, ..Default::default() }));
    surface.draw_glyphs(Point::from_xy(x, baseline), &glyphs, font.clone(), text, size, false);
    surface.set_stroke(None);
}
