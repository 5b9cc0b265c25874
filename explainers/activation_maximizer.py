"""Activation maximization (Erhan et al. 2009): the image a filter most wants to see.

Start from random noise and follow the gradient of the filter's mean activation
uphill, changing the *image*, not the network. Left alone, gradient ascent finds
high-frequency noise that fools the filter; the regularizers keep the picture
natural: L2 decay (dim pixels fade), jitter (random shifts, so the pattern must
work anywhere), an occasional blur, and total variation (neighbouring pixels agree).

All requested filters are optimized together as one batch, one image per filter,
inside a single compiled ``tf.function``: 16 filters cost about as much as one.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import LOGITS_LAYER, conv_layer_names
from explainers.forward import forward

MAX_STEPS = 2000
STEPS = 256  # the defaults: enough for every filter of the shipped models to converge
LEARNING_RATE = 0.05


@dataclass(frozen=True)
class Regularization:
    """Defaults chosen by looking at the pictures of the shipped models."""

    l2_decay: float = 0.01  # fraction each pixel loses per step
    jitter: int = 1  # largest random shift in pixels
    blur_every: int = 8  # steps between blurs; 0: never
    blur_sigma: float = 0.5
    total_variation: float = 0.05

    def as_tensors(self) -> tuple[tf.Tensor, ...]:
        return (tf.constant(self.l2_decay, tf.float32), tf.constant(self.jitter, tf.int32),
                tf.constant(self.blur_every, tf.int32), tf.constant(self.blur_sigma, tf.float32),
                tf.constant(self.total_variation, tf.float32))


@dataclass(frozen=True)
class MaximizationResult:
    targets: list[tuple[str, int]]  # (layer, filter or class) for each image
    images: np.ndarray  # (n, 28, 28) in [0, 1]
    objective: np.ndarray  # (n, steps): each target's objective at each step, for convergence curves


def _gaussian_kernel(sigma: tf.Tensor) -> tf.Tensor:
    offsets = tf.constant([-1.0, 0.0, 1.0])
    weights = tf.exp(-(offsets ** 2) / (2.0 * tf.maximum(sigma, 1e-3) ** 2))
    kernel_2d = tf.tensordot(weights, weights, axes=0)
    return tf.reshape(kernel_2d / tf.reduce_sum(kernel_2d), [3, 3, 1, 1])


def _mean_responses(captured: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Per image, the spatial mean of every filter (B, C); logits stay (B, 10)."""
    return {name: tf.reduce_mean(out, axis=(1, 2)) if len(out.shape) == 4 else out
            for name, out in captured.items()}


class ActivationMaximizer:
    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.layers = conv_layer_names(model) + [LOGITS_LAYER]
        self.channels = {name: model.get_layer(name).output.shape[-1] for name in self.layers}
        self._optimize = self._compile()

    def _objective(self, images: tf.Tensor, masks: dict[str, tf.Tensor]) -> tf.Tensor:
        """Each image's own target: a one-hot mask per layer selects its filter (B,)."""
        captured, logits = forward(self.model, images, capture=self.layers[:-1])
        captured[LOGITS_LAYER] = logits
        responses = _mean_responses(captured)
        return tf.add_n([tf.reduce_sum(responses[name] * masks[name], axis=1) for name in self.layers])

    def _compile(self):
        mask_specs = {name: tf.TensorSpec([None, c], tf.float32) for name, c in self.channels.items()}
        scalar = lambda dtype: tf.TensorSpec([], dtype)  # noqa: E731

        @tf.function(input_signature=[
            tf.TensorSpec([None, 28, 28, 1], tf.float32), mask_specs, scalar(tf.int32), scalar(tf.float32),
            tf.TensorSpec([2], tf.int32), scalar(tf.float32), scalar(tf.int32), scalar(tf.int32),
            scalar(tf.float32), scalar(tf.float32)])
        def optimize(images, masks, steps, lr, seed, l2_decay, jitter, blur_every, blur_sigma, tv):
            history = tf.TensorArray(tf.float32, size=steps)
            blur = _gaussian_kernel(blur_sigma)
            for step in tf.range(steps):
                shift = tf.random.stateless_uniform([2], seed=seed + step * [1, 7919], minval=-jitter,
                                                    maxval=jitter + 1, dtype=tf.int32)
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    objective = self._objective(tf.roll(images, shift, axis=[1, 2]), masks)
                    smoothness = tf.image.total_variation(images) / (28.0 * 28.0)
                    loss = tf.reduce_sum(objective - tv * smoothness)
                grads = tape.gradient(loss, images)
                # Normalized steps: every filter moves at the same pace, whatever its scale.
                grads /= tf.math.reduce_std(grads, axis=(1, 2, 3), keepdims=True) + 1e-8
                images = (images + lr * grads) * (1.0 - l2_decay)
                if blur_every > 0 and (step + 1) % blur_every == 0:
                    images = tf.nn.conv2d(images, blur, 1, "SAME")
                images = tf.clip_by_value(images, 0.0, 1.0)
                history = history.write(step, objective)
            return images, tf.transpose(history.stack())

        return optimize

    def targets_of(self, layer: str, filters: list[int] | None = None) -> list[tuple[str, int]]:
        if layer not in self.channels:
            raise ValueError(f"no layer {layer!r} to maximize; choose one of {self.layers}")
        count = self.channels[layer]
        chosen = range(count) if filters is None else filters
        for f in chosen:
            if not 0 <= int(f) < count:
                raise ValueError(f"{layer} has filters 0..{count - 1}; {f} is out of range")
        return [(layer, int(f)) for f in chosen]

    def maximize(self, layer: str, filters: list[int] | None = None, steps: int = STEPS, lr: float = LEARNING_RATE,
                 seed: int = 0, regularization: Regularization = Regularization()) -> MaximizationResult:
        """Synthesize one image per filter of ``layer`` (all filters when None); ``layer``
        may be ``"logits"`` to maximize class scores (the filter index is then the class)."""
        return self.maximize_targets(self.targets_of(layer, filters), steps, lr, seed, regularization)

    def maximize_targets(self, targets: list[tuple[str, int]], steps: int = STEPS, lr: float = LEARNING_RATE,
                         seed: int = 0, regularization: Regularization = Regularization()) -> MaximizationResult:
        """Like ``maximize``, for any mix of (layer, filter) targets, all in one batch."""
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}")
        if not (np.isfinite(lr) and 0 < lr <= 10):
            raise ValueError("learning rate must be a number in (0, 10]")
        masks = {name: np.zeros((len(targets), c), np.float32) for name, c in self.channels.items()}
        for i, (layer, index) in enumerate(targets):
            masks[layer][i, index] = 1.0
        # Full-range noise holds every small pattern somewhere, so each filter starts out
        # firing a little: a filter silent on its start image would get no gradient at all.
        noise = np.random.default_rng(seed).uniform(0.0, 1.0, size=(len(targets), 28, 28, 1)).astype(np.float32)
        images, history = self._optimize(
            noise, masks, tf.constant(steps), tf.constant(float(lr)), tf.constant([seed % 2**31, 0], tf.int32),
            *regularization.as_tensors())
        return MaximizationResult(targets, images.numpy()[..., 0], history.numpy())
