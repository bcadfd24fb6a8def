"""Runs over seeds in numbers: each run's last metrics, and means with standard errors per group."""
import math

import numpy as np

METRICS = ("modes", "hq_fraction", "reverse_kl", "w1")


def field_success(metrics):
    """The field's kind of success (the VEEGAN / PacGAN protocol), fixed before any result was
    looked at: at least 20 of the 25 modes covered and at least half of the samples of high quality
    (within 3 standard deviations of a centre). Both halves are needed: coverage without quality
    is a G spread over the plane, quality without coverage is mode collapse."""
    return bool(metrics) and (metrics.get("modes") or 0) >= 20 and (metrics.get("hq_fraction") or 0.0) >= 0.5


def final_metrics(run):
    """The last snapshot's metrics of a run; a diverged run has none (NaN)."""
    last = run.metrics[-1] if run.status == "completed" and run.metrics else {}
    return {key: (float(last[key]) if last.get(key) is not None else math.nan) for key in METRICS}


def run_field_success(run):
    """`field_success` at a run's last snapshot; a run that diverged does not succeed."""
    return run.status == "completed" and bool(run.metrics) and field_success(run.metrics[-1])


def mean_and_error(values):
    """Mean and standard error (sample std / sqrt(n)) of the finite values; NaN when there are none
    (the error is NaN for a single value)."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(values) == 0:
        return math.nan, math.nan
    error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return float(values.mean()), float(error)


def summarise(runs, key):
    """Group runs by `key(run)` and summarise each group: n, diverged, the share that meets
    `field_success` and, for each metric, mean and standard error over its completed runs.
    Returns {group: summary}, groups in the order they first appear."""
    groups = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    summary = {}
    for group, members in groups.items():
        finals = [final_metrics(r) for r in members]
        row = {"n": len(members), "diverged": sum(r.status != "completed" for r in members),
               "success_rate": float(np.mean([run_field_success(r) for r in members]))}
        for metric in METRICS:
            row[metric], row[f"{metric}_se"] = mean_and_error([f[metric] for f in finals])
        summary[group] = row
    return summary


def rank_agreement(runs, early_epoch, late_epoch, metric="modes"):
    """Spearman's rank correlation, over `runs`, of `metric` at two snapshot epochs: does the shorter
    schedule order the runs as the longer one does? Returns (rho, n)."""
    from scipy.stats import spearmanr

    early, late = [], []
    for run in runs:
        by_epoch = {m["epoch"]: m for m in run.metrics}
        if early_epoch in by_epoch and late_epoch in by_epoch:
            early.append(by_epoch[early_epoch].get(metric, np.nan))
            late.append(by_epoch[late_epoch].get(metric, np.nan))
    if len(early) < 3:
        return math.nan, len(early)
    return float(spearmanr(early, late).statistic), len(early)
