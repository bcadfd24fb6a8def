"""Figures the chapters show. Every function returns a matplotlib Figure (`tables.show` displays it).

Every figure is drawn at most `MAX_WIDTH` inches wide at 100 dpi with text of at least 9.5 pt, so
that a book page shows it near its drawn size with legible text. Conventions: `run.d_grid[k][i, j]`
is D at x = axis[j], y = axis[i] with axis = linspace(-extent, extent, side); D is shown as its
loss says (`losses.Loss.shown_as`: a standard GAN's logits through a sigmoid).
"""
import functools
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse, Rectangle

from .cases import clip_label
from .data import GRID_CENTERS
from .losses import LOSSES

MAX_WIDTH = 8.0
STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10.5, "axes.titlesize": 10.5,
         "axes.labelsize": 10.5, "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5,
         "figure.titlesize": 11}


def styled(draw):
    """Draw the figure with the book's style (sizes above), whatever the caller's rcParams."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def shown(run, d_grid):
    """(values, label) of D as its loss is shown: sigmoid(D) for a D that gives logits."""
    if LOSSES[run.config.loss].shown_as == "sigmoid":
        x = np.asarray(d_grid, dtype=np.float64)
        return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))), "sigmoid(D)"
    return d_grid, "D"


def _square(ax, extent):
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def draw_samples(ax, samples, extent=6.0, title=None):
    """G's samples as dots over the plotted square, with the 25 true centres as crosses."""
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:blue", rasterized=True)
    ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=30, color="black", linewidths=0.8)
    _square(ax, extent)
    if title:
        ax.set_title(title)


def draw_critic(ax, d_grid, extent=6.0, title=None, samples=None, levels=15):
    """D's output over the plotted square as filled contours, optionally with G's samples on top."""
    axis = np.linspace(-extent, extent, d_grid.shape[0])
    finite = np.isfinite(d_grid)
    if finite.any():
        values = np.where(finite, d_grid, np.nan)
        cs = ax.contourf(axis, axis, values, levels=levels, cmap="viridis")
        ax.contour(axis, axis, values, levels=cs.levels, colors="k", linewidths=0.2)
    if samples is not None:
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.35, color="white", rasterized=True)
    _square(ax, extent)
    if title:
        ax.set_title(title)


def _range(grid):
    finite = grid[np.isfinite(grid)]
    return f"[{finite.min():.3g}, {finite.max():.3g}]" if finite.size else "not finite"


def epochs_from(run, start=100):
    """The run's snapshot epochs >= `start` (the post's figures begin at epoch 100); all if none are."""
    epochs = [int(e) for e in run.snapshot_epochs]
    return [e for e in epochs if e >= start] or epochs


