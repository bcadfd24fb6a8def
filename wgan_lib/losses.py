"""The discriminator losses, one small piece each, for a stack of runs.

Every function takes D's outputs with a leading run axis, shape (E, n) for n points, and returns
one loss per run, shape (E,). The trainer sums them over runs before differentiating; runs share
no parameters, so each run's gradient is the gradient of its own loss.

Sign conventions follow the post's Keras code: the WGAN critic is trained towards low values on
real points and high values on fake ones (labels +1 real, -1 fake, loss mean(label * D)), and the
generator of WGAN and Coulomb GAN minimises mean D(G(z)).
"""
import torch
import torch.nn.functional as F

from . import kernels


def standard_d_loss(d_real, d_fake):
    """Binary cross-entropy over the concatenated batch, real labelled 1 and fake 0; D gives logits."""
    return 0.5 * (F.softplus(-d_real).mean(1) + F.softplus(d_fake).mean(1))


def standard_g_loss(d_fake):
    """G is trained through the frozen D towards label 1, as the post's Keras code did."""
    return F.softplus(-d_fake).mean(1)


def wgan_d_loss(d_real, d_fake):
    """mean(label * D(x)) over the concatenated batch with real = +1, fake = -1."""
    return 0.5 * (d_real.mean(1) - d_fake.mean(1))


def mean_output_g_loss(d_fake):
    """WGAN and Coulomb GAN: G minimises mean D(G(z))."""
    return d_fake.mean(1)


def plummer_kernel(a, b, dim=3.0, eps=1.0):
    """k(a, b) = (|a - b|^2 + eps^2)^(-(dim - 2) / 2) for all pairs; a (E, n, 2), b (E, m, 2) -> (E, n, m).

    `dim` and `eps` may be floats or tensors of shape (E, 1, 1). The squared distances come from
    the coordinate differences (`kernels.plummer`), so a pair of nearby points far from the origin
    keeps its precision.
    """
    eps_sq = torch.as_tensor(eps, dtype=a.dtype) ** 2
    inverse_root = kernels.plummer(a, b, eps_sq)  # the default d = 3: exponent -1/2
    if bool(torch.all(torch.as_tensor(dim) == 3.0)):
        return inverse_root
    return inverse_root.pow_(torch.as_tensor(dim, dtype=torch.float32, device=a.device) - 2.0)


def coulomb_potential(points, real, fake, dim=3.0, eps=1.0):
    """Potential at `points` of fake (+) and real (-) unit charges, each averaged over its batch.

    This is the Coulomb GAN reference code's sign: the potential is high near fake points, so a
    generator minimising D (which regresses the potential) moves its points towards real ones.
    Every pair is counted, a point's own charge included.
    """
    return plummer_kernel(points, fake, dim, eps).mean(2) - plummer_kernel(points, real, dim, eps).mean(2)


def coulomb_d_loss(d_real, d_fake, real, fake, dim=3.0, eps=1.0):
    """Squared error between D and the (constant) potential at the batch's real and fake points."""
    with torch.no_grad():
        potential = coulomb_potential(torch.cat([real, fake], 1), real, fake, dim, eps)
    n_real = real.shape[1]
    return ((d_fake - potential[:, n_real:]) ** 2).mean(1) + ((d_real - potential[:, :n_real]) ** 2).mean(1)


def wgan_gp_d_loss(d_real, d_fake):
    """The WGAN-GP paper's critic loss without its penalty, in the post's sign (real low, fake high).

    Unlike `wgan_d_loss` it is not halved: the penalty weight lambda = 10 was tuned for this scale.
    """
    return d_real.mean(1) - d_fake.mean(1)


def gradient_penalty(critic, real, fake, mix):
    """mean over points of (|grad_x D(x)| - 1)^2 at x = mix * real + (1 - mix) * fake, per run.

    `critic` maps (E, n, 2) to (E, n, 1); `mix` has shape (E, n, 1) with values in [0, 1].
    """
    x = (mix * real + (1.0 - mix) * fake).detach().requires_grad_()
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.norm(dim=2) - 1.0) ** 2).mean(1)
