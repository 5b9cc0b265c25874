"""Saliency and gradient × input: what the class score's gradient says about each pixel.

**Saliency** (Simonyan et al. 2014, *Deep Inside Convolutional Networks*) asks: if this pixel
got a little brighter, how much would the class score y_c (its logit) change?

    saliency(x)_ij = d y_c / d x_ij

It is signed here: positive where brightening the pixel adds evidence for c. (The paper shows
the magnitude; a page may too.) It is a local answer, about a tiny change: it says nothing of
how much a pixel's *actual* value contributes, and a black pixel can have a large gradient.

**Gradient × input** (Shrikumar et al. 2016, *Not Just a Black Box*) weighs the gradient by the
pixel's value, a first-order estimate of each pixel's contribution:

    (gradient × input)(x)_ij = x_ij * d y_c / d x_ij

Black pixels (x = 0) get nothing. Were this network without biases, its ReLUs, max-pools and
linear layers would make the score exactly the sum of this map (Euler's theorem for a function
that scales with its input); with biases, the sum misses what they add along the way.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from explainers.attribution import CompiledMethod, resolve_targets, target_logits
from explainers.forward import Activation, forward


def input_gradients(model: keras.Model, images: tf.Tensor, targets: tf.Tensor,
                    conv_activation: Activation | None = None) -> tf.Tensor:
    """d logit_target / d image, (N, 28, 28, 1), for each image's target (PREDICTED: its own prediction).

    ``conv_activation`` replaces the conv layers' ReLU (guided backpropagation changes its gradient).
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        _, logits = forward(model, images, conv_activation=conv_activation)
        scores = target_logits(logits, resolve_targets(logits, targets))
    return tape.gradient(scores, images)


class Saliency(CompiledMethod):
    name = "Saliency"
    summary = "the gradient of the class score: how a small brightening of each pixel changes it"
    per_stroke = True  # one compiled pass: a millisecond

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return input_gradients(self.model, images, targets)[..., 0]


class GradientTimesInput(CompiledMethod):
    name = "Gradient × Input"
    summary = "the gradient times the pixel: a first-order share of the score per pixel"
    per_stroke = True

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return (input_gradients(self.model, images, targets) * images)[..., 0]
