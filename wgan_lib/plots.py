"""Figures and tables the chapters share.

Every function takes stored runs (`store.StoredRun`), cases (`cases.Case`) or arrays and returns a
matplotlib Figure, a `Table` (shown as HTML in a notebook, as Markdown by `str`), a string of HTML
or plain numbers, so that a chapter is narrative and short calls. `show` displays any mix of them
in order (and closes the figures it shows).

Conventions: `run.d_grid[k][i, j]` is D at x = axis[j], y = axis[i] with axis = linspace(-extent,
extent, side) (the trainer's `plot_grid`, meshgrid indexing "xy"); D follows the post's Keras code
(WGAN: real points low, fake points high; standard GAN: logits, real high).
"""
import html
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse, Rectangle

from .cases import CASES, clip_label, run_succeeded, succeeded
from .data import GRID_CENTERS

# D's contour range (min, max) in the post's successful run without clipping ("run 2"), read from
# the table under "クリッピングの省略" of the 2017-12-03 blog post "WGAN" (reference.md section 1).
# Keys are the post's 0-based epochs; the values are the post's rounded contour levels, not exact
# extrema, over its own plotting area.
POST_NO_CLIP_D_RANGE = {
    100: (0, 600), 200: (-4000, 2000), 300: (-16000, 12000), 400: (-30000, 40000), 500: (-60000, 60000),
    600: (-100000, 50000), 700: (-120000, 90000), 800: (-160000, 120000), 900: (-200000, 100000),
    999: (-180000, 120000),
}

# Published numbers on the 2-D grid of 25 Gaussians (reference.md section 5): mean over several runs
# (5 to 10) in each paper, with other networks, optimisers and schedules than ours.
# (modes covered of 25, % high-quality samples, reverse KL; None where the paper gives no number).
PUBLISHED_RESULTS = {
    "PacGAN (Lin et al. 2018), Table 1": {
        "GAN": (17.3, 94.8, 0.70), "ALI": (24.1, 95.7, 0.14), "PacGAN2": (23.8, 91.3, 0.13),
        "PacGAN3": (24.6, 94.2, 0.06), "PacGAN4": (24.8, 93.6, 0.04),
    },
    "VEEGAN (Srivastava et al. 2017), Table 1": {
        "GAN": (3.3, 0.5, None), "ALI": (15.8, 1.6, None), "Unrolled GAN": (23.6, 16.0, None),
        "VEEGAN": (24.6, 40.0, None),
    },
}

DASH = "—"


# ----------------------------------------------------------------------------------------- tables
class Table:
    """A small table: `rows` of cells under `header`. Notebooks show it as HTML; `str` gives Markdown."""

    def __init__(self, header, rows, caption=None):
        self.header = [str(h) for h in header]
        self.rows = [[DASH if c is None else str(c) for c in row] for row in rows]
        self.caption = caption

    def markdown(self):
        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

        out = [line(self.header), "|" + "---|" * len(self.header)] + [line(r) for r in self.rows]
        if self.caption:
            out = [self.caption, ""] + out
        return "\n".join(out)

    __str__ = __repr__ = markdown

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in self.rows)
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        return f'<table class="wgan-table">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def column(self, name):
        """The cells of one column, by header name (for tests and checks)."""
        k = self.header.index(name)
        return [r[k] for r in self.rows]


def show(*items):
    """Display figures, tables and text in order; a str is shown as Markdown; figures are closed."""
    from IPython.display import Markdown, display

    for item in items:
        if isinstance(item, plt.Figure):
            display(item)
            plt.close(item)
        elif isinstance(item, str):
            display(Markdown(item))
        else:
            display(item)


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return format(value, spec)


