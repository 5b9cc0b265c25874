"""Activation maximization: the image each filter "wants to see", and how the search converged."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from plots.render import SUPTITLE_SIZE, TEXT_SIZE, image_axis, new_figure

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers.activation_maximizer import MaximizationResult

COLUMNS = 8  # targets per row; 16 targets wrap into two rows
COLUMN_INCHES = 1.45
DEAD_COLOR = "tab:red"


def _target_name(layer: str, index: int) -> str:
    return f"class {index}" if layer == "logits" else f"{layer} #{index}"


def maximization_figure(result: MaximizationResult, dead: set[tuple[str, int]] | None = None) -> Figure:
    """One column per target: the synthesized image on top, its objective per step below.

    Targets in ``dead`` (filters that never fire on real images) are marked in red, so that
    nobody reads meaning into a picture of something the network never uses.
    """
    dead = dead or set()
    count = len(result.targets)
    columns = min(count, COLUMNS)
    rows = -(-count // columns)
    plots_width = max(COLUMN_INCHES * columns, 3.0)  # a single target still gets room for its title
    # Each row holds a square image (one column wide), a curve 0.75 as high, and their labels.
    row_height = 1.5 * plots_width / columns + 0.75
    fig = new_figure(plots_width + 0.9, row_height * rows + 1.0)
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[1.0, 0.75] * rows)
    steps = np.arange(1, result.objective.shape[1] + 1)
    for index, (layer, filter_index) in enumerate(result.targets):
        row, column = divmod(index, columns)
        is_dead = (layer, filter_index) in dead
        image_ax = fig.add_subplot(grid[2 * row, column])
        title = _target_name(layer, filter_index) + ("\ndead filter" if is_dead else "")
        image_axis(image_ax, result.images[index], title)
        curve_ax = fig.add_subplot(grid[2 * row + 1, column])
        curve_ax.plot(steps, result.objective[index], color=DEAD_COLOR if is_dead else "tab:blue", linewidth=2)
        curve_ax.set_xlabel("step", fontsize=TEXT_SIZE)
        curve_ax.tick_params(labelsize=TEXT_SIZE - 1)
        curve_ax.locator_params(nbins=3)
        curve_ax.grid(alpha=0.3)
        if column == 0:
            curve_ax.set_ylabel("activation", fontsize=TEXT_SIZE)
        if is_dead:
            image_ax.title.set_color(DEAD_COLOR)
            image_ax.spines[:].set(color=DEAD_COLOR, linewidth=3)
    fig.suptitle("Activation maximization: the input each filter responds to most\n"
                 "(found by gradient ascent on the image; below: its activation at every step)",
                 fontsize=SUPTITLE_SIZE, wrap=True)  # wraps when a few targets make the figure narrow
    return fig