@styled
def plot_run_grid(run, epochs=None, columns=5):
    """G's samples (upper row of each block) and D's contours (lower row) at each of `epochs`
    (default: `epochs_from`), in blocks of at most `columns` epochs."""
    epochs = epochs_from(run) if epochs is None else list(epochs)
    extent = run.config.plot_extent
    ncols = min(columns, len(epochs))
    blocks = -(-len(epochs) // ncols)
    panel = MAX_WIDTH / 5
    fig, axes = plt.subplots(2 * blocks, ncols, figsize=(panel * ncols, blocks * 2 * (panel + 0.45)), squeeze=False)
    for k, epoch in enumerate(epochs):
        row, col = 2 * (k // ncols), k % ncols
        samples, d_grid, metrics = run.snapshot(epoch)
        grid, label = shown(run, d_grid)
        extra = f"\n{metrics['modes']} modes, {100 * metrics['hq_fraction']:.0f}% HQ" if "modes" in metrics else ""
        draw_samples(axes[row, col], samples, extent, f"G, epoch {epoch}{extra}")
        draw_critic(axes[row + 1, col], grid, extent, f"{label}\n{_range(grid)}")
    for k in range(len(epochs), blocks * ncols):
        fig.delaxes(axes[2 * (k // ncols), k % ncols])
        fig.delaxes(axes[2 * (k // ncols) + 1, k % ncols])
    fig.tight_layout(h_pad=0.6, w_pad=0.3)
    return fig


@styled
def plot_last_snapshots(runs, labels=None, columns=5, epoch=None):
    """One panel per run at its last snapshot (or at `epoch`): D's contours with G's samples on top
    (white) and the centres (crosses), titled with the run's label and its modes and HQ %."""
    labels = [r.name for r in runs] if labels is None else labels
    ncols = min(columns, len(runs))
    nrows = -(-len(runs) // ncols)
    panel = MAX_WIDTH / max(ncols, 4)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, (panel + 0.55) * nrows), squeeze=False)
    for ax, run, label in zip(axes.flat, runs, labels):
        e = int(run.snapshot_epochs[-1]) if epoch is None else epoch
        samples, d_grid, m = run.snapshot(e)
        grid, _ = shown(run, d_grid)
        draw_critic(ax, grid, run.config.plot_extent, samples=samples)
        ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=20, color="red", linewidths=0.8)
        ax.set_title(f"{label}\n{m.get('modes', '—')} modes, {100 * m.get('hq_fraction', math.nan):.0f}% HQ")
    for ax in axes.flat[len(runs):]:
        fig.delaxes(ax)
    fig.tight_layout(w_pad=0.3)
    return fig


def animate_run(run, dpi=70):
    """A scrubbable animation (one frame per snapshot) of G and D, as self-contained HTML: the frames
    are embedded PNGs with the player's JavaScript inline, so the page needs nothing from another
    host. Display it with IPython.display.HTML."""
    from matplotlib.animation import FuncAnimation

    epochs = [int(e) for e in run.snapshot_epochs]
    extent = run.config.plot_extent
    with plt.rc_context(STYLE):
        fig, (ax_g, ax_d) = plt.subplots(1, 2, figsize=(7, 3.6), dpi=dpi)

        def frame(k):
            samples, d_grid, metrics = run.snapshot(epochs[k])
            grid, label = shown(run, d_grid)
            ax_g.clear()
            ax_d.clear()
            m = f": {metrics['modes']} modes, {100 * metrics['hq_fraction']:.0f}% HQ" if "modes" in metrics else ""
            draw_samples(ax_g, samples, extent, f"G, epoch {epochs[k]}{m}")
            draw_critic(ax_d, grid, extent, f"{label}: {_range(grid)}")
            return []

        fig.tight_layout()
        anim = FuncAnimation(fig, frame, frames=len(epochs), interval=500, blit=False)
        try:
            return offline_jshtml(anim.to_jshtml(default_mode="once"))
        finally:
            plt.close(fig)


# Text glyphs for the player's buttons, in place of the Font Awesome icons that matplotlib's
# to_jshtml() loads from a CDN (the button titles still say what each does).
_PLAYER_GLYPHS = {"fa-minus": "\u2212", "fa-fast-backward": "\u23ee", "fa-step-backward": "\u25c2",
                  "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "\u23f8", "fa-play": "\u25b6",
                  "fa-step-forward": "\u25b8", "fa-fast-forward": "\u23ed", "fa-plus": "+"}


def offline_jshtml(text):
    """matplotlib's to_jshtml() output without its one remote resource: drop the Font Awesome
    stylesheet link and write the buttons' icons as text glyphs."""
    import re

    text = re.sub(r"<link[^>]*font-awesome[^>]*>", "", text)
    return re.sub(r'<i class="fa ([^"]*)"></i>', lambda m: _PLAYER_GLYPHS.get(m.group(1), m.group(1)), text)


# ---------------------------------------------------------------------------------------- curves
METRIC_PANELS = (("modes", "modes covered (of 25)", 1), ("hq_fraction", "high-quality samples (%)", 100),
                 ("reverse_kl", "reverse KL (nats)", 1), ("w1", "W1 to the data", 1))


@styled
def plot_metrics(runs, labels=None):
    """Modes covered, % high quality, reverse KL and W1 against snapshot epoch, one line per run."""
    runs = runs if isinstance(runs, (list, tuple)) else [runs]
    labels = [r.name for r in runs] if labels is None else labels
    fig, axes = plt.subplots(2, 2, figsize=(MAX_WIDTH, 5.2))
    for run, label in zip(runs, labels):
        epochs = [m["epoch"] for m in run.metrics]
        for ax, (key, _, scale) in zip(axes.flat, METRIC_PANELS):
            ax.plot(epochs, scale * run.metric(key), marker="o", ms=3, label=label)
    for ax, (_, title, _) in zip(axes.flat, METRIC_PANELS):
        ax.set_title(title)
        ax.set_xlabel("epoch")
    if len(runs) > 1:
        axes[0, 0].legend()
    fig.tight_layout()
    return fig


@styled
def plot_epoch_logs(runs, labels=None):
    """Per-epoch curves: D's loss, G's loss and D's min and max over the plotted square."""
    runs = runs if isinstance(runs, (list, tuple)) else [runs]
    labels = [r.name for r in runs] if labels is None else labels
    fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH, 2.9))
    for k, (run, label) in enumerate(zip(runs, labels)):
        color, logs = f"C{k % 10}", run.epoch_logs
        axes[0].plot(logs["d_loss"], color=color, lw=0.8, label=label)
        axes[1].plot(logs["g_loss"], color=color, lw=0.8)
        axes[2].plot(logs["d_max"], color=color, lw=0.8)
        axes[2].plot(logs["d_min"], color=color, lw=0.8, ls="--")
    for ax, title in zip(axes, ["D's loss", "G's loss", "D's max (solid), min (dashed)"]):
        ax.set_title(title)
        ax.set_xlabel("epoch")
    if len(runs) > 1:
        axes[0].legend()
    fig.tight_layout()
    return fig


@styled
def plot_d_range(runs, labels, post=None):
    """D's min and max over the plotted square per epoch (symmetric log scale, linear within +-1),
    with the post's table as black triangles; the legend below the axes."""
    from .tables import post_d_range

    post = post_d_range() if post is None else post
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.8))
    for k, (run, label) in enumerate(zip(runs, labels)):
        ax.plot(run.epoch_logs["d_max"], color=f"C{k % 10}", lw=1, label=f"{label}: max")
        ax.plot(run.epoch_logs["d_min"], color=f"C{k % 10}", lw=1, ls="--", label=f"{label}: min")
    epochs = sorted(post)
    ax.scatter(epochs, [post[e][1] for e in epochs], color="black", marker="^", s=22, label="post: max", zorder=3)
    ax.scatter(epochs, [post[e][0] for e in epochs], color="black", marker="v", s=22, label="post: min", zorder=3)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("D over the plotted square")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(4, 2 * len(runs) + 2), frameon=False)
    fig.tight_layout()
    return fig


@styled
def plot_critic_range(runs, labels, floor=1e-9):
    """D's range (max - min) over the plotted square at every epoch, on a log scale, one line a run;
    a range of exactly 0 (a flat critic) is drawn on the bottom line, labelled 0."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.6))
    for k, (run, label) in enumerate(zip(runs, labels)):
        span = np.asarray(run.epoch_logs["d_max"]) - np.asarray(run.epoch_logs["d_min"])
        ax.plot(np.maximum(span, floor), color=f"C{k % 10}", lw=1.2, label=label)
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, None)
    ticks = [t for t in ax.get_yticks() if t > floor * 5]
    ax.set_yticks([floor] + ticks, ["0"] + [f"$10^{{{round(math.log10(t))}}}$" for t in ticks])
    ax.set_ylim(floor / 2, None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("range of D on the plane")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(5, len(runs)), frameon=False)
    fig.tight_layout()
    return fig


@styled
def plot_target(points, gmm, max_points=20000, zoom=(0.0, 0.0)):
    """The post's "Gaussian Mixture" figure: data points coloured by the fitted GMM component, with
    each component's mean (x) and 2-standard-deviation ellipse; a second panel magnifies `zoom`."""
    points = np.asarray(points)
    shown_points = points[np.linspace(0, len(points) - 1, min(len(points), max_points)).astype(int)]
    labels = gmm.predict(shown_points)
    fig, targets = plt.subplots(1, 2, figsize=(MAX_WIDTH * 0.9, 4.6), gridspec_kw={"width_ratios": [5, 3]})
    for target in targets:
        target.scatter(shown_points[:, 0], shown_points[:, 1], c=labels % 20, cmap="tab20", vmin=0, vmax=19, s=1,
                       alpha=0.5, rasterized=True)
        for mean, cov in zip(gmm.means_, gmm.covariances_):
            values, vectors = np.linalg.eigh(cov)
            angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
            w, h = 2 * 2 * np.sqrt(np.maximum(values[::-1], 0))
            target.add_patch(Ellipse(mean, w, h, angle=angle, fill=False, color="black", lw=0.8))
        target.scatter(gmm.means_[:, 0], gmm.means_[:, 1], marker="x", color="black", s=20, lw=0.8)
        target.set_aspect("equal")
    ax, near = targets
    ax.set_xlim(-6, 6)
    ax.set_ylim(-6, 6)
    ax.set_title(f"{len(gmm.means_)} components fitted to {len(points)} points")
    near.set_xlim(zoom[0] - 0.3, zoom[0] + 0.3)
    near.set_ylim(zoom[1] - 0.3, zoom[1] + 0.3)
    near.set_title(f"around ({zoom[0]:g}, {zoom[1]:g})")
    ax.indicate_inset_zoom(near, edgecolor="grey")
    fig.tight_layout()
    return fig


@styled
def plot_drift(run, epochs=None, columns=5):
    """G's samples at each snapshot on axes wide enough to hold them all, with the plotted square
    (dashed) and the 25 centres, to show where G went."""
    epochs = [int(e) for e in run.snapshot_epochs] if epochs is None else list(epochs)
    extent = run.config.plot_extent
    ncols = min(columns, len(epochs))
    nrows = -(-len(epochs) // ncols)
    panel = MAX_WIDTH / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(MAX_WIDTH, (panel + 0.4) * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(epochs):
            fig.delaxes(ax)
            continue
        samples, _, _ = run.snapshot(epochs[k])
        finite = samples[np.isfinite(samples).all(1)]
        reach = max(extent, float(np.abs(finite).max()) if len(finite) else extent) * 1.1
        ax.scatter(finite[:, 0], finite[:, 1], s=2, alpha=0.4, rasterized=True)
        ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=10, color="black", lw=0.6)
        ax.add_patch(Rectangle((-extent, -extent), 2 * extent, 2 * extent, fill=False, ls="--", color="grey"))
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_title(f"epoch {epochs[k]}")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- runs over seeds
@styled
def plot_seed_spread(groups, thresholds=(20, 50)):
    """Every run's modes and HQ % at its last snapshot, one column per group ({label: runs});
    red: the mean; dashes: the field's thresholds (20 modes, 50 % HQ)."""
    from .summary import final_metrics

    names = list(groups)
    fig, axes = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.8))
    for ax, metric, scale, label, bar in ((axes[0], "modes", 1, "modes covered (of 25)", thresholds[0]),
                                          (axes[1], "hq_fraction", 100, "high-quality samples (%)", thresholds[1])):
        for i, name in enumerate(names):
            values = np.array([final_metrics(r)[metric] for r in groups[name]]) * scale
            ax.plot(i + np.linspace(-0.2, 0.2, len(values)), values, "o", ms=4, alpha=0.75, color="C0")
            ax.plot([i - 0.3, i + 0.3], [np.nanmean(values)] * 2, color="C3", lw=2)
        ax.axhline(bar, ls="--", color="0.5", lw=1)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
        ax.set_ylabel(label)
    axes[0].set_ylim(0, 25.5)
    axes[1].set_ylim(0, 100)
    fig.tight_layout()
    return fig


