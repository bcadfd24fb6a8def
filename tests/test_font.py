"""The Japanese font the book ships (tools/subset_font.py) holds every Japanese character the book
quotes, and the book's CSS loads it: without it a reader with no Japanese font sees empty boxes."""
import re
import sys
from pathlib import Path

from fontTools.ttLib import TTFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import subset_font  # noqa: E402


def test_the_shipped_font_has_a_glyph_for_every_japanese_character_the_book_quotes():
    quoted = subset_font.japanese_characters()
    assert len(quoted) > 50  # the post's sentences, quoted in the claims chapter
    cmap = TTFont(subset_font.SUBSET).getBestCmap()
    missing = sorted(ch for ch in quoted if ord(ch) not in cmap)
    assert not missing, f"not in {subset_font.SUBSET.name}: {''.join(missing)}; run tools/subset_font.py"
    assert subset_font.LICENCE.read_text().count("SIL OPEN FONT LICENSE") >= 1


def test_the_book_css_names_the_shipped_font_for_japanese():
    css = (subset_font.ROOT / "book" / "_static" / "wgan.css").read_text()
    face = re.search(r"@font-face\s*{[^}]*}", css).group(0)
    assert 'url("fonts/noto-sans-jp-subset.woff")' in face and "U+3000-30FF" in face
    assert re.search(r'--pst-font-family-base:[^;]*"Noto Sans JP subset"', css)


def test_japanese_characters_finds_what_a_new_quote_adds(tmp_path):
    (tmp_path / "wgan_lib").mkdir()
    (tmp_path / "wgan_lib" / "claims.py").write_text('WORDS = "中心付近を通過 (near the centre)"\n', encoding="utf-8")
    assert subset_font.japanese_characters(tmp_path) == set("中心付近を通過")
