"""Tests of wgan_lib.sketch: the post's 1-D sketches, one per registered loss, each from a
discriminator actually trained.

Real points sit around +1 and fake ones around -1 (the defaults). The sign conventions are the
library's: the WGAN critic is trained low on real and high on fake points, the Coulomb potential
is positive near fake charges (the Coulomb GAN reference code's sign).
"""
import numpy as np
import pytest

from wgan_lib import sketch


@pytest.fixture(scope="module")
def sketches():
    return {s.loss: s for s in sketch.all_sketches(clip=0.1)}


def test_standard_d_gives_probability_above_half_at_real_and_below_at_fake(sketches):
    s = sketches["standard"]
    prob_real = 1.0 / (1.0 + np.exp(-s.d_real))
    prob_fake = 1.0 / (1.0 + np.exp(-s.d_fake))
    assert (prob_real > 0.5).all() and (prob_fake < 0.5).all()
    assert (prob_real > 0.99).all() and (prob_fake < 0.01).all()  # trained to (near) 1 and 0
    assert np.allclose(s.output, 1.0 / (1.0 + np.exp(-s.d)))  # the sketch draws the probability
    assert s.clip is None


def test_wgan_critic_is_low_on_real_high_on_fake_and_bounded_by_clipping(sketches):
    s = sketches["wgan"]
    assert s.clip == 0.1
    assert s.d_real.max() < s.d_fake.min()
    assert s.d_real.mean() < 0 < s.d_fake.mean()
    # Every weight and bias was clipped to [-0.1, 0.1] ...
    assert all(np.abs(w).max() <= 0.1 + 1e-7 for w in s.weights)
    # ... which bounds the output (and the slope) whatever the training did.
    bound = sketch.clipped_output_bound(0.1, 32, 2, np.abs(s.x).max())
    assert np.abs(s.d).max() <= bound
    slope_bound = 0.1 * (32 * 0.1) * (32 * 0.1)  # product of the layers' largest gains
    assert np.abs(np.diff(s.d) / np.diff(s.x)).max() <= slope_bound + 1e-4


def test_a_smaller_clip_gives_a_smaller_critic():
    big = sketch.train_1d_critic("wgan", clip=0.1)
    small = sketch.train_1d_critic("wgan", clip=0.01)
    assert np.abs(small.d).max() < np.abs(big.d).max() / 10
    assert np.abs(small.d).max() <= sketch.clipped_output_bound(0.01, 32, 2, 2.5)
    assert small.d_real.mean() < small.d_fake.mean()  # still the right ordering


def test_coulomb_d_follows_the_potential_positive_near_fakes(sketches):
    s = sketches["coulomb"]
    assert (s.d_fake > 0).all() and (s.d_real < 0).all()
    potential_fake = sketch.potential_1d("coulomb", s.fake, s.real, s.fake)
    potential_real = sketch.potential_1d("coulomb", s.real, s.real, s.fake)
    assert (potential_fake > 0).all() and (potential_real < 0).all()
    assert np.abs(s.d_fake - potential_fake).max() < 0.1
    assert np.abs(s.d_real - potential_real).max() < 0.1


def test_potential_on_the_line_is_the_plummer_kernel_of_padded_points():
    real, fake, x = np.array([1.0, 1.5]), np.array([-1.0]), np.array([0.0, 2.0])
    k = lambda a, b: (np.subtract.outer(a, b) ** 2 + 1.0) ** -0.5  # d = 3, eps = 1  # noqa: E731
    expected = k(x, fake).mean(1) - k(x, real).mean(1)
    assert np.allclose(sketch.potential_1d("coulomb", x, real, fake), expected, atol=1e-6)
    assert sketch.potential_1d("wgan", x, real, fake) is None  # a loss without a potential


def test_deterministic():
    a = sketch.train_1d_critic("wgan", clip=0.1, seed=3)
    b = sketch.train_1d_critic("wgan", clip=0.1, seed=3)
    c = sketch.train_1d_critic("wgan", clip=0.1, seed=4)
    assert np.array_equal(a.d, b.d)
    assert not np.array_equal(a.d, c.d)


def test_wgan_gp_and_least_squares_sketches(sketches):
    gp, ls = sketches["wgan-gp"], sketches["lsgan"]
    assert gp.clip is None and gp.d_real.max() < gp.d_fake.min()  # the WGAN sign, without clipping
    slope = np.abs(np.diff(gp.d) / np.diff(gp.x))
    assert np.median(slope) < 3.0  # the penalty keeps |D'| near 1 between the points
    # D regresses the labels 1 and 0: a smooth D over the points (0.4 apart) fits their mean closely
    # and each point to within the curvature it cannot follow.
    assert abs(ls.d_real.mean() - 1.0) < 0.02 and abs(ls.d_fake.mean()) < 0.02
    assert (np.abs(ls.d_real - 1.0) < 0.1).all() and (np.abs(ls.d_fake) < 0.1).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="loss must be one of standard, wgan, coulomb, wgan-gp, lsgan; got 'hinge'"):
        sketch.train_1d_critic("hinge")
    with pytest.raises(ValueError, match="clip"):
        sketch.train_1d_critic("wgan", clip=0.0)
    with pytest.raises(ValueError, match="a gradient penalty pairs real and fake points"):
        sketch.train_1d_critic("wgan-gp", real=(1.0, 2.0), fake=(0.0,))


def test_plot_has_a_panel_per_loss(sketches):
    import matplotlib

    matplotlib.use("Agg")
    fig = sketch.plot_sketches(list(sketches.values()))
    assert len(fig.axes) == len(sketches) == 5
    assert "clip 0.1" in fig.axes[1].get_title() and "sigmoid(D)" in fig.axes[0].get_title()
