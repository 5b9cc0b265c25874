"""Running the CNN layer by layer, keeping the intermediate outputs an explainer needs.

Why not ``keras.Model(model.inputs, [layer.output, ...])``? In Keras 3 that fails on a
Sequential's ``model.input``, and on a model loaded from disk such a sub-model gives
None gradients for the intermediate output. Calling the layers ourselves works on
built and loaded models alike, and it lets guided backpropagation swap the ReLU.
"""
from __future__ import annotations

from typing import Callable, Iterable

import keras
import tensorflow as tf


@tf.custom_gradient
def guided_relu(x: tf.Tensor):
    """ReLU whose backward pass lets only positive gradients through positive inputs
    (Springenberg et al. 2015), which is what makes guided backprop maps sharp."""
    def grad(dy: tf.Tensor) -> tf.Tensor:
        return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
    return tf.nn.relu(x), grad


def _conv_with(layer: keras.layers.Conv2D, relu: Callable[[tf.Tensor], tf.Tensor], x: tf.Tensor) -> tf.Tensor:
    return relu(layer.convolution_op(x, layer.kernel) + layer.bias)


def forward(
    model: keras.Model, images: tf.Tensor, capture: Iterable[str] = (), guided: bool = False
) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Logits of ``images`` and the outputs of the layers named in ``capture``."""
    wanted = set(capture)
    captured: dict[str, tf.Tensor] = {}
    x = images
    for layer in model.layers:
        if guided and isinstance(layer, keras.layers.Conv2D):
            x = _conv_with(layer, guided_relu, x)
        else:
            x = layer(x, training=False)
        if layer.name in wanted:
            captured[layer.name] = x
    missing = wanted - captured.keys()
    if missing:
        raise ValueError(f"no layer named {sorted(missing)} in this model")
    return captured, x
