"""Tests of wgan_lib.losses: each registered loss against its literal formula (book chapter
"Sources": the post's Keras code, the Coulomb GAN and WGAN-GP papers, the least-squares GAN), and
the registry itself: a new loss is one class, and the trainer trains it.

Every loss takes D's outputs with a leading run axis, (E, n), and returns (E,). Most checks run in
float64, where the library's arithmetic and the literal formula agree to ~1e-15 relative; the
float32 checks state their own tolerance.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from wgan_lib import Config, StackTrainer, losses
from wgan_lib.cases import CASES
from wgan_lib.losses import LOSSES, CriticBatch

Coulomb, WGANGP = losses.Coulomb, losses.WGANGP


def critic_loss(name, d_real, d_fake, batch=None):
    return LOSSES[name].critic_loss(d_real, d_fake, batch)


def coulomb_loss(d_real, d_fake, real, fake, dim=3.0, eps=1.0):
    return LOSSES["coulomb"].critic_loss(d_real, d_fake, CriticBatch(real, fake, settings={"dim": dim, "eps": eps}))



def random_outputs(seed, runs=3, n=16, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    d_real = torch.randn(runs, n, generator=gen, dtype=torch.float64) * scale
    d_fake = torch.randn(runs, n, generator=gen, dtype=torch.float64) * scale + 1.0
    return d_real, d_fake


# ----------------------------------------------------------------------------- WGAN


def test_wgan_d_loss_is_mean_label_times_output_over_concatenation():
    d_real, d_fake = random_outputs(0)
    out = torch.cat([d_real, d_fake], 1)
    labels = torch.cat([torch.ones_like(d_real), -torch.ones_like(d_fake)], 1)  # the post: +1 real, -1 fake
    literal = (labels * out).mean(1)
    got = critic_loss("wgan", d_real, d_fake)
    assert got.shape == (3,)
    torch.testing.assert_close(got, literal, rtol=1e-13, atol=1e-13)  # float64, 32 terms
    torch.testing.assert_close(got, 0.5 * (d_real.mean(1) - d_fake.mean(1)), rtol=1e-13, atol=1e-13)


def test_wgan_sign_low_on_real_high_on_fake_lowers_the_loss():
    # The post's critic is trained towards low D on real and high D on fake points.
    good = critic_loss("wgan", torch.full((1, 4), -1.0), torch.full((1, 4), 1.0))
    bad = critic_loss("wgan", torch.full((1, 4), 1.0), torch.full((1, 4), -1.0))
    assert good.item() == -1.0 and bad.item() == 1.0


def test_mean_output_g_loss_and_wgan_gp_loss():
    d_real, d_fake = random_outputs(1)
    for name in ("wgan", "wgan-gp", "coulomb"):
        torch.testing.assert_close(LOSSES[name].generator_loss(d_fake), d_fake.mean(1), rtol=1e-13, atol=1e-13)
    # WGAN-GP's critic term is not halved (its lambda was tuned for this scale); with lambda = 0
    # the penalty drops out whatever the critic.
    batch = CriticBatch(torch.zeros(3, 16, 2, dtype=torch.float64), torch.ones(3, 16, 2, dtype=torch.float64),
                        mix=torch.full((3, 16, 1), 0.5, dtype=torch.float64), critic=lambda x: x[..., :1] ** 2,
                        settings={"gp_lambda": torch.zeros(3, dtype=torch.float64)})
    torch.testing.assert_close(critic_loss("wgan-gp", d_real, d_fake, batch), d_real.mean(1) - d_fake.mean(1),
                               rtol=1e-13, atol=1e-13)


# ----------------------------------------------------------------------------- standard GAN


@pytest.mark.parametrize("scale", [1.0, 40.0])  # 40: logits up to ~150, where a naive log(sigmoid) fails
def test_standard_losses_equal_bce_with_logits(scale):
    d_real, d_fake = random_outputs(2, scale=scale)
    logits = torch.cat([d_real, d_fake], 1)
    labels = torch.cat([torch.ones_like(d_real), torch.zeros_like(d_fake)], 1)
    expected_d = torch.stack([F.binary_cross_entropy_with_logits(logits[e], labels[e]) for e in range(3)])
    # Tolerance: F.softplus returns x itself above its threshold 20, dropping log1p(exp(-x)) <=
    # exp(-20) = 2e-9 per term; relative to a mean of such terms (> 1) that is < 2e-9. Far below
    # float32 resolution (the trainer's dtype), and far below any real error (e.g. a wrong label).
    torch.testing.assert_close(critic_loss("standard", d_real, d_fake), expected_d, rtol=2e-9, atol=1e-12)
    expected_g = torch.stack([F.binary_cross_entropy_with_logits(d_fake[e], torch.ones_like(d_fake[e]))
                              for e in range(3)])
    torch.testing.assert_close(LOSSES["standard"].generator_loss(d_fake), expected_g, rtol=2e-9, atol=1e-12)
    assert torch.isfinite(critic_loss("standard", d_real, d_fake)).all()


# ----------------------------------------------------------------------------- Coulomb GAN

S2, S5, S6 = 1 / math.sqrt(2), 1 / math.sqrt(5), 1 / math.sqrt(6)  # 0.7071067811865475, 0.4472135954999579, 0.4082482904638631


def test_plummer_kernel_hand_case_d3_eps1():
    """Points (0,0), (1,0), (0,2); squared distances 1 (0-1), 4 (0-2), 5 (1-2); k = 1/sqrt(r^2 + 1)."""
    pts = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]], dtype=torch.float64)
    expected = torch.tensor([[[1.0, 0.7071067811865475, 0.4472135954999579],
                              [0.7071067811865475, 1.0, 0.4082482904638631],
                              [0.4472135954999579, 0.4082482904638631, 1.0]]], dtype=torch.float64)
    torch.testing.assert_close(Coulomb.plummer_kernel(pts, pts, 3.0, 1.0), expected, rtol=1e-14, atol=1e-14)
    # Non-square: a = first two points, b = all three -> (1, 2, 3)
    torch.testing.assert_close(Coulomb.plummer_kernel(pts[:, :2], pts), expected[:, :2], rtol=1e-14, atol=1e-14)


def test_plummer_kernel_hand_case_d5_eps_half():
    """d = 5, eps = 0.5: k = (r^2 + 0.25)^(-3/2): r^2 = 0 -> 8, 1 -> 0.7155417527999327,
    4 -> 0.11413441178180375, 5 -> 0.08313062485180663."""
    pts = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]], dtype=torch.float64)
    expected = torch.tensor([[[8.0, 0.7155417527999327, 0.11413441178180375],
                              [0.7155417527999327, 8.0, 0.08313062485180663],
                              [0.11413441178180375, 0.08313062485180663, 8.0]]], dtype=torch.float64)
    torch.testing.assert_close(Coulomb.plummer_kernel(pts, pts, 5.0, 0.5), expected, rtol=1e-13, atol=1e-13)


def direct_plummer(a, b, dim, eps):
    """The definition, with the differences taken first (float64)."""
    a, b = a.double(), b.double()
    squared = ((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)
    return (squared + eps**2) ** (-(dim - 2.0) / 2.0)


@pytest.mark.parametrize("dim, eps", [(3.0, 1.0), (5.0, 0.5), (4.5, 2.0)])
def test_plummer_kernel_matches_definition(dim, eps):
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(2, 40, 2, generator=gen) * 12 - 6  # the plotted area, [-6, 6]^2
    b = torch.rand(2, 30, 2, generator=gen) * 12 - 6
    b[:, :10] = a[:, :10] + torch.randn(2, 10, 2, generator=gen) * 1e-3  # near-coincident pairs
    expected = direct_plummer(a, b, dim, eps)
    # float64: the |a|^2 + |b|^2 - 2ab expansion loses ~1e-16 * 72 absolutely in r^2: rtol 1e-12.
    torch.testing.assert_close(Coulomb.plummer_kernel(a.double(), b.double(), dim, eps), expected,
                               rtol=1e-12, atol=0)
    # float32 (what the trainer uses): r^2's error is a few ulps of |a|^2 + |b|^2 <= 144, i.e.
    # <= 4 * 144 * 6e-8 = 3.5e-5, and the kernel's relative error is (d - 2)/2 * that / eps^2:
    # 1.7e-5 (d 3, eps 1), 2.1e-4 (d 5, eps 0.5), 1.1e-5 (d 4.5, eps 2). Measured: 6e-6, 5e-5, <1e-5.
    bound = (dim - 2) / 2 * 3.5e-5 / eps**2
    torch.testing.assert_close(Coulomb.plummer_kernel(a, b, dim, eps).double(), expected, rtol=bound, atol=0)


def test_plummer_kernel_per_run_dim_and_eps_tensors():
    """The trainer passes dim and eps as (E, 1, 1) tensors, one per run."""
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(3, 5, 2, generator=gen, dtype=torch.float64)
    b = torch.randn(3, 7, 2, generator=gen, dtype=torch.float64)
    dims = torch.tensor([3.0, 5.0, 3.0], dtype=torch.float64).view(-1, 1, 1)
    epss = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64).view(-1, 1, 1)
    got = Coulomb.plummer_kernel(a, b, dims, epss)
    for e in range(3):
        expected = direct_plummer(a[e:e + 1], b[e:e + 1], dims[e].item(), epss[e].item())
        torch.testing.assert_close(got[e:e + 1], expected, rtol=1e-12, atol=0)
    # All runs at d = 3 (the rsqrt path) with per-run eps.
    got3 = Coulomb.plummer_kernel(a, b, torch.full_like(dims, 3.0), epss)
    for e in range(3):
        torch.testing.assert_close(got3[e:e + 1], direct_plummer(a[e:e + 1], b[e:e + 1], 3.0, epss[e].item()),
                                   rtol=1e-12, atol=0)


# Real charges at r1 = (0,0), r2 = (2,0); fake ones at f1 = (0,1), f2 = (2,1) (a 2 x 1 rectangle),
# plus a probe q = (0,-1). Squared distances: r1-r2 4, r1-f1 1, r1-f2 5, r2-f1 5, r2-f2 1, f1-f2 4,
# q-r1 1, q-r2 5, q-f1 4, q-f2 8. Potential = mean_j k(., fake_j) - mean_j k(., real_j), own charge included:
#   phi(r1) = phi(r2) = (1/sqrt2 + 1/sqrt6)/2 - (1 + 1/sqrt5)/2 = -0.16592926192477364
#   phi(f1) = phi(f2) = (1 + 1/sqrt5)/2 - (1/sqrt2 + 1/sqrt6)/2 = +0.16592926192477364
#   phi(q) = (1/sqrt5 + 1/3)/2 - (1/sqrt2 + 1/sqrt6)/2 = -0.16740407140855967
REAL = torch.tensor([[[0.0, 0.0], [2.0, 0.0]]], dtype=torch.float64)
FAKE = torch.tensor([[[0.0, 1.0], [2.0, 1.0]]], dtype=torch.float64)
PHI_REAL, PHI_FAKE, PHI_Q = -0.16592926192477364, 0.16592926192477364, -0.16740407140855967


def test_coulomb_potential_hand_case():
    points = torch.cat([REAL, FAKE, torch.tensor([[[0.0, -1.0]]], dtype=torch.float64)], 1)
    got = Coulomb.potential(points, REAL, FAKE, 3.0, 1.0)
    expected = torch.tensor([[PHI_REAL, PHI_REAL, PHI_FAKE, PHI_FAKE, PHI_Q]], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-14, atol=1e-14)


def test_coulomb_d_loss_hand_case_and_constant_target():
    d_real = torch.tensor([[0.1, -0.3]], dtype=torch.float64, requires_grad=True)
    d_fake = torch.tensor([[0.2, 0.0]], dtype=torch.float64, requires_grad=True)
    real, fake = REAL.clone().requires_grad_(), FAKE.clone().requires_grad_()
    loss = coulomb_loss(d_real, d_fake, real, fake, 3.0, 1.0)
    expected = (((0.2 - PHI_FAKE) ** 2 + (0.0 - PHI_FAKE) ** 2) / 2
                + ((0.1 - PHI_REAL) ** 2 + (-0.3 - PHI_REAL) ** 2) / 2)
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(expected, rel=1e-13)
    # The potential is a regression target: no gradient reaches the points through it.
    grads = torch.autograd.grad(loss.sum(), [d_real, real, fake], allow_unused=True)
    assert grads[1] is None and grads[2] is None
    torch.testing.assert_close(grads[0], (d_real.detach() - PHI_REAL), rtol=1e-13, atol=1e-13)  # d/dD mean (D - phi)^2


# ----------------------------------------------------------------------------- gradient penalty


def test_gradient_penalty_of_linear_critic_is_exact():
    """D(x) = w . x has gradient w everywhere, so the penalty is (|w| - 1)^2 whatever the points."""
    w = torch.tensor([[3.0, 4.0], [0.6, 0.8], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)  # |w| = 5, 1, sqrt2

    def critic(x):  # (E, n, 2) -> (E, n, 1)
        return torch.bmm(x, w[:, :, None])

    gen = torch.Generator().manual_seed(5)
    real = torch.randn(3, 8, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(3, 8, 2, generator=gen, dtype=torch.float64) + 2.0
    mix = torch.rand(3, 8, 1, generator=gen, dtype=torch.float64)
    penalty = WGANGP.penalty(critic, real, fake, mix)
    expected = torch.tensor([16.0, 0.0, (math.sqrt(2) - 1) ** 2], dtype=torch.float64)
    torch.testing.assert_close(penalty, expected, rtol=1e-14, atol=1e-14)
    # WGAN-GP differentiates the penalty with respect to D's weights (create_graph):
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|.
    (grad_w,) = torch.autograd.grad(penalty.sum(), w)
    norm = w.detach().norm(dim=1, keepdim=True)
    torch.testing.assert_close(grad_w, 2 * (norm - 1) * w.detach() / norm, rtol=1e-13, atol=1e-13)


def test_wgan_gp_critic_loss_adds_lambda_times_the_penalty():
    w = torch.tensor([[3.0, 4.0], [0.6, 0.8]], dtype=torch.float64)  # |w| = 5 and 1

    def critic(x):
        return torch.bmm(x, w[:, :, None])

    d_real, d_fake = random_outputs(6, runs=2)
    gen = torch.Generator().manual_seed(6)
    real, fake = torch.randn(2, 16, 2, generator=gen, dtype=torch.float64), torch.zeros(2, 16, 2, dtype=torch.float64)
    settings = LOSSES["wgan-gp"].settings([Config(loss="wgan-gp", clip=None, gp_lambda=10.0),
                                           Config(loss="wgan-gp", clip=None, gp_lambda=0.5)])
    batch = CriticBatch(real, fake, torch.rand(2, 16, 1, generator=gen, dtype=torch.float64), critic,
                        {"gp_lambda": settings["gp_lambda"].double()})
    expected = d_real.mean(1) - d_fake.mean(1) + torch.tensor([10.0 * 16.0, 0.5 * 0.0], dtype=torch.float64)
    torch.testing.assert_close(critic_loss("wgan-gp", d_real, d_fake, batch), expected, rtol=1e-13, atol=1e-13)


# ----------------------------------------------------------------------------- least squares


def test_least_squares_losses_hand_case():
    """0-1 coding: D's loss (mean (D(real) - 1)^2 + mean D(fake)^2) / 2; G's mean (D(fake) - 1)^2 / 2."""
    d_real = torch.tensor([[1.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
    d_fake = torch.tensor([[0.0, 2.0], [1.0, -1.0]], dtype=torch.float64)
    # run 0: real terms 0, 1 -> 0.5; fake terms 0, 4 -> 2; (0.5 + 2) / 2 = 1.25
    # run 1: real terms 4, 0 -> 2; fake terms 1, 1 -> 1; (2 + 1) / 2 = 1.5
    torch.testing.assert_close(critic_loss("lsgan", d_real, d_fake), torch.tensor([1.25, 1.5], dtype=torch.float64))
    # G: run 0: (1 + 1) / 2 / 2 = 0.5; run 1: (0 + 4) / 2 / 2 = 1.0
    torch.testing.assert_close(LOSSES["lsgan"].generator_loss(d_fake), torch.tensor([0.5, 1.0], dtype=torch.float64))
    # At D's optimum for equal densities (D = 1/2 everywhere) the critic loss is 1/4.
    half = torch.full((1, 8), 0.5, dtype=torch.float64)
    assert critic_loss("lsgan", half, half).item() == 0.25


# ----------------------------------------------------------------------------- the registry


def test_every_loss_is_registered_once_with_what_the_trainer_needs():
    assert list(LOSSES) == ["standard", "wgan", "coulomb", "wgan-gp", "lsgan"]
    for name, loss in LOSSES.items():
        assert loss.name == name and isinstance(loss, losses.Loss)
        assert loss.shown_as in ("raw", "sigmoid") and loss.critic_cost > 0 and loss.description
    assert [n for n, loss in LOSSES.items() if loss.gradient_penalty] == ["wgan-gp"]
    assert [n for n, loss in LOSSES.items() if loss.clipped] == ["wgan"]
    assert [n for n, loss in LOSSES.items() if loss.shown_as == "sigmoid"] == ["standard"]
    with pytest.raises(ValueError, match="loss must be one of standard, wgan, coulomb, wgan-gp, lsgan; got 'hinge'"):
        losses.get_loss("hinge")


def test_every_loss_but_the_posts_has_a_comparison_case_with_the_success_settings():
    for name, loss in LOSSES.items():
        case = CASES[loss.case]
        config = case.config()
        assert config.loss == name and config.lr == 1e-4 and config.decay == 1e-5
        assert config.clip == (0.1 if loss.clipped else None)


@pytest.fixture
def hinge_loss():
    """A loss defined the way a user adds one: a subclass of Loss, and nothing else."""
    class Hinge(losses.Loss):
        name = "hinge-test"
        case = "hinge-test"
        description = "hinge GAN (test)"

        def critic_loss(self, d_real, d_fake, batch):
            return F.relu(1.0 - d_real).mean(1) + F.relu(1.0 + d_fake).mean(1)

        def generator_loss(self, d_fake):
            return -d_fake.mean(1)

    yield LOSSES["hinge-test"]
    del LOSSES["hinge-test"]


def test_a_new_loss_is_one_class_and_the_trainer_trains_it(hinge_loss):
    config = Config(loss="hinge-test", clip=None, samples_per_center=64, batch_size=64, epochs=1, n_eval_samples=200,
                    plot_resolution=11, g_width=8, d_width=8)
    other = config.replace(loss="wgan", clip=0.1, seed=1)
    trainer = StackTrainer([config, other])
    trainer.train()
    assert [log.status for log in trainer.logs] == ["completed", "completed"]
    alone = StackTrainer([other])
    alone.train()
    # The new loss's run shares the stack without touching the other run's numbers (up to the
    # rounding of a stack of two against a stack of one).
    torch.testing.assert_close(trainer.nets["d"]["flat"][1], alone.nets["d"]["flat"][0], rtol=0, atol=1e-5)
