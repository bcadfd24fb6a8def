"""`python -m wgan_lib export`: every stored run as one tidy CSV, for readers without this package.

One row per run and snapshot: the run set, the run's folder name, every config field, the
snapshot's epoch and metrics, the run's status (with the epoch and reason of a divergence), its
code fingerprint, the commit, device and CPU capability that made it, and whether it is current.
A run that diverged before its first snapshot gets one row with empty metrics.
"""
import csv
import dataclasses
from pathlib import Path

from .config import Config
from .store import load_status, run_name

METRIC_COLUMNS = ("epoch", "modes", "hq_fraction", "reverse_kl", "w1")
CONFIG_COLUMNS = tuple(f.name for f in dataclasses.fields(Config))
COLUMNS = ("run_set", "run", *CONFIG_COLUMNS, "status", "failed_epoch", "reason", *METRIC_COLUMNS, "current",
           "code_fingerprint", "git_commit", "device", "cpu_capability")


def rows(results=None):
    """The CSV's rows (dicts), run set by run set in the registry's order, runs in their set's order."""
    from .runsets import RUN_SETS

    for name, run_set in RUN_SETS.items():
        folder = run_set.path(results)
        for config in run_set.configs:
            status, run = load_status(folder / run_name(config))
            if run is None:
                continue
            config_cells = {k: ("" if v is None else ",".join(map(str, v)) if isinstance(v, tuple) else v)
                            for k, v in run.config.to_dict().items()}
            p = run.provenance
            common = {"run_set": name, "run": run.name, **config_cells, "status": run.status,
                      "failed_epoch": run.failed_epoch, "reason": run.reason, "current": status == "ok",
                      "code_fingerprint": run.code_fingerprint, "git_commit": p.get("git_commit"),
                      "device": p.get("device"), "cpu_capability": p.get("cpu_capability")}
            for metrics in run.metrics or [{}]:
                yield {**common, **{k: metrics.get(k) for k in METRIC_COLUMNS}}


def write_csv(path, results=None):
    """Write the CSV to `path`; returns (path, number of rows, number of runs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_rows, runs = 0, set()
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(results):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
            n_rows += 1
            runs.add((row["run_set"], row["run"]))
    return path, n_rows, len(runs)