@styled
def plot_clip_lr_maps(summary, clips, lrs):
    """Heatmaps over clip (columns) and learning rate (rows) of the mean modes covered and the mean
    high-quality share, each cell's number written in it."""
    panels = (("modes", 1, "mean modes covered (of 25)", (0, 25), ".1f"),
              ("hq_fraction", 100, "mean high-quality samples (%)", (0, 100), ".0f"))
    fig, axes = plt.subplots(2, 1, figsize=(MAX_WIDTH, 5.6))
    for ax, (metric, scale, title, (lo, hi), spec) in zip(axes, panels):
        grid = np.array([[summary[(clip_label(c), lr)][metric] for c in clips] for lr in lrs]) * scale
        ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                value = grid[i, j]
                ax.text(j, i, "—" if not math.isfinite(value) else format(value, spec), ha="center", va="center",
                        fontsize=11, color="white" if value < (lo + hi) / 2 else "black")
        ax.set_xticks(range(len(clips)), [clip_label(c) for c in clips])
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
        ax.set_xlabel("clip")
        ax.set_ylabel("learning rate")
        ax.set_title(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- the critic
@styled
def plot_weight_histograms(runs, snapshots=(0, 1, 5, -1)):
    """Histograms of D's parameters at a few snapshots (indices), one row per run (dashes: +-clip)."""
    from .measures import fraction_at_clip

    n = min(len(r.snapshot_epochs) for r in runs)
    snapshots = sorted({min(k, n - 1) if k >= 0 else max(n + k, 0) for k in snapshots})
    fig, axes = plt.subplots(len(runs), len(snapshots), figsize=(MAX_WIDTH, 2.3 * len(runs)), squeeze=False)
    for row, run in zip(axes, runs):
        clip = run.config.clip
        for ax, k in zip(row, snapshots):
            weights = run.d_weights[k]
            limit = clip * 1.1 if clip is not None else max(1e-6, float(np.abs(weights).max()) * 1.05)
            ax.hist(weights, bins=np.linspace(-limit, limit, 45), color="C0")
            if clip is not None:
                for edge in (-clip, clip):
                    ax.axvline(edge, ls="--", color="C3", lw=1)
            at = fraction_at_clip(weights, clip)
            ax.set_title(f"{run.config.case}, ep. {run.snapshot_epochs[k]}"
                         + ("" if math.isnan(at) else f"\n{100 * at:.1f}% at ±c"))
            ax.set_yticks([])
    fig.tight_layout()
    return fig


@styled
def plot_fraction_at_clip(runs):
    """The share of D's parameters at +-c (solid) and within 10 % of it (dashed) over training."""
    from .measures import fraction_at_clip

    fig, ax = plt.subplots(figsize=(MAX_WIDTH * 0.75, 3.4))
    for i, run in enumerate(runs):
        if run.config.clip is None:
            continue
        label = f"{run.config.case} (c = {run.config.clip:g})"
        ax.plot(run.snapshot_epochs, [100 * fraction_at_clip(w, run.config.clip) for w in run.d_weights], "o-",
                ms=3, color=f"C{i}", label=f"{label}: at ±c")
        ax.plot(run.snapshot_epochs, [100 * fraction_at_clip(w, run.config.clip, 0.1) for w in run.d_weights],
                "s--", ms=3, color=f"C{i}", label=f"{label}: within 10 %")
    ax.set_xlabel("epoch")
    ax.set_ylabel("parameters (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    fig.tight_layout()
    return fig


@styled
def plot_hq_course(groups):
    """The high-quality share over training, mean over the runs of each group (NaN for a diverged
    run ignored); more than ten groups go on in dashed lines. `groups`: {label: runs}."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 4.2))
    for k, (label, runs) in enumerate(groups.items()):
        epochs = [m["epoch"] for m in runs[0].metrics]
        values = np.nanmean([[m.get("hq_fraction", np.nan) for m in r.metrics] for r in runs], axis=0)
        ax.plot(epochs, 100 * values, marker="o", ms=3, color=f"C{k % 10}", ls="-" if k < 10 else "--", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("high-quality samples (%)")
    ax.legend(ncol=2, loc="upper left")
    fig.tight_layout()
    return fig


@styled
def plot_distance_to_centres(groups):
    """The share of samples within each distance of their nearest centre (log scale), pooled over
    the runs of each group at their last snapshot, beside the true mixture's; dotted lines at the
    bands of `measures.SPREAD_EDGES`. `groups`: {label: runs}."""
    from .data import GRID_STD
    from .measures import SPREAD_EDGES, nearest_centre

    fig, ax = plt.subplots(figsize=(MAX_WIDTH * 0.75, 3.4))
    r = np.logspace(-2.5, 0.5, 300)
    ax.plot(r, 100 * (1 - np.exp(-r ** 2 / (2 * GRID_STD ** 2))), "k--", label="the true mixture")
    for i, (label, runs) in enumerate(groups.items()):
        distance = np.sort(np.concatenate([nearest_centre(run.samples[-1])[0] for run in runs
                                           if run.status == "completed"]))
        ax.plot(r, 100 * np.searchsorted(distance, r, side="right") / len(distance), color=f"C{i}", label=label)
    for edge in SPREAD_EDGES:
        ax.axvline(edge, color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("distance to the nearest centre")
    ax.set_ylabel("samples within it (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


@styled
def plot_gradient_norms(runs, snapshot=-1, extent=None):
    """|grad_x D| over the plane at one snapshot, one panel per run (crosses: the centres), and the
    distribution of those norms (dashed: 1, the Lipschitz bound the Wasserstein dual asks for)."""
    from .measures import critic_on_plane

    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(MAX_WIDTH, MAX_WIDTH / (len(runs) + 1) + 0.9))
    for ax, run in zip(axes, runs):
        axis, _, norms = critic_on_plane(run.config, run.d_weights[snapshot], extent=extent, gradient=True)
        ax.imshow(norms, origin="lower", extent=[axis[0], axis[-1], axis[0], axis[-1]], cmap="magma")
        ax.plot(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], "c+", ms=4)
        ax.set_title(f"{run.config.case}\nepoch {run.snapshot_epochs[snapshot]}")
        ax.set_xticks([])
        ax.set_yticks([])
        axes[-1].hist(norms.ravel(), bins=np.logspace(-6, 2, 80), histtype="step", lw=1.5, label=run.config.case)
    axes[-1].set_xscale("log")
    axes[-1].axvline(1.0, ls="--", color="0.4", lw=1)
    axes[-1].set_xlabel("|∇ₓD|")
    axes[-1].set_yticks([])
    axes[-1].legend()
    fig.tight_layout()
    return fig


@styled
def plot_pull(runs, labels, snapshot=-1, arrows=12):
    """D's map at a snapshot, turned so that G descends it (`claims.descended_map`: G's samples are
    drawn to its dark parts), with the way it pushes a sample (-grad of that map; arrows of one
    length, for direction only), G's samples in white and the centres as crosses; one panel a run."""
    from .claims import descended_map

    fig, axes = plt.subplots(1, len(runs), figsize=(MAX_WIDTH, MAX_WIDTH / len(runs) + 0.6), squeeze=False)
    for ax, run, label in zip(axes[0], runs, labels):
        d_grid, extent = descended_map(run, snapshot), run.config.plot_extent
        draw_critic(ax, d_grid, extent, f"{label}\nepoch {run.snapshot_epochs[snapshot]}", run.samples[snapshot])
        d_dy, d_dx = np.gradient(d_grid)
        step = max(1, d_grid.shape[0] // arrows)
        axis = np.linspace(-extent, extent, d_grid.shape[0])[step // 2::step]
        u, v = -d_dx[step // 2::step, step // 2::step], -d_dy[step // 2::step, step // 2::step]
        length = np.hypot(u, v)
        length[~(length > 0)] = np.nan
        ax.quiver(axis, axis, u / length, v / length, color="tab:orange", angles="xy", scale_units="xy",
                  scale=1 / (0.6 * (axis[1] - axis[0])), width=0.007)
        ax.plot(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], "r+", ms=5)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------- claims
@styled
def plot_contour_shapes(maps, extent=6.0, columns=4):
    """D's contour maps with their tangential share (1: spokes, 0.5: a plane, 0: rings) and the share
    of directions in which they radiate (1: spokes, about 1/3: a plane or one band, 0: rings), one
    panel each ({title: d_grid})."""
    from .measures import radial_directions, tangential_share

    rows = -(-len(maps) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(MAX_WIDTH, rows * (MAX_WIDTH / columns + 0.7)), squeeze=False)
    for ax, (title, grid) in zip(axes.flat, maps.items()):
        draw_critic(ax, np.asarray(grid), extent)
        ax.set_title(f"{title}\nshare {tangential_share(grid, extent):.2f}, "
                     f"radial in {100 * radial_directions(grid, extent):.0f} %")
    for ax in axes.flat[len(maps):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def example_maps(side=101, extent=6.0):
    """Constructed D maps whose contours are spokes, parallel lines, rings and one steep band through
    the centre (for the measures)."""
    axis = np.linspace(-extent, extent, side)
    x, y = np.meshgrid(axis, axis, indexing="xy")
    return {"spokes: sin(5θ)": np.sin(5 * np.arctan2(y, x)), "parallel lines: x + y/2": x + 0.5 * y,
            "rings: |x|": np.hypot(x, y), "a band: tanh(5y)": np.tanh(5 * y)}
