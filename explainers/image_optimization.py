"""What feature inversion and style transfer share: changing an *image* by gradient descent.

Both start from an image (noise, or a photo-like start), measure how far the network's view of it is
from a goal, and move the pixels downhill, keeping them in [0, 1]. A total-variation prior (the mean
absolute difference between neighbouring pixels, Rudin, Osher & Fatemi 1992; used as an image prior by
Mahendran & Vedaldi 2015) keeps the result from filling up with the high-frequency noise a network
cannot see. The descent is Adam (Kingma & Ba 2015): its per-pixel step sizes let one learning rate
serve goals whose gradients differ by orders of magnitude (a conv1 map and ten logits).

Every image of a batch has its own loss; the batch's total is their sum, so each image's gradient
is its own, and one compiled loop optimizes them all at once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

PIXELS = 28.0 * 28.0
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
ENERGY_FLOOR = 1e-8  # a goal that is all zero (a blank image's maps) is compared in absolute terms

Loss = Callable[[tf.Tensor], tf.Tensor]  # images (B, 28, 28, 1) -> each image's loss (B,)


def total_variation(images: tf.Tensor) -> tf.Tensor:
    """Each image's total variation per pixel (B,): 0 for a flat image, about 0.13 for an MNIST digit,
    0.66 for uniform noise."""
    return tf.image.total_variation(images) / PIXELS


def relative_error(values: tf.Tensor, goal: tf.Tensor) -> tf.Tensor:
    """(B,): ‖values − goal‖² / ‖goal‖², summed over every axis but the first: 0 is a perfect match,
    1 is as far as a blank answer, whatever the layer's scale."""
    axes = list(range(1, len(goal.shape)))
    energy = tf.reduce_sum(tf.square(goal), axis=axes)
    return tf.reduce_sum(tf.square(values - goal), axis=axes) / (energy + ENERGY_FLOOR)


def noise_images(count: int, seed: int, brightness: float = 1.0) -> np.ndarray:
    """Seeded uniform noise in [0, brightness], (count, 28, 28, 1): a start that favours no picture."""
    return np.random.default_rng(seed).uniform(0.0, brightness, size=(count, 28, 28, 1)).astype(np.float32)


def descend(loss: Loss, images: tf.Tensor, steps: tf.Tensor, learning_rate: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Adam on the pixels for ``steps`` steps, clipped to [0, 1] after each: (images, history (B, steps)).

    Call it inside a ``tf.function``: the loop is a graph loop, not Python.
    """
    beta1, beta2 = ADAM_BETAS
    first, second = tf.zeros_like(images), tf.zeros_like(images)
    history = tf.TensorArray(tf.float32, size=steps)
    for step in tf.range(steps):
        with tf.GradientTape() as tape:
            tape.watch(images)
            losses = loss(images)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, images)
        first = beta1 * first + (1 - beta1) * grads
        second = beta2 * second + (1 - beta2) * tf.square(grads)
        t = tf.cast(step + 1, tf.float32)
        corrected = (first / (1 - beta1 ** t)) / (tf.sqrt(second / (1 - beta2 ** t)) + ADAM_EPSILON)
        images = tf.clip_by_value(images - learning_rate * corrected, 0.0, 1.0)
        history = history.write(step, losses)
    return images, tf.transpose(history.stack())
