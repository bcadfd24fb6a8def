"""Sample-quality metrics for the 5x5 Gaussian grid (book chapter "Sources", the metric protocol).

Two kinds of number are reported for every snapshot of a generator:

* the mode metrics of VEEGAN / PacGAN (`mode_stats`): how many of the 25 modes are
  covered, what fraction of the samples are "high quality", and the reverse KL
  divergence of the mode histogram from the uniform one;
* the exact 1-Wasserstein distance to a fresh sample of the true mixture
  (`wasserstein1`), which, unlike the mode metrics, also sees *where* the bad samples are.

Everything here is plain numpy on float64 (plus POT for the transport problem), so a metric
never depends on the device or dtype the samples came from. Inputs are checked up front:
a wrong shape, an empty set or a NaN/inf raises a ValueError naming the argument, rather
than turning silently into a plausible-looking number.
"""
import math
import warnings

import numpy as np
import ot

from wgan_lib.data import GRID_CENTERS, GRID_STD

# Upper bound on network-simplex iterations in ot.emd2. POT's default (100_000) is too
# close to what 2500 x 2500 problems need: measured on this benchmark, between ~37_000
# (two similar sets) and ~94_000 (a point cloud far away from the grid) iterations.
# 10**8 leaves three orders of magnitude of headroom; the limit costs nothing unless it is
# used, and `wasserstein1` raises rather than return the non-optimal cost if it is ever hit.
_NUM_ITER_MAX = 100_000_000


def _as_points(x, name):
    """Return `x` as a float64 numpy array of shape (n, 2), n >= 1, all finite.

    Torch tensors are accepted (detached and copied to the CPU) without importing torch here.
    """
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite array of shape (n, 2); could not convert it: {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a finite array of shape (n, 2) with n >= 1; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a finite array of shape (n, 2); got NaN or infinite values")
    return arr


def _positive(value, name):
    """Return `value` as a float, insisting that it is finite and > 0."""
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}") from exc
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return value


def _nearest_center(samples, centers):
    """Distance from each sample to its nearest centre, and that centre's index.

    Loops over the (few) centres so memory stays O(n). np.hypot avoids the overflow of
    squaring: a distance only becomes inf when it really exceeds the float range (e.g.
    1e308 - (-1e308)), and inf still compares correctly (never high quality), never NaN.
    Ties go to the lower index, as np.argmin would.
    """
    best = np.full(len(samples), np.inf)
    index = np.zeros(len(samples), dtype=np.intp)
    with np.errstate(over="ignore"):  # a genuinely inf distance is a valid answer here
        for k, (cx, cy) in enumerate(centers):
            d = np.hypot(samples[:, 0] - cx, samples[:, 1] - cy)
            closer = d < best
            best[closer] = d[closer]
            index[closer] = k
    return best, index


def mode_stats(samples, centers=GRID_CENTERS, std=GRID_STD, threshold=3.0):
    """Mode coverage, high-quality fraction and reverse KL of `samples` (VEEGAN/PacGAN protocol).

    A sample is high quality (HQ) when its distance to the nearest centre is < threshold*std
    (3 std by default: 1 - exp(-4.5) ~ 98.9% of the true mixture's samples pass). Returns a
    dict with python scalars:

    * ``modes``: number of centres that have at least one HQ sample nearest to them (0..K);
    * ``hq_fraction``: fraction of all samples that are HQ (0..1);
    * ``reverse_kl``: KL(p || uniform) in nats, where p is the histogram of the HQ samples
      over their nearest centres; equals ln K - entropy(p), so it lies in [0, ln K]
      (0 = every mode equally often, ln K = a single mode). When there is *no* HQ sample
      at all p is undefined; we then report ln K, the value of total collapse, so a
      generator producing only garbage never looks better than one producing one mode.

    `samples` may be a numpy array or a torch tensor of shape (n, 2); `centers` (K, 2).
    """
    samples = _as_points(samples, "samples")
    centers = _as_points(centers, "centers")
    std = _positive(std, "std")
    threshold = _positive(threshold, "threshold")
    n_centers = len(centers)

    distance, nearest = _nearest_center(samples, centers)
    hq = distance < threshold * std
    counts = np.bincount(nearest[hq], minlength=n_centers)
    n_hq = int(counts.sum())

    if n_hq == 0:
        reverse_kl = math.log(n_centers)
    else:
        p = counts[counts > 0] / n_hq
        # sum p ln(p K) rather than ln K - H(p): exact for a single mode (1 * ln K).
        reverse_kl = float(np.sum(p * np.log(p * n_centers)))
        # The true value is in [0, ln K]; clip only the last-ulp rounding at either end.
        reverse_kl = min(max(reverse_kl, 0.0), math.log(n_centers))

    return {
        "modes": int(np.count_nonzero(counts)),
        "hq_fraction": float(n_hq / len(samples)),
        "reverse_kl": float(reverse_kl),
    }


