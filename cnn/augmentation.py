"""Mild MNIST augmentation, so the model also reads digits students draw.

Hand-drawn digits differ from MNIST in position, size, slant and stroke width, even
after the sketch preprocessing has centred and scaled them. Each training batch gets
a random small affine transform and a random thickening or thinning of its strokes.
"""
from __future__ import annotations

import math

import tensorflow as tf

MAX_ROTATION_DEG = 12.0
SCALE_RANGE = (0.85, 1.12)
MAX_SHIFT_PX = 2.0
MAX_SHEAR = 0.15
# Half the images stay untouched: the tiny model keeps its accuracy on clean MNIST
# while still seeing the variations that students' drawings bring.
AUGMENTED_FRACTION = 0.5


def _affine_transforms(batch: int, seed: tf.Tensor) -> tf.Tensor:
    """Per-image projective transforms (batch, 8) mapping output to input coordinates."""
    seeds = tf.random.experimental.stateless_split(seed, 5)
    angle = tf.random.stateless_uniform([batch], seeds[0], -1.0, 1.0) * (MAX_ROTATION_DEG * math.pi / 180)
    scale = tf.random.stateless_uniform([batch], seeds[1], *SCALE_RANGE)
    shear = tf.random.stateless_uniform([batch], seeds[2], -MAX_SHEAR, MAX_SHEAR)
    shift = tf.random.stateless_uniform([batch, 2], seeds[3], -MAX_SHIFT_PX, MAX_SHIFT_PX)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Inverse map about the image centre (13.5, 13.5): x_in = A (x_out - c - shift) + c.
    a0, a1 = cos, -sin + shear
    b0, b1 = sin, cos
    c = 13.5
    tx = c - a0 * (c + shift[:, 0]) - a1 * (c + shift[:, 1])
    ty = c - b0 * (c + shift[:, 0]) - b1 * (c + shift[:, 1])
    zeros = tf.zeros([batch])
    return tf.stack([a0, a1, tx, b0, b1, ty, zeros, zeros], axis=1)


def _vary_stroke_width(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Blend each image toward its dilation (thicker) or erosion (thinner) by a random amount."""
    thicker = tf.nn.max_pool2d(images, 3, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
    amount = tf.random.stateless_uniform([tf.shape(images)[0], 1, 1, 1], seed, -0.5, 0.7)
    target = tf.where(amount > 0, thicker, thinner)
    return images + tf.abs(amount) * (target - images)


def augment_batch(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Randomly transform a float batch (B, 28, 28, 1) in [0, 1]; deterministic for a seed."""
    affine_seed, width_seed, choice_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    batch = tf.shape(images)[0]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=_affine_transforms(batch, affine_seed),
        output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    augmented = tf.clip_by_value(_vary_stroke_width(warped, width_seed), 0.0, 1.0)
    chosen = tf.random.stateless_uniform([batch, 1, 1, 1], choice_seed) < AUGMENTED_FRACTION
    return tf.where(chosen, augmented, images)
