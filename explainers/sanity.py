"""Sanity checks (Adebayo et al. 2018): does the map depend on what the network learned?

A map that explains the *network* must change when the network changes. Two ways to change it:

- **Cascading model-parameter randomization.** Replace the learned weights by fresh random ones, from
  the top down: the dense ``logits`` layer, then ``conv2`` too, then ``conv1`` too (for a three-block
  model ``conv3`` comes before ``conv2``). After the last stage nothing learned is left. A map that
  still looks the same is explaining the *image* (edges, ink), not the decision: it fails.
- **Data randomization.** Compare with the same network trained on labels shuffled at random: it can
  only memorize, there is nothing to learn. Its maps should look nothing like the real model's.

Similarity of the new map to the original one, image by image:

- Spearman rank correlation of the absolute maps (does it put the same pixels first, whatever the sign?)
  and of the signed maps (and with the same sign?), ``scipy.stats.spearmanr`` over the 784 pixels. It is
  undefined where a map is constant (Grad-CAM's all-zero map when it finds no evidence): such images are
  left out of that mean and counted in ``undefined``.
- SSIM (``tf.image.ssim``, its default 11x11 Gaussian window) of the *absolute* maps, each divided by its
  own largest |value| so that it lies in [0, 1] (an all-zero map stays zero): do they look alike?

1 is "unchanged"; a method that passes falls towards 0 as the cascade goes down.

The weights are re-initialized as Keras first initialized them, with each layer's own initializers
(glorot-uniform kernels, zero biases), seeded per (seed, layer) so that a layer gets the same new weights
at every stage and in every run. All of it happens on a private copy of the model: the served model is
never touched. The copy's methods are built once, and each stage only assigns new weights to it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterator, Mapping

import keras
import numpy as np
import scipy.stats
import tensorflow as tf

from cnn.architecture import LOGITS_LAYER, architecture_of, conv_layer_names
from explainers.attribution import PREDICTED, AttributionMethod, as_images
from explainers.faithfulness import build_methods, explained_classes, registered

SHUFFLED_LABELS = "shuffled labels"  # the stage name of the data randomization test
ORIGINAL = "learned"  # the stage before any randomization: the model as trained


@dataclass(frozen=True)
class Similarity:
    """How much one method's map still looks like the original after one randomization, over the images."""

    method: str
    stage: str  # the last layer re-initialized (all layers above it are too), or SHUFFLED_LABELS
    spearman_abs: float  # mean over the images; 1 = the same pixels in the same order
    spearman_signed: float
    ssim: float
    images: int
    undefined: int  # images whose Spearman correlation is undefined (a constant map), left out of the means


def cascade_layers(model: keras.Model) -> list[str]:
    """The layers the cascade re-initializes, in order: the dense logits, then the conv layers top down."""
    return [LOGITS_LAYER, *reversed(conv_layer_names(model))]


def layer_seed(seed: int, model: keras.Model, layer: str) -> int:
    """The seed of one layer's new weights: fixed by the run's seed and the layer's place in the model."""
    position = [each.name for each in model.layers].index(layer)
    return int(np.random.SeedSequence([seed, position]).generate_state(1)[0])


def reinitialize(model: keras.Model, layer: str, seed: int = 0) -> None:
    """Give ``layer`` of ``model`` (in place) fresh weights from its own initializers, seeded."""
    target = model.get_layer(layer)
    for variable, initializer in ((target.kernel, target.kernel_initializer), (target.bias, target.bias_initializer)):
        config = initializer.get_config()
        if "seed" in config:  # random initializers; the zeros of a bias have no seed
            config["seed"] = layer_seed(seed, model, layer)
        variable.assign(type(initializer).from_config(config)(variable.shape, variable.dtype))


def model_copy(model: keras.Model) -> keras.Model:
    """A copy with its own variables and the same weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def randomized_copy(model: keras.Model, layers: list[str], seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose ``layers`` are re-initialized; ``model`` itself is left as it is."""
    copy = model_copy(model)
    for layer in layers:
        reinitialize(copy, layer, seed)
    return copy


