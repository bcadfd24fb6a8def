"""The post's three 1-D sketches of D's output over real (r) and fake (f) points, recreated by training.

The post draws, for each discriminator, D's output along a line with real points r and fake points
f on it (reference.md §1): the standard GAN's D gives 1 at r and 0 at f, the WGAN critic gives r a
low value and f a high one, and the Coulomb GAN's D follows the potential of the charges. Here
each sketch is a real discriminator trained on fixed points: an MLP with a 1-D input built from
the same pieces as the 2-D experiment (`models.init_stacked_mlp` / `stacked_forward`, Glorot
weights and zero biases, ELU), trained with Keras Adam (`optim.KerasAdam`) on the same loss
functions (`losses.standard_d_loss`, `wgan_d_loss`, `coulomb_d_loss`), with WGAN's weight clipping
after every update. Only D learns: the points do not move.

`losses.coulomb_d_loss` computes the potential with `losses.plummer_kernel`, which takes 2-D
points of shape (E, n, 2). A 1-D point x is passed as (x, 0): the distance between two padded
points is |x - x'|, so the kernel is exactly (|x - x'|^2 + eps^2)^(-(d - 2)/2) on the line, with
the experiment's d = 3 and eps = 1.

Everything runs in float32 on the CPU from one seeded generator, so a sketch is the same on
every call; the default 600 updates of a 2 x 32 MLP on a few points take well under a second.
"""
from dataclasses import dataclass

import numpy as np
import torch

from . import losses
from .models import init_stacked_mlp, stacked_forward
from .optim import KerasAdam

LOSSES_1D = ("standard", "wgan", "coulomb")
# Default points: five real points around +1 and five fake ones around -1.
DEFAULT_REAL = (0.8, 0.9, 1.0, 1.1, 1.2)
DEFAULT_FAKE = (-1.2, -1.1, -1.0, -0.9, -0.8)


@dataclass
class Sketch1D:
    """One trained 1-D discriminator: D on a grid of the line and at the points it was trained on.

    `d` and `d_real`/`d_fake` are D's raw outputs: logits for the standard GAN (apply a sigmoid for
    the probability the post draws), the critic value for WGAN, the regressed potential for Coulomb.
    `potential` is the Coulomb potential on the grid (the target D regresses at the points).
    """

    loss: str
    clip: float | None
    x: np.ndarray
    d: np.ndarray
    real: np.ndarray
    fake: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    potential: np.ndarray
    weights: list

    @property
    def output(self):
        """What the post's sketch shows: sigmoid(D) for the standard GAN, D itself otherwise."""
        return 1.0 / (1.0 + np.exp(-self.d)) if self.loss == "standard" else self.d


def _as_line_points(values):
    """(n,) numbers -> (1, n, 1) float32 tensor: one run, n points, 1-D input."""
    return torch.as_tensor(np.asarray(values, dtype=np.float32).reshape(1, -1, 1))


def pad_to_plane(points):
    """(E, n, 1) points on a line -> (E, n, 2) points (x, 0) for the 2-D Plummer kernel."""
    return torch.cat([points, torch.zeros_like(points)], dim=2)


def coulomb_potential_1d(x, real, fake, dim=3.0, eps=1.0):
    """The potential of `losses.coulomb_potential` at the points `x` of the line (fake +, real -)."""
    x, real, fake = (pad_to_plane(_as_line_points(v)) for v in (x, real, fake))
    return losses.coulomb_potential(x, real, fake, dim, eps)[0].numpy()


def clipped_output_bound(clip, width, depth, x_max):
    """An upper bound on |D(x)| for |x| <= x_max when every weight and bias lies in [-clip, clip].

    Layer by layer, |h_out| <= fan_in * clip * max|h_in| + clip, and ELU never increases |z|.
    """
    bound = float(x_max)
    for fan_in in [1] + [width] * depth:
        bound = fan_in * clip * bound + clip
    return bound


