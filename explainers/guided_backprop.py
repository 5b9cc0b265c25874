"""Guided backpropagation (Springenberg et al. 2015): a pixel-sharp picture of the evidence.

The input gradient of the class logit, except that at every ReLU the backward pass lets
through only positive gradients, and only where the ReLU's input was positive. The map
is sharp and looks like the digit, which made it popular; whether it still depends on
what the network has learned is what the sanity checks ask.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from explainers.attribution import CompiledMethod
from explainers.gradients import input_gradients


@tf.custom_gradient
def guided_relu(x: tf.Tensor):
    """ReLU whose backward pass passes only positive gradients through positive inputs."""
    def grad(dy: tf.Tensor) -> tf.Tensor:
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
    return tf.nn.relu(x), grad


class GuidedBackprop(CompiledMethod):
    name = "Guided Backprop"
    summary = "the input gradient, letting only positive signals back through each ReLU"
    per_stroke = True  # one compiled pass

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return input_gradients(self.model, images, targets, conv_activation=guided_relu)[..., 0]


def guided_grad_cam(guided: np.ndarray, cam_heatmap: np.ndarray) -> np.ndarray:
    """Guided Grad-CAM (Selvaraju et al. 2017): guided backprop, kept only where the CAM sees evidence."""
    return guided * cam_heatmap
