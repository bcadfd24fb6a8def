"""Tests of `python -m wgan_lib export`: the CSV holds every stored run's numbers, as the store has them."""
import csv
import math

import pytest

from wgan_lib import Config
from wgan_lib.cli import main
from wgan_lib.export import COLUMNS, write_csv
from wgan_lib.runner import reproduce
from wgan_lib.runsets import RUN_SETS, RunSet
from wgan_lib.store import load_run, run_name

TINY = dict(samples_per_center=32, batch_size=32, g_width=8, d_width=8, g_depth=1, d_depth=1, epochs=2,
            n_eval_samples=100, plot_resolution=9)


@pytest.fixture
def results(tmp_path):
    """Two tiny sets in a results folder: one with snapshots (and a run that diverges), one metrics only."""
    with_snapshots = RunSet("export-a", "", (Config(case="ex-a").replace(**TINY),
                                             Config(case="ex-blown").replace(**TINY, lr=1e30, clip=None, seed=3)))
    metrics_only = RunSet("export-b", "", tuple(Config(case="ex-b").replace(**TINY, seed=s) for s in range(3)),
                          record="metrics")
    saved = dict(RUN_SETS)
    RUN_SETS.clear()
    RUN_SETS.update({s.name: s for s in (with_snapshots, metrics_only)})
    try:
        reproduce(["export-a", "export-b"], tmp_path, progress=False)
        yield tmp_path, [with_snapshots, metrics_only]
    finally:
        RUN_SETS.clear()
        RUN_SETS.update(saved)


def _cell(value):
    return "" if value is None else str(value)


def test_the_csv_has_one_row_per_run_and_snapshot_with_the_stores_numbers(results, tmp_path):
    folder, sets = results
    path, n_rows, n_runs = write_csv(tmp_path / "out" / "runs.csv", folder)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(COLUMNS)
    expected_rows = 0
    for run_set in sets:
        for config in run_set.configs:
            run = load_run(run_set.path(folder) / run_name(config))
            mine = [r for r in rows if r["run_set"] == run_set.name and r["run"] == run.name]
            assert len(mine) == max(1, len(run.metrics))
            expected_rows += len(mine)
            for row, metrics in zip(mine, run.metrics or [{}]):
                assert row["status"] == run.status and row["seed"] == str(config.seed)
                assert row["lr"] == str(config.lr) and row["loss"] == config.loss
                assert row["clip"] == _cell(config.clip) and row["current"] == "True"
                assert row["code_fingerprint"] == run.code_fingerprint
                for key in ("epoch", "modes", "hq_fraction", "reverse_kl", "w1"):
                    assert row[key] == _cell(metrics.get(key)), key
                    if row[key]:
                        assert float(row[key]) == metrics[key] and math.isfinite(float(row[key]))
    assert n_rows == len(rows) == expected_rows and n_runs == 5
    blown = next(r for r in rows if r["run"].startswith("ex-blown"))
    assert blown["status"] == "diverged" and blown["failed_epoch"] == "0" and "nan" in blown["reason"].lower()


def test_export_command_writes_the_csv(results, tmp_path, capsys):
    folder, _ = results
    out = tmp_path / "runs.csv"
    assert main(["export", "--results", str(folder), "--out", str(out)]) == 0
    # 2 snapshots for each of the 4 runs that completed, 1 row for the run that diverged at once
    assert capsys.readouterr().out.strip() == f"wrote 9 rows (5 runs) to {out}"
