"""Score-CAM (Wang et al. 2020, *Score-CAM: Score-Weighted Visual Explanations for CNNs*).

Gradient CAMs weigh each feature map by what the gradient says about it, a local and sometimes
misleading answer (in this network Grad-CAM's weights are the same for every image). Score-CAM
asks the model instead: *if the image showed only what feature map k responds to, how much would
it say "c"?* Each map A_k is upsampled to 28x28 and scaled to [0, 1],

    H_k = (up(A_k) - min up(A_k)) / (max up(A_k) - min up(A_k)),

it masks the input (x * H_k), and the class logit y_c on the masked image is the map's score.
The weights are the softmax of the scores over the maps, as in the paper's algorithm, and

    Score-CAM(x) = ReLU(sum_k w_k A_k),  w = softmax_k(y_c(x * H_k)).

We score with the logit, like the rest of this package and pytorch-grad-cam: the softmax over
the maps then compares the maps by how much class evidence each lets through. (The paper subtracts
the score of a baseline image; the same constant for every map, it does not change a softmax.)
No gradients, so no counterfactual map. One model call per map and image: the channels of all
images go through the model together, in the chunks of ``explainers.batching``.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from explainers.attribution import PREDICTED, resolve_targets, target_logits
from explainers.batching import masked_scores
from explainers.forward import forward
from explainers.grad_cam import BaseCAM, CAMResult


class ScoreCAM(BaseCAM):
    name = "Score-CAM"
    summary = "feature maps weighted by the class score of the image masked by each map"
    per_stroke = False  # a model call per feature map; not offered beside the sketch (it has no counterfactual)

    def weighted_features(self, images: tf.Tensor, targets: tf.Tensor, sign: tf.Tensor) -> tuple[tf.Tensor, ...]:
        """The weights are the softmax of the masked images' scores (``sign`` is always 1: see ``results``)."""
        captured, logits = forward(self.model, images, capture=[self.layer])
        classes = resolve_targets(logits, targets)
        features = captured[self.layer]
        upsampled = tf.image.resize(features, (28, 28), method="bilinear")
        low = tf.reduce_min(upsampled, axis=(1, 2), keepdims=True)
        span = tf.reduce_max(upsampled, axis=(1, 2), keepdims=True) - low
        masks = tf.math.divide_no_nan(upsampled - low, span)  # a constant (dead) map masks everything
        masks = tf.transpose(masks, (0, 3, 1, 2))[..., tf.newaxis]  # (N, k, 28, 28, 1)
        scores = masked_scores(self.model, images, masks, classes, target_logits)
        return features, tf.nn.softmax(scores, axis=1)[:, tf.newaxis, tf.newaxis, :], logits, classes

    def results(self, images: np.ndarray, targets: int | np.ndarray = PREDICTED,
                counterfactual: bool = False) -> list[CAMResult]:
        if counterfactual:
            raise ValueError("Score-CAM uses no gradients, so it has no counterfactual (negated-gradient) map")
        return super().results(images, targets)
