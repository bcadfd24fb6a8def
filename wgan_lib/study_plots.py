"""Figures and tables of the studies beyond the post: ten seeds per case, the clip x learning-rate
map (both in `sweeps`) and the critic study (`critic`). Same conventions as `plots`: each function
returns a matplotlib Figure or a `plots.Table`; `plots.show` displays them.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from .cases import clip_label, run_succeeded, succeeded
from .data import GRID_CENTERS
from .plots import DASH, Table, _fmt, post_succeeded
from .sweeps import MAP_CLIPS, MAP_LRS, SEED_SETTINGS, final_metrics, setting_name, setting_of


def _pm(mean, error, spec, scale=1.0):
    if not math.isfinite(mean):
        return DASH
    text = format(mean * scale, spec)
    return text + (f" ± {format(error * scale, spec)}" if math.isfinite(error) else "")


def _post_word(setting):
    """The post's outcome of a seeds-sweep setting, in a word."""
    if setting == "no-clip":
        return "1 of 2 runs succeeded"
    post = post_succeeded(setting)
    return DASH if post is None else ("succeeded" if post else "failed")


def seeds_table(summary):
    """One row per setting of the seeds sweep: mean ± standard error of each metric at the last
    snapshot, and how many seeds meet the success criterion."""
    rows = []
    for setting in dict.fromkeys(setting_name(n) for n in SEED_SETTINGS):
        s = summary[setting]
        k = round(s["success_rate"] * s["n"])
        rows.append([setting, _post_word(setting), s["n"], s["diverged"],
                     _pm(s["modes"], s["modes_se"], ".1f"), _pm(s["hq_fraction"], s["hq_fraction_se"], ".1f", 100),
                     _pm(s["reverse_kl"], s["reverse_kl_se"], ".2f"), _pm(s["w1"], s["w1_se"], ".2f"),
                     f"{k} of {s['n']}"])
    return Table(["setting", "post", "seeds", "diverged", "modes", "HQ %", "reverse KL", "W1", "succeed"], rows)


def plot_seed_spread(runs, key):
    """Every seed's modes and HQ % at the last snapshot, one column per setting (dashes: the
    success criterion's thresholds)."""
    groups = {}
    for run in runs:
        groups.setdefault(key(run), []).append(final_metrics(run))
    names = list(groups)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, metric, scale, label, bar in ((axes[0], "modes", 1, "modes covered (of 25)", 20),
                                          (axes[1], "hq_fraction", 100, "high-quality samples (%)", 50)):
        for i, name in enumerate(names):
            values = np.array([m[metric] for m in groups[name]]) * scale
            jitter = np.linspace(-0.2, 0.2, len(values))
            ax.plot(i + jitter, values, "o", ms=4, alpha=0.75, color="C0")
            ax.plot([i - 0.3, i + 0.3], [np.nanmean(values)] * 2, color="C3", lw=2)
        ax.axhline(bar, ls="--", color="0.5", lw=1)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(label)
    axes[0].set_ylim(0, 25.5)
    axes[1].set_ylim(0, 100)
    fig.suptitle("each dot a seed at its last snapshot; red: the mean", fontsize=9)
    fig.tight_layout()
    return fig


def sweep_mates(full_runs, sweep_runs):
    """(full-schedule run, the seeds sweep's run of the same setting and seed) for every full run
    that has one."""
    by_key = {(setting_of(r), r.config.seed): r for r in sweep_runs}
    pairs = [(full, by_key.get((setting_name(full.config.case), full.config.seed))) for full in full_runs]
    return [(full, mate) for full, mate in pairs if mate is not None]


def schedule_check_table(full_runs, sweep_runs):
    """Short against full schedule, same setting and seed: the sweep's last snapshot (epoch 99)
    beside the full-schedule run's snapshot at epoch 100 and its last one (epoch 999)."""
    rows = []
    for full, mate in sweep_mates(full_runs, sweep_runs):
        at_100 = next((m for m in full.metrics if m.get("epoch") == 100), {})
        cells = []
        for m, ok in ((final_metrics(mate), run_succeeded(mate)), (at_100, succeeded(at_100)),
                      (full.final_metrics, run_succeeded(full))):
            cells.append(f"{_fmt(m.get('modes'), '.0f')} / {_fmt(100 * m['hq_fraction'] if m.get('hq_fraction') is not None else None, '.1f')}"
                         f" ({'succeeds' if ok else 'fails'})")
        rows.append([full.config.case, full.config.seed, *cells,
                     "same" if run_succeeded(mate) == run_succeeded(full) else "differs"])
    return Table(["case", "seed", "sweep, epoch 99", "full schedule, epoch 100", "full schedule, epoch 999",
                  "verdict"], rows, caption="modes / HQ % (verdict of the success criterion)")


