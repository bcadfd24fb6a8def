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
# The flags that work in containers without a display or network: no sandbox (root), no GPU, no
# background requests to other hosts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def chapters():
    """Every chapter of _toc.yml, in order (names without .md)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    entries = [entry for part in toc["parts"] for entry in part["chapters"]] if "parts" in toc else toc["chapters"]
    return [toc["root"]] + [entry["file"] for entry in entries]


def build_book(source, out, env=None, strict=True):
    """`jupyter-book build source --path-output out` from the repository root; the result.

    strict: warnings as errors, nitpicky, keep going (as `make book`); else the plain command a
    user types."""
    flags = ["-W", "-n", "--keep-going"] if strict else []
    return subprocess.run(
        [str(VENV_BIN / "jupyter-book"), "build", str(source), "--path-output", str(out), *flags],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def sphinx_warnings(output):
    """The Sphinx warnings in a build's output (not the kernels' logging, "[IPKernelApp] WARNING | ...")."""
    return [line for line in output.splitlines() if "WARNING: " in line]


def copy_book(dest, chapter_files, own_assets=False):
    """A book folder with the repository's configuration and only `chapter_files` {name: text}.

    The book's extension (book/_ext) is the repository's, and so is its copy of the npm packages;
    own_assets=True copies the extension and the npm lock file into the book instead, so that the
    build has no npm packages yet."""
    dest.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    ext = BOOK / "_ext"
    if own_assets:
        ext = dest / "_ext"
        shutil.copytree(BOOK / "_ext", ext, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("package.json", "package-lock.json"):
            shutil.copy(BOOK / name, dest / name)
    config["sphinx"]["local_extensions"] = {name: str(ext) for name in config["sphinx"]["local_extensions"]}
    (dest / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    shutil.copy(BOOK / config["html"]["favicon"], dest)  # the site's own files that the configuration names
    shutil.copytree(BOOK / "_static", dest / "_static")
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
        raise RuntimeError(f"{CHROMIUM} not found: `make test` installs it (tools/system-deps.sh)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
