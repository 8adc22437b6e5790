#!/usr/bin/env bash
# Rebuilds the vendored CJK font subset of the `dingdian-docs` crate:
#   crates/docs/fonts/NotoSerifCJKsc-Regular-subset.otf  (embedded with include_bytes!)
#   crates/docs/fonts/OFL.txt                            (its licence, SIL Open Font License 1.1)
#
# Source: Debian's fonts-noto-cjk (NotoSerifCJK-Regular.ttc, face 2 = "Noto Serif CJK SC"); the vendored file
# was made from fonts-noto-cjk 1:20220127+repack1-1 and unicode-data 15.0.0-1 (Debian 12) with fontTools 4.68.0.
# Character set:
#   - ASCII, Latin-1, general punctuation, CJK symbols and punctuation, full-width forms,
#     enclosed numbers (①–⑳, ⑴–⒇, ⒈–⒛, ㈠–㈩), Roman numerals, arrows, boxes and ticks for forms;
#   - every character of GB 2312 (enumerated with Python's gb2312 codec: 6763 Hanzi and 682 symbols,
#     including pinyin with tone marks, kana, Greek, Cyrillic, box drawing, √ ≤ ≥ ∈ …);
#   - every character of the 通用规范汉字表 (2013, 8105 characters), taken from the Unihan
#     database's kTGH field, which Debian's unicode-data package ships.
# The union is 8230 Han characters; every one of them is in the source font.
#
# Needs root (apt-get) and network access to Debian's archive and PyPI. Run from the repository root:
#   bash scripts/subset-font.sh
# The output is deterministic for a given fonts-noto-cjk and fontTools version.
set -euo pipefail

FONTTOOLS_VERSION=4.68.0
SRC=/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
UNIHAN=/usr/share/unicode/Unihan_OtherMappings.txt.bz2
OUT_DIR=crates/docs/fonts
OUT="$OUT_DIR/NotoSerifCJKsc-Regular-subset.otf"

if [ ! -f "$SRC" ] || [ ! -f "$UNIHAN" ]; then
    apt-get update
    apt-get install -y fonts-noto-cjk unicode-data
fi
python3 -m pip install --quiet "fonttools==$FONTTOOLS_VERSION"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Find the Simplified Chinese face in the collection instead of trusting a fixed index.
FACE=$(python3 - "$SRC" <<'EOF'
import sys
from fontTools.ttLib import TTCollection
for i, font in enumerate(TTCollection(sys.argv[1]).fonts):
    if font["name"].getDebugName(1) == "Noto Serif CJK SC":
        print(i)
        break
else:
    sys.exit("no Noto Serif CJK SC face in " + sys.argv[1])
EOF
)
echo "Noto Serif CJK SC is face $FACE of $SRC"

python3 - "$UNIHAN" "$WORK/han.txt" <<'EOF'
import bz2, sys
unihan, out = sys.argv[1], sys.argv[2]
chars = set()
# All of GB 2312: symbols, pinyin, kana, Greek, Cyrillic, box drawing (rows 1-9, lead bytes
# 0xA1-0xA9) and the 6763 Hanzi (rows 16-87, lead bytes 0xB0-0xF7); cells 0xA1-0xFE.
for lead in list(range(0xA1, 0xAA)) + list(range(0xB0, 0xF8)):
    for trail in range(0xA1, 0xFF):
        try:
            chars.add(bytes([lead, trail]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
gb2312 = sum(1 for c in chars if "\u4e00" <= c <= "\u9fff")
tgh = 0
with bz2.open(unihan, "rt", encoding="utf-8") as f:
    for line in f:
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 3 and fields[1] == "kTGH":
            chars.add(chr(int(fields[0][2:], 16)))
            tgh += 1
print(f"GB 2312 Hanzi: {gb2312}, 通用规范汉字表: {tgh}, all characters with GB 2312 symbols: {len(chars)}", file=sys.stderr)
with open(out, "w", encoding="utf-8") as f:
    f.write("".join(sorted(chars)))
EOF

# Only a few layout features are kept: the renderer does not shape text (one glyph per code point from
# cmap), and the closure of 'aalt'/'locl' (Japanese, Korean and Traditional variant glyphs) would
# almost double the file (15,520 instead of ~8,700 glyphs; 5.7 MB instead of 3.2 MB).
# Non-Han ranges (code points missing from the font are skipped by pyftsubset).
UNICODES="U+0020-007E,U+00A0-00FF,U+02C7,U+02C9-02CB,U+02D9,U+0391-03C9,U+0401-0451"
UNICODES+=",U+2010-2027,U+2030-203B,U+2103,U+2116,U+2160-216B,U+2170-2179,U+2190-2193"
UNICODES+=",U+2460-249B,U+2500-254B,U+25A0-25CF,U+2605-2606,U+2610-2612,U+2713-2714,U+2715-2717"
UNICODES+=",U+3000-303F,U+3220-3229,U+FE30-FE4F,U+FF01-FF5E,U+FFE0-FFE6"

mkdir -p "$OUT_DIR"
pyftsubset "$SRC" \
    --font-number="$FACE" \
    --unicodes="$UNICODES" \
    --text-file="$WORK/han.txt" \
    --layout-features='kern,palt,halt,vert,vrt2' \
    --output-file="$OUT"

python3 - "$SRC" "$FACE" "$OUT" <<'EOF'
import sys
from fontTools.ttLib import TTFont
src = TTFont(sys.argv[1], fontNumber=int(sys.argv[2]))
out = TTFont(sys.argv[3])
cmap = out.getBestCmap()
print(f"{sys.argv[3]}: {len(out.getGlyphOrder())} glyphs, {len(cmap)} code points,",
      f"version {src['name'].getDebugName(5)}", file=sys.stderr)
EOF

# Licence: the font's own copyright notice followed by the OFL 1.1 text from Debian's copyright file.
python3 - "$SRC" "$FACE" /usr/share/doc/fonts-noto-cjk/copyright "$OUT_DIR/OFL.txt" <<'EOF'
import sys
from fontTools.ttLib import TTFont
font = TTFont(sys.argv[1], fontNumber=int(sys.argv[2]))
notice = font["name"].getDebugName(0) + "\n" + font["name"].getDebugName(7)
lines, inside = [], False
for line in open(sys.argv[3], encoding="utf-8"):
    if line.rstrip("\n") == "License: SIL-1.1":
        inside = True
        lines = []
        continue
    if inside:
        if not line.startswith(" "):
            inside = False
            continue
        text = line[1:].rstrip("\n")
        lines.append("" if text == "." else text)
if not lines:
    sys.exit("OFL text not found in " + sys.argv[3])
with open(sys.argv[4], "w", encoding="utf-8") as f:
    f.write(notice + "\n\n")
    f.write("This is a subset of Noto Serif CJK SC (face of NotoSerifCJK-Regular.ttc, Debian package\n")
    f.write("fonts-noto-cjk), made by scripts/subset-font.sh. It is licensed under the\n")
    f.write("SIL Open Font License, Version 1.1, reproduced below.\n\n")
    f.write("\n".join(lines).strip("\n") + "\n")
EOF

ls -l "$OUT"
