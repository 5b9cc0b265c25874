"""What the conv layers contain: their 3x3 weights, with their values (feature maps: plots.html_grids)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from plots.render import (SUPTITLE_SIZE, TEXT_SIZE, colorbar, colormap, image_axis, new_figure,
                          symmetric_norm, write_cell_values)

WEIGHT_CMAP = "RdBu_r"  # red = positive weight, blue = negative, white = zero


def signed(value: float) -> str:
    """Two decimals with an explicit sign (the point of red vs blue); tiny negatives read "+0.00", not "-0.00"."""
    return f"{round(float(value), 2) + 0.0:+.2f}"


def conv_weights_figure(kernel: np.ndarray, bias: np.ndarray, layer: str = "conv1") -> Figure:
    """One 3x3 heatmap per filter of a layer that sees the image directly (kernel (3, 3, 1, filters))."""
    if kernel.ndim != 4 or kernel.shape[2] != 1:
        raise ValueError(f"expected a kernel (3, 3, 1, filters), got {kernel.shape}; "
                         "for layers with several input maps use kernel_grid_figure")
    filters = kernel.shape[3]
    columns = min(filters, 4 if filters <= 8 else 8)  # the default 8 filters: two rows of four
    rows = -(-filters // columns)
    fig = new_figure(2.3 * columns + 1.5, 2.4 * rows + 0.9)
    axes = fig.subplots(rows, columns, squeeze=False)
    norm = symmetric_norm(kernel)  # one scale for all filters, so their strengths can be compared
    for index, ax in enumerate(axes.flat):
        if index >= filters:
            ax.set_visible(False)
            continue
        weights = kernel[:, :, 0, index]
        shown = image_axis(ax, weights, f"filter {index}\nbias {signed(bias[index])}", cmap=WEIGHT_CMAP,
                           vmin=norm.vmin, vmax=norm.vmax)
        write_cell_values(ax, shown, np.vectorize(signed)(weights), fontsize=TEXT_SIZE)
    colorbar(fig, WEIGHT_CMAP, norm, axes, "weight", shrink=0.8)
    fig.suptitle(f"{layer} weights: each 3x3 filter slides over the image\n"
                 "red: bright pixels there raise the output, blue: they lower it", fontsize=SUPTITLE_SIZE)
    return fig


def _kernel_mosaic(kernel: np.ndarray) -> np.ndarray:
    """All 3x3 kernels in one array, rows = output filters, columns = input maps, NaN gaps between."""
    size, _, inputs, outputs = kernel.shape
    step = size + 1
    mosaic = np.full((outputs * step - 1, inputs * step - 1), np.nan, np.float32)
    for out in range(outputs):
        for inp in range(inputs):
            mosaic[out * step:out * step + size, inp * step:inp * step + size] = kernel[:, :, inp, out]
    return mosaic


def kernel_grid_figure(kernel: np.ndarray, bias: np.ndarray, layer: str = "conv2") -> Figure:
    """Every 3x3 kernel of a layer with several inputs (kernel (3, 3, inputs, filters)) in one grid.

    A conv2 filter has one 3x3 kernel per conv1 map: it adds up what it sees in each of them.
    """
    size, _, inputs, outputs = kernel.shape
    mosaic = _kernel_mosaic(kernel)
    norm = symmetric_norm(kernel)
    fig = new_figure(10.5, 9.5)
    ax = fig.subplots()
    grey_gaps = colormap(WEIGHT_CMAP).with_extremes(bad="0.75")  # the NaN gaps outline each kernel
    # No numbers in the cells: 576 of them at a legible size do not fit; colour carries the sign.
    ax.imshow(mosaic, cmap=grey_gaps, norm=norm, interpolation="nearest")
    centres = np.arange(max(inputs, outputs)) * (size + 1) + (size - 1) / 2
    ax.set_xticks(centres[:inputs], [f"map {i}" for i in range(inputs)], fontsize=TEXT_SIZE)
    ax.set_yticks(centres[:outputs], [f"filter {o}\nbias {signed(bias[o])}" for o in range(outputs)],
                  fontsize=TEXT_SIZE)
    ax.tick_params(length=0, labeltop=True)
    ax.set_xlabel("input channel: which map of the layer before", fontsize=TEXT_SIZE)
    ax.set_ylabel(f"{layer} filter (one per row)", fontsize=TEXT_SIZE)
    ax.spines[:].set_visible(False)
    colorbar(fig, WEIGHT_CMAP, norm, ax, "weight", shrink=0.8)
    fig.suptitle(f"{layer} weights: row = one filter, made of one 3x3 kernel per input map\n"
                 "red: that input map raises the output, blue: lowers it", fontsize=SUPTITLE_SIZE)
    return fig
