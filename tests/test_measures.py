"""Tests of wgan_lib.measures on constructed cases whose answer is known, and on a tiny trained critic."""
import math

import numpy as np
import pytest
import torch

from wgan_lib import Config, StackTrainer, measures
from wgan_lib.data import GRID_CENTERS
from wgan_lib.figures import example_maps
from wgan_lib.models import stacked_forward

EXTENT, SIDE = 6.0, 101
AXIS = np.linspace(-EXTENT, EXTENT, SIDE)
X, Y = np.meshgrid(AXIS, AXIS, indexing="xy")  # d_grid[i, j] is D at (AXIS[j], AXIS[i])
THETA, R = np.arctan2(Y, X), np.hypot(X, Y)


# ------------------------------------------------------------------- the shape of D's contours


@pytest.mark.parametrize("d, expected, tol", [
    (np.sin(5 * THETA), 1.0, 0.02),  # contours are spokes from the centre
    (np.arctan2(Y, X) ** 2, 1.0, 0.02),  # any function of the angle alone
    (R ** 2, 0.0, 0.01),  # circles: a function of the radius alone
    (np.exp(-R), 0.0, 0.01),
    (X + 0.5 * Y, 0.5, 0.02),  # a plane: parallel lines, no preference
    (-3 * X, 0.5, 0.02),
])
def test_tangential_share_is_one_for_spokes_zero_for_rings_and_a_half_for_a_plane(d, expected, tol):
    assert measures.tangential_share(d, EXTENT) == pytest.approx(expected, abs=tol)


def test_tangential_share_of_a_mixture_lies_between_and_flat_maps_are_nan():
    mixed = measures.tangential_share(np.sin(5 * THETA) + 0.05 * R ** 2, EXTENT)
    assert 0.0 < mixed < 1.0
    assert math.isnan(measures.tangential_share(np.full((SIDE, SIDE), 3.0), EXTENT))
    # Only the annulus 1 <= r <= 6 counts: a map that varies only near the centre is flat there.
    centre_only = np.where(R < 0.5, X, 0.0)
    assert math.isnan(measures.tangential_share(centre_only, EXTENT))


def test_plane_share_is_one_for_a_plane_and_zero_for_spokes_and_rings():
    assert measures.plane_share(2 * X - Y + 7, EXTENT) == pytest.approx(1.0, abs=1e-12)
    # sin(4 theta) and r^2 are each odd or even under x -> -x and y -> -y in a way that makes them
    # orthogonal to x and y on the symmetric lattice: no plane explains any of their variance.
    assert measures.plane_share(np.sin(4 * THETA), EXTENT) == pytest.approx(0.0, abs=1e-12)
    assert measures.plane_share(R ** 2, EXTENT) == pytest.approx(0.0, abs=1e-12)
    noisy = 2 * X + np.random.default_rng(0).normal(0, 2.0, X.shape)
    # var(2x) over the square = 4 * 12 = 48 against the noise's 4: R^2 about 48 / 52
    assert measures.plane_share(noisy, EXTENT) == pytest.approx(48 / 52, abs=0.01)


def test_example_maps_are_what_their_titles_say():
    maps = example_maps()
    assert [round(measures.tangential_share(grid, EXTENT), 1) for grid in maps.values()] == [1.0, 0.5, 0.0, 1.0]
    assert [round(measures.radial_directions(grid, EXTENT), 2) for grid in maps.values()] == [1.0, 0.33, 0.0, 0.33]


# ------------------------------------------------------------------- where G sits on D's map


def test_d_at_interpolates_the_lattice_exactly_for_a_plane_and_is_nan_outside():
    d = 2 * X - Y
    points = np.array([[0.0, 0.0], [1.03, -2.71], [5.99, 5.99], [-6.0, 6.0], [6.5, 0.0]])
    got = measures.d_at(d, EXTENT, points)
    np.testing.assert_allclose(got[:4], 2 * points[:4, 0] - points[:4, 1], atol=1e-12)
    assert math.isnan(got[4])