def rounding_drift_table(full_runs, sweep_runs, epochs=(0, 10, 50, 99), key="d_loss"):
    """How far the sweep's run and the full-schedule run of the same setting and seed drift apart:
    the relative difference of their per-epoch mean critic loss at `epochs`. They are the same
    computation up to float rounding (their stacks differ), so this measures how fast training
    amplifies rounding."""
    rows = []
    for full, mate in sweep_mates(full_runs, sweep_runs):
        a, b = mate.epoch_logs[key], full.epoch_logs[key]
        cells = []
        for e in epochs:
            if e >= min(len(a), len(b)):
                cells.append(DASH)
                continue
            cells.append(f"{abs(a[e] - b[e]) / max(abs(b[e]), 1e-12):.0e}" if a[e] != b[e] else "0")
        rows.append([full.config.case, full.config.seed, *cells])
    return Table(["case", "seed", *[f"epoch {e}" for e in epochs]], rows,
                 caption=f"relative difference of the epoch's mean {key.replace('_', ' ')}")


def clip_lr_grid(summary, metric):
    """The map's `metric` as an array (rows: MAP_LRS, columns: MAP_CLIPS)."""
    return np.array([[summary[(clip_label(c), lr)][metric] for c in MAP_CLIPS] for lr in MAP_LRS])


def plot_clip_lr_maps(summary):
    """Heatmaps over clip (columns) and learning rate (rows): success rate, mean modes, mean HQ %."""
    panels = (("success_rate", 100, "seeds that succeed (%)", (0, 100)),
              ("modes", 1, "mean modes covered (of 25)", (0, 25)),
              ("hq_fraction", 100, "mean high-quality samples (%)", (0, 100)))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, (metric, scale, title, (lo, hi)) in zip(axes, panels):
        grid = clip_lr_grid(summary, metric) * scale
        image = ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                value = grid[i, j]
                ax.text(j, i, DASH if not math.isfinite(value) else f"{value:.0f}" if scale != 1 else f"{value:.1f}",
                        ha="center", va="center", fontsize=8, color="white" if value < (lo + hi) / 2 else "black")
        ax.set_xticks(range(len(MAP_CLIPS)), [clip_label(c) for c in MAP_CLIPS])
        ax.set_yticks(range(len(MAP_LRS)), [f"{lr:g}" for lr in MAP_LRS])
        ax.set_xlabel("clip")
        ax.set_ylabel("learning rate")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def clip_lr_table(summary):
    """Every cell of the map: success count, modes, HQ %, reverse KL and W1 (mean ± standard error)."""
    rows = []
    for lr in MAP_LRS:
        for clip in MAP_CLIPS:
            s = summary[(clip_label(clip), lr)]
            rows.append([f"{lr:g}", clip_label(clip), f"{round(s['success_rate'] * s['n'])} of {s['n']}", s["diverged"],
                         _pm(s["modes"], s["modes_se"], ".1f"), _pm(s["hq_fraction"], s["hq_fraction_se"], ".1f", 100),
                         _pm(s["reverse_kl"], s["reverse_kl_se"], ".2f"), _pm(s["w1"], s["w1_se"], ".2f")])
    return Table(["lr", "clip", "succeed", "diverged", "modes", "HQ %", "reverse KL", "W1"], rows)


def rank_agreement(runs, early_epoch, late_epoch, metric="modes"):
    """Spearman's rank correlation, over `runs`, of `metric` at two snapshot epochs: does the shorter
    schedule order the settings as the longer one does? Returns (rho, n)."""
    early, late = [], []
    for run in runs:
        by_epoch = {m["epoch"]: m for m in run.metrics}
        if early_epoch in by_epoch and late_epoch in by_epoch:
            early.append(by_epoch[early_epoch].get(metric, np.nan))
            late.append(by_epoch[late_epoch].get(metric, np.nan))
    if len(early) < 3:
        return math.nan, len(early)
    return float(spearmanr(early, late).statistic), len(early)


