"""Tests of the book's extension book/_ext/stored_runs.py: new stored runs make every chapter run again."""
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import stored_runs  # noqa: E402


@pytest.fixture
def book(tmp_path, monkeypatch):
    results = tmp_path / "results"
    (results / "cases" / "success-seed0").mkdir(parents=True)
    (results / "cases" / "success-seed0" / "run.json").write_text("{}")
    (results / "cases" / ".checkpoints").mkdir()
    monkeypatch.setenv("WGAN_RESULTS", str(results))
    out = tmp_path / "_build"
    cache = out / ".jupyter_cache"
    cache.mkdir(parents=True)
    env = SimpleNamespace(found_docs={"intro", "grid", "claims"}, mystnb_config=SimpleNamespace(execution_cache_path=str(cache)))
    (tmp_path / "book" / "_static").mkdir(parents=True)
    (tmp_path / "book" / "_static" / "wgan.css").write_text("table {}")
    app = SimpleNamespace(outdir=str(out / "html"), srcdir=str(tmp_path / "book"), env=env,
                          builder=SimpleNamespace(format="html"))
    return app, results, cache


def build(app):
    """What a build does with the extension: start, ask which pages are out of date, finish."""
    stored_runs._builder_inited(app)
    outdated = stored_runs._outdated(app, app.env, added=set(), changed={"claims"}, removed=set())
    stored_runs._build_finished(app, None)
    return outdated


def test_a_new_stored_run_empties_the_cache_and_marks_every_page(book):
    app, results, cache = book
    assert build(app) == []  # the first build: nothing recorded to compare with
    assert build(app) == [] and cache.exists()  # nothing changed
    (results / "ladder" / "ladder-post-seed0").mkdir(parents=True)
    (results / "ladder" / "ladder-post-seed0" / "run.json").write_text("{}")
    assert build(app) == ["grid", "intro"]  # every page that was not already to be read again
    assert not cache.exists()
    assert build(app) == []


def test_an_edited_static_file_writes_every_page_again_from_the_cache(book):
    app, _, cache = book
    build(app)
    css = Path(app.srcdir) / "_static" / "wgan.css"
    css.write_text("table { border: 0 }")
    assert build(app) == ["grid", "intro"] and cache.exists()  # pages written again, chapters not executed
    assert build(app) == []
    (Path(app.srcdir) / "_static" / "fonts").mkdir()
    (Path(app.srcdir) / "_static" / "fonts" / "a.woff").write_bytes(b"font")
    assert build(app) == ["grid", "intro"]


def test_a_rewritten_run_counts_and_checkpoints_do_not(book):
    app, results, _ = book
    build(app)
    (results / "cases" / ".checkpoints" / "a.pt").write_bytes(b"state")  # training in progress
    assert build(app) == []
    run = results / "cases" / "success-seed0" / "run.json"
    run.write_text('{"status": "completed"}')
    os.utime(run, ns=(1, 1))
    assert build(app) == ["grid", "intro"]


def test_a_failed_build_records_nothing(book):
    app, results, _ = book
    build(app)
    (results / "cases" / "success-seed0" / "run.json").write_text('{"changed": true}')
    stored_runs._builder_inited(app)
    stored_runs._build_finished(app, RuntimeError("a chapter failed"))
    assert build(app) == ["grid", "intro"]  # still out of date at the next build


def test_a_change_to_the_library_counts(book, tmp_path, monkeypatch):
    app, _, _ = book
    library = tmp_path / "wgan_lib"
    library.mkdir()
    (library / "claims.py").write_text("X = 1\n")
    (library / "__pycache__").mkdir()
    monkeypatch.setattr(stored_runs, "_paths", lambda app, paths=stored_runs._paths: (
        (*paths(app)[0][:1], library), *paths(app)[1:]))
    build(app)
    (library / "__pycache__" / "claims.cpython-311.pyc").write_bytes(b"compiled")
    assert build(app) == []
    (library / "claims.py").write_text("X = 22\n")
    assert build(app) == ["grid", "intro"]
