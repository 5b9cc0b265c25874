"""What every attribution method shares: its input, its targets, and its one call.

An attribution method is built once per model and answers one question for a batch of
images: *which pixels are evidence for this class?*

    method = METHODS["HiResCAM"](model)
    maps = method.explain(images, targets)  # (N, 28, 28) float32; positive = evidence for the target

Images are 28x28 in [0, 1] (a single image, or a batch, with or without the channel axis);
a target is a class index, or ``PREDICTED`` for whatever class the model predicts for that
image. Every gradient is of the target's *logit*, the score before softmax, as in the
Grad-CAM paper: the softmax would mix in the evidence for the other nine classes.
"""
from __future__ import annotations

from typing import ClassVar

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import NUM_CLASSES

# The one way to say "the class the model predicts": resolved per image, inside the compiled pass.
PREDICTED = -1
IMAGES = tf.TensorSpec([None, 28, 28, 1], tf.float32)
TARGETS = tf.TensorSpec([None], tf.int32)


def as_images(images: np.ndarray) -> np.ndarray:
    """One 28x28 image or a batch of them, in [0, 1], as the float32 batch (N, 28, 28, 1) models take."""
    images = np.asarray(images, dtype=np.float32)
    if images.shape[-2:] == (28, 28):
        images = images[..., np.newaxis]
    if images.ndim == 3:
        images = images[np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected 28x28 images, got shape {images.shape}")
    return images


def check_class(target: int) -> int:
    """A class index 0..9, or PREDICTED."""
    if int(target) != PREDICTED and not 0 <= int(target) < NUM_CLASSES:
        raise ValueError(f"target class must be 0..{NUM_CLASSES - 1} (or {PREDICTED}: the predicted class), "
                         f"not {target}")
    return int(target)


def as_targets(targets: int | np.ndarray, count: int) -> np.ndarray:
    """One target for all ``count`` images, or one each, as int32 (count,)."""
    targets = np.asarray(targets)
    if targets.ndim == 0:
        targets = np.full(count, int(targets))
    if targets.shape != (count,) or targets.dtype.kind not in "iu":
        raise ValueError(f"expected one integer target per image ({count}), got {targets.dtype} {targets.shape}")
    for target in np.unique(targets):
        check_class(target)
    return targets.astype(np.int32)


def resolve_targets(logits: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Each image's class to explain: its target, or its predicted class where the target is PREDICTED."""
    return tf.where(targets == PREDICTED, tf.argmax(logits, axis=1, output_type=tf.int32), targets)


def target_logits(logits: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """Each image's logit of its own class (N,): one backward pass then explains the whole batch."""
    return tf.gather(logits, classes, axis=1, batch_dims=1)


class AttributionMethod:
    """The base of every method: a name, a one-line summary, whether it is light enough to follow
    the pen, and ``explain``. A subclass writes ``_maps``, one compiled pass for the whole batch."""

    name: ClassVar[str]
    summary: ClassVar[str]  # what it computes, in one line, for the page
    per_stroke: ClassVar[bool] = False  # light enough to redraw beside the sketch at every stroke

    def __init__(self, model: keras.Model) -> None:
        self.model = model

    def explain(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED) -> np.ndarray:
        """The map of each image's target class, (N, 28, 28) float32, not rescaled."""
        images = as_images(images)
        return self._maps(images, as_targets(targets, len(images)))

    def _maps(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CompiledMethod(AttributionMethod):
    """A method whose whole batch is one compiled TensorFlow pass: a subclass writes ``attribute``.

    The pass is traced on the first call, not at construction, so that building a method is cheap.
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__(model)
        self._attribute = tf.function(self.attribute, input_signature=[IMAGES, TARGETS])

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """The maps (N, 28, 28) of images (N, 28, 28, 1) for targets (N,), where PREDICTED is still to resolve."""
        raise NotImplementedError

    def _maps(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self._attribute(images, targets).numpy()
