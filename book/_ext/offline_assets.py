"""Sphinx extension: the built book serves MathJax, require.js and the Jupyter widgets manager itself.

The pages load these from ``_vendor/`` at the site root (``mathjax_path`` and ``nb_ipywidgets_js``
in _config.yml) instead of from CDNs, so the site works offline and asks no other host for anything.
When an HTML builder starts (``builder-inited``) and the copy of these files in book/_assets/vendor/
(gitignored) is missing, or was made from another lock file or another version of this extension
or of the shim, this extension

1. installs the npm packages pinned in book/package.json and book/package-lock.json with ``npm ci``
   when book/node_modules is missing or older than the lock file;
2. copies the files the pages need from book/node_modules into book/_assets/vendor/:

     _vendor/mathjax/tex-chtml.js                MathJax 3 (TeX input, CommonHTML output)
     _vendor/mathjax/output/chtml/fonts/woff-v2/ its fonts
     _vendor/mathjax/input/tex/extensions/       TeX packages that \\require / autoload fetch
     _vendor/mathjax/ui/, a11y/, sre/            loaded when a reader uses the math context menu
     _vendor/requirejs/require.js                AMD loader used by the widgets manager
     _vendor/html-manager/embed-amd.js + fonts   @jupyter-widgets/html-manager (ipywidgets 8)
     _vendor/shims/widgets-mathjax3.js           lets ipywidgets typeset with MathJax 3 (see the file)
     @jupyter-widgets/ and @jupyter-widgets/html-manager/dist/   the widget fonts again (below)

Then, on every HTML build, it adds book/_assets/vendor to ``html_extra_path``, so Sphinx copies it
to the site root. The path is added here, after the copy exists, rather than in _config.yml: Sphinx
checks the entries of ``html_extra_path`` before any builder starts and warns (an error under -W)
about a missing one.

The folder is not book/_static because Jupyter Book injects every .js/.css of every static path
into every page as soon as a book/_static folder exists. Everything is found relative to this file,
so a book in another folder that loads this extension (the tests' small books) shares the copy.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from sphinx.util import logging

HERE = Path(__file__).resolve().parent
BOOK = HERE.parent
LOCK_FILE = BOOK / "package-lock.json"
NODE_MODULES = BOOK / "node_modules"
VENDOR = BOOK / "_assets" / "vendor"
STAMP = BOOK / "_assets" / "vendor.stamp"  # beside the folder, so the site does not get it
SHIM = HERE / "widgets-mathjax3.js"
FONT_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}

logger = logging.getLogger(__name__)


class AssetsError(SystemExit):
    """Stops the build with one line. A SystemExit passes through Sphinx's and Jupyter Book's
    error handling, which would wrap an exception into a traceback and a generic message box."""

    def __init__(self, message):
        super().__init__(f"offline_assets: {message}")


def _fingerprint():
    """What the copy depends on besides node_modules: the lock file, this file and the shim."""
    digest = hashlib.sha256()
    for path in (LOCK_FILE, Path(__file__).resolve(), SHIM):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _npm_ci():
    """`npm ci` of the lock file unless node_modules is at least as new as it."""
    installed = NODE_MODULES / ".package-lock.json"  # npm writes it at the end of every install
    if installed.is_file() and installed.stat().st_mtime >= LOCK_FILE.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            f"npm not found: the book's offline MathJax and widget manager are npm packages "
            f"({LOCK_FILE}); install npm (Debian: apt-get install npm) and build again")
    logger.info("offline_assets: npm ci in %s", BOOK)
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                            cwd=BOOK, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no output"
        raise AssetsError(f"`npm ci` in {BOOK} failed (exit {result.returncode}): {last}")


def _copy(dest):
    """Copy what the pages need from node_modules into `dest` (the layout in the module docstring)."""
    v = dest / "_vendor"
    mj = NODE_MODULES / "mathjax" / "es5"
    (v / "mathjax").mkdir(parents=True)
    shutil.copy(mj / "tex-chtml.js", v / "mathjax")
    shutil.copytree(mj / "output/chtml/fonts/woff-v2", v / "mathjax/output/chtml/fonts/woff-v2")
    shutil.copytree(mj / "input/tex/extensions", v / "mathjax/input/tex/extensions")
    for sub in ("ui", "a11y", "sre"):
        shutil.copytree(mj / sub, v / "mathjax" / sub)
    shutil.copy(NODE_MODULES / "mathjax/LICENSE", v / "mathjax")

    (v / "requirejs").mkdir()
    shutil.copy(NODE_MODULES / "requirejs/require.js", v / "requirejs")

    hm = NODE_MODULES / "@jupyter-widgets/html-manager/dist"
    (v / "html-manager").mkdir()
    shutil.copy(hm / "embed-amd.js", v / "html-manager")
    shutil.copy(hm / "embed.js.LICENSE.txt", v / "html-manager")
    # Font Awesome webfonts that embed-amd.js loads relative to its own URL.
    fonts = sorted(p for p in hm.iterdir() if p.is_file() and p.suffix in FONT_SUFFIXES)
    if not fonts:
        raise AssetsError(f"no webfonts in {hm}: is book/package-lock.json's html-manager intact?")
    # The widget styles ask for the same fonts relative to where require.js resolved their module,
    # i.e. /@jupyter-widgets/html-manager/dist/ and /@jupyter-widgets/ under the site root (every
    # page of this book sits at the root). Without these copies each widget page logs 404s.
    for folder in (v / "html-manager", dest / "@jupyter-widgets/html-manager/dist", dest / "@jupyter-widgets"):
        folder.mkdir(parents=True, exist_ok=True)
        for font in fonts:
            shutil.copy(font, folder)

    (v / "shims").mkdir()
    shutil.copy(SHIM, v / "shims")


def _is_current(fingerprint):
    return STAMP.is_file() and STAMP.read_text() == fingerprint and (VENDOR / "_vendor/mathjax/tex-chtml.js").is_file()


def vendor():
    """Make book/_assets/vendor current; return it. Concurrent builds wait for each other."""
    fingerprint = _fingerprint()
    if _is_current(fingerprint):
        return VENDOR
    VENDOR.parent.mkdir(parents=True, exist_ok=True)
    with open(VENDOR.parent / ".vendor.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(fingerprint):  # another build made it while this one waited
            return VENDOR
        _npm_ci()
        fresh = VENDOR.with_name(f"vendor.tmp-{os.getpid()}")
        shutil.rmtree(fresh, ignore_errors=True)
        try:
            _copy(fresh)
        except FileNotFoundError as err:
            shutil.rmtree(fresh, ignore_errors=True)
            raise AssetsError(f"{err.filename} is missing: delete {NODE_MODULES} and build again") from None
        STAMP.unlink(missing_ok=True)
        shutil.rmtree(VENDOR, ignore_errors=True)
        fresh.rename(VENDOR)
        STAMP.write_text(fingerprint)
    n_files = sum(len(files) for _, _, files in os.walk(VENDOR))
    logger.info("offline_assets: copied %d files into %s", n_files, VENDOR)
    return VENDOR


def _builder_inited(app):
    if app.builder.format != "html":
        return
    path = str(vendor())
    if path not in app.config.html_extra_path:
        # a new list: an unset option's value is the default list shared by every Sphinx app
        app.config.html_extra_path = [*app.config.html_extra_path, path]


def setup(app):
    app.connect("builder-inited", _builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
