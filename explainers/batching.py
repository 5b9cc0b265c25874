"""Many model inputs per image, inside one compiled pass, in chunks of bounded size.

SmoothGrad, Integrated Gradients, occlusion, RISE and Score-CAM all ask the network about many
variants of each image (noisy copies, points on a path, masked copies). Feeding all of them at
once would need memory in proportion to images x variants (100 images x 500 RISE masks are
50,000 model inputs, over a gigabyte of activations); a Python loop would pay TensorFlow's call
overhead per image. So every (image, variant) pair is numbered and the pairs go through the
model ``CHUNK`` at a time, in a ``tf.while_loop`` within the one compiled pass.
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from explainers.forward import forward

# Model inputs per step: about 40 MiB of activations. Measured on 2 CPU cores, gradients run at
# 6,000 to 8,000 inputs a second in batches of 1,000 to 2,000, and at a third of that in batches
# of 4,000, whose activations no longer fit in the caches.
CHUNK = 1024

PairFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
Score = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (logits (B, 10), classes (B,)) -> (B,)


def over_pairs(fn: PairFn, images: tf.Tensor, variants: tf.Tensor | int, chunk: int = CHUNK) -> tf.Tensor:
    """``fn(image_indices, variant_indices)`` for every pair of the ``images`` x ``variants`` (two
    counts), as (images, variants, ...). ``fn`` takes two int32 vectors of the same length B and
    returns a tensor of B rows.
    """
    pairs = images * variants
    steps = tf.maximum(1, (pairs + chunk - 1) // chunk)
    # Chunks of equal size, so that the rows have a static shape; the last one wraps round to the
    # first pairs, which costs fewer than ``steps`` spare model inputs.
    size = (pairs + steps - 1) // steps

    def step(i, results):
        index = tf.range(i * size, (i + 1) * size) % tf.maximum(pairs, 1)
        return i + 1, results.write(i, fn(index // variants, index % variants))

    # One chunk at a time (parallel_iterations=1): running several at once would multiply the memory.
    _, results = tf.while_loop(lambda i, _: i < steps, step, (0, tf.TensorArray(tf.float32, size=steps)),
                               parallel_iterations=1)
    rows = results.concat()[:pairs]
    return tf.reshape(rows, tf.concat([[images, variants], tf.shape(rows)[1:]], axis=0))


def masked_scores(model: keras.Model, images: tf.Tensor, masks: tf.Tensor, classes: tf.Tensor,
                  score: Score) -> tf.Tensor:
    """The score of each image's class on the image times each mask, (N, M).

    ``masks`` is (M, 28, 28, 1), the same masks for every image, or (N, M, 28, 28, 1), one set per image.
    """
    masks = tf.convert_to_tensor(masks)
    shared = masks.shape.rank == 4

    def scores(i, j):
        mask = tf.gather(masks, j) if shared else tf.gather_nd(masks, tf.stack([i, j], axis=1))
        return score(forward(model, tf.gather(images, i) * mask)[1], tf.gather(classes, i))

    return over_pairs(scores, tf.shape(images)[0], tf.shape(masks)[0 if shared else 1])
