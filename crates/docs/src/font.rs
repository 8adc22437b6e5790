//! The embedded CJK font and the glyph metrics used for layout.
//!
//! Text is not shaped: every code point maps to one glyph through the font's `cmap`, and its
//! advance comes from `hmtx`. That is exact for Chinese, full-width punctuation and Latin text
//! without ligatures or kerning, which is all these documents contain.

use std::sync::OnceLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};

/// Noto Serif CJK SC Regular, subset by `scripts/subset-font.sh` (SIL OFL 1.1, see `fonts/OFL.txt`).
pub(crate) static FONT_DATA: &[u8] = include_bytes!("../fonts/NotoSerifCJKsc-Regular-subset.otf");

/// Drawn for characters the font lacks. The font's own `.notdef` is blank in Noto CJK (and PDF
/// writers give it no ToUnicode entry), so a missing character would silently vanish; 〓 (GETA
/// MARK, the typesetter's placeholder for a missing character) is visible, and the original
/// character stays in the text layer.
const MISSING: char = '〓';

/// Glyph id of `.notdef`, the last resort if even [`MISSING`] is not in the font.
const NOTDEF: u32 = 0;

/// Layout metrics of the embedded font, parsed once.
pub(crate) struct FontMetrics {
    font: FontRef<'static>,
    glyphs: GlyphMetrics<'static>,
    units_per_em: f32,
    /// Ascender above the baseline, in ems.
    pub(crate) ascent: f32,
    /// Descender below the baseline, in ems (positive).
    pub(crate) descent: f32,
    /// Glyph and advance (in ems) drawn for missing characters.
    missing: (u32, f32),
}

impl FontMetrics {
    fn load() -> Option<Self> {
        let font = FontRef::new(FONT_DATA).ok()?;
        let metrics = font.metrics(Size::unscaled(), LocationRef::default());
        let glyphs = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units_per_em = f32::from(metrics.units_per_em);
        if units_per_em <= 0.0 {
            return None;
        }
        let missing_id = font.charmap().map(MISSING).map_or(NOTDEF, |gid| gid.to_u32());
        let missing_advance = glyphs.advance_width(GlyphId::new(missing_id)).unwrap_or(units_per_em) / units_per_em;
        Some(Self {
            font,
            glyphs,
            units_per_em,
            ascent: metrics.ascent / units_per_em,
            descent: -metrics.descent / units_per_em,
            missing: (missing_id, missing_advance),
        })
    }

    /// The shared instance, or `None` if the embedded font cannot be parsed (a build defect).
    pub(crate) fn get() -> Option<&'static Self> {
        static METRICS: OnceLock<Option<FontMetrics>> = OnceLock::new();
        METRICS.get_or_init(Self::load).as_ref()
    }

    /// The glyph for `ch` and its advance in ems; the [`MISSING`] glyph when the font lacks the
    /// character, and `None` for invisible format characters (zero-width spaces and joiners,
    /// variation selectors, soft hyphens…), which are not drawn at all.
    pub(crate) fn glyph(&self, ch: char) -> Option<(u32, f32)> {
        match self.font.charmap().map(ch) {
            Some(gid) if gid.to_u32() != NOTDEF => {
                let advance = self.glyphs.advance_width(gid).map_or(self.missing.1, |a| a / self.units_per_em);
                Some((gid.to_u32(), advance))
            }
            _ if is_default_ignorable(ch) => None,
            _ => Some(self.missing),
        }
    }

    /// Whether the font has a real glyph for `ch`.
    pub(crate) fn has_glyph(&self, ch: char) -> bool {
        self.font.charmap().map(ch).is_some_and(|gid| gid.to_u32() != NOTDEF)
    }

    /// Advance of `ch` in ems.
    pub(crate) fn advance(&self, ch: char) -> f32 {
        self.glyph(ch).map_or(0.0, |(_, advance)| advance)
    }
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters with no
/// visible rendering of their own.
fn is_default_ignorable(ch: char) -> bool {
    matches!(ch as u32,
        0x00AD
        | 0x034F
        | 0x061C
        | 0x115F..=0x1160
        | 0x17B4..=0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_characters_get_a_visible_placeholder_and_format_characters_nothing() {
        let m = FontMetrics::get().expect("embedded font parses");
        let placeholder = m.glyph(MISSING).expect("placeholder glyph");
        assert_ne!(placeholder.0, NOTDEF);
        // 𰻝 (U+30EDD) and an emoji are not in the font.
        assert_eq!(m.glyph('\u{30EDD}'), Some(placeholder));
        assert_eq!(m.glyph('😀'), Some(placeholder));
        assert_eq!(m.glyph('\u{200B}'), None);
        assert_eq!(m.glyph('\u{E0101}'), None);
        assert_eq!(m.advance('\u{FE0F}'), 0.0);
        // Ideographs are one em wide, Latin letters narrower.
        assert_eq!(m.advance('院'), 1.0);
        assert!(m.advance('i') < 0.5);
        for ch in ['哈', '尔', '滨', '喆', '堃', '䶮', '①', '⑩', '，', '。', '（', '）', '￥', '□', '■', '√', 'Ⅻ', '№', '℃', 'ǎ']
        {
            assert!(m.has_glyph(ch), "{ch}");
        }
    }
}
