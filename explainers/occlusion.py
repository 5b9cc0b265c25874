"""Occlusion (Zeiler & Fergus 2014, *Visualizing and Understanding Convolutional Networks*).

The most direct question: *what happens to the score if this part of the image is hidden?*
A black square (the background of MNIST and Fashion-MNIST) slides over the image; for each
position p the drop of the class logit y_c is recorded,

    drop_p = y_c(x) - y_c(x with patch p black)

and each pixel gets the mean drop of the patches that cover it. Positive: hiding the pixel
costs the class evidence. No gradients: it measures real changes of the output, but only for
the one patch size, and a pixel that is already black changes nothing when "hidden".

The patch is 4x4 pixels, about the width of a pen stroke, moved by 2 pixels: 13 x 13 = 169
positions, and every pixel is covered by one to four patches. All occluded copies of all images
go through the model in chunks of one compiled pass.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from explainers.attribution import CompiledMethod, resolve_targets, target_logits
from explainers.batching import masked_scores
from explainers.forward import forward

PATCH = 4
STRIDE = 2


def patches(size: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """One (28, 28) indicator per patch position, 1 inside the patch, (P, 28, 28) float32."""
    starts = range(0, 28 - size + 1, stride)
    out = np.zeros((len(starts) ** 2, 28, 28), np.float32)
    for p, (i, j) in enumerate((i, j) for i in starts for j in starts):
        out[p, i:i + size, j:j + size] = 1.0
    return out


class Occlusion(CompiledMethod):
    name = "Occlusion"
    summary = "how much the class score drops when a 4x4 black patch hides each place"
    per_stroke = False  # 169 model calls per image: over ten milliseconds

    def __init__(self, model: keras.Model, patch: int = PATCH, stride: int = STRIDE) -> None:
        super().__init__(model)
        self.patches = patches(patch, stride)
        self.coverage = self.patches.sum(axis=0)  # how many patches cover each pixel
        if self.coverage.min() == 0:
            raise ValueError(f"patches of {patch} pixels every {stride} leave pixels uncovered")

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        _, logits = forward(self.model, images)
        classes = resolve_targets(logits, targets)
        occluded = masked_scores(self.model, images, 1.0 - self.patches[..., np.newaxis], classes, target_logits)
        drops = target_logits(logits, classes)[:, tf.newaxis] - occluded  # (N, P)
        return tf.tensordot(drops, self.patches, axes=1) / self.coverage
