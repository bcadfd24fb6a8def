"""The post's 1-D sketches of D's output over real (r) and fake (f) points, recreated by training.

The post draws, for each discriminator, D's output along a line with real points r and fake points
f on it: the standard GAN's D gives 1 at r and 0 at f, the WGAN critic gives r a low value and f a
high one, and the Coulomb GAN's D follows the potential of the charges. Here each sketch is a real
discriminator trained on fixed points, for every loss of the registry (`losses.LOSSES`): an MLP
with a 1-D input built from the pieces of the 2-D experiment (`models.init_stacked_mlp` /
`stacked_forward`: Glorot weights, zero biases, ELU), trained by Keras Adam (`optim.KerasAdam`)
on the loss's own `critic_loss`, with the weights clipped after every update for a loss that is
meant to be clipped. Only D learns: the points do not move.

A loss that reads the points as 2-D charges (the Coulomb potential) gets each 1-D point x as
(x, 0): the distance between two padded points is |x - x'|, so the Plummer kernel is exactly
(|x - x'|^2 + eps^2)^(-(d - 2)/2) on the line, with the experiment's d = 3 and eps = 1.

Everything runs in float32 on the CPU from one seeded generator, so a sketch is the same on
every call; the default 600 updates of a 2 x 32 MLP on a few points take under a second.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .config import Config
from .losses import LOSSES, CriticBatch, get_loss
from .models import init_stacked_mlp, stacked_forward
from .optim import KerasAdam

# Default points: five real points around +1 and five fake ones around -1.
DEFAULT_REAL = (0.8, 0.9, 1.0, 1.1, 1.2)
DEFAULT_FAKE = (-1.2, -1.1, -1.0, -0.9, -0.8)


@dataclass
class Sketch1D:
    """One trained 1-D discriminator: D on a grid of the line and at the points it was trained on.

    `d`, `d_real` and `d_fake` are D's raw outputs (logits for a loss shown through a sigmoid);
    `potential` is the loss's potential on the grid where it has one (the Coulomb GAN's target)."""

    loss: str
    clip: float | None
    x: np.ndarray
    d: np.ndarray
    real: np.ndarray
    fake: np.ndarray
    d_real: np.ndarray
    d_fake: np.ndarray
    potential: np.ndarray | None
    weights: list

    def shown(self, values):
        """Values of D as the post draws them: through a sigmoid for a D that gives logits."""
        values = np.asarray(values, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-values)) if LOSSES[self.loss].shown_as == "sigmoid" else values

    @property
    def output(self):
        return self.shown(self.d)


def _as_line_points(values):
    """(n,) numbers -> (1, n, 1) float32 tensor: one run, n points, 1-D input."""
    return torch.as_tensor(np.asarray(values, dtype=np.float32).reshape(1, -1, 1))


def pad_to_plane(points):
    """(E, n, 1) points on a line -> (E, n, 2) points (x, 0), for losses that read 2-D points."""
    return torch.cat([points, torch.zeros_like(points)], dim=2)


def potential_1d(loss, x, real, fake):
    """The potential of `loss` (one that has one) at the points `x` of the line, with the
    experiment's default settings; None for a loss without a potential."""
    loss = get_loss(loss)
    if not hasattr(loss, "potential"):
        return None
    settings = loss.settings([Config(loss=loss.name, clip=None)])
    x, real, fake = (pad_to_plane(_as_line_points(v)) for v in (x, real, fake))
    return loss.potential(x, real, fake, **settings)[0].numpy()


def clipped_output_bound(clip, width, depth, x_max):
    """An upper bound on |D(x)| for |x| <= x_max when every weight and bias lies in [-clip, clip].

    Layer by layer, |h_out| <= fan_in * clip * max|h_in| + clip, and ELU never increases |z|.
    """
    bound = float(x_max)
    for fan_in in [1] + [width] * depth:
        bound = fan_in * clip * bound + clip
    return bound


