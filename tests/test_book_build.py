"""How a build fails: a broken chapter loudly, naming the chapter and its cell; a missing npm in one line."""
import os

from e2e import VENV_BIN, build_book, copy_book

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
    book = copy_book(tmp_path / "book", {
        "intro": HEADER + "# A small book\n\nNo code here.\n",
        "fine": HEADER + "# Fine\n\n```{code-cell} ipython3\nprint(1 + 1)\n```\n",
    })
    result = build_book(book, tmp_path / "out")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    html = tmp_path / "out/_build/html"
    assert "2" in (html / "fine.html").read_text()
    # the book's extension put the local MathJax, require.js, widget manager and shim in the site
    for asset in ("_vendor/mathjax/tex-chtml.js", "_vendor/requirejs/require.js",
                  "_vendor/html-manager/embed-amd.js", "_vendor/shims/widgets-mathjax3.js"):
        assert (html / asset).is_file(), asset


def test_a_build_that_needs_npm_without_npm_fails_in_one_line(tmp_path):
    """A book whose npm packages are not installed yet, on a machine without npm."""
    book = copy_book(tmp_path / "book", {
        "intro": HEADER + "# A small book\n\nNo code here.\n",
        "math": HEADER + "# Math\n\n$x^2$\n",
    }, own_assets=True)
    no_npm = tmp_path / "empty"
    no_npm.mkdir()
    result = build_book(book, tmp_path / "out", env={"PATH": f"{VENV_BIN}{os.pathsep}{no_npm}"})
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "offline_assets: npm not found: the book's offline MathJax and widget manager are npm packages "
        f"({book}/package-lock.json); install npm (Debian: apt-get install npm) and build again")
    assert not (book / "node_modules").exists() and not (book / "_assets/vendor").exists()
