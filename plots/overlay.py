"""Fast numpy-only pictures for the live sketch pad (no Figure: each takes well under 2 ms).

While a student draws, the app redraws after every stroke; a matplotlib figure
would take tens of milliseconds, these are a few array lookups. Colours come from
lookup tables (LUTs) sampled once from matplotlib's colormaps at import, so the
live pictures use exactly the colours of the full figures and their colour bars.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from plots.render import colormap

HEATMAP_CMAP = "jet"  # the classic Grad-CAM colouring: blue = unimportant, red = most important
SIGNED_CMAP = "RdBu_r"  # red = positive, blue = negative, as in the weight plots


def lut(name: str, entries: int) -> np.ndarray:
    """``entries`` RGB colours (uint8) evenly sampled from a colormap."""
    return (colormap(name)(np.linspace(0.0, 1.0, entries))[:, :3] * 255).round().astype(np.uint8)


HEATMAP_LUT = lut(HEATMAP_CMAP, 256)
# An odd number of entries puts an exact middle colour at index 127: zero maps to neutral white.
SIGNED_LUT = lut(SIGNED_CMAP, 255)


@lru_cache(maxsize=8)
def _nearest_rows(size: int) -> np.ndarray:
    """For each of ``size`` output rows, the source row among 28 (nearest neighbour)."""
    return np.arange(size) * 28 // size


@lru_cache(maxsize=8)
def _bilinear_weights(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``size`` output rows: the two source rows among 28 and the weight of the second.

    Pixel centres are aligned as in ``tf.image.resize``, the way Grad-CAM itself upsamples.
    """
    position = np.clip((np.arange(size) + 0.5) * 28 / size - 0.5, 0, 27)
    lower = np.minimum(np.floor(position).astype(np.intp), 26)
    return lower, lower + 1, (position - lower).astype(np.float32)


def _upscale_bilinear(image28: np.ndarray, size: int) -> np.ndarray:
    # Rows, then columns, by plain indexing: a matrix product would go through BLAS,
    # whose worker threads can stall for milliseconds on a busy server.
    lower, upper, weight = _bilinear_weights(size)
    image = np.asarray(image28, np.float32).reshape(28, 28)
    rows = image[lower] * (1.0 - weight[:, None]) + image[upper] * weight[:, None]
    return rows[:, lower] * (1.0 - weight) + rows[:, upper] * weight


def _upscale_nearest(image28: np.ndarray, size: int) -> np.ndarray:
    rows = _nearest_rows(size)
    return np.asarray(image28, np.float32).reshape(28, 28)[rows[:, None], rows[None, :]]


def _blocky_grey(image28: np.ndarray, size: int) -> np.ndarray:
    """The digit upscaled blockily, so the 28 pixels stay visible: float32 in [0, 255]."""
    return np.clip(_upscale_nearest(image28, size), 0.0, 1.0) * np.float32(255)


def grayscale_rgb(image28: np.ndarray, size: int = 224) -> np.ndarray:
    """A 28x28 image in [0, 1] as a uint8 RGB square (size, size, 3)."""
    return np.repeat(_blocky_grey(image28, size).astype(np.uint8)[..., None], 3, axis=2)


def heatmap_overlay(image28: np.ndarray, heatmap28: np.ndarray, size: int = 224, alpha: float = 0.5) -> np.ndarray:
    """A [0, 1] heatmap in 'jet' blended over the grey digit, as uint8 RGB (size, size, 3).

    The heatmap is upscaled smoothly (it is the layer's coarse map, 14x14 for conv2, stretched anyway);
    the digit stays blocky so that both remain recognisable.
    """
    smooth = _upscale_bilinear(heatmap28, size)
    colours = HEATMAP_LUT[(np.clip(smooth, 0.0, 1.0) * 255).astype(np.uint8)]
    blend = colours * np.float32(alpha) + (_blocky_grey(image28, size) * np.float32(1.0 - alpha))[..., None]
    return blend.astype(np.uint8)


def signed_map_rgb(map28: np.ndarray, size: int = 224) -> np.ndarray:
    """A signed map (e.g. guided backprop) as uint8 RGB: red > 0, blue < 0, white = 0.

    The scale is symmetric around zero, set by the largest magnitude, so equally strong
    positive and negative pixels get equally strong colours. An all-zero map is all white.
    """
    return signed_rgb(_upscale_nearest(map28, size))


def signed_rgb(values: np.ndarray) -> np.ndarray:
    """Signed values of any shape as uint8 RGB at their own resolution (a 3x3 kernel, a perturbation):
    red > 0, blue < 0, white = 0, symmetric around zero and set by the largest magnitude."""
    values = np.asarray(values, np.float32)
    largest = float(np.abs(values).max(initial=0.0))
    scaled = values / largest if largest > 0 else np.zeros_like(values)
    middle = (len(SIGNED_LUT) - 1) // 2
    return SIGNED_LUT[(middle + np.round(scaled * middle)).astype(np.intp)]
