"""Class activation maps: which regions of the image drive a prediction.

For a target class c and a conv layer with feature maps A_k, every CAM method computes
  1. the gradients of the class logit y_c with respect to A_k;
  2. weights from those gradients (and, for some methods, from A_k itself): the ``weigh`` hook;
  3. map = ReLU(sum_k weights_k * A_k), upsampled bilinearly to 28x28.
``BaseCAM`` does steps 1 and 3 for every method; each method is a subclass that writes ``weigh``
(as in pytorch-grad-cam). The counterfactual map negates the gradients: what argues *against* c.
A method that weighs the maps without gradients (Score-CAM) replaces steps 1 and 2 instead
(``weighted_features``).
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import NUM_CLASSES, conv_layer_names
from explainers.attribution import (IMAGES, PREDICTED, TARGETS, AttributionMethod, as_images, as_targets,
                                    resolve_targets, target_logits)
from explainers.forward import forward

# A map whose peak is below 0.01% of its largest single term (weight_k * A_k) is
# rounding noise, not evidence: we report "no positive evidence" instead of stretching it.
NO_EVIDENCE_RATIO = 1e-4


@dataclass(frozen=True)
class CAMResult:
    method: str  # the CAM method that made it, e.g. "HiResCAM"
    heatmap: np.ndarray  # (28, 28) in [0, 1]; all zero when has_evidence is False
    raw: np.ndarray  # (h, w) at the layer's resolution, after ReLU, before upsampling and scaling
    probabilities: np.ndarray  # (10,) softmax of the logits
    predicted: int
    target: int
    layer: str

    @property
    def has_evidence(self) -> bool:
        return bool(self.heatmap.max() > 0)


class BaseCAM(AttributionMethod):
    per_stroke = True  # one compiled pass: a millisecond

    def __init__(self, model: keras.Model, layer: str | None = None) -> None:
        super().__init__(model)
        conv_layers = conv_layer_names(model)
        self.layer = conv_layers[-1] if layer is None else layer
        if self.layer not in conv_layers:
            raise ValueError(f"no conv layer {self.layer!r}: choose one of {conv_layers}")
        self._cam = self._compile()

    @staticmethod
    def weigh(grads: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
        """The weight of each feature value, broadcastable to ``features`` (B, h, w, k)."""
        raise NotImplementedError

    def weighted_features(self, images: tf.Tensor, targets: tf.Tensor, sign: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """Steps 1 and 2: the features A (B, h, w, k), the weight of each value (broadcastable to A),
        the logits and the classes explained. Gradient methods write ``weigh``; a method that weighs
        the maps otherwise (Score-CAM) overrides this. ``sign`` -1 negates the gradients."""
        with tf.GradientTape() as tape:
            captured, logits = forward(self.model, images, capture=[self.layer])
            classes = resolve_targets(logits, targets)
            scores = target_logits(logits, classes)
        features = captured[self.layer]
        return features, self.weigh(sign * tape.gradient(scores, features), features), logits, classes

    def _compile(self):
        @tf.function(input_signature=[IMAGES, TARGETS, tf.TensorSpec([], tf.float32)])
        def cam(images, targets, sign):
            """Maps, upsampled maps, each map's largest term, probabilities and the classes explained."""
            features, weights, logits, classes = self.weighted_features(images, targets, sign)
            terms = weights * features
            largest_term = tf.reduce_max(tf.abs(terms), axis=(1, 2, 3))
            maps = tf.nn.relu(tf.reduce_sum(terms, axis=-1))
            upsampled = tf.image.resize(maps[..., tf.newaxis], (28, 28), method="bilinear")[..., 0]
            return maps, upsampled, largest_term, tf.nn.softmax(logits), classes
        return cam

    def _run(self, images: np.ndarray, targets: np.ndarray, sign: float) -> tuple[np.ndarray, ...]:
        """(raw maps, upsampled maps, probabilities, classes), rounding noise reported as no evidence."""
        raw, upsampled, largest, probabilities, classes = (
            t.numpy() for t in self._cam(images, targets, np.float32(sign)))
        evidence = (raw.max(axis=(1, 2)) > NO_EVIDENCE_RATIO * largest)[:, None, None]
        return np.where(evidence, raw, 0.0), np.where(evidence, upsampled, 0.0), probabilities, classes

    def _maps(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self._run(images, targets, sign=1.0)[1].astype(np.float32)

    def results(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED,
                counterfactual: bool = False) -> list[CAMResult]:
        """One picture-ready result per image: the heatmap scaled to [0, 1], with the prediction.

        ``counterfactual`` negates the gradients: regions whose removal would raise the class score.
        """
        images = as_images(images)
        raw, upsampled, probabilities, classes = self._run(images, as_targets(targets, len(images)),
                                                           sign=-1.0 if counterfactual else 1.0)
        heatmaps = upsampled / np.maximum(upsampled.max(axis=(1, 2), keepdims=True), 1e-12)
        return [CAMResult(self.name, heatmaps[i], raw[i], probabilities[i], int(probabilities[i].argmax()),
                          int(classes[i]), self.layer) for i in range(len(images))]

    def result(self, image: np.ndarray, target: int = PREDICTED) -> CAMResult:
        """The map of ``target`` (PREDICTED: the predicted class) for one 28x28 image."""
        return self.results(image, target)[0]

    def counterfactual(self, image: np.ndarray, target: int = PREDICTED) -> CAMResult:
        """Regions whose removal would raise the class score: evidence *against* the class."""
        return self.results(image, target, counterfactual=True)[0]

    def explain_all(self, image: np.ndarray) -> list[CAMResult]:
        """The ten class maps of one image, computed in one batched pass."""
        return self.results(np.repeat(as_images(image), NUM_CLASSES, axis=0), np.arange(NUM_CLASSES))


class GradCAM(BaseCAM):
    """Grad-CAM (Selvaraju et al. 2017): one weight per map, the spatial mean of its gradients."""

    name = "Grad-CAM"
    summary = "feature maps weighted by their mean gradient"

    @staticmethod
    def weigh(grads: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(grads, axis=(1, 2), keepdims=True)


class HiResCAM(BaseCAM):
    """HiResCAM (Draelos & Carin 2020): gradients times activations, element by element.

    Grad-CAM averages the gradients into one weight per map. In this network (max-pool,
    then dense, no global pooling) that average is the same for every image, a fixed
    mixture of maps per class, which for some classes is negative everywhere. Without the
    averaging, the map adds up exactly to the class score minus its bias: every pixel's
    share of the evidence, faithfully.
    """

    name = "HiResCAM"
    summary = "feature maps times their gradients, element by element"

    @staticmethod
    def weigh(grads: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
        return grads


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ (Chattopadhyay et al. 2018): Grad-CAM with the positive gradients weighted per position.

    Grad-CAM's mean gives a large map with small gradients as much say as a small map with large
    ones. Grad-CAM++ weights each map by sum_ij alpha_ij * ReLU(dy_c/dA_ij), with the paper's closed
    form alpha = g^2 / (2 g^2 + sum_ab A_ab * g^3) (g the gradient; derived for an exponential of the
    score, used for the logit as in the paper's code and pytorch-grad-cam). Where g > 0, alpha is
    positive, so every weight is >= 0: unlike Grad-CAM it always finds evidence on an active map.
    """

    name = "Grad-CAM++"
    summary = "feature maps weighted by their positive gradients, each position weighted (alpha)"

    @staticmethod
    def weigh(grads: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
        squared = tf.square(grads)
        total = tf.reduce_sum(features, axis=(1, 2), keepdims=True)
        alphas = tf.math.divide_no_nan(squared, 2 * squared + total * squared * grads)  # 0 where g = 0
        return tf.reduce_sum(alphas * tf.nn.relu(grads), axis=(1, 2), keepdims=True)


class LayerCAM(BaseCAM):
    """LayerCAM (Jiang et al. 2021): activations times their positive gradients, element by element.

    Like HiResCAM it keeps every position's own gradient, but only where it is positive, so the
    map shows evidence for the class only. Its authors meant it for the early layers too, whose
    maps are sharp: on conv1 (``layer="conv1"``) it is at the full 28x28 resolution.
    """

    name = "LayerCAM"
    summary = "feature maps times their positive gradients, element by element"

    @staticmethod
    def weigh(grads: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(grads)
