"""Guided backpropagation (Springenberg et al. 2015): a pixel-sharp picture of the evidence.

The input gradient of the class logit, except that at every ReLU the backward pass lets
through only positive gradients, and only where the ReLU's input was positive. The map
is sharp and looks like the digit, which made it popular; whether it still depends on
what the network has learned is what the sanity checks ask.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from explainers.attribution import IMAGES, TARGETS, AttributionMethod, resolve_targets, target_logits
from explainers.forward import forward


@tf.custom_gradient
def guided_relu(x: tf.Tensor):
    """ReLU whose backward pass passes only positive gradients through positive inputs."""
    def grad(dy: tf.Tensor) -> tf.Tensor:
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
    return tf.nn.relu(x), grad


class GuidedBackprop(AttributionMethod):
    name = "Guided Backprop"
    summary = "the input gradient, letting only positive signals back through each ReLU"
    per_stroke = True  # one compiled pass

    def __init__(self, model: keras.Model) -> None:
        super().__init__(model)

        @tf.function(input_signature=[IMAGES, TARGETS])
        def guided(images, targets):
            with tf.GradientTape() as tape:
                tape.watch(images)
                _, logits = forward(model, images, conv_activation=guided_relu)
                scores = target_logits(logits, resolve_targets(logits, targets))
            return tape.gradient(scores, images)[..., 0]

        self._guided = guided

    def _maps(self, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return self._guided(images, targets).numpy()


def guided_grad_cam(guided: np.ndarray, cam_heatmap: np.ndarray) -> np.ndarray:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backprop, kept only where the CAM sees evidence."""
    return guided * cam_heatmap