def test_valley_percentile_low_in_the_valleys_a_half_for_no_preference():
    d = X  # D rises to the right: the valley is the left edge
    rng = np.random.default_rng(1)
    left = np.stack([rng.uniform(-6, -5, 2000), rng.uniform(-6, 6, 2000)], 1)
    uniform = rng.uniform(-6, 6, (5000, 2))
    right = left * np.array([-1, 1])
    assert measures.valley_percentile(d, EXTENT, left) == pytest.approx(0.5 / 12, abs=0.01)
    assert measures.valley_percentile(d, EXTENT, uniform) == pytest.approx(0.5, abs=0.02)
    assert measures.valley_percentile(d, EXTENT, right) == pytest.approx(1 - 0.5 / 12, abs=0.01)
    # samples outside the plotted square do not count; none inside: NaN
    assert measures.valley_percentile(d, EXTENT, np.vstack([left, left + 100])) == pytest.approx(0.5 / 12, abs=0.01)
    assert math.isnan(measures.valley_percentile(d, EXTENT, left + 100))


def test_valley_percentile_finds_samples_in_the_valleys_of_spokes():
    d = np.sin(5 * THETA)  # valleys at the angles where sin(5 theta) = -1
    angles = (-np.pi / 2 + 2 * np.pi * np.arange(5)) / 5
    rng = np.random.default_rng(2)
    radius = rng.uniform(1.5, 5.5, 1000)
    which = rng.integers(0, 5, 1000)
    samples = np.stack([radius * np.cos(angles[which]), radius * np.sin(angles[which])], 1)
    assert measures.valley_percentile(d, EXTENT, samples) < 0.05


def _wells_at(centres, depth=1.0, width=0.3):
    """A map with a Gaussian well of `depth` at each of `centres`, on a gentle slope."""
    d = 0.05 * X
    for cx, cy in centres:
        d = d - depth * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * width ** 2))
    return d


def test_centre_wells_finds_the_wells_and_only_them():
    chosen = [0, 3, 7, 12, 18, 24]
    d = _wells_at(GRID_CENTERS[chosen])
    wells = measures.centre_wells(d, EXTENT)
    assert np.flatnonzero(wells == 1).tolist() == chosen
    assert wells.sum() == len(chosen)
    # every centre a well; D's scale does not matter; peaks are not wells; a plane has none
    every = _wells_at(GRID_CENTERS)
    assert measures.centre_wells(every, EXTENT).sum() == 25
    assert measures.centre_wells(1e-4 * every + 7.0, EXTENT).sum() == 25
    assert measures.centre_wells(-every, EXTENT).sum() == 0
    assert measures.centre_wells(X + 0.5 * Y, EXTENT).sum() == 0


def test_centre_wells_is_nan_where_the_circle_leaves_the_square():
    d = _wells_at(GRID_CENTERS)
    small = d[20:81, 20:81]  # the lattice of [-3.6, 3.6]^2: only the 9 inner centres' circles fit
    wells = measures.centre_wells(small, 3.6)
    inner = (np.abs(GRID_CENTERS) <= 2).all(1)
    assert wells[inner].sum() == 9
    assert np.isnan(wells[~inner]).all()


def _ring_samples(radius, per_centre=40, seed=0):
    """Samples at `radius` from every centre, in random directions."""
    angle = np.random.default_rng(seed).uniform(0, 2 * np.pi, (25, per_centre))
    return (GRID_CENTERS[:, None, :] + radius * np.stack([np.cos(angle), np.sin(angle)], -1)).reshape(-1, 2)


def test_pull_towards_centres_is_one_for_wells_minus_one_for_peaks_and_zero_for_a_plane():
    bowls = np.min([(X - cx) ** 2 + (Y - cy) ** 2 for cx, cy in GRID_CENTERS], axis=0)  # a bowl at each centre
    samples = _ring_samples(0.5)
    assert measures.pull_towards_centres(bowls, EXTENT, samples) == pytest.approx(1.0, abs=0.02)
    assert measures.pull_towards_centres(1e-3 * bowls, EXTENT, samples) == pytest.approx(1.0, abs=0.02)
    assert measures.pull_towards_centres(-bowls, EXTENT, samples) == pytest.approx(-1.0, abs=0.02)
    assert measures.pull_towards_centres(X + 0.5 * Y, EXTENT, samples) == pytest.approx(0.0, abs=0.1)


def test_pull_towards_centres_counts_only_the_samples_between_sharp_and_halfway():
    bowls = np.min([(X - cx) ** 2 + (Y - cy) ** 2 for cx, cy in GRID_CENTERS], axis=0)
    sharp = _ring_samples(0.1)  # within 3 standard deviations of a centre
    diagonal = 1.2 / np.sqrt(2) * np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    far = (GRID_CENTERS[:, None, :] + diagonal[None]).reshape(-1, 2)  # 1.2 from the nearest centre
    assert math.isnan(measures.pull_towards_centres(bowls, EXTENT, np.vstack([sharp, far])))
    mixed = np.vstack([sharp, _ring_samples(0.5), [[np.nan, 0.0], [np.inf, np.inf]]])
    assert measures.pull_towards_centres(bowls, EXTENT, mixed) == pytest.approx(1.0, abs=0.02)