# ------------------------------------------------------------------------------------ primitives
def draw_samples(ax, samples, extent=6.0, title=None):
    """G's samples as dots over the plotted square, with the 25 true centres as crosses."""
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:blue", rasterized=True)
    ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=30, color="black", linewidths=0.8)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def draw_critic(ax, d_grid, extent=6.0, title=None, samples=None, levels=15):
    """D's output over the plotted square as filled contours (with its min and max in the title)."""
    side = d_grid.shape[0]
    axis = np.linspace(-extent, extent, side)
    finite = np.isfinite(d_grid)
    if finite.any():
        cs = ax.contourf(axis, axis, np.where(finite, d_grid, np.nan), levels=levels, cmap="viridis")
        ax.contour(axis, axis, np.where(finite, d_grid, np.nan), levels=cs.levels, colors="k", linewidths=0.2)
    if samples is not None:
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.3, color="white", rasterized=True)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is None and finite.any():
        title = f"D: [{np.nanmin(d_grid):.3g}, {np.nanmax(d_grid):.3g}]"
    if title:
        ax.set_title(title, fontsize=9)


def sigmoid(x):
    """The logistic function, overflow-safe: turns a standard GAN's logits into P(real)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


# ------------------------------------------------------------------------------------- snapshots
def epochs_from(run, start=100):
    """The run's snapshot epochs >= `start` (the post's figures begin at epoch 100); all if none are."""
    epochs = [int(e) for e in run.snapshot_epochs]
    later = [e for e in epochs if e >= start]
    return later or epochs


def snapshot(run, epoch):
    """(samples, d_grid, metrics) of the snapshot at `epoch`; KeyError if the run has none there."""
    epochs = [int(e) for e in run.snapshot_epochs]
    if epoch not in epochs:
        raise KeyError(f"{run.name}: no snapshot at epoch {epoch}; snapshots: {epochs}")
    k = epochs.index(epoch)
    metrics = next((m for m in run.metrics if m.get("epoch") == epoch), {})
    return run.samples[k], run.d_grid[k], metrics


def _critic_grid(run, d_grid, d_view):
    if d_view == "sigmoid" or (d_view == "auto" and run.config.loss == "standard"):
        return sigmoid(d_grid), "sigmoid(D)"
    return d_grid, "D"


def _range_title(label, grid, sep=": "):
    finite = grid[np.isfinite(grid)]
    return f"{label}{sep}[{finite.min():.3g}, {finite.max():.3g}]" if finite.size else f"{label}{sep}not finite"


def _g_title(epoch, metrics):
    if "modes" in metrics:
        return f"G, epoch {epoch}\n{metrics['modes']} modes, HQ {100 * metrics['hq_fraction']:.0f}%"
    return f"G, epoch {epoch}"


def plot_run_grid(run, epochs=None, d_view="auto", panel=1.8, columns=5):
    """G's samples (upper row) and D's contours (lower row) at each of `epochs` (default: `epochs_from`),
    wrapped into blocks of at most `columns` epochs. Returns a Figure with 2 * len(epochs) axes.

    `d_view`: "auto" shows sigmoid(D) for a standard GAN (D gives logits) and D itself otherwise;
    "raw" always D; "sigmoid" always sigmoid(D).
    """
    epochs = epochs_from(run) if epochs is None else list(epochs)
    extent = run.config.plot_extent
    ncols = min(columns, len(epochs))
    blocks = -(-len(epochs) // ncols)
    fig, axes = plt.subplots(2 * blocks, ncols, figsize=(panel * ncols + 0.4, blocks * (2 * panel + 0.9) + 0.3),
                             squeeze=False)
    for k, epoch in enumerate(epochs):
        row, col = 2 * (k // ncols), k % ncols
        samples, d_grid, metrics = snapshot(run, epoch)
        grid, label = _critic_grid(run, d_grid, d_view)
        draw_samples(axes[row, col], samples, extent, _g_title(epoch, metrics))
        draw_critic(axes[row + 1, col], grid, extent, _range_title(f"{label}, epoch {epoch}", grid, "\n"))
    for k in range(len(epochs), blocks * ncols):
        fig.delaxes(axes[2 * (k // ncols), k % ncols])
        fig.delaxes(axes[2 * (k // ncols) + 1, k % ncols])
    fig.suptitle(run.name, fontsize=10)
    fig.tight_layout()
    return fig


def plot_snapshot_pairs(run, epochs=None, d_view="auto", panel=2.6):
    """The post's success figure: one row per snapshot epoch, G's samples left and D's contours right."""
    epochs = epochs_from(run) if epochs is None else list(epochs)
    extent = run.config.plot_extent
    fig, axes = plt.subplots(len(epochs), 2, figsize=(2 * panel, panel * len(epochs) + 0.3), squeeze=False)
    for row, epoch in enumerate(epochs):
        samples, d_grid, metrics = snapshot(run, epoch)
        grid, label = _critic_grid(run, d_grid, d_view)
        draw_samples(axes[row, 0], samples, extent, _g_title(epoch, metrics).replace("\n", ": "))
        draw_critic(axes[row, 1], grid, extent, _range_title(f"{label}, epoch {epoch}", grid))
    fig.tight_layout()
    return fig