def spearman(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps (N,), NaN where a map is constant."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)  # reported as NaN, counted
        return np.array([scipy.stats.spearmanr(a.ravel(), b.ravel()).statistic for a, b in zip(first, second)])


def ssim(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """SSIM of each pair of maps (N,), on their absolute values scaled to [0, 1] by each map's own maximum."""
    def scaled(maps: np.ndarray) -> tf.Tensor:
        magnitude = np.abs(np.asarray(maps, np.float32))
        peak = magnitude.max(axis=(1, 2), keepdims=True)
        return tf.constant(np.divide(magnitude, peak, out=np.zeros_like(magnitude), where=peak > 0)[..., None])
    return tf.image.ssim(scaled(first), scaled(second), max_val=1.0).numpy()


def compare(method: str, stage: str, original: np.ndarray, changed: np.ndarray) -> Similarity:
    """The similarity of the changed maps to the original ones, as means over the images."""
    absolute, signed = spearman(np.abs(original), np.abs(changed)), spearman(original, changed)
    undefined = int(np.sum(np.isnan(absolute) | np.isnan(signed)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing, when every image is undefined
        means = float(np.nanmean(absolute)), float(np.nanmean(signed))
    return Similarity(method, stage, *means, float(np.mean(ssim(original, changed))), len(original), undefined)


class SanityCheck:
    """The sanity checks of one model, on a private copy of it (the model itself is never changed).

    Each check starts from the model's own weights again. One caller at a time: the copy's weights change
    while a check runs.
    """

    def __init__(self, model: keras.Model, methods: Mapping[str, type[AttributionMethod]] | None = None) -> None:
        """``methods``: name -> class (all registered ones by default), built once on the copy."""
        self.model = model
        self.copy = model_copy(model)
        self.methods = build_methods(self.copy, registered(methods))

    def _maps(self, images: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
        return {name: method.explain(images, targets) for name, method in self.methods.items()}

    def _start(self, images: np.ndarray, targets: int | np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The classes to explain at every stage (the model's own prediction for PREDICTED) and the original maps."""
        self.copy.set_weights(self.model.get_weights())
        targets = explained_classes(self.model, images, targets)
        return targets, self._maps(images, targets)

    def cascade_maps(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED,
                     seed: int = 0) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """The original maps (stage ORIGINAL), then every method's maps after each stage of the cascade."""
        images = as_images(images)
        targets, original = self._start(images, targets)
        yield ORIGINAL, original
        for layer in cascade_layers(self.model):
            reinitialize(self.copy, layer, seed)
            yield layer, self._maps(images, targets)

    def cascade(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED, seed: int = 0) -> list[Similarity]:
        """Each method's similarity to its original map at each stage of the cascade, stage by stage."""
        stages = self.cascade_maps(images, targets, seed)
        _, original = next(stages)
        return [compare(name, stage, original[name], maps[name]) for stage, maps in stages for name in maps]

    def fully_randomized(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED,
                         seed: int = 0) -> list[Similarity]:
        """Each method's similarity to its original map once every layer is randomized: the cascade's last
        stage alone, at half the cost (each layer's random weights depend on its seed, not on the order)."""
        images = as_images(images)
        targets, original = self._start(images, targets)
        layers = cascade_layers(self.model)
        for layer in layers:
            reinitialize(self.copy, layer, seed)
        changed = self._maps(images, targets)
        return [compare(name, layers[-1], original[name], changed[name]) for name in original]

    def shuffled_labels_maps(self, shuffled: keras.Model, images: np.ndarray, targets: int | np.ndarray = PREDICTED
                             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every method's maps on this model and on the one trained on shuffled labels."""
        if architecture_of(shuffled) != architecture_of(self.model):
            raise ValueError("the shuffled-labels model must have the same architecture")
        images = as_images(images)
        targets, original = self._start(images, targets)
        self.copy.set_weights(shuffled.get_weights())
        return original, self._maps(images, targets)

    def data_randomization(self, shuffled: keras.Model, images: np.ndarray,
                           targets: int | np.ndarray = PREDICTED) -> list[Similarity]:
        """Each method's similarity to its original map on the model trained on shuffled labels."""
        original, changed = self.shuffled_labels_maps(shuffled, images, targets)
        return [compare(name, SHUFFLED_LABELS, original[name], changed[name]) for name in original]
