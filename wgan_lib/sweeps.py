"""Sweeps beyond the post: many seeds of every case, and a map of clip value against learning rate.

The post judged each setting from one run. A sweep trains many runs of a setting and stores only
their metrics (run.json without snapshots.npz), in `results/sweeps/<sweep>/`, one folder per run.
`python -m wgan_lib sweep` regenerates them all; `load_sweep` reads them back and `summarise`
turns them into mean +- standard error and the fraction of seeds that succeed.

On the 2-core CPU the sweeps use a shorter schedule than the post's 1000 epochs (SWEEP_EPOCHS);
the book checks, on the full-schedule runs, that the shorter schedule gives the same verdicts.
"""
import math
from pathlib import Path

import numpy as np

from .cases import CASES, clip_label, run_succeeded
from .config import ConfigError

# 100 epochs = 19,500 iterations. Measured on the 2-core machine (one thread per process): a
# stack of 55 runs of the seeds sweep costs 3.2 ms per run-iteration, of 32 clip x lr runs 1.95,
# so both sweeps take about 80 minutes as two processes (`--shard 0/2` and `--shard 1/2`).
SWEEP_EPOCHS = 100
SWEEP_SNAPSHOT_EVERY = 50  # snapshots (and metrics) at epochs 0, 50 and 99
SEEDS = tuple(range(10))
# The no-clipping runs of the post differ only by seed, so the seeds sweep has one 'no-clip' setting.
SEED_SETTINGS = ("failure-1", "failure-2", "failure-3", "failure-4", "failure-5", "failure-6", "success",
                 "no-clip-1", "standard-gan", "coulomb-gan", "wgan-gp")
MAP_CLIPS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, None)
MAP_LRS = (1e-4, 1e-3, 1e-2)
MAP_SEEDS = (0, 1, 2)
METRICS = ("modes", "hq_fraction", "reverse_kl", "w1")


def setting_name(case_name):
    return "no-clip" if case_name.startswith("no-clip") else case_name


def _schedule(**changes):
    return {"epochs": SWEEP_EPOCHS, "snapshot_every": SWEEP_SNAPSHOT_EVERY, **changes}


def seeds_configs(**changes):
    """Every setting of the post (and the three other discriminators) with seeds 0-9."""
    return [CASES[name].config(case=f"seeds-{setting_name(name)}", seed=seed, **_schedule(**changes))
            for name in SEED_SETTINGS for seed in SEEDS]


def clip_lr_configs(**changes):
    """The success case's settings with every clip value of MAP_CLIPS and learning rate of MAP_LRS."""
    success = CASES["success"]
    return [success.config(case=f"map-clip{clip_label(clip)}-lr{lr:g}", clip=clip, lr=lr, seed=seed,
                           **_schedule(**changes))
            for clip in MAP_CLIPS for lr in MAP_LRS for seed in MAP_SEEDS]


SWEEPS = {"seeds": seeds_configs, "clip-lr": clip_lr_configs}


def sweep_configs(name, **changes):
    if name not in SWEEPS:
        raise ConfigError(f"unknown sweep {name!r}; allowed: {', '.join(SWEEPS)}")
    return SWEEPS[name](**changes)


def sweeps_dir(results_dir):
    return Path(results_dir) / "sweeps"


# `python -m wgan_lib sweep` regenerates these; 'critic' is the critic study (`critic`).
ALL_SWEEPS = (*SWEEPS, "critic")


def run_sweeps(names, results_dir, device="cpu", check_only=False, progress=True, shard=None, epochs=None):
    """Train what is missing, stale or damaged of the named sweeps (ALL_SWEEPS); return an exit status."""
    from .critic import critic_status, train_critic_study
    from .runner import reproduce

    status = 0
    for name in names:
        if name == "critic":
            current = critic_status(results_dir) if epochs is None else "a test schedule"
            if check_only:
                print(f"critic study: {current}")
                status |= current != "ok"
            elif current != "ok" and (shard is None or shard[0] == 0):  # one process trains it
                print(f"critic study: {current}; training it", flush=True)
                train_critic_study(results_dir, device=device, epochs=epochs, progress=progress)
            continue
        configs = sweep_configs(name)
        status |= reproduce(sweeps_dir(results_dir) / name, device=device, epochs=epochs, check_only=check_only,
                            progress=progress, configs=configs, with_snapshots=False, shard=shard)
    return status


def load_sweep(name, results_dir, **changes):
    """The stored runs of one sweep, in the order of `sweep_configs`; a missing, damaged or stale
    run is an error naming it (the book shows only runs the current code made)."""
    from .runner import _current_status
    from .store import RunFileError, load_run, run_name

    folder = sweeps_dir(results_dir) / name
    runs, bad = [], []
    for config in sweep_configs(name, **changes):
        status = _current_status(folder, config, with_snapshots=False)
        if status != "ok":
            bad.append(f"{run_name(config)} ({status})")
            continue
        runs.append(load_run(folder / run_name(config)))
    if bad:
        raise RunFileError(f"sweep {name!r} in {folder}: {len(bad)} run(s) not stored for the current code: "
                           f"{', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}; "
                           f"run `python -m wgan_lib sweep {name}`")
    return runs


def final_metrics(run):
    """The last snapshot's metrics of a run; a diverged run has none (NaN), and does not succeed."""
    last = run.metrics[-1] if run.status == "completed" and run.metrics else {}
    return {key: (float(last[key]) if last.get(key) is not None else math.nan) for key in METRICS}


def mean_and_error(values):
    """Mean and standard error (sample std / sqrt(n)) of the finite values; NaN when there are none."""
    values = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    if len(values) == 0:
        return math.nan, math.nan
    error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return float(values.mean()), float(error)


def summarise(runs, key):
    """Group runs by `key(run)` and summarise each group: n, diverged, success fraction and, for
    each metric, mean and standard error over its completed runs. Returns {group: summary}."""
    groups = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    summary = {}
    for group, members in groups.items():
        finals = [final_metrics(r) for r in members]
        row = {"n": len(members),
               "diverged": sum(r.status != "completed" for r in members),
               "success_rate": float(np.mean([run_succeeded(r) for r in members]))}
        for metric in METRICS:
            row[metric], row[f"{metric}_se"] = mean_and_error([f[metric] for f in finals])
        summary[group] = row
    return summary


def setting_of(run):
    """The seeds sweep's setting of a run ('success', 'no-clip', ...)."""
    return run.config.case.removeprefix("seeds-")


def cell_of(run):
    """The clip x lr map's cell of a run: (clip label, lr)."""
    return clip_label(run.config.clip), run.config.lr


def parse_shard(text):
    """'K/N' -> (K, N) with 0 <= K < N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"shard must look like K/N (for example 0/2); got {text!r}") from None
    if not (n >= 1 and 0 <= k < n):
        raise ConfigError(f"shard K/N needs N >= 1 and 0 <= K < N; got {text!r}")
    return k, n

