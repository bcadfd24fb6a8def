"""The clip value, interactively: a kernel-free animation over the clip sweep and a JupyterLab explorer.

Two views of the same precomputed runs (the clip sweep of the run set `studies`: the success
case's settings with only the clip changed, `runsets.CLIP_SWEEP_VALUES`, from 0.001 to no
clipping, 200 epochs):

- `clip_animation_html(runs)`: a matplotlib `FuncAnimation` with one frame per clip value, written
  with `to_jshtml()`. Its slider and buttons are plain JavaScript over embedded PNG frames, so it
  works in the static site, where no kernel runs.
- `clip_explorer(runs)`: an ipywidgets box for JupyterLab. A `SelectionSlider` over the clip values
  (log-spaced, 'none' last) redraws the chosen run's last snapshot at once; a button trains a short
  live run of the same settings with the slider's clip (`train.StackTrainer`, tqdm progress bar)
  and shows its last snapshot below. It needs a running kernel: the static site shows the
  animation instead.

Each frame shows G's samples and D's contours at the run's last snapshot, with the clip value,
the epoch and the metrics (modes covered, high-quality fraction, W1) in its title.
"""
import io
import math

import ipywidgets as widgets
import numpy as np

from .cases import NO_CLIP_LABEL, clip_label
from .figures import draw_critic, draw_samples, offline_jshtml

def sort_by_clip(runs):
    """Runs ordered by clip value, unclipped runs last."""
    return sorted(runs, key=lambda r: (r.config.clip is None, r.config.clip or 0.0))


def clip_sweep_runs():
    """The stored clip sweep (the runs of the set `studies` named clip-*), sorted by clip; reads
    `results/` (or $WGAN_RESULTS) through `runsets.load`, training what is missing."""
    from .runsets import load

    return sort_by_clip([r for r in load("studies") if r.config.case.startswith("clip-")])


def _one_per_clip(runs):
    """`runs` sorted by clip, keeping the first run of each clip value."""
    seen, kept = set(), []
    for run in sort_by_clip(runs):
        label = clip_label(run.config.clip)
        if label not in seen:
            seen.add(label)
            kept.append(run)
    return kept


def last_snapshot(run):
    """(epoch, samples, d_grid, metrics) of a run's last snapshot, or None when it has none.

    Works for a stored run (`store.StoredRun`) and for a run just trained (`train.RunLog`).
    """
    if len(run.samples) == 0:
        return None
    return int(run.snapshot_epochs[-1]), np.asarray(run.samples[-1]), np.asarray(run.d_grid[-1]), run.metrics[-1]


def frame_title(run, prefix="clip"):
    """'clip 0.01, epoch 1000: 23 modes, 61% HQ, W1 0.31' (1-based epoch, as the post counts)."""
    head = f"{prefix} {clip_label(run.config.clip)}"
    snap = last_snapshot(run)
    if snap is None:
        return f"{head}: {run.status} before its first snapshot"
    epoch, _, _, metrics = snap
    if "modes" not in metrics:
        return f"{head}, epoch {epoch + 1}: samples not finite"
    modes = metrics["modes"]
    text = (f"{head}, epoch {epoch + 1}: {modes} mode{'' if modes == 1 else 's'}, {metrics['hq_fraction']:.0%} HQ, "
            f"W1 {metrics['w1']:.2f}")
    if run.status == "diverged":
        text += f" (diverged at epoch {run.failed_epoch + 1})"
    return text


def draw_frame(fig, axes, run, prefix="clip"):
    """Draw a run's last snapshot on two axes (G's samples, D's contours) with the title on `fig`."""
    for ax in axes:
        ax.clear()
    extent = run.config.plot_extent
    snap = last_snapshot(run)
    if snap is None:
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
    else:
        _, samples, d_grid, _ = snap
        finite = np.isfinite(samples).all(axis=1)
        draw_samples(axes[0], samples[finite], extent, title="G's samples")
        draw_critic(axes[1], d_grid, extent)
    fig.suptitle(frame_title(run, prefix), fontsize=9)


def _figure(figsize, dpi):
    """A figure outside pyplot (no inline display, no global state), with two square panels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    axes = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.82, wspace=0.08)
    return fig, axes


def render_png(run, figsize=(6.0, 3.3), dpi=70, prefix="clip"):
    """PNG bytes of `draw_frame` for one run."""
    fig, axes = _figure(figsize, dpi)
    draw_frame(fig, axes, run, prefix)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def clip_animation(runs, figsize=(6.0, 3.3), dpi=70, interval_ms=1200):
    """A FuncAnimation over `runs` sorted by clip: frame i is the i-th clip value's last snapshot."""
    from matplotlib.animation import FuncAnimation

    ordered = _one_per_clip(runs)
    fig, axes = _figure(figsize, dpi)
    anim = FuncAnimation(fig, lambda i: draw_frame(fig, axes, ordered[i]), frames=len(ordered),
                         interval=interval_ms, repeat=False)
    anim.clip_labels = [clip_label(r.config.clip) for r in ordered]
    return anim


def clip_animation_html(runs, figsize=(6.0, 3.3), dpi=70, interval_ms=1200):
    """The animation as self-contained HTML (`to_jshtml`): a slider that needs no kernel or network."""
    return offline_jshtml(clip_animation(runs, figsize, dpi, interval_ms).to_jshtml(default_mode="once"))


