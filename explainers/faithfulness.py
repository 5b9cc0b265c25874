"""Faithfulness: do the pixels a map calls important really drive the model's score?

A heatmap is a claim: *these pixels are the evidence*. Deletion and insertion (Petsiuk et al. 2018, the
RISE paper) test the claim on the model itself:

- **Deletion** removes the pixels in the order the map ranks them, most important first, and follows the
  target class's softmax probability. If the map is right the probability falls at once: the area under
  the curve (AUC) is *small*.
- **Insertion** starts from the image with every pixel removed and puts the pixels back in the same
  order. If the map is right the probability rises at once: the AUC is *large*.
- A **random map** is the yardstick: it ranks the pixels by chance. A map whose AUCs are no better than
  the random map's has not found the evidence, however convincing it looks.

The choices, and why:

- ``STEPS`` = 28 steps of 28 pixels each (784 / 28, one image row's worth, 3.6 % of the image): fine
  enough that the trapezoid AUC follows the curve, and coarse enough that all the steps of every method
  on one image (13 maps x 2 curves x 29 points) go through the model in one call of a few tens of ms.
- The AUC is the trapezoid rule over the *fraction* of pixels (0 .. 1), so it lies in [0, 1].
- A removed pixel becomes black (0, the background of both datasets) or the same pixel of a blurred copy
  (Gaussian, ``BLUR_SIGMA`` = 4 px, zero beyond the border). Black is what "no ink" means, but a
  half-erased digit on black may look to the model like another digit; the blur removes the shape but
  keeps the ink's rough mass. At 4 px the shipped MNIST model reads 24 % of blurred test digits right
  (the mean probability of its original class is 0.15, chance is 0.10); at 2 px it still reads 91 %.
- Ties (a flat map, e.g. Grad-CAM's all-zero map when it finds no evidence; the background of most maps)
  are broken by a seeded random priority of the pixels, the same for every image. In pixel-index order a
  flat map would remove the top rows first, which are black background in both datasets, so it would
  score as the *worst* possible map in deletion and in insertion; with a random priority it scores like
  the random map, which is what "no preference" means. Being the same for every image, it makes a batch
  and the images one by one give the same curves.
- The opposite order (least important first) is the exact reverse of that order, ties included. So
  deleting least important first, step k, is the same image as inserting most important first, step
  28 - k: its curve is the insertion curve read backwards, and its AUC is the insertion AUC.
- Over a test set each method's mean AUC comes with a 95 % t-interval (500 AUCs: their mean is close to
  normal), and a one-sided Wilcoxon signed-rank test pairs it with the random map on the same images
  (AUCs are bounded and skewed, so a rank test rather than a t-test); with twelve methods and two curves,
  "beats the random map" asks p below 0.05 divided by the number of tests (Bonferroni).

    faithfulness = Faithfulness(model)                     # compiled once per model
    scores = faithfulness.score_methods(image, target, methods)   # methods: name -> AttributionMethod
    rows = faithfulness.table(images, targets, methods)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Mapping

import keras
import numpy as np
import scipy.ndimage
import scipy.stats
import tensorflow as tf

from cnn.evaluation import predict_logits
from explainers.attribution import PREDICTED, TARGETS, AttributionMethod, as_images, as_targets, target_logits

Removal = Literal["black", "blur"]
Order = Literal["most_first", "least_first"]

PIXELS = 28 * 28
STEPS = 28
BLUR_SIGMA = 4.0  # pixels
RANDOM = "Random map"
CONFIDENCE = 0.95
ALPHA = 0.05  # before the Bonferroni correction
MODEL_BATCH = 4096  # perturbed images per model call: big calls, bounded memory (conv1 output ~100 MB)
EXPLAIN_BATCH = 100  # images per explain call in the table: heavy methods (RISE, occlusion) grow with it


@dataclass(frozen=True)
class Curves:
    """The target's softmax probability at each step, (N, steps + 1), for fractions 0, 1/steps, ..., 1."""

    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def deletion_auc(self) -> np.ndarray:
        return auc(self.deletion)

    @property
    def insertion_auc(self) -> np.ndarray:
        return auc(self.insertion)


