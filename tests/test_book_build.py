"""How a broken chapter fails `jupyter-book build`: loudly, naming the chapter and its cell."""
from e2e import build_book, copy_book, ensure_assets

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def test_a_chapter_that_raises_fails_the_build_and_names_the_cell(tmp_path):
    ensure_assets()
    book = copy_book(tmp_path / "book", {
        "intro": HEADER + "# A small book\n\nNo code here.\n",
        "broken": HEADER + "# Broken\n\n```{code-cell} ipython3\nvalue = 1 + 1\n```\n\n"
                  "```{code-cell} ipython3\nraise RuntimeError('this chapter is deliberately broken')\n```\n",
    })
    result = build_book(book, tmp_path / "out")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "broken" in output  # the chapter
    assert "raise RuntimeError('this chapter is deliberately broken')" in output  # the cell's code
    assert "RuntimeError" in output and "deliberately broken" in output


def test_the_same_book_without_the_error_builds(tmp_path):
    """The control: the failure above comes from the raising cell, not from the small book itself."""
    ensure_assets()
    book = copy_book(tmp_path / "book", {
        "intro": HEADER + "# A small book\n\nNo code here.\n",
        "fine": HEADER + "# Fine\n\n```{code-cell} ipython3\nprint(1 + 1)\n```\n",
    })
    result = build_book(book, tmp_path / "out")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "2" in (tmp_path / "out/_build/html/fine.html").read_text()
