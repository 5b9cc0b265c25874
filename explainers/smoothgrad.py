"""SmoothGrad (Smilkov et al. 2017, *SmoothGrad: removing noise by adding noise*).

The saliency map of a ReLU network is noisy: the gradient jumps from one linear piece of the
network to the next, so a change too small to see can move it a lot. SmoothGrad asks what the
gradient says *on average around* the image: it adds Gaussian noise to the image many times and
averages the gradients of the class logit y_c,

    SmoothGrad(x) = 1/n * sum_{i=1..n} d y_c / d x  at  x + e_i,   e_i ~ N(0, sigma^2)

The paper finds a noise level of 10-20 % of the input range and about 50 samples enough; we use
sigma = 0.15 (the images are in [0, 1]) and n = 50, and keep the signed mean (the paper also
tries the mean of squares). The noise is drawn once, from a seed, and is the same for every
image: a map is the same whatever batch it is computed in, and the same from run to run.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from explainers.attribution import CompiledMethod, resolve_targets
from explainers.batching import over_pairs
from explainers.forward import forward
from explainers.gradients import input_gradients

SAMPLES = 50
NOISE = 0.15  # standard deviation, as a fraction of the input range [0, 1]


class SmoothGrad(CompiledMethod):
    name = "SmoothGrad"
    summary = "the gradient averaged over 50 noisy copies of the image"
    per_stroke = False  # 50 gradients per image: about ten milliseconds

    def __init__(self, model: keras.Model, samples: int = SAMPLES, noise: float = NOISE, seed: int = 0) -> None:
        super().__init__(model)
        self.noise = np.random.default_rng(seed).normal(0.0, noise, (samples, 28, 28, 1)).astype(np.float32)

    def attribute(self, images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        # The class is fixed on the clean image: noise must not change which class is explained.
        classes = resolve_targets(forward(self.model, images)[1], targets)
        grads = over_pairs(lambda i, j: input_gradients(self.model, tf.gather(images, i) + tf.gather(self.noise, j),
                                                        tf.gather(classes, i)),
                           tf.shape(images)[0], len(self.noise))
        return tf.reduce_mean(grads, axis=1)[..., 0]