@dataclass(frozen=True)
class MethodScore:
    """One method on one image: its map and its two curves (for the page)."""

    method: str
    map: np.ndarray  # (28, 28), as the method returned it
    deletion: np.ndarray  # (steps + 1,)
    insertion: np.ndarray
    deletion_auc: float  # lower is better
    insertion_auc: float  # higher is better


@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class TableRow:
    """One method over a test set, against the random map on the same images (for a table)."""

    method: str
    deletion: MeanCI
    insertion: MeanCI
    random_deletion: MeanCI
    random_insertion: MeanCI
    deletion_p: float  # one-sided Wilcoxon signed-rank: the method's deletion AUC is below the random map's
    insertion_p: float  # ... its insertion AUC is above the random map's
    beats_random_deletion: bool  # p below ALPHA / (number of tests in the table)
    beats_random_insertion: bool
    ms_per_image: float  # the method's explain time, per image, in batches of EXPLAIN_BATCH


def fractions(steps: int = STEPS) -> np.ndarray:
    """The fraction of pixels removed (deletion) or revealed (insertion) at each point of a curve."""
    return np.linspace(0.0, 1.0, steps + 1)


def auc(curves: np.ndarray) -> np.ndarray:
    """Area under each curve (..., steps + 1) by the trapezoid rule over the fraction of pixels: in [0, 1]."""
    return np.trapezoid(curves, fractions(curves.shape[-1] - 1), axis=-1)


def removed_images(images: np.ndarray, removal: Removal = "black") -> np.ndarray:
    """What each pixel of each image (N, 28, 28) becomes when it is removed."""
    if removal == "black":
        return np.zeros_like(images)
    if removal == "blur":
        return scipy.ndimage.gaussian_filter(images, sigma=(0, BLUR_SIGMA, BLUR_SIGMA), mode="constant")
    raise ValueError(f"removal must be 'black' or 'blur', not {removal!r}")


def tie_break_priority(seed: int = 0) -> np.ndarray:
    """Each pixel's seeded random rank (784,) among pixels of equal importance: the same for every image."""
    return np.random.default_rng(seed).permutation(PIXELS)


def pixel_order(maps: np.ndarray, order: Order = "most_first", seed: int = 0) -> np.ndarray:
    """Each map's pixel indices (N, 784), the first to be removed or revealed first."""
    flat = np.asarray(maps, dtype=np.float64).reshape(len(maps), PIXELS)
    if not np.isfinite(flat).all():
        raise ValueError("maps must be finite to rank their pixels")
    priority = np.broadcast_to(tie_break_priority(seed), flat.shape)
    most_first = np.lexsort((priority, -flat), axis=-1)  # by importance, then (ties) by the priority
    if order == "most_first":
        return most_first
    if order == "least_first":
        return most_first[:, ::-1]
    raise ValueError(f"order must be 'most_first' or 'least_first', not {order!r}")


def random_maps(count: int, seed: int = 0) -> np.ndarray:
    """The random-map baseline: uniform noise (count, 28, 28), seeded, independent of the tie-break."""
    return np.random.default_rng([seed, 1]).random((count, 28, 28), dtype=np.float32)


def explained_classes(model: keras.Model, images: np.ndarray, targets: int | np.ndarray) -> np.ndarray:
    """Each image's class (N,) int32: its target, or the class ``model`` predicts where the target is PREDICTED."""
    images = as_images(images)
    targets = as_targets(targets, len(images))
    if (targets == PREDICTED).any():
        targets = np.where(targets == PREDICTED, predict_logits(model, images).argmax(axis=1), targets)
    return targets.astype(np.int32)


