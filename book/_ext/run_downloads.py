"""Sphinx extension: the built book offers every stored run's numbers as one CSV, runs.csv.

When an HTML builder starts, this writes `python -m wgan_lib export` (one row per run and snapshot,
with the config, metrics, status and provenance; `wgan_lib.export`) into a folder beside the build
output and adds that folder to ``html_extra_path``, so Sphinx copies runs.csv to the site root,
where the chapters link to it. The results folder is the one the chapters read ($WGAN_RESULTS or
results/).
"""
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _builder_inited(app):
    if app.builder.format != "html":
        return
    from wgan_lib.export import write_csv

    folder = Path(app.outdir).parent / "downloads"
    path, n_rows, n_runs = write_csv(folder / "runs.csv")
    logger.info("run_downloads: wrote %d rows of %d runs to %s", n_rows, n_runs, path)
    if str(folder) not in app.config.html_extra_path:
        app.config.html_extra_path = [*app.config.html_extra_path, str(folder)]


def setup(app):
    app.connect("builder-inited", _builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
