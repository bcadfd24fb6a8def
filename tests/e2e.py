"""Shared pieces of the end-to-end tests: building the book, serving a folder, launching Chromium."""
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
# The flags that work in these containers (reference.md section 6).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def chapters():
    """Every chapter of _toc.yml, in order (names without .md)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc["chapters"]]


def ensure_assets():
    """book/fetch_assets.sh (npm ci of the pinned MathJax, require.js and widget manager) once."""
    if not (BOOK / "_assets" / "vendor" / "_vendor" / "mathjax" / "tex-chtml.js").is_file():
        subprocess.run([str(BOOK / "fetch_assets.sh")], check=True, cwd=REPO)


def build_book(source, out, env=None):
    """`jupyter-book build` of the book folder `source` into `out`, warnings as errors; the result."""
    return subprocess.run(
        [str(VENV_BIN / "jupyter-book"), "build", str(source), "--path-output", str(out), "-W", "-n", "--keep-going"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def copy_book(dest, chapter_files):
    """A book folder with the repository's configuration and only `chapter_files` {name: text}."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "_config.yml", dest / "_config.yml")
    (dest / "_assets").symlink_to(BOOK / "_assets")
    names = list(chapter_files)
    toc = {"format": "jb-book", "root": names[0], "chapters": [{"file": n} for n in names[1:]]}
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc))
    for name, text in chapter_files.items():
        (dest / f"{name}.md").write_text(text)
    return dest


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder):
    """Serve `folder` on 127.0.0.1 (a free port); yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright (which cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} not found: `.ci/run` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