def train_1d_critic(loss, real=DEFAULT_REAL, fake=DEFAULT_FAKE, steps=600, clip=None, seed=0, width=32,
                    depth=2, lr=1e-2, beta_1=0.5, extent=2.5, resolution=201):
    """Train one discriminator with 1-D input on fixed real and fake points; return a `Sketch1D`.

    `loss` is any name of `losses.LOSSES`; `clip` (None for none) is applied to every weight and
    bias after every update, as in the experiment. D is an ELU MLP of sizes [1, width, ..., width,
    1] (`depth` hidden layers), Glorot-initialised from `seed`, and Keras Adam (lr `lr`, beta_1
    `beta_1`, no decay) makes `steps` full-batch updates. D is returned evaluated on
    `resolution` points of [-extent, extent].
    """
    loss_fn = get_loss(loss)
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be > 0 or None; got {clip!r}")
    real_t, fake_t = _as_line_points(real), _as_line_points(fake)
    if loss_fn.gradient_penalty and real_t.shape[1] != fake_t.shape[1]:
        raise ValueError(f"a gradient penalty pairs real and fake points: give as many of each; got "
                         f"{real_t.shape[1]} and {fake_t.shape[1]}")
    generator = torch.Generator().manual_seed(seed)
    params = init_stacked_mlp([1] + [width] * depth + [1], [generator])
    opt = KerasAdam(params, lr=lr, beta_1=beta_1)
    points = torch.cat([real_t, fake_t], 1)
    n_real = real_t.shape[1]
    real_2d, fake_2d = pad_to_plane(real_t), pad_to_plane(fake_t)
    settings = loss_fn.settings([Config(loss=loss, clip=clip)])
    # D of the padded 2-D points that a gradient penalty differentiates: it reads x only.
    critic = lambda x: stacked_forward(params, x[..., :1])  # noqa: E731
    for _ in range(steps):
        out = stacked_forward(params, points)[..., 0]
        mix = torch.rand(1, n_real, 1, generator=generator) if loss_fn.gradient_penalty else None
        batch = CriticBatch(real=real_2d, fake=fake_2d, mix=mix, critic=critic, settings=settings)
        value = loss_fn.critic_loss(out[:, :n_real], out[:, n_real:], batch)
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
                    d_real=out[:n_real], d_fake=out[n_real:], potential=potential_1d(loss, x, real, fake),
                    weights=[p.detach()[0].numpy().copy() for p in params])


def all_sketches(clip=0.1, **kwargs):
    """One sketch per registered loss, in the registry's order; `clip` for the losses meant to be
    clipped (the post's WGAN), none for the others."""
    return [train_1d_critic(name, clip=clip if loss.clipped else None, **kwargs) for name, loss in LOSSES.items()]


def plot_sketches(sketches, panel_height=3.0, columns=2):
    """One panel per sketch: D's output over the line (as the post draws it), r and f marked; the
    figure is the book's full width (`figures.MAX_WIDTH`), so it is shown at its drawn size."""
    import matplotlib.pyplot as plt

    from .figures import MAX_WIDTH

    ncols = min(columns, len(sketches))
    nrows = -(-len(sketches) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(MAX_WIDTH, panel_height * nrows), squeeze=False, dpi=100)
    for ax, s in zip(axes.flat, sketches):
        loss = LOSSES[s.loss]
        ax.plot(s.x, s.output, color="black", lw=1.5, label="D")
        if s.potential is not None:
            ax.plot(s.x, s.potential, color="tab:gray", lw=1, ls="--", label="potential")
        ax.scatter(s.real, s.shown(s.d_real), color="tab:blue", zorder=3, s=18, label="r (real)")
        ax.scatter(s.fake, s.shown(s.d_fake), color="tab:red", zorder=3, s=18, label="f (fake)")
        ax.axhline(0.5 if loss.shown_as == "sigmoid" else 0.0, color="tab:gray", lw=0.5, ls=":")
        what = "sigmoid(D)" if loss.shown_as == "sigmoid" else "D"
        ax.set_title(f"{loss.description}: {what}" + (f", clip {s.clip:g}" if s.clip is not None else ""),
                     fontsize=10)
        ax.set_xlabel("position of the sample point", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.legend(fontsize=8, loc="best")
    for ax in axes.flat[len(sketches):]:
        fig.delaxes(ax)
    axes[0, 0].set_ylabel("output of D", fontsize=9)
    fig.tight_layout()
    return fig
