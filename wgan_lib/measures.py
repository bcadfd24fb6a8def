"""Measures of what the post judged by eye: the shape of D's contour map, where G's samples sit on
it, how far G drifted, how near G passes to each centre; and what weight clipping does to the
critic (its weights and its gradient over the plane).

Each function takes plain arrays (a run's `d_grid`, `samples`, `d_weights`) and returns numbers,
so it can be checked on constructed cases whose answer is known (tests/test_measures.py).
Conventions are the trainer's: `d_grid[i, j]` is D at x = axis[j], y = axis[i] with axis =
linspace(-extent, extent, side).
"""
import math

import numpy as np

from .data import GRID_CENTERS, GRID_STD


def grid_axis(d_grid, extent):
    return np.linspace(-extent, extent, d_grid.shape[0])


def _polar_grid(d_grid, extent):
    axis = grid_axis(d_grid, extent)
    xs, ys = np.meshgrid(axis, axis, indexing="xy")
    return xs, ys, np.hypot(xs, ys)


def tangential_share(d_grid, extent, r_min=1.0, r_max=None):
    """How much of D's variation over the plane runs around the centre rather than away from it:
    sum of (grad D . e_theta)^2 over sum of |grad D|^2, on the lattice points with
    r_min <= |x| <= r_max (default: the disc inscribed in the plotted square).

    1: contour lines that radiate from the centre (D a function of the angle alone); 0: contours
    that are circles around it (D a function of the radius); 0.5: no preference, as for a plane
    (its gradient has one direction, and the angle to e_theta is uniform over the disc). NaN for a
    D that is constant there. The gradient is taken by central differences on the lattice.

    A single steep ridge or band through the centre also scores near 1 (where it is steep, its
    gradient is perpendicular to a line through the centre, i.e. tangential), so a high share is
    spokes or a band: look at the map."""
    tangential, total, _ = _gradient_on_disc(d_grid, extent, r_min, r_max)
    return float(tangential.sum() / total.sum()) if total.sum() > 0 else math.nan


def _gradient_on_disc(d_grid, extent, r_min, r_max):
    """At the lattice points with r_min <= |x| <= r_max (default r_max: extent): (grad D . e_theta)^2,
    |grad D|^2 and the angle of the point; the gradient by central differences."""
    d = np.asarray(d_grid, dtype=np.float64)
    r_max = extent if r_max is None else r_max
    xs, ys, r = _polar_grid(d, extent)
    d_dy, d_dx = np.gradient(d, 2.0 * extent / (d.shape[0] - 1))
    inside = (r >= r_min) & (r <= r_max) & np.isfinite(d_dx) & np.isfinite(d_dy)
    tangential = ((-ys * d_dx + xs * d_dy)[inside] / r[inside]) ** 2
    return tangential, (d_dx ** 2 + d_dy ** 2)[inside], np.arctan2(ys, xs)[inside]


def radial_directions(d_grid, extent, sectors=36, min_share=0.75, r_min=1.0, r_max=None):
    """In how many directions D's contour lines leave the centre: the fraction of `sectors` equal
    angular sectors of the disc r_min <= |x| <= r_max in which the tangential share (as above,
    summed over the sector alone) is at least `min_share`.

    The tangential share is a sum over the whole disc, so one steep band through the centre can
    carry it; this counts directions instead, each the same weight however steep D is there.
    1: contour lines radiate in every direction (spokes, or any function of the angle alone);
    about 1/3: in one direction only, as for a plane (the share in the sector at angle t from the
    gradient's direction is sin^2 t, at least 0.75 over a third of the angles) and for a band
    through the centre (tangential only within 30 degrees of the band); 0: rings. A sector where D
    is flat counts as not radial (it has no contour lines)."""
    tangential, total, angle = _gradient_on_disc(d_grid, extent, r_min, r_max)
    sector = np.minimum((angle + np.pi) / (2 * np.pi) * sectors, sectors - 1).astype(int)
    tangential_sum = np.bincount(sector, tangential, sectors)
    total_sum = np.bincount(sector, total, sectors)
    radial = (total_sum > 0) & (tangential_sum >= min_share * total_sum)
    return float(radial.mean())