def animate_run(run, d_view="auto", figsize=(7, 3.5), dpi=70):
    """A scrubbable animation (one frame per snapshot) of G and D, as self-contained HTML.

    Uses FuncAnimation.to_jshtml(): the frames are embedded as base64 PNGs with the player's
    JavaScript inline, so the page needs nothing from another host. Display it with
    IPython.display.HTML.
    """
    from matplotlib.animation import FuncAnimation

    epochs = [int(e) for e in run.snapshot_epochs]
    extent = run.config.plot_extent
    fig, (ax_g, ax_d) = plt.subplots(1, 2, figsize=figsize, dpi=dpi)

    def frame(k):
        samples, d_grid, metrics = snapshot(run, epochs[k])
        grid, label = _critic_grid(run, d_grid, d_view)
        ax_g.clear()
        ax_d.clear()
        draw_samples(ax_g, samples, extent, _g_title(epochs[k], metrics).replace("\n", ": "))
        draw_critic(ax_d, grid, extent, _range_title(label, grid))
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
def _as_list(runs, labels):
    runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    labels = [r.name for r in runs] if labels is None else list(labels)
    return runs, labels


def plot_metrics(runs, labels=None):
    """Modes covered, % high quality, reverse KL and W1 against snapshot epoch, one line per run."""
    runs, labels = _as_list(runs, labels)
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.8))
    specs = [("modes", "modes covered (of 25)", 1), ("hq_fraction", "high-quality samples (%)", 100),
             ("reverse_kl", "reverse KL (nats)", 1), ("w1", "W1 to the data", 1)]
    for run, label in zip(runs, labels):
        epochs = [m["epoch"] for m in run.metrics]
        for ax, (key, _, scale) in zip(axes, specs):
            ax.plot(epochs, scale * run.metric(key), marker="o", ms=3, label=label)
    for ax, (key, title, _) in zip(axes, specs):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0].axhline(20, color="grey", lw=0.8, ls="--")
    axes[1].axhline(50, color="grey", lw=0.8, ls="--")
    if len(runs) > 1:
        axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_epoch_logs(runs, labels=None, symlog=False):
    """Per-epoch curves: D loss, G loss and D's min and max over the plotted square, one colour per run."""
    runs, labels = _as_list(runs, labels)
    fig, axes = plt.subplots(1, 3, figsize=(12, 2.8))
    for k, (run, label) in enumerate(zip(runs, labels)):
        color = f"C{k % 10}"
        logs = run.epoch_logs
        axes[0].plot(np.arange(len(logs["d_loss"])), logs["d_loss"], color=color, lw=0.8, label=label)
        axes[1].plot(np.arange(len(logs["g_loss"])), logs["g_loss"], color=color, lw=0.8, label=label)
        axes[2].plot(np.arange(len(logs["d_max"])), logs["d_max"], color=color, lw=0.8, label=f"{label} max")
        axes[2].plot(np.arange(len(logs["d_min"])), logs["d_min"], color=color, lw=0.8, ls="--",
                     label=f"{label} min")
    for ax, title in zip(axes, ["D loss", "G loss", "D's min (dashed) and max on the square"]):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=8)
        if symlog:
            ax.set_yscale("symlog", linthresh=1.0)
    if len(runs) > 1:
        axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_d_range(runs, labels=None, post=POST_NO_CLIP_D_RANGE):
    """D's min and max on the plotted square per epoch (symlog scale), with the post's values as dots."""
    runs, labels = _as_list(runs, labels)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, (run, label) in enumerate(zip(runs, labels)):
        color = f"C{k % 10}"
        ax.plot(run.epoch_logs["d_max"], color=color, lw=1, label=f"{label}: max")
        ax.plot(run.epoch_logs["d_min"], color=color, lw=1, ls="--", label=f"{label}: min")
    if post:
        epochs = sorted(post)
        ax.scatter(epochs, [post[e][1] for e in epochs], color="black", marker="^", s=18, label="post: max")
        ax.scatter(epochs, [post[e][0] for e in epochs], color="black", marker="v", s=18, label="post: min")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("D on the square")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- target figure
