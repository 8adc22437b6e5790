//! Line breaking by measured glyph advances.
//!
//! Chinese (and other ideographic) characters may break between any two characters, Latin words
//! and numbers stay whole unless a single word is wider than the line, and the usual Chinese
//! line-breaking rules (禁则) keep closing punctuation off the start of a line and opening
//! punctuation off its end. Explicit `\n` are hard breaks.

use std::ops::Range;

/// Tolerance for floating-point width comparisons, in points.
const EPSILON: f32 = 0.01;

/// One laid-out line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub(crate) text: String,
    /// Measured width, in points.
    pub(crate) width: f32,
    /// Whether this is the first line of a hard paragraph (which may be indented).
    pub(crate) first: bool,
}

/// Replace CR/LF variants by `\n`, tabs by spaces, and drop other control characters.
pub(crate) fn normalize(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.chars()
        .filter_map(|c| match c {
            '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => Some('\n'),
            '\t' => Some(' '),
            '\n' => Some('\n'),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// A space that offers a line-break opportunity and disappears at the end of a line.
/// No-break space and the ideographic space (used for indentation in Chinese) are not.
fn is_break_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}' | '\u{3000}' | '\n')
}

/// Characters after which, and before which, a line may break (ideographs, kana, hangul,
/// CJK and full-width punctuation, enclosed numbers, some symbols used in forms).
fn is_ideographic(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF
        | 0x2010..=0x2027 // dashes, quotation marks, ellipsis
        | 0x2160..=0x217F // Roman numerals
        | 0x2460..=0x24FF // ①, ⑴, ⒈
        | 0x25A0..=0x27BF // □ ○ ★ ✓
        | 0x2E80..=0x2FFF
        | 0x3000..=0x303F
        | 0x3040..=0x30FF
        | 0x3100..=0x312F
        | 0x3190..=0x31FF
        | 0x3200..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFE10..=0xFE1F
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// Characters that must not begin a line.
fn no_line_start(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '］'
            | '｝'
            | '〕'
            | '】'
            | '》'
            | '〉'
            | '」'
            | '』'
            | '〗'
            | '”'
            | '’'
            | '…'
            | '—'
            | '％'
            | '·'
            | '・'
            | '〃'
            | '々'
            | '～'
            | '．'
            | '｡'
            | '､'
            | ','
            | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Characters that must not end a line.
fn no_line_end(c: char) -> bool {
    matches!(c, '（' | '［' | '｛' | '〔' | '【' | '《' | '〈' | '「' | '『' | '〖' | '“' | '‘' | '￥' | '(' | '[' | '{')
}

/// An unbreakable run of text, with the break-space before it.
#[derive(Debug, Clone, PartialEq)]
struct Cluster {
    /// Start of the spaces before the cluster (equal to `text.start` when there are none).
    space_start: usize,
    text: Range<usize>,
}

/// Split a paragraph (no `\n`) into unbreakable clusters.
fn clusters(para: &str) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = Vec::new();
    // The previous non-space character and whether it was ideographic; `None` after a space.
    let mut prev: Option<(char, bool)> = None;
    let mut space_start: Option<usize> = None;
    for (i, c) in para.char_indices() {
        let end = i + c.len_utf8();
        if is_break_space(c) {
            space_start.get_or_insert(i);
            prev = None;
            continue;
        }
        let ideo = is_ideographic(c);
        let joins = match prev {
            None => false,
            // Two non-ideographic characters belong to the same word.
            Some((_, false)) if !ideo => true,
            Some((p, _)) => no_line_end(p) || no_line_start(c),
        };
        match out.last_mut() {
            Some(last) if joins => last.text.end = end,
            _ => out.push(Cluster { space_start: space_start.unwrap_or(i), text: i..end }),
        }
        space_start = None;
        prev = Some((c, ideo));
    }
    out
}

fn measure(s: &str, advance: &dyn Fn(char) -> f32) -> f32 {
    s.chars().map(advance).sum()
}

/// Wrap `text` into lines no wider than `max_width`; the first line of every hard paragraph is
/// `indent` narrower. `advance` gives a character's advance in points. Every paragraph yields at
/// least one (possibly empty) line, and every line holds at least one character even when that
/// character alone is wider than the line.
pub(crate) fn wrap(text: &str, max_width: f32, indent: f32, advance: &dyn Fn(char) -> f32) -> Vec<Line> {
    let text = normalize(text);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        wrap_paragraph(para, max_width, indent, advance, &mut lines);
    }
    lines
}

fn wrap_paragraph(para: &str, max_width: f32, indent: f32, advance: &dyn Fn(char) -> f32, lines: &mut Vec<Line>) {
    let first_index = lines.len();
    let limit = |lines: &Vec<Line>| if lines.len() == first_index { max_width - indent } else { max_width };
    let emit = |lines: &mut Vec<Line>, range: Range<usize>, width: f32| {
        let first = lines.len() == first_index;
        lines.push(Line { text: para[range].to_string(), width, first });
    };

    // The open line: byte range and width.
    let mut open: Option<(Range<usize>, f32)> = None;
    for cluster in clusters(para) {
        let cluster_width = measure(&para[cluster.text.clone()], advance);
        if let Some((range, width)) = open.as_mut() {
            let spaces = measure(&para[range.end..cluster.text.start], advance);
            if *width + spaces + cluster_width <= limit(lines) + EPSILON {
                range.end = cluster.text.end;
                *width += spaces + cluster_width;
                continue;
            }
            let (range, width) = open.take().unwrap_or_default();
            emit(lines, range, width);
        }
        // Start a new line with this cluster; leading spaces are kept only at the paragraph start.
        let start = if lines.len() == first_index { cluster.space_start } else { cluster.text.start };
        let width = measure(&para[start..cluster.text.end], advance);
        if width <= limit(lines) + EPSILON {
            open = Some((start..cluster.text.end, width));
            continue;
        }
        // Wider than a whole line: break it between characters, after the last '/' or '-' of
        // the piece if there is one (paths, URLs, long codes), else wherever it is full.
        let mut piece_start = start;
        let mut piece_width = 0.0;
        // Position and piece width just after the last '/' or '-' of the current piece.
        let mut soft: Option<(usize, f32)> = None;
        for (i, c) in para[start..cluster.text.end].char_indices() {
            let i = start + i;
            let w = advance(c);
            if i > piece_start && piece_width + w > limit(lines) + EPSILON {
                let (at, width) = soft.take().unwrap_or((i, piece_width));
                emit(lines, piece_start..at, width);
                piece_start = at;
                piece_width -= width;
            }
            piece_width += w;
            if matches!(c, '/' | '-') {
                soft = Some((i + c.len_utf8(), piece_width));
            }
        }
        open = Some((piece_start..cluster.text.end, piece_width));
    }
    match open {
        Some((range, width)) => emit(lines, range, width),
        None => emit(lines, 0..0, 0.0),
    }
}

/// The narrowest width `text` can be wrapped to without breaking inside a cluster.
pub(crate) fn min_content_width(text: &str, advance: &dyn Fn(char) -> f32) -> f32 {
    let text = normalize(text);
    text.split('\n').flat_map(|para| clusters(para).into_iter().map(move |c| measure(&para[c.text], advance))).fold(0.0, f32::max)
}

/// The width of `text` without any soft breaks.
pub(crate) fn max_content_width(text: &str, advance: &dyn Fn(char) -> f32) -> f32 {
    let text = normalize(text);
    text.split('\n').map(|para| measure(para.trim_end_matches(is_break_space), advance)).fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ideographs are 10 pt wide, everything else 5 pt.
    fn adv(c: char) -> f32 {
        if is_ideographic(c) { 10.0 } else { 5.0 }
    }

    fn texts(text: &str, width: f32) -> Vec<String> {
        wrap(text, width, 0.0, &adv).into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn chinese_breaks_between_any_characters() {
        assert_eq!(texts("哈尔滨市南岗区康宁医院", 40.0), ["哈尔滨市", "南岗区康", "宁医院"]);
    }

    #[test]
    fn latin_words_stay_whole() {
        assert_eq!(texts("national code H23010300123 ok", 80.0), ["national code", "H23010300123 ok"]);
        // Mixed: the code moves to the next line as a whole instead of being split.
        assert_eq!(texts("机构代码H23010300123", 80.0), ["机构代码", "H23010300123"]);
    }

    #[test]
    fn overlong_word_is_broken_by_characters() {
        assert_eq!(texts("ABCDEFGHIJ", 20.0), ["ABCD", "EFGH", "IJ"]);
    }

    #[test]
    fn overlong_path_breaks_after_a_slash() {
        assert_eq!(texts("abc/defgh/ij", 35.0), ["abc/", "defgh/", "ij"]);
        assert_eq!(texts("ab-cdefghijkl", 40.0), ["ab-", "cdefghij", "kl"]);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // "康宁医院" fits, "康宁医院。" does not: the full stop takes "院" along to the next line.
        assert_eq!(texts("康宁医院。", 40.0), ["康宁医", "院。"]);
        for line in texts("一二三，四五六。七八九、十（甲）乙丙丁“戊”己。", 30.0) {
            assert!(!line.starts_with(['，', '。', '、', '）', '”']), "{line}");
            assert!(!line.ends_with(['（', '“']), "{line}");
        }
    }

    #[test]
    fn hard_breaks_and_indent() {
        let lines = wrap("一二三四五\n六", 30.0, 20.0, &adv);
        let got: Vec<(&str, bool)> = lines.iter().map(|l| (l.text.as_str(), l.first)).collect();
        assert_eq!(got, [("一", true), ("二三四", false), ("五", false), ("六", true)]);
        assert_eq!(texts("", 30.0), [""]);
        assert_eq!(texts("a\r\n\r\nb", 30.0), ["a", "", "b"]);
    }

    #[test]
    fn spaces_disappear_at_soft_breaks() {
        assert_eq!(texts("aaaa bbbb    cccc", 45.0), ["aaaa bbbb", "cccc"]);
        assert_eq!(wrap("aaaa bbbb", 45.0, 0.0, &adv)[0].width, 45.0);
    }

    #[test]
    fn every_line_fits_or_is_a_single_character() {
        let text = "申请人（盖章）：哈尔滨市南岗区康宁医院，统一社会信用代码12230103MB0123456X；地址：黑龙江省哈尔滨市南岗区学府路 1 号。";
        for width in [8.0, 10.0, 15.0, 33.0, 57.0, 100.0, 1000.0] {
            let lines = wrap(text, width, 0.0, &adv);
            let joined: String = lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" ");
            assert_eq!(joined.replace(' ', ""), text.replace(' ', ""), "width {width}");
            for line in &lines {
                assert!(line.width <= width + EPSILON || line.text.chars().count() == 1, "{width}: {line:?}");
                assert!((line.width - measure(&line.text, &adv)).abs() < EPSILON);
            }
        }
    }

    #[test]
    fn content_widths() {
        assert_eq!(min_content_width("序号 H23010300123", &adv), 60.0);
        assert_eq!(min_content_width("医院。", &adv), 20.0);
        assert_eq!(max_content_width("序号\n名称名称  ", &adv), 40.0);
    }
}
