"""Grad-CAM (Selvaraju et al. 2017): which pixels drive a prediction.

For a target class c and a conv layer with feature maps A_k:
  1. gradients of the class score *before softmax* y_c with respect to A_k;
  2. channel weights alpha_k = spatial mean of those gradients;
  3. map = ReLU(sum_k alpha_k * A_k), upsampled to 28x28 and scaled to [0, 1].
The counterfactual map negates the gradients (what argues *against* c); guided
backpropagation and Guided Grad-CAM give pixel-sharp versions; HiResCAM, a one-line
subclass, skips the averaging in step 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from explainers.architecture import NUM_CLASSES
from explainers.forward import forward

IMAGE_SIGNATURE = tf.TensorSpec([None, 28, 28, 1], tf.float32)
TARGET_SIGNATURE = tf.TensorSpec([None, NUM_CLASSES], tf.float32)
PREDICTED = -1  # target index meaning "the predicted class", resolved inside the compiled pass
# A map whose peak is below 0.01% of its largest single term (alpha_k * A_k) is
# rounding noise, not evidence: we report "no positive evidence" instead of stretching it.
NO_EVIDENCE_RATIO = 1e-4


@dataclass(frozen=True)
class GradCAMResult:
    heatmap: np.ndarray  # (28, 28) in [0, 1]; all zero when has_evidence is False
    raw: np.ndarray  # (h, w) at the layer's resolution, after ReLU, before upsampling and scaling
    probabilities: np.ndarray  # (10,) softmax of the logits
    predicted: int
    target: int
    layer: str

    @property
    def has_evidence(self) -> bool:
        return bool(self.heatmap.max() > 0)


def as_batch(image: np.ndarray) -> np.ndarray:
    """A 28x28 (or 28x28x1) image in [0, 1] as a float32 batch of one."""
    image = np.asarray(image, dtype=np.float32)
    if image.shape not in ((28, 28), (28, 28, 1)):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    return image.reshape(1, 28, 28, 1)


class GradCAM:
    name = "Grad-CAM"

    @staticmethod
    def weigh(grads: tf.Tensor) -> tf.Tensor:
        """alpha_k: the spatial mean of the gradients, one weight per feature map."""
        return tf.reduce_mean(grads, axis=(1, 2), keepdims=True)

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self._compiled: dict[str, tf.types.experimental.PolymorphicFunction] = {}

    def _cam_function(self, layer: str):
        """One compiled function per layer: (images, one-hot targets, sign) -> maps, upsampled maps,
        each map's largest term, probabilities and the targets used.

        A target row of zeros means "the predicted class", decided inside the same pass.
        """
        if layer not in self._compiled:
            @tf.function(input_signature=[IMAGE_SIGNATURE, TARGET_SIGNATURE, tf.TensorSpec([], tf.float32)])
            def cam(images, targets, sign):
                with tf.GradientTape() as tape:
                    captured, logits = forward(self.model, images, capture=[layer])
                    predicted = tf.one_hot(tf.argmax(logits, axis=1), NUM_CLASSES)
                    chosen = tf.where(tf.reduce_any(targets > 0, axis=1, keepdims=True), targets, predicted)
                    scores = tf.reduce_sum(logits * chosen, axis=1)  # each image's own target logit
                features = captured[layer]
                terms = self.weigh(sign * tape.gradient(scores, features)) * features
                largest_term = tf.reduce_max(tf.abs(terms), axis=(1, 2, 3))
                maps = tf.nn.relu(tf.reduce_sum(terms, axis=-1))
                upsampled = tf.image.resize(maps[..., tf.newaxis], (28, 28), method="bilinear")[..., 0]
                return (maps, upsampled, largest_term, tf.nn.softmax(logits), tf.argmax(chosen, axis=1))
            self._compiled[layer] = cam
        return self._compiled[layer]

    def _run(self, images: np.ndarray, targets: np.ndarray | None, layer: str, sign: float) -> list[GradCAMResult]:
        onehot = np.zeros((len(images), NUM_CLASSES), np.float32)  # zeros: the predicted class
        if targets is not None:
            onehot[np.arange(len(images)), targets] = 1.0
        raw, heatmaps, largest, probs, targets = (
            t.numpy() for t in self._cam_function(layer)(images, onehot, np.float32(sign)))
        evidence = (raw.max(axis=(1, 2)) > NO_EVIDENCE_RATIO * largest)[:, None, None]
        raw = np.where(evidence, raw, 0.0)
        heatmaps = np.where(evidence, heatmaps, 0.0)
        heatmaps /= np.maximum(heatmaps.max(axis=(1, 2), keepdims=True), 1e-12)
        return [GradCAMResult(heatmaps[i], raw[i], probs[i], int(probs[i].argmax()), int(targets[i]), layer)
                for i in range(len(images))]

    def explain(self, image: np.ndarray, target_class: int | None = None, layer: str = "conv2") -> GradCAMResult:
        """Grad-CAM map of ``target_class`` (None: the predicted class) for one 28x28 image."""
        targets = None if target_class is None else np.array([_check_class(target_class)])
        return self._run(as_batch(image), targets, layer, sign=1.0)[0]

    def explain_all(self, image: np.ndarray, layer: str = "conv2") -> list[GradCAMResult]:
        """The ten class maps of one image, computed in one batched pass."""
        batch = np.repeat(as_batch(image), NUM_CLASSES, axis=0)
        return self._run(batch, np.arange(NUM_CLASSES), layer, sign=1.0)

    def counterfactual(self, image: np.ndarray, target_class: int | None = None, layer: str = "conv2") -> GradCAMResult:
        """Regions whose removal would raise the class score: evidence *against* the class."""
        targets = None if target_class is None else np.array([_check_class(target_class)])
        return self._run(as_batch(image), targets, layer, sign=-1.0)[0]

    def guided_backprop(self, image: np.ndarray, target_class: int | None = None) -> np.ndarray:
        """Guided backpropagation: (28, 28) input gradient of the class score through guided ReLUs."""
        target = PREDICTED if target_class is None else _check_class(target_class)
        return self._guided(as_batch(image), tf.constant(target)).numpy()[0, :, :, 0]

    @tf.function(input_signature=[IMAGE_SIGNATURE, tf.TensorSpec([], tf.int32)])
    def _guided(self, images, target):
        with tf.GradientTape() as tape:
            tape.watch(images)
            _, logits = forward(self.model, images, guided=True)
            chosen = tf.where(target == PREDICTED, tf.argmax(logits[0], output_type=tf.int32), target)
            score = logits[:, chosen]
        return tape.gradient(score, images)

    def guided_gradcam(self, image: np.ndarray, target_class: int | None = None, layer: str = "conv2") -> np.ndarray:
        """Guided Grad-CAM: guided backprop masked by the Grad-CAM heatmap, (28, 28)."""
        cam = self.explain(image, target_class, layer)
        return self.guided_backprop(image, cam.target) * cam.heatmap


class HiResCAM(GradCAM):
    """HiResCAM (Draelos & Carin 2020): gradients times activations, element by element.

    Grad-CAM averages the gradients into one weight per map. In this network (max-pool,
    then dense, no global pooling) that average is the same for every image, a fixed
    mixture of maps per class, which for some classes is negative everywhere. Without the
    averaging, the map adds up exactly to the class score minus its bias: every pixel's
    share of the evidence, faithfully.
    """

    name = "HiResCAM"

    @staticmethod
    def weigh(grads: tf.Tensor) -> tf.Tensor:
        return grads


def _check_class(target_class: int) -> int:
    if not 0 <= int(target_class) < NUM_CLASSES:
        raise ValueError(f"target class must be 0..{NUM_CLASSES - 1}, not {target_class}")
    return int(target_class)