# ------------------------------------------------------------------- near every centre, drift


def test_centres_passed_counts_centres_with_enough_samples_near_them():
    at_every_centre = np.repeat(GRID_CENTERS, 100, axis=0)  # 2500 samples, 100 on each centre
    assert measures.centres_passed(at_every_centre) == 25
    assert measures.centres_passed(np.repeat(GRID_CENTERS[:1], 2500, axis=0)) == 1  # collapse
    four_each = np.vstack([np.repeat(GRID_CENTERS, 4, axis=0), np.full((2400, 2), 100.0)])
    assert measures.centres_passed(four_each) == 0  # 4 of 2500 is below 0.2 %
    assert measures.centres_passed(four_each, min_fraction=0.0016) == 25
    off = np.repeat(GRID_CENTERS + 0.6, 100, axis=0)  # 0.85 from each centre: not near any
    assert measures.centres_passed(off) == 0
    assert measures.centres_passed(off, radius=1.0) == 25
    fractions = measures.near_centre_fractions(np.vstack([GRID_CENTERS[:1], [[np.nan, 0.0]]]))
    assert fractions[0] == 0.5 and fractions[1:].sum() == 0  # the NaN sample counts in the total


def test_uniform_noise_over_the_plot_passes_near_every_centre_and_covers_modes_by_chance():
    counts, hq = measures.uniform_mode_counts(draws=200, seed=0)
    # P(a mode covered) = 1 - (1 - p)^2500 with p = pi 0.15^2 / 144 = 4.9e-4: 0.71, so 17.7 modes
    # on average, a binomial(25, 0.71) up to small dependence.
    p = 1 - (1 - math.pi * 0.15 ** 2 / 144) ** 2500
    assert counts.mean() == pytest.approx(25 * p, abs=0.5)
    assert counts.std() == pytest.approx(math.sqrt(25 * p * (1 - p)), rel=0.25)
    assert hq.mean() == pytest.approx(25 * math.pi * 0.15 ** 2 / 144, rel=0.1)  # 1.2 % high quality
    # Each centre expects 2500 * pi 0.5^2 / 144 = 13.6 samples within 0.5; it has fewer than 5 with
    # probability 0.0024 (Poisson), so all 25 centres are passed near in about 94 % of draws.
    draws = np.random.default_rng(3).uniform(-6, 6, (400, 2500, 2))
    share = np.mean([measures.centres_passed(d) == 25 for d in draws])
    assert share == pytest.approx(0.94, abs=0.04)


def test_drift_of_hand_made_samples():
    s = np.array([[1.0, 2.0], [3.0, 2.0], [100.0, 2.0], [np.nan, 0.0]])
    d = measures.drift(s, extent=6.0)
    assert d["mean"] == (pytest.approx(104 / 3), 2.0)
    assert d["outside"] == 0.5  # the far sample and the NaN one
    assert d["spread"] == pytest.approx(np.sqrt(np.mean((np.array([1, 3, 100]) - 104 / 3) ** 2)))


# --------------------------------------------------------------------------- the critic's weights


@pytest.fixture(scope="module")
def critic_run():
    config = Config(samples_per_center=32, batch_size=64, g_width=8, d_width=8, epochs=2, n_eval_samples=100,
                    plot_resolution=9, clip=0.05, lr=1e-2)
    trainer = StackTrainer([config], record_weights=True)
    trainer.train()
    return config, trainer.logs[0]


def test_critic_on_plane_from_the_weights_is_the_stored_map(critic_run):
    config, log = critic_run
    for k in range(len(log.snapshot_epochs)):
        _, d = measures.critic_on_plane(config, log.d_weights[k])
        np.testing.assert_allclose(d, log.d_grid[k], rtol=1e-5, atol=1e-6)


def test_critic_gradient_matches_finite_differences(critic_run):
    config, log = critic_run
    axis, _, norms = measures.critic_on_plane(config, log.d_weights[-1], extent=2.0, resolution=5, gradient=True)
    params = [torch.from_numpy(p).double()[None] if p.ndim == 2 else torch.from_numpy(p).double()[None, None]
              for p in measures.critic_layers(config, log.d_weights[-1])]

    def d(x, y):
        return stacked_forward(params, torch.tensor([[[x, y]]], dtype=torch.float64), config.activation).item()

    h = 1e-5
    for i, y in enumerate(axis):
        for j, x in enumerate(axis):
            gx = (d(x + h, y) - d(x - h, y)) / (2 * h)
            gy = (d(x, y + h) - d(x, y - h)) / (2 * h)
            assert norms[i, j] == pytest.approx(np.hypot(gx, gy), rel=1e-6, abs=1e-9)


