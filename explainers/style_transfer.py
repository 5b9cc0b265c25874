"""Style transfer (Gatys, Ecker & Bethge 2016, *Image Style Transfer Using Convolutional Neural Networks*):
the *content* of one image drawn in the *style* of another.

A layer's feature maps say what is where: they are the content (here conv2's maps). Their Gram
matrix, G_kl = mean over positions of A_k · A_l, forgets *where* and keeps only which features fire
together, and how strongly: that is the style (here conv1's and conv2's Gram matrices: stroke width,
edge contrast, texture). Starting from the content image (or from noise), gradient descent on

    content_weight · ‖A(x) − A(content)‖² / ‖A(content)‖²  +  style_weight · mean over layers of
    ‖G(x) − G(style)‖² / ‖G(style)‖²  +  λ · TV(x)

changes the pixels until the image keeps the content's layout with the style's statistics. Both
terms are relative errors, so a weight says how much one matters against the other, whatever the
layer's scale.

What an 8-filter network can carry as style: a Gram matrix of 8 features is 36 numbers per layer,
about how much ink, how thick, how many edges of each of 8 orientations and contrasts, and which come
together. It cannot carry a texture it has no filter for (a fabric's weave, a pattern's repeats): it
thickens or thins strokes, hardens or softens edges, and fills or empties regions.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explainers.attribution import IMAGES, as_images
from explainers.forward import forward
from explainers.image_optimization import descend, noise_images, relative_error, total_variation

CONTENT_LAYER = "conv2"
STYLE_LAYERS = ("conv1", "conv2")
STEPS = 200
MAX_STEPS = 2000
LEARNING_RATE = 0.02
STYLE_WEIGHT = 3.0  # against a content weight of 1: strokes take the style's width, the digit stays readable
TOTAL_VARIATION = 0.3  # as for inversion: at 0.05 the background fills with stripes the filters barely see
STARTS = ("content", "noise")


@dataclass(frozen=True)
class StyleTransferResult:
    image: np.ndarray  # (28, 28) in [0, 1]
    style_loss_before: float  # the relative Gram error of the start image
    style_loss_after: float
    content_loss_before: float  # the relative conv2 error of the start image (0 when it starts from the content)
    content_loss_after: float


def gram(features: tf.Tensor) -> tf.Tensor:
    """(B, C, C): how strongly each pair of features fires together, averaged over the positions."""
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return tf.einsum("bhwc,bhwd->bcd", features, features) / positions


class StyleTransfer:
    """Style transfer on one model; the compiled optimization is traced on the first call and reused."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        scalar = tf.TensorSpec([], tf.float32)
        self._transfer = tf.function(self.optimize, input_signature=[
            IMAGES, IMAGES, IMAGES, tf.TensorSpec([], tf.int32), scalar, scalar, scalar])

    def representation(self, images: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """The content (conv2's maps) and the style (the Gram matrices of conv1 and conv2)."""
        captured, _ = forward(self.model, images, capture=(CONTENT_LAYER, *STYLE_LAYERS))
        return captured[CONTENT_LAYER], [gram(captured[name]) for name in STYLE_LAYERS]

    def losses(self, images: tf.Tensor, content: tf.Tensor, styles: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """Each image's (content loss, style loss), (B,) each."""
        features, grams = self.representation(images)
        style_loss = tf.add_n([relative_error(g, s) for g, s in zip(grams, styles)]) / len(STYLE_LAYERS)
        return relative_error(features, content), style_loss

    def optimize(self, contents: tf.Tensor, styles: tf.Tensor, start: tf.Tensor, steps: tf.Tensor,
                 learning_rate: tf.Tensor, style_weight: tf.Tensor, tv: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """The images, and their (content, style) losses at the start and at the end."""
        content, _ = self.representation(contents)
        _, style = self.representation(styles)

        def loss(images):
            content_loss, style_loss = self.losses(images, content, style)
            return content_loss + style_weight * style_loss + tv * total_variation(images)

        images, _ = descend(loss, start, steps, learning_rate)
        return (images, *self.losses(start, content, style), *self.losses(images, content, style))

    def transfer(self, content: np.ndarray, style: np.ndarray, steps: int = STEPS, style_weight: float = STYLE_WEIGHT,
                 start: str = "content", seed: int = 0) -> StyleTransferResult:
        """``content`` (28, 28) drawn with the style of ``style`` (28, 28), both in [0, 1]; the
        optimization starts from the content image or (``start="noise"``) from seeded noise."""
        content, style = as_images(content), as_images(style)
        if len(content) != 1 or len(style) != 1:
            raise ValueError("style transfer takes one content image and one style image")
        if start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, not {start!r}")
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}")
        if not (np.isfinite(style_weight) and style_weight >= 0):
            raise ValueError("the style weight must be a number >= 0")
        initial = content if start == "content" else noise_images(1, seed)
        image, content_before, style_before, content_after, style_after = (t.numpy() for t in self._transfer(
            content, style, initial, np.int32(steps), np.float32(LEARNING_RATE), np.float32(style_weight),
            np.float32(TOTAL_VARIATION)))
        return StyleTransferResult(image[0, ..., 0], float(style_before[0]), float(style_after[0]),
                                   float(content_before[0]), float(content_after[0]))


def style_transfer(model: keras.Model, content: np.ndarray, style: np.ndarray, steps: int = STEPS,
                   style_weight: float = STYLE_WEIGHT, start: str = "content", seed: int = 0) -> StyleTransferResult:
    """See ``StyleTransfer.transfer`` (build one to reuse its compiled pass)."""
    return StyleTransfer(model).transfer(content, style, steps, style_weight, start, seed)