def plot_target(points, gmm, max_points=20000, zoom=(0.0, 0.0)):
    """The post's "Gaussian Mixture" figure: data points coloured by the fitted GMM component, with
    each component's mean (x) and 2-standard-deviation ellipse. A second panel magnifies the centre
    `zoom` (None: no second panel), where the ellipses are visible."""
    points = np.asarray(points)
    shown = points[np.linspace(0, len(points) - 1, min(len(points), max_points)).astype(int)]
    labels = gmm.predict(shown)
    if zoom is None:
        fig, ax = plt.subplots(figsize=(5, 5))
        targets = [ax]
    else:
        fig, targets = plt.subplots(1, 2, figsize=(8, 5), gridspec_kw={"width_ratios": [5, 3]})
        ax = targets[0]
    for target in targets:
        target.scatter(shown[:, 0], shown[:, 1], c=labels % 20, cmap="tab20", vmin=0, vmax=19, s=1, alpha=0.5,
                       rasterized=True)
        for k, (mean, cov) in enumerate(zip(gmm.means_, gmm.covariances_)):
            values, vectors = np.linalg.eigh(cov)
            angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
            w, h = 2 * 2 * np.sqrt(np.maximum(values[::-1], 0))
            target.add_patch(Ellipse(mean, w, h, angle=angle, fill=False, color="black", lw=0.8))
        target.scatter(gmm.means_[:, 0], gmm.means_[:, 1], marker="x", color="black", s=20, lw=0.8)
        target.set_aspect("equal")
    ax.set_xlim(-6, 6)
    ax.set_ylim(-6, 6)
    ax.set_title(f"Gaussian mixture: {len(gmm.means_)} components fitted to {len(points)} points", fontsize=9)
    if zoom is not None:
        near = targets[1]
        near.set_xlim(zoom[0] - 0.3, zoom[0] + 0.3)
        near.set_ylim(zoom[1] - 0.3, zoom[1] + 0.3)
        near.set_title(f"around ({zoom[0]:g}, {zoom[1]:g}): one component, 2-sd ellipse", fontsize=9)
        ax.indicate_inset_zoom(near, edgecolor="grey")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------- verdicts
def post_succeeded(case):
    """True / False for the post's outcome of `case` (a Case or its name); None when not in the post."""
    case = CASES[case] if isinstance(case, str) else case
    outcome = case.post_outcome
    if outcome.startswith("succeeded"):
        return True
    if outcome.startswith("failed"):
        return False
    return None


def verdict(run, case=None):
    """One sentence, computed: did our run end the way the post's did ("matches" / "differs")?"""
    case = CASES[case or run.config.case] if not hasattr(case, "post_outcome") else case
    ours = run_succeeded(run)
    m = run.final_metrics
    detail = (f"at epoch {m.get('epoch')}: {m.get('modes', DASH)} of 25 modes, "
              f"{_fmt(100 * m['hq_fraction'] if 'hq_fraction' in m else None, '.1f')}% high quality"
              if m else "no snapshot")
    if run.status == "diverged":
        detail += f"; diverged at epoch {run.failed_epoch} ({run.reason})"
    word = "succeeded" if ours else "failed"
    post = post_succeeded(case)
    if post is None:
        return f"**{case.name}: ours {word}** ({detail}); the post has no such run."
    head = "matches the post" if ours == post else "differs from the post"
    return (f"**{case.name}: {head}.** The post's run {'succeeded' if post else 'failed'}; "
            f"ours {word} ({detail}).")