# ------------------------------------------------------------------------------- the critic study
def plot_weight_histograms(critic_runs, snapshots=(0, 1, 5, -1)):
    """Histograms of D's parameters at a few snapshots (indices; those past the last snapshot fall
    back to it), one row per run (dashes: +-clip)."""
    n = min(len(run.snapshot_epochs) for run in critic_runs)
    snapshots = sorted({min(k, n - 1) if k >= 0 else max(n + k, 0) for k in snapshots})
    fig, axes = plt.subplots(len(critic_runs), len(snapshots), figsize=(2.8 * len(snapshots), 2.2 * len(critic_runs)),
                             squeeze=False)
    for row, run in zip(axes, critic_runs):
        clip = run.config.clip
        for ax, k in zip(row, snapshots):
            weights = run.flat[k]
            limit = clip * 1.1 if clip is not None else max(1e-6, float(np.abs(weights).max()) * 1.05)
            ax.hist(weights, bins=np.linspace(-limit, limit, 45), color="C0")
            if clip is not None:
                for edge in (-clip, clip):
                    ax.axvline(edge, ls="--", color="C3", lw=1)
            at_clip = run.fraction_at_clip(k)
            extra = "" if math.isnan(at_clip) else f", {100 * at_clip:.0f}% at ±c"
            ax.set_title(f"{run.name}, epoch {run.snapshot_epochs[k]}{extra}", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_fraction_at_clip(critic_runs):
    """The share of D's parameters at +-c (solid) and within 10 % of it (dashed) over training,
    for the clipped runs."""
    fig, ax = plt.subplots(figsize=(5.5, 3))
    for i, run in enumerate(critic_runs):
        if run.config.clip is None:
            continue
        snapshots = range(len(run.snapshot_epochs))
        label = f"{run.name} (c = {run.config.clip:g})"
        ax.plot(run.snapshot_epochs, [100 * run.fraction_at_clip(k) for k in snapshots], "o-", ms=3, color=f"C{i}",
                label=f"{label}: at ±c")
        ax.plot(run.snapshot_epochs, [100 * run.fraction_at_clip(k, rel_tol=0.1) for k in snapshots], "s--", ms=3,
                color=f"C{i}", label=f"{label}: within 10 %")
    ax.set_xlabel("epoch")
    ax.set_ylabel("parameters (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_gradient_norms(critic_runs, snapshot=-1):
    """|grad_x D| over the plotted square at one snapshot, one panel per run (crosses: the centres),
    and the distribution of those norms (the dashed line: 1, the Wasserstein dual's Lipschitz bound)."""
    fig, axes = plt.subplots(1, len(critic_runs) + 1, figsize=(3.4 * (len(critic_runs) + 1), 3.2))
    for ax, run in zip(axes, critic_runs):
        axis, norms = run.gradient_norm(snapshot)
        extent = [axis[0], axis[-1], axis[0], axis[-1]]
        image = ax.imshow(norms, origin="lower", extent=extent, cmap="magma")
        ax.plot(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], "c+", ms=5)
        ax.set_title(f"{run.name}, epoch {run.snapshot_epochs[snapshot]}", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(image, ax=ax, fraction=0.046)
        axes[-1].hist(norms.ravel(), bins=np.logspace(-6, 2, 80), histtype="step", lw=1.5, label=run.name)
    axes[-1].set_xscale("log")
    axes[-1].axvline(1.0, ls="--", color="0.4", lw=1)
    axes[-1].set_xlabel("|∇ₓD| over the square")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def gradient_norm_table(critic_runs, snapshot=-1):
    """Median, 5th and 95th percentile of |grad_x D| over the plotted square, and D's range there."""
    rows = []
    for run in critic_runs:
        _, norms = run.gradient_norm(snapshot)
        p5, p50, p95 = np.percentile(norms, [5, 50, 95])
        d = run.run.d_grid[snapshot]
        at_clip, near_clip = run.fraction_at_clip(snapshot), run.fraction_at_clip(snapshot, rel_tol=0.1)
        rows.append([run.name, clip_label(run.config.clip),
                     int(run.snapshot_epochs[snapshot]), f"{p5:.3g}", f"{p50:.3g}", f"{p95:.3g}",
                     f"[{d.min():.3g}, {d.max():.3g}]", DASH if math.isnan(at_clip) else f"{100 * at_clip:.0f}%",
                     DASH if math.isnan(near_clip) else f"{100 * near_clip:.0f}%"])
    return Table(["run", "clip", "epoch", "|∇D| 5th pct", "median", "95th pct", "D on the square",
                  "parameters at ±c", "within 10 % of ±c"], rows)

