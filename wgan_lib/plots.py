"""Figures the chapters share. Every function takes stored runs (`store.StoredRun`) or arrays
and returns a matplotlib Figure (or HTML), so a chapter is narrative and calls."""
import matplotlib.pyplot as plt
import numpy as np

from .data import GRID_CENTERS


def draw_samples(ax, samples, extent=6.0, title=None):
    """G's samples as dots over the plotted square, with the 25 true centres as crosses."""
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, color="tab:blue", rasterized=True)
    ax.scatter(GRID_CENTERS[:, 0], GRID_CENTERS[:, 1], marker="+", s=30, color="black", linewidths=0.8)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def draw_critic(ax, d_grid, extent=6.0, title=None, samples=None, levels=15):
    """D's output over the plotted square as filled contours (with its min and max in the title)."""
    side = d_grid.shape[0]
    axis = np.linspace(-extent, extent, side)
    finite = np.isfinite(d_grid)
    if finite.any():
        cs = ax.contourf(axis, axis, np.where(finite, d_grid, np.nan), levels=levels, cmap="viridis")
        ax.contour(axis, axis, np.where(finite, d_grid, np.nan), levels=cs.levels, colors="k", linewidths=0.2)
    if samples is not None:
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.3, color="white", rasterized=True)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is None and finite.any():
        title = f"D: [{np.nanmin(d_grid):.3g}, {np.nanmax(d_grid):.3g}]"
    if title:
        ax.set_title(title, fontsize=9)
