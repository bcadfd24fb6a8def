"""What weight clipping does to the critic: D's weights over training, and D's gradient over the plane.

The WGAN-GP paper (arXiv 1704.00028, its Fig. 1) reports two effects of clipping: the weights pile
up at the clip values +-c, and the clipped critic learns an overly simple function whose gradient
is far from the norm 1 the Wasserstein dual asks for. `python -m wgan_lib sweep critic` trains the
cases in CRITIC_CASES once more, recording D's weights at every snapshot, and stores each as a
normal run folder (in `results/critic/`) plus `d_weights.npz` with the weights; `load_critic`
reads them back, checked against the sha256 that `d_weights.json` records.
"""
import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from .cases import CASES
from .models import discriminator_sizes, stacked_forward
from .store import (RunFileError, _sha256, code_fingerprint, load_run, provenance, replace_json, run_name,
                    save_run)

# The success case and a failing one with a tighter clip, against the fix without clipping.
CRITIC_CASES = ("success", "failure-2", "wgan-gp")
# A shorter schedule than the post's: the three runs cost about 8 s an epoch on the shared 2-core
# machine (WGAN-GP's double backward is most of it), 2.2 hours for 1000 epochs. Snapshots every
# 20 epochs show how the weights move.
CRITIC_EPOCHS = 200
CRITIC_SNAPSHOT_EVERY = 20
WEIGHTS_NPZ = "d_weights.npz"
WEIGHTS_JSON = "d_weights.json"


def critic_dir(results_dir):
    return Path(results_dir) / "critic"


def critic_configs(**changes):
    schedule = {"epochs": CRITIC_EPOCHS, "snapshot_every": CRITIC_SNAPSHOT_EVERY, **changes}
    return [CASES[name].config(**schedule) for name in CRITIC_CASES]


def train_critic_study(results_dir, device="cpu", epochs=None, progress=True):
    """Train CRITIC_CASES in one stack, recording D's weights at every snapshot; store each run."""
    from .train import StackTrainer

    configs = critic_configs(**({} if epochs is None else {"epochs": epochs}))
    trainer = StackTrainer(configs, device=device, progress=progress)
    weights = [[] for _ in configs]

    def record_weights(t):
        finished = t.epoch - 1
        for e, (log, recorded) in enumerate(zip(t.logs, weights)):
            # A snapshot was just taken for this run (a diverged run takes none).
            if log.snapshot_epochs and log.snapshot_epochs[-1] == finished and len(recorded) < len(log.snapshot_epochs):
                recorded.append(t.nets["d"]["flat"][e].detach().cpu().numpy().copy())

    trainer.train(on_epoch=record_weights)
    info = provenance(device, trainer.wall_time, trainer.n_runs)
    out = critic_dir(results_dir)
    folders = []
    for log, recorded in zip(trainer.logs, weights):
        folder = save_run(log, out, info)
        _save_weights(folder, np.stack(recorded).astype(np.float32), np.asarray(log.snapshot_epochs, dtype=np.int64))
        folders.append(folder)
    return folders


def _save_weights(folder, flat, epochs):
    tmp = folder / f".{WEIGHTS_NPZ}.tmp-{os.getpid()}.npz"
    np.savez_compressed(tmp, flat=flat, snapshot_epochs=epochs)
    record = {"sha256": _sha256(tmp), "code_fingerprint": code_fingerprint()}
    os.replace(tmp, folder / WEIGHTS_NPZ)
    replace_json(folder / WEIGHTS_JSON, record)


def _d_shapes(config):
    """The shapes of D's parameters [W_0, b_0, W_1, ...] in the order of the trainer's flat buffer."""
    sizes = discriminator_sizes(config)
    return [s for fan_in, fan_out in zip(sizes[:-1], sizes[1:]) for s in ((fan_in, fan_out), (fan_out,))]