def wasserstein1(a, b):
    """Exact 1-Wasserstein distance (Euclidean ground cost) between two point sets.

    Each set is an empirical measure with uniform weights (1/len(a), 1/len(b)); the sizes may
    differ. The transport problem is solved exactly by POT's network simplex (`ot.emd2`).

    * The cost matrix comes from ``ot.dist(a, b, metric="euclidean", backend="scipy")``:
      POT's default numpy path uses |x|^2 + |y|^2 - 2 x.y, whose cancellation leaves ~1e-7
      on the diagonal of identical sets (W1 of a set with a copy of itself ~5e-9, not 0);
      scipy's cdist subtracts first and is exact there.
    * W1 is positively homogeneous, so sets whose distances would overflow (coordinates
      > 1e150) are divided by a power of two (exact) before solving and the cost multiplied
      back afterwards; the result is then accurate relative to the largest coordinate, not
      to distances ~1e-154 times smaller (cdist squares them into underflow).
    * If the simplex stops before optimality (iteration limit) or POT warns about anything,
      this raises RuntimeError instead of returning a non-optimal cost.
    * The simplex tests optimality with absolute tolerances (1e-14 and machine epsilon on reduced
      costs, POT's network_simplex_simple.h), so the result is exact to about 1e-14 times the
      scale of the coordinates (at least 1), not relative to W1 itself: for sets whose distances
      are all below ~1e-15 it can stop at a plan several times too costly (a known limit, tested
      as such in test_metrics.py). The grid's data sit at +-4, far from it.

    2500 x 2500 takes about a second on a CPU.
    """
    a = _as_points(a, "a")
    b = _as_points(b, "b")

    scale = 1.0
    biggest = max(np.abs(a).max(), np.abs(b).max())
    if biggest > 1e150:  # squared differences inside cdist would overflow
        # biggest = m * 2**e with 0.5 <= m < 1 and e <= 1024; 2**(e-1) is still a finite float.
        scale = 2.0 ** (math.frexp(biggest)[1] - 1)
        a, b = a / scale, b / scale  # now |coordinates| < 2

    cost = ot.dist(a, b, metric="euclidean", backend="scipy")
    weights_a = np.full(len(a), 1.0 / len(a))
    weights_b = np.full(len(b), 1.0 / len(b))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, log = ot.emd2(weights_a, weights_b, cost, numItermax=_NUM_ITER_MAX, log=True)
    problems = [str(w.message) for w in caught]
    if log.get("warning"):
        problems.insert(0, str(log["warning"]))
    if problems:
        raise RuntimeError(f"ot.emd2 did not return an optimal transport (numItermax={_NUM_ITER_MAX}): {problems}")
    return float(value) * scale  # inf only if W1 itself exceeds the float range


def snapshot_metrics(samples, real_samples):
    """Everything the trainer records at a snapshot: `mode_stats(samples)` plus ``w1``.

    ``w1`` is `wasserstein1(samples, real_samples)`, with `real_samples` a fresh draw from the
    true mixture of the same size (2500 in the protocol), so it is comparable across snapshots.
    """
    samples = _as_points(samples, "samples")
    real_samples = _as_points(real_samples, "real_samples")
    stats = mode_stats(samples)
    stats["w1"] = wasserstein1(samples, real_samples)
    return stats