def train_1d_critic(loss, real=DEFAULT_REAL, fake=DEFAULT_FAKE, steps=600, clip=None, seed=0, width=32,
                    depth=2, lr=1e-2, beta_1=0.5, extent=2.5, resolution=201, coulomb_dim=3.0,
                    coulomb_eps=1.0):
    """Train one discriminator with 1-D input on fixed real and fake points; return a `Sketch1D`.

    `loss` is 'standard', 'wgan' or 'coulomb'; `clip` (WGAN's weight clipping, None for none) is
    applied to every weight and bias after every update, as in the experiment. D is an ELU MLP
    of sizes [1, width, ..., width, 1] (`depth` hidden layers), Glorot-initialised from `seed`,
    and Keras Adam (lr `lr`, beta_1 `beta_1`, no decay) makes `steps` full-batch updates. D is
    returned evaluated on `resolution` points of [-extent, extent].
    """
    if loss not in LOSSES_1D:
        raise ValueError(f"loss must be one of {', '.join(LOSSES_1D)}; got {loss!r}")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be > 0 or None; got {clip!r}")
    real_t, fake_t = _as_line_points(real), _as_line_points(fake)
    generator = torch.Generator().manual_seed(seed)
    params = init_stacked_mlp([1] + [width] * depth + [1], [generator])
    opt = KerasAdam(params, lr=lr, beta_1=beta_1)
    points = torch.cat([real_t, fake_t], 1)
    n_real = real_t.shape[1]
    real_2d, fake_2d = pad_to_plane(real_t), pad_to_plane(fake_t)
    for _ in range(steps):
        out = stacked_forward(params, points)[..., 0]
        d_real, d_fake = out[:, :n_real], out[:, n_real:]
        if loss == "standard":
            value = losses.standard_d_loss(d_real, d_fake)
        elif loss == "wgan":
            value = losses.wgan_d_loss(d_real, d_fake)
        else:
            value = losses.coulomb_d_loss(d_real, d_fake, real_2d, fake_2d, coulomb_dim, coulomb_eps)
        opt.zero_grad()
        value.sum().backward()
        opt.step()
        if clip is not None:
            with torch.no_grad():
                for p in params:
                    p.clamp_(-clip, clip)
    x = np.linspace(-extent, extent, resolution, dtype=np.float32)
    with torch.no_grad():
        d_grid = stacked_forward(params, _as_line_points(x))[0, :, 0].numpy()
        out = stacked_forward(params, points)[0, :, 0].numpy()
    return Sketch1D(loss=loss, clip=clip, x=x, d=d_grid, real=real_t[0, :, 0].numpy(), fake=fake_t[0, :, 0].numpy(),
                    d_real=out[:n_real], d_fake=out[n_real:],
                    potential=coulomb_potential_1d(x, real, fake, coulomb_dim, coulomb_eps),
                    weights=[p.detach()[0].numpy().copy() for p in params])


def three_sketches(clip=0.1, **kwargs):
    """The post's three sketches: standard GAN, WGAN with weight clipping `clip`, Coulomb GAN."""
    return [train_1d_critic("standard", **kwargs), train_1d_critic("wgan", clip=clip, **kwargs),
            train_1d_critic("coulomb", **kwargs)]


SKETCH_TITLES = {"standard": "Standard GAN: sigmoid(D)", "wgan": "WGAN: D (clipped)", "coulomb": "Coulomb GAN: D"}


def plot_sketches(sketches, figsize=(10, 3)):
    """One panel per sketch: D's output over the line, real points r and fake points f marked."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sketches), figsize=figsize)
    for ax, s in zip(np.atleast_1d(axes), sketches):
        y = s.output
        ax.plot(s.x, y, color="black", lw=1.5, label="D")
        if s.loss == "coulomb":
            ax.plot(s.x, s.potential, color="tab:gray", lw=1, ls="--", label="potential")
        squash = (lambda v: 1.0 / (1.0 + np.exp(-v))) if s.loss == "standard" else (lambda v: v)
        ax.scatter(s.real, squash(s.d_real), color="tab:blue", zorder=3, s=18, label="r (real)")
        ax.scatter(s.fake, squash(s.d_fake), color="tab:red", zorder=3, s=18, label="f (fake)")
        # The post's labels r and f, above the panel at the two groups of points.
        top = ax.secondary_xaxis("top")
        top.set_xticks([float(np.mean(s.fake)), float(np.mean(s.real))], labels=["f", "r"])
        top.tick_params(length=0, labelsize=11)
        for label, color in zip(top.get_xticklabels(), ("tab:red", "tab:blue")):
            label.set_color(color)
        if s.loss == "standard":
            ax.axhline(0.5, color="tab:gray", lw=0.5, ls=":")
            ax.set_ylim(-0.05, 1.05)
        else:
            ax.axhline(0.0, color="tab:gray", lw=0.5, ls=":")
        title = SKETCH_TITLES[s.loss] + (f", clip {s.clip:g}" if s.clip is not None else "")
        ax.set_title(title, fontsize=10, pad=18)
        ax.set_xlabel("position of the sample point")
        ax.legend(fontsize=7, loc="best")
    axes[0].set_ylabel("output of D")
    fig.tight_layout()
    return fig