class CriticRun:
    """A stored run of the critic study: the run itself and D's weights at each of its snapshots."""

    def __init__(self, run, flat):
        self.run, self.flat = run, flat
        self.config = run.config
        self.snapshot_epochs = run.snapshot_epochs

    @property
    def name(self):
        return self.config.case

    def layers(self, snapshot):
        """[W_0, b_0, W_1, ...] of D at snapshot index `snapshot`, as numpy arrays (W: fan_in x fan_out)."""
        shapes = _d_shapes(self.config)
        parts = np.split(self.flat[snapshot], np.cumsum([math.prod(s) for s in shapes])[:-1])
        return [part.reshape(shape) for part, shape in zip(parts, shapes)]

    def fraction_at_clip(self, snapshot, rel_tol=1e-3):
        """Fraction of D's parameters within rel_tol * c of +-c (NaN without clipping)."""
        clip = self.config.clip
        if clip is None:
            return math.nan
        return float(np.mean(np.abs(self.flat[snapshot]) >= clip * (1 - rel_tol)))

    def gradient_norm(self, snapshot, extent=None, resolution=None):
        """|grad_x D(x)| on a resolution x resolution grid over [-extent, extent]^2; (grid, norms)."""
        extent = self.config.plot_extent if extent is None else extent
        resolution = self.config.plot_resolution if resolution is None else resolution
        # In float64: the gradient of a clipped critic is a small difference of larger terms, and
        # float32 loses about 0.1 % of it (measured against finite differences).
        axis = torch.linspace(-extent, extent, resolution, dtype=torch.float64)
        xs, ys = torch.meshgrid(axis, axis, indexing="xy")
        points = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).requires_grad_()
        params = [torch.from_numpy(p).double().reshape(1, *p.shape) if p.ndim == 2
                  else torch.from_numpy(p).double().reshape(1, 1, -1) for p in self.layers(snapshot)]
        out = stacked_forward(params, points[None], self.config.activation)
        (grad,) = torch.autograd.grad(out.sum(), points)
        return axis.numpy(), grad.norm(dim=1).reshape(resolution, resolution).numpy()


def load_critic(results_dir, **changes):
    """The stored critic-study runs; a missing or altered weights file is a RunFileError naming it."""
    import warnings

    from .store import StaleRunWarning

    runs = []
    for config in critic_configs(**changes):
        folder = critic_dir(results_dir) / run_name(config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StaleRunWarning)  # `run.stale` says it; callers decide
            run = load_run(folder)
        npz, meta = folder / WEIGHTS_NPZ, folder / WEIGHTS_JSON
        if not (npz.is_file() and meta.is_file()):
            raise RunFileError(f"{folder}: missing {WEIGHTS_NPZ} or {WEIGHTS_JSON}; run `python -m wgan_lib sweep critic`")
        try:
            record = json.loads(meta.read_text())
            expected = record["sha256"]
        except (ValueError, KeyError, TypeError) as err:
            raise RunFileError(f"{meta}: not a weights record ({err})") from None
        if _sha256(npz) != expected:
            raise RunFileError(f"{npz}: checksum does not match {WEIGHTS_JSON} (file altered or truncated)")
        with np.load(npz, allow_pickle=False) as arrays:
            flat, epochs = arrays["flat"], arrays["snapshot_epochs"]
        if epochs.tolist() != run.snapshot_epochs.tolist():
            raise RunFileError(f"{npz}: snapshot epochs {epochs.tolist()} differ from the run's")
        n_params = sum(math.prod(shape) for shape in _d_shapes(run.config))
        if flat.shape != (len(epochs), n_params):
            raise RunFileError(f"{npz}: weights of shape {flat.shape}; expected ({len(epochs)}, {n_params})")
        runs.append(CriticRun(run, flat))
    return runs


def critic_status(results_dir):
    """'ok', 'stale' or the reason the critic study must be trained again ('missing ...', 'damaged ...')."""
    try:
        runs = load_critic(results_dir)
    except RunFileError as err:
        return f"not stored or damaged: {err}"
    return "stale" if any(r.run.stale for r in runs) else "ok"
