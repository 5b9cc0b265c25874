"""RISE (Petsiuk et al. 2018, *RISE: Randomized Input Sampling for Explanation of Black-box Models*).

Occlusion hides one patch at a time; RISE hides many random parts at once and asks: *when this
pixel is visible, how sure is the model of the class, on average?* It draws N random masks M_i
(a coarse grid of cells, each kept with probability p, smoothly upsampled and randomly shifted),
shows the model the masked image x * M_i, and weighs every mask by the class's softmax
probability on it:

    RISE(x)_ij = 1 / (N * p) * sum_i P(c | x * M_i) * M_i,ij

that is, the expected probability given that the pixel is kept (the sum of the masks at a pixel
is about N * p). No gradients: the model is a black box.

We weigh by the softmax probability, as the paper does: its score is a probability (bounded in
[0, 1], so no mask outweighs all others) and the map is then an expected confidence. A logit would
reward a mask for lowering the other classes as much as for raising c, and could swamp the
average with a few extreme masks. The probability is positive, so RISE has no negative evidence:
its least important pixels are those whose masks leave the model least sure.

Parameters for 28x28 images, as in the paper: a 7x7 grid (cells of about 4 pixels, like the
paper's 7x7 on 224 pixels) and p = 0.5; N = 500 masks. The paper uses 4,000, which here would
cost a quarter of a second per image, 24 times occlusion. The price is noise: measured on ten
shipped test images, the maps of two seeds correlate about 0.5 (MNIST) to 0.6 (Fashion-MNIST)
with 500 masks, 0.7 to 0.8 with 2,000 and 0.9 with 8,000 (``masks=`` for a steadier map). The
masks are drawn once from a seed and are the same for every image.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from explainers.attribution import CompiledMethod, resolve_targets, target_logits
from explainers.batching import masked_scores
from explainers.forward import forward

MASKS = 500
GRID = 7  # cells per side: each is 28 / 7 = 4 pixels
KEEP = 0.5  # probability that a cell is shown


def bilinear_rows(cells: int, size: int) -> np.ndarray:
    """(size, cells) weights that upsample ``cells`` values bilinearly to ``size`` (pixel centres aligned)."""
    position = np.clip((np.arange(size) + 0.5) * cells / size - 0.5, 0, cells - 1)
    low = np.minimum(np.floor(position).astype(int), cells - 2)
    weights = np.zeros((size, cells))
    weights[np.arange(size), low] = 1 - (position - low)
    weights[np.arange(size), low + 1] = position - low
    return weights


def random_masks(count: int = MASKS, grid: int = GRID, keep: float = KEEP, seed: int = 0) -> np.ndarray:
    """The paper's masks, (count, 28, 28, 1) float32 in [0, 1].

    As the authors' code does: a ``grid`` x ``grid`` binary grid is upsampled bilinearly to
    (grid + 1) * cell pixels (cell = 28 / grid) and a 28x28 window of it is cut at a random shift of
    0..cell-1 pixels in each direction, so that the edges of the cells fall anywhere.
    """
    rng = np.random.default_rng(seed)
    cell = -(-28 // grid)
    grids = (rng.random((count, grid, grid)) < keep).astype(np.float64)
    rows = bilinear_rows(grid, (grid + 1) * cell)
    shifts = rng.integers(0, cell, (count, 2))
    window = np.arange(28)
    down, across = rows[shifts[:, :1] + window], rows[shifts[:, 1:] + window]  # (count, 28, grid) each
    return (down @ grids @ across.transpose(0, 2, 1)).astype(np.float32)[..., np.newaxis]


def target_probabilities(logits: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    return target_logits(tf.nn.softmax(logits), classes)


class RISE(CompiledMethod):
    name = "RISE"
    summary = "the mean class probability over 500 random masks, where each pixel is shown"
    per_stroke = False  # 500 model calls per image: tens of milliseconds

    def __init__(self, model: keras.Model, masks: int = MASKS, grid: int = GRID, keep: float = KEEP,
                 seed: int = 0) -> None:
        super().__init__(model)
        self.masks, self.keep = random_masks(masks, grid, keep, seed), keep

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        classes = resolve_targets(forward(self.model, images)[1], targets)
        probabilities = masked_scores(self.model, images, self.masks, classes, target_probabilities)  # (N, masks)
        return tf.tensordot(probabilities, self.masks[..., 0], axes=1) / (len(self.masks) * self.keep)
