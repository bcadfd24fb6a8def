"""The target distribution (a 5x5 grid of Gaussians) and the generator's noise."""
import numpy as np
import torch

GRID_VALUES = (-4.0, -2.0, 0.0, 2.0, 4.0)
GRID_STD = 0.05
# Row-major: centre k is (GRID_VALUES[k // 5], GRID_VALUES[k % 5]).
GRID_CENTERS = np.array([(x, y) for x in GRID_VALUES for y in GRID_VALUES], dtype=np.float64)
NOISE_KINDS = ("uniform", "normal")


def sample_grid(samples_per_center=4000, std=GRID_STD, generator=None):
    """Draw `samples_per_center` points around each of the 25 centres.

    Returns a float32 tensor of shape (25 * samples_per_center, 2), ordered centre by centre
    (the trainer shuffles it every epoch, as the post did).
    """
    centers = torch.as_tensor(GRID_CENTERS, dtype=torch.float32)
    offsets = torch.randn(len(centers), samples_per_center, 2, generator=generator) * std
    return (centers[:, None, :] + offsets).reshape(-1, 2)


def sample_noise(shape, kind="uniform", generator=None):
    """Generator input: uniform on [-1, 1] (the post's default) or standard normal."""
    device = generator.device if generator is not None else None
    if kind == "uniform":
        return torch.rand(shape, generator=generator, device=device) * 2.0 - 1.0
    if kind == "normal":
        return torch.randn(shape, generator=generator, device=device)
    raise ValueError(f"noise must be one of {NOISE_KINDS}, got {kind!r}")


def fit_gmm(points, n_components=25, seed=0):
    """Fit scikit-learn's full-covariance Gaussian mixture, as the post did for its first figure."""
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components, covariance_type="full", random_state=seed).fit(np.asarray(points))