def mean_ci(values: np.ndarray) -> MeanCI:
    """The mean and its 95 % t-interval."""
    mean = float(np.mean(values))
    low, high = scipy.stats.t.interval(CONFIDENCE, len(values) - 1, loc=mean, scale=scipy.stats.sem(values))
    return MeanCI(mean, float(low), float(high))


class Faithfulness:
    """Deletion and insertion curves for one model, every step of every image in a few big compiled calls."""

    def __init__(self, model: keras.Model, removal: Removal = "black", steps: int = STEPS) -> None:
        removed_images(np.zeros((1, 28, 28), np.float32), removal)  # an unknown removal fails here, not later
        self.model, self.removal, self.steps = model, removal, steps
        self._counts = tf.constant(np.round(fractions(steps) * PIXELS), tf.int32)  # pixels taken at each step
        self._probabilities = self._compile()

    def _compile(self):
        pixels = tf.TensorSpec([None, PIXELS], tf.float32)

        @tf.function(input_signature=[pixels, pixels, tf.TensorSpec([None, PIXELS], tf.int32), TARGETS])
        def probabilities(images, removed, ranks, targets):
            """(B, 2, steps + 1): deletion and insertion, one model call for the whole batch."""
            taken = ranks[:, tf.newaxis, :] < self._counts[tf.newaxis, :, tf.newaxis]  # (B, S, 784)
            original, blank = images[:, tf.newaxis], removed[:, tf.newaxis]
            both = tf.stack([tf.where(taken, blank, original), tf.where(taken, original, blank)], axis=1)
            logits = self.model(tf.reshape(both, [-1, 28, 28, 1]), training=False)
            points = 2 * (self.steps + 1)
            classes = tf.repeat(targets, points)
            return tf.reshape(target_logits(tf.nn.softmax(logits), classes), [-1, 2, self.steps + 1])
        return probabilities

    def curves(self, images: np.ndarray, maps: np.ndarray, targets: int | np.ndarray = PREDICTED,
               order: Order = "most_first", seed: int = 0) -> Curves:
        """Deletion and insertion curves of each image (N, 28, 28) in the pixel order of its map."""
        images = as_images(images)[..., 0]
        targets = explained_classes(self.model, images, targets)
        ranks = np.empty((len(images), PIXELS), np.int32)
        np.put_along_axis(ranks, pixel_order(maps, order, seed), np.arange(PIXELS, dtype=np.int32), axis=1)
        flat = images.reshape(len(images), PIXELS)
        removed = removed_images(images, self.removal).reshape(len(images), PIXELS)
        chunk = max(1, MODEL_BATCH // (2 * (self.steps + 1)))
        both = np.concatenate([self._probabilities(flat[i:i + chunk], removed[i:i + chunk], ranks[i:i + chunk],
                                                   targets[i:i + chunk]).numpy()
                               for i in range(0, len(images), chunk)])
        return Curves(both[:, 0], both[:, 1])

    def score_maps(self, image: np.ndarray, target: int, maps: Mapping[str, np.ndarray],
                   seed: int = 0) -> list[MethodScore]:
        """Every map of one image scored in one batch, and the random map's score last."""
        maps = dict(maps) | {RANDOM: random_maps(1, seed)[0]}
        stacked = np.stack([np.asarray(m, np.float32).reshape(28, 28) for m in maps.values()])
        images = np.repeat(as_images(image)[..., 0], len(maps), axis=0)
        curves = self.curves(images, stacked, explained_classes(self.model, image, target)[0], seed=seed)
        return [MethodScore(name, stacked[i], curves.deletion[i], curves.insertion[i],
                            float(curves.deletion_auc[i]), float(curves.insertion_auc[i]))
                for i, name in enumerate(maps)]

    def score_methods(self, image: np.ndarray, target: int, methods: Mapping[str, AttributionMethod],
                      seed: int = 0) -> list[MethodScore]:
        """Each method's map of one image with its curves and AUCs, in the methods' order, the random map last."""
        target = int(explained_classes(self.model, image, target)[0])  # every method explains the same class
        return self.score_maps(image, target, {name: method.explain(image, target)[0]
                                               for name, method in methods.items()}, seed)

    def table(self, images: np.ndarray, targets: int | np.ndarray, methods: Mapping[str, AttributionMethod],
              seed: int = 0) -> list[TableRow]:
        """Each method's mean AUCs over the images, against the random map on the same images."""
        images = as_images(images)[..., 0]
        targets = explained_classes(self.model, images, targets)
        chance = self.curves(images, random_maps(len(images), seed), targets, seed=seed)
        measured = {}
        for name, method in methods.items():
            maps, ms_per_image = timed_maps(method, images, targets)
            measured[name] = self.curves(images, maps, targets, seed=seed), ms_per_image
        alpha = ALPHA / (2 * len(methods))
        return [table_row(name, curves, chance, ms, alpha) for name, (curves, ms) in measured.items()]


def timed_maps(method: AttributionMethod, images: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, float]:
    """The method's maps of all the images, in batches, and its time per image in ms (tracing not counted)."""
    method.explain(images[:1], targets[:1])  # the first call traces the compiled pass
    start = time.perf_counter()
    maps = np.concatenate([method.explain(images[i:i + EXPLAIN_BATCH], targets[i:i + EXPLAIN_BATCH])
                           for i in range(0, len(images), EXPLAIN_BATCH)])
    return maps, (time.perf_counter() - start) * 1000 / len(images)


def table_row(name: str, curves: Curves, chance: Curves, ms_per_image: float, alpha: float) -> TableRow:
    """One method's row: its AUCs against the random map's, paired image by image."""
    deletion_p = scipy.stats.wilcoxon(curves.deletion_auc, chance.deletion_auc, alternative="less").pvalue
    insertion_p = scipy.stats.wilcoxon(curves.insertion_auc, chance.insertion_auc, alternative="greater").pvalue
    return TableRow(name, mean_ci(curves.deletion_auc), mean_ci(curves.insertion_auc),
                    mean_ci(chance.deletion_auc), mean_ci(chance.insertion_auc), float(deletion_p),
                    float(insertion_p), bool(deletion_p < alpha), bool(insertion_p < alpha), ms_per_image)


def build_methods(model: keras.Model, methods: Mapping[str, type[AttributionMethod]]) -> dict[str, AttributionMethod]:
    """One instance of each method class for ``model``, by name, in order."""
    return {name: method(model) for name, method in methods.items()}


def score_methods(model: keras.Model, image: np.ndarray, target: int = PREDICTED,
                  methods: Mapping[str, type[AttributionMethod]] | None = None, removal: Removal = "black",
                  seed: int = 0) -> list[MethodScore]:
    """All methods on one image, in one call (``methods``: name -> class, METHODS by default); builds and
    compiles everything for ``model``, so a page that scores many images keeps a ``Faithfulness`` instead."""
    return Faithfulness(model, removal).score_methods(image, target, build_methods(model, registered(methods)), seed)


def faithfulness_table(model: keras.Model, images: np.ndarray, targets: int | np.ndarray = PREDICTED,
                       methods: Mapping[str, type[AttributionMethod]] | None = None, removal: Removal = "black",
                       seed: int = 0) -> list[TableRow]:
    """Every method's mean deletion and insertion AUC over ``images``, against the random map's."""
    return Faithfulness(model, removal).table(images, targets, build_methods(model, registered(methods)), seed)


def registered(methods: Mapping[str, type[AttributionMethod]] | None) -> Mapping[str, type[AttributionMethod]]:
    """The methods asked for, or all registered ones (imported late, so that explainers/__init__.py, which
    defines the registry, may itself import this module)."""
    if methods is not None:
        return methods
    from explainers import METHODS
    return METHODS
