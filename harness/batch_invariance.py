"""One image, one map: an attribution method's maps computed in batches of any size, which of them differ,
and the rare images where rounding, not max-pool's rule for ties, decides a window.

A map must depend only on the image, the model, the method and its parameters (issue 18). Shared by
tests/test_batch_invariance.py, tests/test_browser_network.py and
``python -m benchmarks.bench_attribution --batch-invariance``.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from explainers import AttributionMethod
from explainers.forward import forward
from explainers.max_pool import ABSOLUTE_TIE, RELATIVE_TIE

# Of each map's largest magnitude. Kernels for other batch sizes add in other orders: measured, their maps
# differ by at most 2e-6 of it (Occlusion's differences of logits). A max-pool gradient sent to another
# cell moves a map by 1e-3 of it (HiResCAM) to more than all of it (Saliency).
TOLERANCE = 1e-4
# How far rounding reaches in a window's values: float32 kernels that add in other orders put a conv output
# a few units in its last place away, up to about 1e-6 of it, or 1e-7 where the output is small.
ROUNDING_RELATIVE, ROUNDING_ABSOLUTE = 1e-6, 1e-7
# Raises every pixel by up to this much: in float32 it moves conv outputs by about as much as another CPU's
# kernels round them (a few units in their last place), a 400,000th of a grey level.
NUDGE = 1e-8


def maps_in_batches(method: AttributionMethod, images: np.ndarray, targets: np.ndarray, size: int) -> np.ndarray:
    """The maps (N, 28, 28) of ``images`` (N, 28, 28) for ``targets`` (N,), explained ``size`` at a time."""
    return np.concatenate([method.explain(images[start:start + size], targets[start:start + size])
                           for start in range(0, len(images), size)])


def differing(maps: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(N,) bool: the images whose two maps differ by more than TOLERANCE of the larger map's magnitude."""
    scale = np.maximum(np.abs(maps).max(axis=(1, 2)), np.abs(reference).max(axis=(1, 2)))
    return np.abs(maps - reference).max(axis=(1, 2)) > TOLERANCE * scale


def nudged(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """``images`` with every pixel raised by a random amount below NUDGE (pixels near 1 round back to themselves)."""
    return (images + NUDGE * np.random.default_rng(seed).random(images.shape)).astype(np.float32)


def pool_inputs(model: keras.Model, images: np.ndarray) -> list[np.ndarray]:
    """What enters each max-pool layer of ``model`` for ``images`` (N, 28, 28), as TensorFlow computes it."""
    names = [model.layers[i - 1].name for i, layer in enumerate(model.layers)
             if isinstance(layer, keras.layers.MaxPooling2D)]
    captured = forward(model, tf.constant(images[..., np.newaxis], tf.float32), capture=names)[0]
    return [captured[name].numpy() for name in names]


def windows(features: np.ndarray) -> np.ndarray:
    """Feature maps (N, H, W, C) as their 2x2 max-pool windows (N, H/2, W/2, C, 4), in float64."""
    count, height, width, channels = features.shape
    cells = np.asarray(features, np.float64)[:, :height // 2 * 2, :width // 2 * 2]
    cells = cells.reshape(count, height // 2, 2, width // 2, 2, channels).transpose(0, 1, 3, 5, 2, 4)
    return cells.reshape(count, height // 2, width // 2, channels, 4)


def undecided(features: np.ndarray, elsewhere: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: the images whose feature maps (N, H, W, C), before a 2x2 max-pool, hold a window with a real
    gap (a cell below the window's maximum) within rounding's reach of the tie tolerance. There, and only
    there, rounding and not the rule decides whether the cell is tied: two kernels, or float32 and float64,
    may pick different cells. Rounding's reach is ROUNDING_RELATIVE and ROUNDING_ABSOLUTE, or, given the
    same maps computed ``elsewhere`` (the page's float64), twice the gap's difference between the two."""
    cells = windows(features)
    top = cells.max(axis=-1, keepdims=True)
    gaps = top - cells
    if elsewhere is None:
        reach = ROUNDING_ABSOLUTE + ROUNDING_RELATIVE * np.abs(top)
    else:
        other = windows(elsewhere)
        reach = 2 * np.abs(gaps - (other.max(axis=-1, keepdims=True) - other))
    tolerance = np.maximum(RELATIVE_TIE * np.abs(top), ABSOLUTE_TIE)
    return ((gaps > 0) & (np.abs(gaps - tolerance) <= reach)).any(axis=(1, 2, 3, 4))