def test_fraction_at_clip(critic_run):
    config, log = critic_run
    flat = log.d_weights[-1]
    assert np.abs(flat).max() <= config.clip * (1 + 1e-6)
    assert measures.fraction_at_clip(flat, config.clip) == pytest.approx(np.mean(np.abs(flat) >= 0.05 * 0.999))
    assert 0 < measures.fraction_at_clip(flat, config.clip) <= 1  # lr 1e-2 pushes weights onto +-c
    assert measures.fraction_at_clip(np.array([0.1, -0.1, 0.0, 0.0999]), 0.1) == 0.75
    assert math.isnan(measures.fraction_at_clip(flat, None))


def test_a_band_through_the_centre_scores_like_spokes():
    """The documented limit of the tangential share: a steep band along a line through the centre."""
    from wgan_lib.measures import tangential_share

    axis = np.linspace(-6, 6, 101)
    x, y = np.meshgrid(axis, axis, indexing="xy")
    band = np.tanh(5 * y)  # steep across y = 0, flat elsewhere
    assert tangential_share(band, 6.0) > 0.9


@pytest.mark.parametrize("d, expected, tol", [
    (np.sin(5 * THETA), 1.0, 0.0),  # spokes: every direction
    (np.cos(THETA), 1.0, 0.0),  # one turn of the angle: still rays from the centre
    (X + 0.5 * Y, 1 / 3, 0.06),  # a plane: tangential within 30 degrees of its contour direction
    (np.tanh(5 * Y), 1 / 3, 0.06),  # a steep band through the centre: the tangential share's blind spot
    (R ** 2, 0.0, 0.0),  # rings
])
def test_radial_directions_tells_spokes_from_a_band_and_a_plane(d, expected, tol):
    assert measures.radial_directions(d, EXTENT) == pytest.approx(expected, abs=tol)


def test_radial_directions_counts_a_flat_sector_as_not_radial():
    spokes_on_one_side = np.where(X > 0, np.sin(5 * THETA), 0.0)  # no contour lines where x < 0
    # Half the 36 sectors, give or take the two along x = 0, where the step itself runs radially.
    assert measures.radial_directions(spokes_on_one_side, EXTENT) == pytest.approx(0.5, abs=2 / 36)
    assert measures.radial_directions(np.full((SIDE, SIDE), 2.0), EXTENT) == 0.0


def test_distance_bands_put_each_sample_in_the_band_of_its_distance_to_the_nearest_centre():
    centre = GRID_CENTERS[12]  # (0, 0)
    samples = centre + np.array([[0.1, 0], [0, 0.2], [0.5, 0], [1.0, 1.0], [np.nan, 0], [-0.149, 0]])
    assert measures.distance_bands(samples).tolist() == [2 / 6, 1 / 6, 1 / 6, 2 / 6]  # NaN in the last band
    distance, nearest = measures.nearest_centre(samples)
    assert distance[:4] == pytest.approx([0.1, 0.2, 0.5, math.sqrt(2)]) and distance[4] == np.inf
    assert nearest[0] == 12 and nearest[3] == 12  # (1, 1) is as far from four centres: the first, as argmin


def test_the_true_mixtures_bands_and_median_are_those_of_its_samples():
    rng = np.random.default_rng(0)
    samples = GRID_CENTERS[rng.integers(0, 25, 200_000)] + 0.05 * rng.standard_normal((200_000, 2))
    bands = measures.true_distance_bands()
    assert bands[0] == pytest.approx(1 - math.exp(-4.5))  # the high-quality share of the truth
    assert measures.distance_bands(samples) == pytest.approx(bands, abs=0.002)
    assert np.median(measures.nearest_centre(samples)[0]) == pytest.approx(measures.true_median_distance(), rel=0.01)


def test_centres_missed_are_those_without_a_high_quality_sample():
    samples = np.concatenate([GRID_CENTERS[:20] + 0.01, GRID_CENTERS[20:] + 0.2])  # the last five only blurred
    missed = measures.centres_missed(samples)
    assert missed.tolist() == [False] * 20 + [True] * 5