def settings_table(cases_or_runs):
    """One row per case: loss, lr, decay, n_critic, clip and the post's outcome."""
    rows = []
    for item in cases_or_runs:
        if hasattr(item, "settings"):
            name, cfg, outcome = item.name, item.config(), item.post_outcome
        else:
            cfg = item.config
            name, outcome = cfg.case, CASES[cfg.case].post_outcome if cfg.case in CASES else DASH
        rows.append([name, cfg.loss, f"{cfg.lr:g}", f"{cfg.decay:g}", cfg.n_critic, clip_label(cfg.clip),
                     cfg.seed, outcome])
    return Table(["case", "loss", "lr", "decay", "n_critic", "clip", "seed", "outcome in the post"], rows)


def metrics_table(run):
    """The run's metrics at every snapshot: modes, % high quality, reverse KL, W1."""
    rows = [[m.get("epoch"), m.get("modes"), _fmt(100 * m["hq_fraction"] if "hq_fraction" in m else None, ".1f"),
             _fmt(m.get("reverse_kl"), ".3f"), _fmt(m.get("w1"), ".3f")] for m in run.metrics]
    return Table(["epoch", "modes", "HQ %", "reverse KL", "W1"], rows)


def outcome_table(runs, labels=None):
    """One row per run: status, final modes, HQ %, reverse KL, W1 and whether it succeeded."""
    runs, labels = _as_list(runs, labels)
    rows = []
    for run, label in zip(runs, labels):
        m = run.final_metrics
        rows.append([label, run.config.seed, run.status, m.get("epoch"), m.get("modes"),
                     _fmt(100 * m["hq_fraction"] if "hq_fraction" in m else None, ".1f"),
                     _fmt(m.get("reverse_kl"), ".3f"), _fmt(m.get("w1"), ".3f"),
                     "yes" if run_succeeded(run) else "no"])
    return Table(["run", "seed", "status", "last epoch", "modes", "HQ %", "reverse KL", "W1", "succeeded"], rows)


def no_clip_summary(search_runs, failing_run, succeeding_run):
    """The no-clipping search in words, computed: how many seeds succeeded, and whether the two runs
    standing for the post's (no-clip-1 should fail, no-clip-2 succeed) did; if not, which seeds would."""
    ok = [r.config.seed for r in search_runs if run_succeeded(r)]
    bad = [r.config.seed for r in search_runs if not run_succeeded(r)]
    n = len(search_runs)
    def seeds(values):
        return f" (seeds {values})" if values else ""

    schedule = sorted({r.config.epochs for r in search_runs})
    lines = [f"Seeds tried without clipping: {n}, trained for {' or '.join(map(str, schedule))} epochs; "
             f"succeeded: {len(ok)}{seeds(ok)}; failed: {len(bad)}{seeds(bad)}."]
    for run, want in ((failing_run, False), (succeeding_run, True)):
        got = run_succeeded(run)
        role = "the post's failing run 1" if not want else "the post's succeeding run 2"
        if got == want:
            lines.append(f"{run.config.case} (seed {run.config.seed}, {run.config.epochs} epochs) stands for {role} and "
                         f"{'succeeded' if got else 'failed'}, as the post's did.")
        else:
            pool = ok if want else bad
            lines.append(f"{run.config.case} (seed {run.config.seed}, {run.config.epochs} epochs) stands for {role} but "
                         f"{'succeeded' if got else 'failed'}, unlike the post's; "
                         + (f"search seeds that would have {'succeeded' if want else 'failed'} (on the search's schedule): {pool}."
                            if pool else f"no search seed {'succeeded' if want else 'failed'}."))
    return "\n\n".join(lines)


def d_range_table(run, post=POST_NO_CLIP_D_RANGE, epochs=None):
    """D's min and max on the plotted square at each snapshot epoch >= 100 (all if fewer), beside the
    post's (min, max) where the post gives that epoch."""
    epochs = epochs_from(run) if epochs is None else list(epochs)
    lo, hi = run.epoch_logs["d_min"], run.epoch_logs["d_max"]
    rows = []
    for e in epochs:
        ours = (lo[e], hi[e]) if e < len(lo) else (None, None)
        theirs = post.get(e, (None, None))
        rows.append([e, _fmt(ours[0], ".4g"), _fmt(ours[1], ".4g"), theirs[0], theirs[1]])
    return Table(["epoch", "our min", "our max", "post min", "post max"], rows)


