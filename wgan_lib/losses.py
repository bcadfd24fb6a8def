"""The discriminator losses: one object each, in one registry (`LOSSES`).

A loss is a subclass of `Loss`; defining it registers it, and nothing outside this module ever
compares a loss's name. It says
- `critic_loss(d_real, d_fake, batch)`: the loss D (the critic) minimises, one value per run;
- `generator_loss(d_fake)`: the loss G minimises through the frozen D, one value per run;
- `shown_as`: how D's output is drawn, "raw" or "sigmoid" (a D that gives logits);
- `clipped`: whether the loss is meant to be trained with D's weights clipped (the WGAN's
  Lipschitz constraint); the clip value itself is a setting of the run (`Config.clip`), applied
  after every critic update whatever the loss (the post's runs without clipping are WGAN
  without it);
- what the trainer must provide: `gradient_penalty` (the critic loss differentiates D with
  respect to its input, so the update needs mixing weights and second derivatives),
  `settings(configs)` (per-run tensors of the config fields the loss reads);
- `critic_cost`: a critic update's cost relative to a WGAN critic update (the shard cost model).

Every loss takes D's outputs with a leading run axis, shape (E, n) for n points, and returns one
loss per run, shape (E,). The trainer sums them over runs before differentiating; runs share no
parameters, so each run's gradient is the gradient of its own loss.

Sign conventions follow the post's Keras code (book chapter "Sources", the post): the WGAN
critic is trained towards low values on real points and high values on fake ones (labels +1 real,
-1 fake, loss mean(label * D)), and the generators of WGAN, WGAN-GP and Coulomb GAN minimise
mean D(G(z)).

A run's code fingerprint (`store.code_fingerprint`) covers this module without the other losses'
classes, so adding or changing one loss leaves the stored runs of the others current.
"""
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import kernels

LOSSES = {}


@dataclass
class CriticBatch:
    """What a critic loss may read besides D's outputs, for the runs it is computed for: the real
    and fake points (E, n, 2), the mixing weights (E, n, 1) of a gradient penalty (else None),
    `critic` (D as a function of points, for a penalty) and the loss's per-run `settings`."""

    real: torch.Tensor
    fake: torch.Tensor
    mix: torch.Tensor | None = None
    critic: object = None
    settings: dict = field(default_factory=dict)


class Loss:
    """Base of every loss; a subclass with a `name` is registered in `LOSSES` by being defined."""

    name = ""
    case = ""  # the name of its run with the post's successful settings (`cases.CASES`)
    description = ""
    shown_as = "raw"
    clipped = False  # meant to be trained with D's weights clipped (to the run's `Config.clip`)
    gradient_penalty = False
    critic_cost = 1.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LOSSES[cls.name] = cls()

    def settings(self, configs, device="cpu"):
        """Per-run tensors of the config fields the loss reads (none by default)."""
        return {}

    def critic_loss(self, d_real, d_fake, batch):
        raise NotImplementedError

    def generator_loss(self, d_fake):
        """G minimises mean D(G(z)) through the frozen D (WGAN, WGAN-GP, Coulomb GAN)."""
        return d_fake.mean(1)

    def __repr__(self):
        return f"<loss {self.name}>"


def per_run(configs, name, device="cpu", shape=(-1,)):
    """The float32 tensor of field `name` of each config, in the given shape (runs first)."""
    return torch.tensor([getattr(c, name) for c in configs], dtype=torch.float32, device=device).view(*shape)


class Standard(Loss):
    """The standard GAN: binary cross-entropy over the concatenated batch, real labelled 1 and fake
    0, D giving logits; G is trained through the frozen D towards label 1, as the post's Keras
    code did (the 'non-saturating' generator loss)."""

    name = "standard"
    case = "standard-gan"
    description = "standard GAN (cross-entropy)"
    shown_as = "sigmoid"

    def critic_loss(self, d_real, d_fake, batch):
        return 0.5 * (F.softplus(-d_real).mean(1) + F.softplus(d_fake).mean(1))

    def generator_loss(self, d_fake):
        return F.softplus(-d_fake).mean(1)


class WGAN(Loss):
    """The Wasserstein GAN's critic loss in the post's form: mean(label * D(x)) over the
    concatenated batch with real = +1 and fake = -1, that is (mean D(real) - mean D(fake)) / 2."""

    name = "wgan"
    case = "success"
    description = "Wasserstein GAN"
    clipped = True

    def critic_loss(self, d_real, d_fake, batch):
        return 0.5 * (d_real.mean(1) - d_fake.mean(1))