def _parse_clip(value):
    """A slider label, a number or None -> the canonical label."""
    if value is None:
        return NO_CLIP_LABEL
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("none", "off", "inf", "no clipping"):
            return NO_CLIP_LABEL
        value = float(text)
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"clip must be a positive number or None; got {value!r}")
    return clip_label(float(value))


class ClipExplorer(widgets.VBox):
    """The JupyterLab view; build it with `clip_explorer(runs)`.

    Attributes a caller (or a test) can drive: `slider` (a SelectionSlider over `labels`),
    `show(value)`, `current` (the clip shown, None for no clipping), `current_run`, `image`
    (its PNG bytes in `image.value`), `epochs` (IntText), `train_button`, `train_live(epochs)`,
    `last_live_run` (a `train.RunLog`) and `live_image`.
    """

    def __init__(self, runs, base_config=None, live_epochs=5, figsize=(6.0, 3.3), dpi=70, progress=True):
        ordered = _one_per_clip(runs)
        if not ordered:
            raise ValueError("clip_explorer needs at least one run")
        self.runs = {clip_label(run.config.clip): run for run in ordered}
        self.labels = list(self.runs)
        self.figsize, self.dpi, self.progress = figsize, dpi, progress
        # The live run copies the settings of the run at clip 0.1 (the success case), else of
        # the first run; only the clip, the epochs and the name change.
        if base_config is None:
            base_config = self.runs.get("0.1", ordered[0]).config
        self.base_config = base_config
        self._png = {}
        self.last_live_run = None

        start = "0.1" if "0.1" in self.runs else self.labels[0]
        self.slider = widgets.SelectionSlider(options=self.labels, value=start, description="clip",
                                              continuous_update=False,
                                              layout=widgets.Layout(width="420px"))
        self.image = widgets.Image(format="png")
        self.caption = widgets.HTML()
        self.epochs = widgets.IntText(value=live_epochs, description="epochs",
                                      layout=widgets.Layout(width="160px"))
        self.train_button = widgets.Button(description="Train a short live run", icon="play",
                                           layout=widgets.Layout(width="200px"))
        self.live_output = widgets.Output()
        # Hidden until a live run has something to show (an empty image is a broken one).
        self.live_image = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.live_caption = widgets.HTML()
        self.slider.observe(self._on_slider, names="value")
        self.train_button.on_click(lambda _: self.train_live(self.epochs.value))
        super().__init__([
            self.slider, self.caption, self.image,
            widgets.HBox([self.epochs, self.train_button]),
            self.live_output, self.live_caption, self.live_image,
        ])
        self._draw(start)

    # ------------------------------------------------------------ the precomputed sweep
    def _on_slider(self, change):
        self._draw(change["new"])

    def _draw(self, label):
        run = self.runs[label]
        if label not in self._png:
            self._png[label] = render_png(run, self.figsize, self.dpi)
        self.image.value = self._png[label]
        self.caption.value = f"<b>{frame_title(run)}</b> &mdash; stored run <code>{run.name}</code>"
        self._label = label

    def show(self, value):
        """Display the stored run for clip `value` (a number, a label such as '0.01', or None)."""
        label = _parse_clip(value)
        if label not in self.runs:
            raise ValueError(f"no stored run for clip {label}; stored: {', '.join(self.labels)}")
        if self.slider.value != label:
            self.slider.value = label  # the observer redraws
        else:
            self._draw(label)
        return self

    @property
    def current_label(self):
        return self._label

    @property
    def current(self):
        """The clip value displayed (None: no clipping)."""
        return self.current_run.config.clip

    @property
    def current_run(self):
        return self.runs[self._label]

    # ------------------------------------------------------------ a live run
    def live_config(self, epochs, clip):
        """The base settings with clip `clip` (None: no clipping) and `epochs` epochs."""
        return self.base_config.replace(case=f"live-clip-{clip_label(clip)}", clip=clip, epochs=int(epochs),
                                        snapshot_epochs=())

    def train_live(self, epochs=None, clip="slider"):
        """Train the base settings for `epochs` epochs with the slider's clip; show and return the RunLog."""
        from .train import StackTrainer

        epochs = self.epochs.value if epochs is None else int(epochs)
        if epochs < 1:
            self.live_caption.value = "<b>epochs must be at least 1</b>"
            return None
        value = self.current if clip == "slider" else clip
        config = self.live_config(epochs, value)
        self.train_button.disabled = True
        self.live_caption.value = f"training {epochs} epoch(s) with clip {clip_label(config.clip)} ..."
        try:
            self.live_output.clear_output()
            with self.live_output:
                trainer = StackTrainer([config], progress=self.progress)
                trainer.train()
        finally:
            self.train_button.disabled = False
        log = trainer.logs[0]
        self.last_live_run = log
        self.live_image.value = render_png(log, self.figsize, self.dpi, prefix="live run, clip")
        self.live_image.layout.display = None
        self.live_caption.value = (f"<b>{frame_title(log, 'live run, clip')}</b> &mdash; "
                                   f"{trainer.wall_time:.1f} s of training")
        return log


def clip_explorer(runs, base_config=None, live_epochs=5, figsize=(6.0, 3.3), dpi=70, progress=True):
    """An ipywidgets box over `runs` (stored runs differing in clip); see `ClipExplorer`."""
    return ClipExplorer(runs, base_config, live_epochs, figsize, dpi, progress)
