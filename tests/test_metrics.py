"""Tests of wgan_lib.metrics: the mode metrics of the field's protocol (book chapter "Sources") and the exact W1.

Statistical tests use fixed seeds and tolerances derived from the sampling distribution
(stated next to each); every warning (POT's "numItermax reached" included) is an error here.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from wgan_lib import metrics
from wgan_lib.data import GRID_CENTERS, GRID_STD, sample_grid
from wgan_lib.metrics import mode_stats, snapshot_metrics, wasserstein1

pytestmark = pytest.mark.filterwarnings("error")

K = len(GRID_CENTERS)  # 25
LN_K = math.log(K)
RADIUS = 3.0 * GRID_STD  # 0.15: the high-quality radius


def true_mixture(n, seed):
    """n i.i.d. draws from the mixture: uniform centre, then isotropic N(0, GRID_STD^2)."""
    rng = np.random.default_rng(seed)
    return GRID_CENTERS[rng.integers(0, K, n)] + GRID_STD * rng.standard_normal((n, 2))


# ---------------------------------------------------------------- mode_stats: distributions


def test_true_mixture_covers_every_mode_with_expected_quality():
    n = 2500
    stats = mode_stats(true_mixture(n, seed=0))
    assert stats["modes"] == 25
    # |N(0, s^2 I_2)| / s is Rayleigh: P(r < 3s) = 1 - exp(-9/2) ~ 0.98889.
    # HQ count ~ Binomial(n, p): tolerance 4 standard errors = 4 sqrt(p(1-p)/n) ~ 0.0084.
    p = 1.0 - math.exp(-4.5)
    assert abs(stats["hq_fraction"] - p) < 4.0 * math.sqrt(p * (1.0 - p) / n)
    # Multinomial histogram of ~n HQ draws over K equal cells: 2n KL ~ chi2(K-1), so
    # E[KL] ~ (K-1)/(2n) = 0.0048 with sd sqrt(2(K-1))/(2n) ~ 0.0014; 0.02 is > 10 sd above.
    assert 0.0 <= stats["reverse_kl"] < 0.02


def test_sample_grid_tensor_input():
    # A torch float32 tensor (what the trainer holds) is accepted; 100 draws per centre.
    samples = sample_grid(100, generator=torch.Generator().manual_seed(0))
    stats = mode_stats(samples)
    assert stats["modes"] == 25
    assert abs(stats["hq_fraction"] - (1.0 - math.exp(-4.5))) < 0.0084  # 4 SE, as above
    assert stats["reverse_kl"] < 0.02


def test_single_collapsed_mode():
    rng = np.random.default_rng(1)
    # |offset| <= ~0.04 for 2500 draws of 0.01 * N(0, I_2): all HQ, all nearest to centre 7.
    samples = GRID_CENTERS[7] + 0.01 * rng.standard_normal((2500, 2))
    stats = mode_stats(samples)
    assert stats["modes"] == 1
    assert stats["hq_fraction"] == 1.0
    assert stats["reverse_kl"] == pytest.approx(LN_K, abs=1e-12)


def test_two_modes_equally():
    rng = np.random.default_rng(2)
    samples = np.concatenate([GRID_CENTERS[0] + 0.01 * rng.standard_normal((50, 2)),
                              GRID_CENTERS[24] + 0.01 * rng.standard_normal((50, 2))])
    stats = mode_stats(samples)
    assert stats["modes"] == 2
    assert stats["hq_fraction"] == 1.0
    assert stats["reverse_kl"] == pytest.approx(math.log(25 / 2), abs=1e-12)


def test_uniform_noise_over_the_square():
    # Uniform on [-5, 5]^2: each HQ disc (radius 0.15, fully inside) has probability
    # p = pi 0.15^2 / 100, so a sample is HQ with probability q = 25 p ~ 0.0177.
    n, seeds = 1000, 40
    p = math.pi * RADIUS**2 / 100.0
    q = K * p
    runs = [mode_stats(np.random.default_rng(100 + s).uniform(-5.0, 5.0, (n, 2))) for s in range(seeds)]

    # Pooled HQ fraction over n*seeds independent points: 4 binomial standard errors
    # (4 sqrt(q(1-q)/40000) ~ 0.0026, about 15% of q).
    hq = np.mean([r["hq_fraction"] for r in runs])
    assert abs(hq - q) < 4.0 * math.sqrt(q * (1.0 - q) / (n * seeds))

    # Covered modes per run: a centre is missed with probability m1 = (1-p)^n (~0.49 for
    # n = 1000, so coverage is far from saturated and the check is sharp). E = K (1 - m1).
    # Var[covered] = Var[#empty] = K m1 (1-m1) + K (K-1) (m2 - m1^2), m2 = (1-2p)^n the
    # chance two given centres are both missed (cells are negatively correlated). Mean of
    # 40 independent runs: tolerance 4 sd of that mean (~1.6 modes around ~12.7).
    m1, m2 = (1.0 - p) ** n, (1.0 - 2.0 * p) ** n
    expected = K * (1.0 - m1)
    var = K * m1 * (1.0 - m1) + K * (K - 1) * (m2 - m1**2)
    modes = np.mean([r["modes"] for r in runs])
    assert abs(modes - expected) < 4.0 * math.sqrt(var / seeds)


# ---------------------------------------------------------------- mode_stats: hand cases


def test_threshold_boundary():
    centre = GRID_CENTERS[13]  # (2, 4)
    direction = np.array([0.6, 0.8])  # unit vector, not along an axis
    inside = mode_stats((centre + 0.149 * direction)[None, :])
    assert inside == {"modes": 1, "hq_fraction": 1.0, "reverse_kl": pytest.approx(LN_K, abs=1e-12)}
    outside = mode_stats((centre + 0.151 * direction)[None, :])
    assert outside["modes"] == 0
    assert outside["hq_fraction"] == 0.0
    # No HQ sample at all: reverse KL is defined as ln K (total collapse).
    assert outside["reverse_kl"] == LN_K


def test_hq_samples_counted_at_their_nearest_centre_and_non_hq_ignored():
    samples = np.array([[0.0, 0.0], [0.05, 0.0], [2.0, 2.1], [1.0, 1.0], [40.0, -3.0]])
    stats = mode_stats(samples)
    assert stats["modes"] == 2
    assert stats["hq_fraction"] == pytest.approx(3 / 5)
    p = np.array([2 / 3, 1 / 3])
    assert stats["reverse_kl"] == pytest.approx(LN_K + np.sum(p * np.log(p)), abs=1e-12)


def test_custom_centres_std_threshold():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.9, 0.0], [11.5, 0.0]])
    assert mode_stats(samples, centers=centres, std=1.0, threshold=1.0)["modes"] == 1
    assert mode_stats(samples, centers=centres, std=1.0, threshold=2.0) == {
        "modes": 2, "hq_fraction": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_huge_values_are_not_high_quality():
    samples = np.array([[1e300, -1e300], [1.7e308, -1.7e308], [-1.7e308, 5e-324], [0.0, 0.0]])
    stats = mode_stats(samples)
    assert stats == {"modes": 1, "hq_fraction": 0.25, "reverse_kl": pytest.approx(LN_K, abs=1e-12)}


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 50), st.just(2)),
              elements=st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64),
                                 st.floats(-5.0, 5.0),
                                 st.sampled_from([-4.0, -2.0, 0.0, 2.0, 4.0, 4.1, -3.95]))))
def test_mode_stats_stays_in_range_for_any_finite_input(samples):
    stats = mode_stats(samples)
    assert type(stats["modes"]) is int and 0 <= stats["modes"] <= 25
    assert type(stats["hq_fraction"]) is float and 0.0 <= stats["hq_fraction"] <= 1.0
    assert type(stats["reverse_kl"]) is float and -1e-12 <= stats["reverse_kl"] <= LN_K + 1e-12
    n_hq = round(stats["hq_fraction"] * len(samples))
    assert stats["modes"] <= n_hq
    if n_hq == 0:
        assert stats["modes"] == 0 and stats["reverse_kl"] == LN_K


# ---------------------------------------------------------------- wasserstein1


def test_w1_identical_sets_is_zero():
    a = true_mixture(500, seed=3)
    assert wasserstein1(a, a.copy()) == pytest.approx(0.0, abs=1e-12)


def test_w1_translation():
    # W1 >= |mean(a) - mean(b)| = 0.5 (Jensen), and the translation coupling achieves it.
    a = true_mixture(500, seed=4)
    assert wasserstein1(a, a + np.array([0.3, 0.4])) == pytest.approx(0.5, abs=1e-9)


def test_w1_hand_case_matching_is_not_identity():
    a = np.array([[0.0, 0.0], [10.0, 0.0]])
    b = np.array([[10.0, 1.0], [0.0, 1.0]])
    # Identity matching costs sqrt(101) each; the swap costs 1 each: W1 = (1 + 1) / 2.
    assert wasserstein1(a, b) == pytest.approx(1.0, abs=1e-12)


def test_w1_unequal_sizes_uses_uniform_weights():
    # One point against two: all mass of a splits evenly, W1 = (5 + 1) / 2.
    assert wasserstein1(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]])) == pytest.approx(3.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_w1_matches_assignment_problem(seed):
    # Equal sizes, uniform weights: an optimal plan is a permutation (Birkhoff), so the
    # assignment problem gives the exact W1.
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-5, 5, (200, 2)), rng.normal(0, 2, (200, 2))
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    assert wasserstein1(a, b) == pytest.approx(cost[rows, cols].mean(), rel=1e-10)


def test_w1_huge_coordinates():
    assert wasserstein1([[1e300, 0.0]], [[-1e300, 0.0]]) == pytest.approx(2e300, rel=1e-12)


def test_w1_2500_points_is_optimal():
    # The protocol's size; a collapsed cloud vs the grid needed the most simplex iterations
    # (~86k, close to POT's default 100k limit). Any POT warning fails this test.
    real = sample_grid(100, generator=torch.Generator().manual_seed(5))
    fake = 1e-3 * np.random.default_rng(5).standard_normal((2500, 2))
    w1 = wasserstein1(fake, real)
    # Mass at the origin: W1 = mean distance of the real points to (0, 0) (~3.75), up to
    # the 1e-3 spread of the fake cloud.
    mean_norm = np.linalg.norm(real.double().numpy(), axis=1).mean()
    assert abs(w1 - mean_norm) < 5e-3


def test_w1_refuses_early_stop(monkeypatch):
    monkeypatch.setattr(metrics, "_NUM_ITER_MAX", 5)
    a = true_mixture(100, seed=6)
    with pytest.raises(RuntimeError, match="numItermax"):
        wasserstein1(a, a[::-1] + 1.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 8), st.just(2)),
              elements=st.floats(allow_nan=False, allow_infinity=False, width=64)),
       arrays(np.float64, st.tuples(st.integers(1, 8), st.just(2)),
              elements=st.floats(allow_nan=False, allow_infinity=False, width=64)))
def test_w1_any_finite_input(a, b):
    w1 = wasserstein1(a, b)
    assert not math.isnan(w1) and w1 >= 0.0
    # Symmetric to within what wasserstein1 promises: 1e-14 absolute at the coordinates' scale
    # (POT's simplex tolerance; see its docstring), with a margin of 10 for the few pivots here.
    scale = max(1.0, np.abs(a).max(), np.abs(b).max())
    assert wasserstein1(b, a) == pytest.approx(w1, rel=1e-9, abs=1e-13 * scale)


# Found by the property above on CI (a=4 points, b=5 points, one of each at 1.14e-125, the rest at
# 0): when every distance is below ~1e-15, POT's network simplex treats the reduced costs as zero
# and stops at a feasible, non-optimal plan (W1(b, a) = 0.35 x instead of 0.05 x; measured from
# 1e-16 down, exact at 1e-15 and above). The fix is to rescale tiny sets by a power of two as
# wasserstein1 already does for huge ones; it waits for the next regeneration of the stored runs,
# because metrics.py is part of their code fingerprint. No stored run is affected: the real set
# always has points near +-4, so its distances are far above 1e-15.
@pytest.mark.xfail(strict=True, reason="POT's simplex stops early when all distances are below ~1e-15")
@pytest.mark.parametrize("x", [1e-16, 1e-125])
def test_w1_of_sets_at_a_tiny_scale(x):
    a, b = np.zeros((4, 2)), np.zeros((5, 2))
    a[0, 0] = b[0, 0] = x
    assert wasserstein1(b, a) == pytest.approx(0.05 * x, rel=1e-9, abs=0)


def test_w1_of_the_same_sets_at_scale_one_and_at_1e_minus_15():
    for x in (1.0, 1e-15):
        a, b = np.zeros((4, 2)), np.zeros((5, 2))
        a[0, 0] = b[0, 0] = x
        assert wasserstein1(b, a) == pytest.approx(0.05 * x, rel=1e-9, abs=0)
        assert wasserstein1(a, b) == pytest.approx(0.05 * x, rel=1e-9, abs=0)


# ---------------------------------------------------------------- snapshot_metrics


def test_snapshot_metrics():
    fake, real = true_mixture(300, seed=7), true_mixture(300, seed=8)
    snap = snapshot_metrics(torch.as_tensor(fake, dtype=torch.float32), real)
    assert set(snap) == {"modes", "hq_fraction", "reverse_kl", "w1"}
    stats = mode_stats(fake.astype(np.float32))
    assert {k: snap[k] for k in stats} == stats
    assert snap["w1"] == pytest.approx(wasserstein1(fake.astype(np.float32), real))
    assert 0.0 < snap["w1"] < 0.5


# ---------------------------------------------------------------- validation

GOOD = np.zeros((3, 2))
BAD_POINTS = [
    pytest.param(np.zeros((3, 5)), r"shape \(3, 5\)", id="shape-3x5"),
    pytest.param(np.zeros(6), r"shape \(6,\)", id="1-d"),
    pytest.param(np.zeros((2, 2, 2)), r"shape \(2, 2, 2\)", id="3-d"),
    pytest.param(np.zeros((0, 2)), r"shape \(0, 2\)", id="empty"),
    pytest.param(np.array([[0.0, np.nan]]), "NaN or infinite", id="nan"),
    pytest.param(np.array([[np.inf, 0.0]]), "NaN or infinite", id="inf"),
    pytest.param(np.array([[0.0, -np.inf]]), "NaN or infinite", id="-inf"),
    pytest.param([["a", "b"]], "could not convert", id="strings"),
]


@pytest.mark.parametrize("bad,detail", BAD_POINTS)
@pytest.mark.parametrize("call,name", [
    (lambda x: mode_stats(x), "samples"),
    (lambda x: mode_stats(GOOD, centers=x), "centers"),
    (lambda x: wasserstein1(x, GOOD), "a"),
    (lambda x: wasserstein1(GOOD, x), "b"),
    (lambda x: snapshot_metrics(x, GOOD), "samples"),
    (lambda x: snapshot_metrics(GOOD, x), "real_samples"),
])
def test_bad_points_raise_value_error_naming_the_argument(call, name, bad, detail):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite array of shape \(n, 2\).*{detail}"):
        call(bad)


def test_torch_nan_rejected():
    with pytest.raises(ValueError, match="^samples must"):
        mode_stats(torch.tensor([[0.0, float("nan")]]))


@pytest.mark.parametrize("name", ["std", "threshold"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_std_and_threshold(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a finite number > 0"):
        mode_stats(GOOD, **{name: value})
