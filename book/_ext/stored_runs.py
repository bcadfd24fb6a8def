"""Sphinx extension: the chapters are executed again when the stored runs or wgan_lib have changed.

The book executes its chapters through jupyter-cache, which re-runs a chapter only when its own
code changes, and Sphinx re-reads only the pages whose source changed. The chapters' outputs also
depend on the stored runs and on the library they call, so after `python -m wgan_lib reproduce`,
an edit of wgan_lib or a pull that brings either, both caches would show the old output. When an
HTML build starts, this compares a fingerprint of the results folder and of the wgan_lib package
(every file's path, size and modification time; hidden folders such as checkpoints and
__pycache__ left out) with the one recorded by the last build in the same output folder; if they
differ, it empties the execution cache and marks every page out of date. The new fingerprint is
recorded when the build finishes without an error.

Sphinx copies book/_static (the book's CSS and the font it ships) only when it writes some page,
so an edit there alone would never reach the site. The static folder gets a fingerprint of its
own: when it changes, every page is written again, from the execution cache as it is.
"""
import hashlib
import os
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
STAMP = ".stored-runs-fingerprint"
STATIC_STAMP = ".static-fingerprint"


def fingerprint(*folders):
    """A digest of every file under `folders` outside hidden folders and __pycache__: path, size, mtime."""
    digest = hashlib.sha256()
    for top in folders:
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d != "__pycache__")
            for name in sorted(files):
                path = Path(folder, name)
                stat = path.stat()
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _paths(app):
    import wgan_lib
    from wgan_lib.runsets import results_dir

    build = Path(app.outdir).parent
    cache = getattr(getattr(app.env, "mystnb_config", None), "execution_cache_path", None)  # set by myst-nb
    return (results_dir(), Path(wgan_lib.__file__).parent), build / STAMP, Path(cache or build / ".jupyter_cache")


def _builder_inited(app):
    app.env.stored_runs_changed = False
    if app.builder.format != "html":
        return
    folders, stamp, cache = _paths(app)
    app.env.stored_runs_fingerprint = fingerprint(*folders)
    if stamp.exists() and stamp.read_text() != app.env.stored_runs_fingerprint:
        logger.info("stored_runs: %s changed since the last build: executing every chapter again",
                    " or ".join(map(str, folders)))
        shutil.rmtree(cache, ignore_errors=True)
        app.env.stored_runs_changed = True
    static, static_stamp = Path(app.srcdir) / "_static", stamp.with_name(STATIC_STAMP)
    app.env.static_fingerprint = fingerprint(static)
    recorded = static_stamp.read_text() if static_stamp.exists() else None
    if stamp.exists() and recorded != app.env.static_fingerprint:  # (a build before this stamp: once)
        logger.info("stored_runs: %s changed since the last build: writing every page again", static)
        app.env.stored_runs_changed = True


def _outdated(app, env, added, changed, removed):
    return sorted(env.found_docs - added - changed - removed) if getattr(env, "stored_runs_changed", False) else []


def _build_finished(app, exception):
    if exception is None and app.builder.format == "html":
        _, stamp, _ = _paths(app)
        stamp.write_text(app.env.stored_runs_fingerprint)
        stamp.with_name(STATIC_STAMP).write_text(app.env.static_fingerprint)


def setup(app):
    app.connect("builder-inited", _builder_inited)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