# ------------------------------------------------------------------------------------------ drift
def drift_stats(samples, extent=6.0):
    """Where G's samples are: per snapshot (samples of shape (S, N, 2), or one (N, 2) set) the mean
    point, the spread (root-mean-square distance from that mean) and the fraction of samples outside
    the plotted square [-extent, extent]^2 (a non-finite sample counts as outside)."""
    samples = np.asarray(samples, dtype=np.float64)
    single = samples.ndim == 2
    samples = samples[None] if single else samples
    out = []
    for s in samples:
        finite = np.isfinite(s).all(1)
        f = s[finite]
        mean = f.mean(0) if len(f) else np.array([np.nan, np.nan])
        spread = float(np.sqrt(((f - mean) ** 2).sum(1).mean())) if len(f) else float("nan")
        inside = finite & (np.abs(np.where(np.isfinite(s), s, np.inf)) <= extent).all(1)
        out.append({"mean": (float(mean[0]), float(mean[1])), "spread": spread,
                    "outside": float(1.0 - inside.mean())})
    return out[0] if single else out


def drift_table(run):
    """`drift_stats` at every snapshot of a run, as a table."""
    stats = drift_stats(run.samples, run.config.plot_extent)
    rows = [[int(e), f"({_fmt(s['mean'][0], '.3g')}, {_fmt(s['mean'][1], '.3g')})", _fmt(s["spread"], ".3g"),
             _fmt(100 * s["outside"], ".1f")] for e, s in zip(run.snapshot_epochs, stats)]
    return Table(["epoch", "mean (x, y)", "spread (RMS)", f"% outside [-{run.config.plot_extent:g}, "
                                                         f"{run.config.plot_extent:g}]²"], rows)


def plot_drift(run, epochs=None, panel=2.0, columns=5):
    """G's samples at each snapshot (rows of at most `columns` panels) on axes wide enough to hold them
    all, with the plotted square (dashed) and the 25 centres, to show where G went."""
    epochs = [int(e) for e in run.snapshot_epochs] if epochs is None else list(epochs)
    extent = run.config.plot_extent
    ncols = min(columns, len(epochs))
    nrows = -(-len(epochs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols + 0.4, (panel + 0.5) * nrows + 0.1), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(epochs):
            fig.delaxes(ax)
            continue
        samples, _, _ = snapshot(run, epochs[k])
        finite = samples[np.isfinite(samples).all(1)]
        reach = max(extent, float(np.abs(finite).max()) if len(finite) else extent) * 1.1
        ax.scatter(finite[:, 0], finite[:, 1], s=2, alpha=0.4, rasterized=True)
        ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=10, color="black", lw=0.6)
        ax.add_patch(Rectangle((-extent, -extent), 2 * extent, 2 * extent, fill=False, ls="--", color="grey"))
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        ax.set_title(f"epoch {epochs[k]}", fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------- comparison
def comparison_table(runs):
    """Every run's last snapshot: status, modes, HQ %, reverse KL, W1, and its outcome beside the post's."""
    rows = []
    for run in runs:
        m = run.final_metrics
        case = CASES.get(run.config.case)
        post = post_succeeded(case) if case else None
        ours = run_succeeded(run)
        rows.append([run.config.case, run.status, m.get("epoch"), m.get("modes"),
                     _fmt(100 * m["hq_fraction"] if "hq_fraction" in m else None, ".1f"),
                     _fmt(m.get("reverse_kl"), ".3f"), _fmt(m.get("w1"), ".3f"),
                     "succeeded" if ours else "failed",
                     DASH if post is None else ("succeeded" if post else "failed"),
                     DASH if post is None else ("matches" if ours == post else "differs")])
    return Table(["case", "status", "last epoch", "modes", "HQ %", "reverse KL", "W1", "ours",
                  "post", "agreement"], rows)


def published_table(published=PUBLISHED_RESULTS):
    """The published 2-D grid numbers (mean over each paper's runs), one row per method and source."""
    rows = []
    for source, methods in published.items():
        for method, (modes, hq, rkl) in methods.items():
            rows.append([method, f"{modes:g}", f"{hq:g}", None if rkl is None else f"{rkl:g}", source])
    return Table(["method", "modes", "HQ %", "reverse KL", "source"], rows)


# ------------------------------------------------------------------------------ stored-run folders
def stored_runs(folder, exclude=("network-size",)):
    """Every run folder (one holding run.json) directly under `folder`, skipping dot-folders and
    `exclude`: a list of (path, run or None, status) with status 'ok', 'stale' or 'damaged: ...'.
    Nothing raises for a damaged run."""
    from .store import RUN_JSON, RunFileError, load_run

    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir()):
        if path.name.startswith(".") or path.name in exclude or not (path / RUN_JSON).exists():
            continue
        try:
            run = load_run(path, warn_stale=False)
        except RunFileError as err:
            out.append((path, None, f"damaged: {err}"))
            continue
        out.append((path, run, "stale" if run.stale else "ok"))
    return out


