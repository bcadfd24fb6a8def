"""Make the Japanese font the book ships: Noto Sans JP, cut down to the characters the book quotes.

The claims chapter quotes the post in Japanese. A reader whose machine has no Japanese font (many
Linux installations, a fresh container) would see empty boxes, and the site may fetch no font
from the network, so the book carries its own: the glyphs of Noto Sans JP Regular (SIL Open Font
License 1.1) for exactly the Japanese characters in the book's sources, a few tens of kilobytes as
WOFF, in book/_static/fonts/ with the licence beside it. book/_static/wgan.css names it as a
fallback family, so a glyph that the reader's own fonts lack comes from it.

When a quote with new characters is added, tests/test_font.py fails; run this again:

    npm pack @expo-google-fonts/noto-sans-jp@0.4.3        # Noto Sans JP as TTF files, from npm
    tar xzf expo-google-fonts-noto-sans-jp-0.4.3.tgz package/400Regular package/LICENSE_FONT
    python tools/subset_font.py package/400Regular/NotoSansJP_400Regular.ttf package/LICENSE_FONT

It reads the characters with `japanese_characters` (the same function the test uses), keeps only
their glyphs and writes book/_static/fonts/noto-sans-jp-subset.woff and OFL.txt.
"""
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONT_DIR = ROOT / "book" / "_static" / "fonts"
SUBSET = FONT_DIR / "noto-sans-jp-subset.woff"
LICENCE = FONT_DIR / "OFL.txt"
# Kana, CJK symbols and punctuation, CJK ideographs and full-width forms: what a Japanese quote uses.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
SOURCES = ("wgan_lib/*.py", "book/*.md", "docs/*.md", "README.md")


def japanese_characters(root=ROOT):
    """Every Japanese character in the book's sources (the package, the chapters, the docs)."""
    found = set()
    for pattern in SOURCES:
        for path in sorted(root.glob(pattern)):
            found |= set(JAPANESE.findall(path.read_text(encoding="utf-8")))
    return found


def main(font_path, licence_path):
    from fontTools import subset

    text = "".join(sorted(japanese_characters()))
    options = subset.Options()
    options.flavor = "woff"  # zlib-compressed: no Brotli needed to write or to read it
    options.layout_features = ["*"]
    font = subset.load_font(font_path, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    FONT_DIR.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(SUBSET), options)
    shutil.copyfile(licence_path, LICENCE)
    print(f"{SUBSET.relative_to(ROOT)}: {len(text)} characters, {SUBSET.stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tools/subset_font.py NotoSansJP_400Regular.ttf LICENSE_FONT")
    main(sys.argv[1], sys.argv[2])
