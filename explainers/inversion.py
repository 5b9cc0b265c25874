"""Feature inversion (Mahendran & Vedaldi 2015, *Understanding Deep Image Representations by Inverting
Them*): what does a layer still know about the image?

Take an image x₀ and its activations Φ(x₀) at one layer. Starting from noise, look for an image x
whose activations match, by gradient descent on

    ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖²  +  λ · TV(x)

The first term is the relative error in the layer's own space; the second, total variation, is the
prior that picks a natural-looking image among the many that match. Whatever the reconstruction gets
right, the layer kept; whatever comes out different (or noisy), the layer threw away. conv1 keeps
almost everything; each max-pool throws away where, inside its 2x2 window, a feature fired; the ten
logits keep only what tells the classes apart, so their reconstruction is *a* 7, not *this* 7.

Every layer's reconstruction is one image of a single batch (one mask per image says which layer's
term counts), so all layers are inverted in one compiled optimization.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import LOGITS_LAYER, feature_layer_names
from explainers.attribution import IMAGES, as_images
from explainers.forward import forward
from explainers.image_optimization import ENERGY_FLOOR, descend, noise_images, relative_error, total_variation

STEPS = 300  # the errors of the shipped models' conv1/conv2 reconstructions stop falling by then
MAX_STEPS = 2000
LEARNING_RATE = 0.05
# λ, chosen by looking at the shipped MNIST model's reconstructions: with 0.01 the deeper layers' are noise,
# with 1.0 conv1's is blurred (a pixel error of 0.10 instead of 0.05).
TOTAL_VARIATION = 0.3
# Dim noise: these datasets' backgrounds are black, and a bright start would leave a grey fog wherever
# the layer does not look (the logits' reconstruction: a pixel error of 1.6 instead of 1.1).
START_BRIGHTNESS = 0.2


@dataclass(frozen=True)
class Reconstruction:
    layer: str
    image: np.ndarray  # (28, 28) in [0, 1]
    feature_error: float  # ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² at the end: how well the layer is matched
    pixel_error: float  # ‖x − x₀‖ / ‖x₀‖: how far the image is from the original


def relative_errors(captured: dict[str, tf.Tensor], goals: dict[str, tf.Tensor]) -> tf.Tensor:
    """(B, layers): for every image, the squared error of each layer relative to the goal's energy."""
    return tf.stack([relative_error(captured[name], goal) for name, goal in goals.items()], axis=1)


def pixel_errors(reconstructions: np.ndarray, originals: np.ndarray) -> np.ndarray:
    axes = tuple(range(1, reconstructions.ndim))
    difference = np.sqrt(np.square(reconstructions - originals).sum(axis=axes))
    return difference / np.maximum(np.sqrt(np.square(originals).sum(axis=axes)), ENERGY_FLOOR)


class FeatureInversion:
    """Inversions for one model; the compiled optimization is traced on the first call and reused."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.layers = feature_layer_names(model) + [LOGITS_LAYER]
        scalar = tf.TensorSpec([], tf.float32)
        self._invert = tf.function(self.reconstruct, input_signature=[
            IMAGES, tf.TensorSpec([None, len(self.layers)], tf.float32), IMAGES, tf.TensorSpec([], tf.int32),
            scalar, scalar])

    def activations(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        captured, logits = forward(self.model, images, capture=self.layers[:-1])
        return {name: logits if name == LOGITS_LAYER else captured[name] for name in self.layers}

    def reconstruct(self, originals: tf.Tensor, masks: tf.Tensor, start: tf.Tensor, steps: tf.Tensor,
                    learning_rate: tf.Tensor, tv: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Reconstructions (B, 28, 28, 1) and their errors (B, layers); ``masks`` (B, layers) picks
        the layer (or the mix of layers) each image must match."""
        goals = self.activations(originals)

        def loss(images):
            errors = relative_errors(self.activations(images), goals)
            return tf.reduce_sum(masks * errors, axis=1) + tv * total_variation(images)

        images, _ = descend(loss, start, steps, learning_rate)
        return images, relative_errors(self.activations(images), goals)

    def layer_index(self, layer: str) -> int:
        if layer not in self.layers:
            raise ValueError(f"no layer {layer!r} to invert; choose one of {self.layers}")
        return self.layers.index(layer)

    def invert_masked(self, images: np.ndarray, masks: np.ndarray, steps: int = STEPS, seed: int = 0,
                      tv: float = TOTAL_VARIATION) -> tuple[np.ndarray, np.ndarray]:
        """(reconstructions (B, 28, 28), their errors (B, layers)) for images (B, 28, 28, 1) and masks."""
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}")
        if not (np.isfinite(tv) and tv >= 0):
            raise ValueError("the total-variation weight must be a number >= 0")
        start = noise_images(len(images), seed, START_BRIGHTNESS)
        reconstructions, errors = self._invert(images, masks.astype(np.float32), start, np.int32(steps),
                                               np.float32(LEARNING_RATE), np.float32(tv))
        return reconstructions.numpy()[..., 0], errors.numpy()

    def invert(self, images: np.ndarray, layer: str = "conv2", steps: int = STEPS, seed: int = 0,
               tv: float = TOTAL_VARIATION) -> np.ndarray:
        """Reconstructions (N, 28, 28) of images (N, 28, 28) from their activations at ``layer``."""
        images = as_images(images)
        masks = np.zeros((len(images), len(self.layers)))
        masks[:, self.layer_index(layer)] = 1
        return self.invert_masked(images, masks, steps, seed, tv)[0]

    def invert_all(self, image: np.ndarray, steps: int = STEPS, seed: int = 0,
                   tv: float = TOTAL_VARIATION) -> dict[str, Reconstruction]:
        """One image reconstructed from each layer (conv1, pool1, ..., logits), all in one optimization."""
        image = as_images(image)
        if len(image) != 1:
            raise ValueError(f"invert_all takes one image, not {len(image)}")
        copies = np.repeat(image, len(self.layers), axis=0)
        reconstructions, errors = self.invert_masked(copies, np.eye(len(self.layers)), steps, seed, tv)
        pixel = pixel_errors(reconstructions, copies[..., 0])
        return {name: Reconstruction(name, reconstructions[i], float(errors[i, i]), float(pixel[i]))
                for i, name in enumerate(self.layers)}


def invert(model: keras.Model, images: np.ndarray, layer: str = "conv2", steps: int = STEPS,
           seed: int = 0) -> np.ndarray:
    """Reconstructions (N, 28, 28) from ``layer``; see ``FeatureInversion.invert`` (build one to reuse its pass)."""
    return FeatureInversion(model).invert(images, layer, steps, seed)


def invert_all(model: keras.Model, image: np.ndarray, steps: int = STEPS, seed: int = 0) -> dict[str, Reconstruction]:
    """Every layer's reconstruction of one image; see ``FeatureInversion.invert_all``."""
    return FeatureInversion(model).invert_all(image, steps, seed)