def _time_cells(run):
    p = run.provenance
    wall, stack = p.get("wall_time_s"), p.get("stack_size")
    share = wall / stack if wall is not None and stack else None
    return wall, stack, share


def provenance_table(entries):
    """One row per stored run (from `stored_runs`): case, seed, status, commit, device, wall time, stack
    size, stale? A damaged run gets a row that says so and why."""
    rows = []
    for path, run, status in entries:
        if run is None:
            rows.append([path.name, None, None, "damaged", None, None, None, None, status])
            continue
        p = run.provenance
        wall, stack, _ = _time_cells(run)
        commit = p.get("git_commit")
        rows.append([path.name, run.config.case, run.config.seed, run.status, commit[:12] + ("-dirty" if
                     commit.endswith("-dirty") else "") if commit else None, p.get("device"),
                     _fmt(wall, ".0f"), stack, "yes" if status == "stale" else "no"])
    return Table(["run", "case", "seed", "status", "commit", "device", "wall time (s)", "stack size", "stale?"],
                 rows)


def group_provenance_table(groups):
    """One row per group of stored runs ({label: entries from `stored_runs`}): how many runs are
    current, stale or damaged, the commits and devices that made them, their epochs, and the wall
    time of their stacks (each distinct stack counted once; stacks trained side by side overlap)."""
    rows = []
    for label, entries in groups.items():
        runs = [run for _, run, _ in entries if run is not None]
        count = {key: sum(status.startswith(key) for _, _, status in entries) for key in ("ok", "stale", "damaged")}
        stacks = {(r.provenance.get("git_commit"), r.provenance.get("wall_time_s"), r.provenance.get("stack_size"))
                  for r in runs}
        commits = sorted({(c or "?")[:12] for c, _, _ in stacks})
        devices = sorted({r.provenance.get("device") or "?" for r in runs})
        epochs = sorted({r.config.epochs for r in runs})
        wall = sum(w for _, w, _ in stacks if w is not None)
        rows.append([label, len(entries), count["ok"], count["stale"], count["damaged"],
                     ", ".join(map(str, epochs)), ", ".join(commits), "; ".join(devices), len(stacks),
                     _fmt(wall / 60, ".1f")])
    return Table(["runs", "stored", "current", "stale", "damaged", "epochs", "commit", "device", "stacks",
                  "stack wall time (min)"], rows)


def network_size_table(entries):
    """The network-size measurement (runs named size-w{W}-d{D}-{loss}-seed{S}, from `stored_runs`):
    width, depth, loss, seed, modes and HQ % at the last snapshot, and the run's share of its stack's
    wall time (wall_time_s / stack_size; time per iteration is not stored per run)."""
    import re

    rows = []
    for path, run, status in entries:
        match = re.match(r"size-w(\d+)-d(\d+)-(.+)-seed(\d+)$", path.name)
        if run is None:
            rows.append([path.name, None, None, None, None, None, None, status])
            continue
        if not match:
            continue
        width, depth, loss, seed = match.groups()
        m = run.final_metrics
        _, _, share = _time_cells(run)
        rows.append([int(width), int(depth), loss, int(seed), m.get("epoch"), m.get("modes"),
                     _fmt(100 * m["hq_fraction"] if "hq_fraction" in m else None, ".1f"), _fmt(share, ".0f")])
    rows.sort(key=lambda r: tuple((0, c) if isinstance(c, int) else (1, str(c)) for c in r[:4]))
    return Table(["width", "depth", "loss", "seed", "last epoch", "modes", "HQ %", "wall time / stack size (s)"],
                 rows)