class Coulomb(Loss):
    """The Coulomb GAN (arXiv 1708.08819): D regresses the potential of the batch's charges, fake
    points positive and real ones negative (the reference code's sign), by squared error at the
    real and at the fake points; G minimises mean D(G(z)), moving its points down the potential
    towards the real ones."""

    name = "coulomb"
    case = "coulomb-gan"
    description = "Coulomb GAN (Plummer kernel)"
    critic_cost = 1.5

    def settings(self, configs, device="cpu"):
        return {"dim": per_run(configs, "coulomb_dim", device, (-1, 1, 1)),
                "eps": per_run(configs, "coulomb_eps", device, (-1, 1, 1))}

    @staticmethod
    def plummer_kernel(a, b, dim=3.0, eps=1.0):
        """k(a, b) = (|a - b|^2 + eps^2)^(-(dim - 2) / 2) for all pairs; a (E, n, 2), b (E, m, 2) -> (E, n, m).

        `dim` and `eps` may be floats or tensors of shape (E, 1, 1). The squared distances come
        from the coordinate differences (`kernels.plummer`), so a pair of nearby points far from
        the origin keeps its precision.
        """
        eps_sq = torch.as_tensor(eps, dtype=a.dtype) ** 2
        inverse_root = kernels.plummer(a, b, eps_sq)  # the default d = 3: exponent -1/2
        if bool(torch.all(torch.as_tensor(dim) == 3.0)):
            return inverse_root
        return inverse_root.pow_(torch.as_tensor(dim, dtype=torch.float32, device=a.device) - 2.0)

    @classmethod
    def potential(cls, points, real, fake, dim=3.0, eps=1.0):
        """Potential at `points` of fake (+) and real (-) unit charges, each averaged over its batch;
        every pair counted, a point's own charge included."""
        return cls.plummer_kernel(points, fake, dim, eps).mean(2) - cls.plummer_kernel(points, real, dim, eps).mean(2)

    def critic_loss(self, d_real, d_fake, batch):
        real, fake = batch.real, batch.fake
        with torch.no_grad():
            target = self.potential(torch.cat([real, fake], 1), real, fake, batch.settings["dim"],
                                    batch.settings["eps"])
        n_real = real.shape[1]
        return ((d_fake - target[:, n_real:]) ** 2).mean(1) + ((d_real - target[:, :n_real]) ** 2).mean(1)


class WGANGP(Loss):
    """WGAN-GP (arXiv 1704.00028): the critic loss mean D(real) - mean D(fake), in the post's sign
    and not halved (the penalty weight lambda = 10 was tuned for this scale), plus lambda times
    the mean over points of (|grad_x D(x)| - 1)^2 at x = mix * real + (1 - mix) * fake."""

    name = "wgan-gp"
    case = "wgan-gp"
    description = "WGAN with gradient penalty"
    gradient_penalty = True
    critic_cost = 2.0

    def settings(self, configs, device="cpu"):
        return {"gp_lambda": per_run(configs, "gp_lambda", device)}

    @staticmethod
    def penalty(critic, real, fake, mix):
        """mean over points of (|grad_x D(x)| - 1)^2 at x = mix * real + (1 - mix) * fake, per run.

        `critic` maps (E, n, 2) to (E, n, 1); `mix` has shape (E, n, 1) with values in [0, 1].
        """
        x = (mix * real + (1.0 - mix) * fake).detach().requires_grad_()
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return ((grad.norm(dim=2) - 1.0) ** 2).mean(1)

    def critic_loss(self, d_real, d_fake, batch):
        penalty = self.penalty(batch.critic, batch.real, batch.fake, batch.mix)
        return d_real.mean(1) - d_fake.mean(1) + batch.settings["gp_lambda"] * penalty


class LeastSquares(Loss):
    """The least-squares GAN (Mao et al. 2017, arXiv 1611.04076) with the 0-1 coding: D regresses 1
    on real points and 0 on fake ones by squared error, halved; G pulls D(G(z)) towards 1."""

    name = "lsgan"
    case = "lsgan"
    description = "least-squares GAN"

    def critic_loss(self, d_real, d_fake, batch):
        return 0.5 * (((d_real - 1.0) ** 2).mean(1) + (d_fake ** 2).mean(1))

    def generator_loss(self, d_fake):
        return 0.5 * ((d_fake - 1.0) ** 2).mean(1)


def get_loss(name):
    """The registered loss called `name`; a ValueError naming the allowed ones otherwise."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}")
    return LOSSES[name]