def plane_share(d_grid, extent):
    """The share of D's variance over the plotted square that the best plane a + b x + c y explains
    (R^2 of the least-squares fit): 1 for contour lines that are parallel and evenly spaced."""
    d = np.asarray(d_grid, dtype=np.float64)
    xs, ys, _ = _polar_grid(d, extent)
    finite = np.isfinite(d)
    design = np.stack([np.ones(finite.sum()), xs[finite], ys[finite]], 1)
    values = d[finite]
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    total = ((values - values.mean()) ** 2).sum()
    return float(1.0 - ((values - design @ coef) ** 2).sum() / total) if total > 0 else math.nan


def d_at(d_grid, extent, points):
    """D at `points` (n, 2) by bilinear interpolation of the lattice; NaN outside the square."""
    d = np.asarray(d_grid, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    side = d.shape[0]
    u = (points[:, 0] + extent) / (2 * extent) * (side - 1)  # column coordinate (x)
    v = (points[:, 1] + extent) / (2 * extent) * (side - 1)  # row coordinate (y)
    inside = (u >= 0) & (u <= side - 1) & (v >= 0) & (v <= side - 1)
    out = np.full(len(points), np.nan)
    j0 = np.clip(np.floor(u[inside]).astype(int), 0, side - 2)
    i0 = np.clip(np.floor(v[inside]).astype(int), 0, side - 2)
    fu, fv = u[inside] - j0, v[inside] - i0
    out[inside] = ((1 - fu) * (1 - fv) * d[i0, j0] + fu * (1 - fv) * d[i0, j0 + 1]
                   + (1 - fu) * fv * d[i0 + 1, j0] + fu * fv * d[i0 + 1, j0 + 1])
    return out


def valley_percentile(d_grid, extent, samples):
    """Where G's samples sit on D's map: the mean, over the samples inside the plotted square, of
    the share of the square where D is lower than at the sample (D's empirical distribution over
    the lattice). 0: every sample at D's minimum; 0.5: no preference, as for samples spread
    uniformly over the square; 1: every sample at D's maximum. NaN when no sample is inside."""
    d = np.asarray(d_grid, dtype=np.float64)
    values = d_at(d, extent, samples)
    values = values[np.isfinite(values)]
    levels = np.sort(d[np.isfinite(d)].ravel())
    if len(values) == 0 or len(levels) == 0:
        return math.nan
    below = np.searchsorted(levels, values, side="left")
    equal = np.searchsorted(levels, values, side="right") - below
    return float(np.mean((below + 0.5 * equal) / len(levels)))


def centre_wells(d_grid, extent, radius=1.0, points=64, centers=GRID_CENTERS):
    """For each centre, whether it sits in a well of D: D at the centre is below D everywhere on the
    circle of `radius` around it (default half the distance between neighbouring centres; `points`
    points on the circle, by bilinear interpolation). A generator that descends D (WGAN, WGAN-GP,
    Coulomb GAN: G minimises D(G(z))) is drawn into a centre that is a well and held there; at a
    centre that is not, D pushes G's samples on past it. NaN for a centre whose circle leaves the
    square. Independent of D's scale, so clipped and unclipped critics compare."""
    angle = np.linspace(0.0, 2.0 * math.pi, points, endpoint=False)
    ring = radius * np.stack([np.cos(angle), np.sin(angle)], 1)
    centers = np.asarray(centers, dtype=np.float64)
    at_centre = d_at(d_grid, extent, centers)
    around = d_at(d_grid, extent, (centers[:, None, :] + ring[None]).reshape(-1, 2)).reshape(len(centers), points)
    well = (at_centre[:, None] < around).all(1).astype(float)
    return np.where(np.isfinite(around).all(1) & np.isfinite(at_centre), well, np.nan)


def pull_towards_centres(d_grid, extent, samples, inner=0.15, outer=1.0, centers=GRID_CENTERS):
    """How well D's gradient pulls G's samples into their nearest centre: over the samples between
    `inner` (default 3 standard deviations of a mode: already of high quality) and `outer` (half the
    distance between neighbouring centres) from their nearest centre, the mean cosine of the angle
    between -grad D at the sample (the way a generator that descends D moves it) and the direction
    to that centre. 1: every such sample is pushed straight at its centre; 0: no preference, as for
    a plane; -1: pushed straight away. NaN when no sample is in that band. The gradient is taken on
    the lattice by central differences and interpolated bilinearly; independent of D's scale."""
    d = np.asarray(d_grid, dtype=np.float64)
    d_dy, d_dx = np.gradient(d, 2.0 * extent / (d.shape[0] - 1))
    points = np.asarray(samples, dtype=np.float64)
    points = points[np.isfinite(points).all(1)]
    offset = np.asarray(centers, dtype=np.float64)[None] - points[:, None]
    nearest = np.argmin(np.hypot(offset[..., 0], offset[..., 1]), 1)
    to_centre = offset[np.arange(len(points)), nearest]
    distance = np.hypot(to_centre[:, 0], to_centre[:, 1])
    band = (distance > inner) & (distance < outer)
    push = -np.stack([d_at(d_dx, extent, points[band]), d_at(d_dy, extent, points[band])], 1)
    norm = np.hypot(push[:, 0], push[:, 1]) * distance[band]
    valid = np.isfinite(norm) & (norm > 0)
    if not valid.any():
        return math.nan
    return float(np.mean((push[valid] * to_centre[band][valid]).sum(1) / norm[valid]))


def near_centre_fractions(samples, radius=0.5, centers=GRID_CENTERS):
    """For each of the centres, the fraction of the samples within `radius` of it (non-finite
    samples count in the total, near no centre)."""
    samples = np.asarray(samples, dtype=np.float64)
    finite = samples[np.isfinite(samples).all(1)]
    distance = np.hypot(finite[:, None, 0] - centers[None, :, 0], finite[:, None, 1] - centers[None, :, 1])
    return (distance < radius).sum(0) / max(len(samples), 1)


# Bands of a sample's distance to its nearest centre: within 3 standard deviations of a mode (high
# quality, the mode count's threshold), within 6, within half the distance between neighbouring
# centres, and beyond.
SPREAD_EDGES = (3 * GRID_STD, 6 * GRID_STD, 1.0)


def nearest_centre(samples, centers=GRID_CENTERS):
    """Each sample's distance to its nearest centre (inf for a non-finite sample) and that centre's
    index, as the mode count finds them (`metrics._nearest_center`)."""
    from .metrics import _nearest_center

    return _nearest_center(np.asarray(samples, dtype=np.float64), np.asarray(centers, dtype=np.float64))


def centres_missed(samples, centers=GRID_CENTERS):
    """For each centre, whether no sample of high quality (within 3 standard deviations) is nearest
    to it: the modes G misses, as the mode count counts them."""
    distance, nearest = nearest_centre(samples, centers)
    return np.bincount(nearest[distance < SPREAD_EDGES[0]], minlength=len(centers)) == 0


def distance_bands(samples, edges=SPREAD_EDGES, centers=GRID_CENTERS):
    """The shares of the samples whose distance to their nearest centre falls in each band [0, e1),
    [e1, e2), ..., [e_last, inf): where G's samples miss when they are not of high quality, blurred
    around the centres or between and beyond them. A non-finite sample counts in the last band."""
    distance, _ = nearest_centre(samples, centers)
    return np.bincount(np.searchsorted(edges, distance, side="right"), minlength=len(edges) + 1) / len(distance)


def true_distance_bands(edges=SPREAD_EDGES, std=GRID_STD):
    """`distance_bands` of the true mixture, exactly: a sample's distance to its own centre is
    Rayleigh with scale `std`, P(d < r) = 1 - exp(-r^2 / 2 std^2) (the next centre, 40 standard
    deviations away, changes no digit shown)."""
    below = [1.0 - math.exp(-edge ** 2 / (2 * std ** 2)) for edge in edges] + [1.0]
    return np.diff([0.0] + below)


def true_median_distance(std=GRID_STD):
    """The median distance of a true sample to its centre: std * sqrt(2 ln 2)."""
    return std * math.sqrt(2 * math.log(2))


def centres_passed(samples, radius=0.5, min_fraction=0.002, centers=GRID_CENTERS):
    """How many centres G's distribution passes near: centres with at least `min_fraction` of the
    samples within `radius` of them (the defaults: 5 of 2500 samples within a quarter of the
    distance between neighbouring centres)."""
    return int((near_centre_fractions(samples, radius, centers) >= min_fraction).sum())


def drift(samples, extent):
    """Where G's samples are: the mean point, the spread (root-mean-square distance from that mean)
    and the fraction of samples outside the plotted square [-extent, extent]^2 (a non-finite
    sample counts as outside)."""
    s = np.asarray(samples, dtype=np.float64)
    finite = np.isfinite(s).all(1)
    f = s[finite]
    mean = f.mean(0) if len(f) else np.array([np.nan, np.nan])
    spread = float(np.sqrt(((f - mean) ** 2).sum(1).mean())) if len(f) else math.nan
    inside = finite & (np.abs(np.where(np.isfinite(s), s, np.inf)) <= extent).all(1)
    return {"mean": (float(mean[0]), float(mean[1])), "spread": spread, "outside": float(1.0 - inside.mean())}


def uniform_mode_counts(n_samples=2500, extent=6.0, draws=1000, seed=0):
    """Modes covered (the field's protocol, `metrics.mode_stats`) by `n_samples` points drawn
    uniformly over the plotted square, for `draws` independent draws: the chance baseline of the
    mode count for a G spread evenly over the plot. Returns (counts, high-quality fractions)."""
    from .metrics import mode_stats

    rng = np.random.default_rng(seed)
    counts, hq = [], []
    for _ in range(draws):
        stats = mode_stats(rng.uniform(-extent, extent, size=(n_samples, 2)))
        counts.append(stats["modes"])
        hq.append(stats["hq_fraction"])
    return np.array(counts), np.array(hq)


# ----------------------------------------------------------------------- the critic's weights
def critic_layers(config, flat):
    """[W_0, b_0, W_1, ...] of D (numpy; W: fan_in x fan_out) from its flat weights (`d_weights[k]`)."""
    from .models import discriminator_sizes

    sizes = discriminator_sizes(config)
    shapes = [s for a, b in zip(sizes[:-1], sizes[1:]) for s in ((a, b), (b,))]
    parts = np.split(np.asarray(flat), np.cumsum([math.prod(s) for s in shapes])[:-1])
    return [p.reshape(s) for p, s in zip(parts, shapes)]


def critic_on_plane(config, flat, extent=None, resolution=None, gradient=False):
    """D over a resolution x resolution lattice of [-extent, extent]^2 (defaults: the plotting
    grid), evaluated in float64 from its weights; with `gradient`, also |grad_x D| there.
    Returns (axis, D) or (axis, D, |grad D|). In float64 because a clipped critic's gradient is a
    small difference of larger terms."""
    import torch

    from .models import stacked_forward

    extent = config.plot_extent if extent is None else extent
    resolution = config.plot_resolution if resolution is None else resolution
    axis = torch.linspace(-extent, extent, resolution, dtype=torch.float64)
    xs, ys = torch.meshgrid(axis, axis, indexing="xy")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], 1).requires_grad_(gradient)
    params = [torch.from_numpy(p).double().reshape(1, *p.shape) if p.ndim == 2
              else torch.from_numpy(p).double().reshape(1, 1, -1) for p in critic_layers(config, flat)]
    out = stacked_forward(params, points[None], config.activation)[0, :, 0]
    d = out.detach().reshape(resolution, resolution).numpy()
    if not gradient:
        return axis.numpy(), d
    (grad,) = torch.autograd.grad(out.sum(), points)
    return axis.numpy(), d, grad.norm(dim=1).reshape(resolution, resolution).numpy()


def fraction_at_clip(flat, clip, rel_tol=1e-3):
    """Fraction of D's parameters within rel_tol * clip of +-clip (NaN without clipping)."""
    if clip is None:
        return math.nan
    return float(np.mean(np.abs(np.asarray(flat)) >= clip * (1 - rel_tol)))
