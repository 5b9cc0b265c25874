"""Running the CNN layer by layer, keeping the intermediate outputs an explainer needs.

Why not ``keras.Model(model.inputs, [layer.output, ...])``? In Keras 3 that fails on a
Sequential's ``model.input``, and on a model loaded from disk such a sub-model gives
None gradients for the intermediate output. Calling the layers ourselves works on
built and loaded models alike, and it lets guided backpropagation swap the ReLU.

Every explainer's gradient goes through here, so this is where max-pool gets its backward rule for
ties (explainers/max_pool.py): a map then does not depend on the batch it is computed in, nor on the
CPU's kernels; and where the first convolution gets a faster kernel for its backward pass
(explainers/convolution.py).
"""
from __future__ import annotations

from typing import Callable, Iterable

import keras
import tensorflow as tf

from explainers.convolution import convolve
from explainers.max_pool import max_pool

Activation = Callable[[tf.Tensor], tf.Tensor]


def forward(model: keras.Model, images: tf.Tensor, capture: Iterable[str] = (),
            conv_activation: Activation | None = None) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
    """Logits of ``images`` and the outputs of the layers named in ``capture``.

    ``conv_activation`` replaces the conv layers' own ReLU (guided backpropagation changes its gradient).
    The outputs are the layers' own; only max-pool's gradient follows our rule for ties.
    """
    wanted = set(capture)
    captured: dict[str, tf.Tensor] = {}
    x = images
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            x = convolve(layer, x)
            if layer.use_bias:
                x = x + layer.bias
            x = (conv_activation or layer.activation)(x)
        elif isinstance(layer, keras.layers.MaxPooling2D):
            x = max_pool(layer, x)
        else:
            x = layer(x, training=False)
        if layer.name in wanted:
            captured[layer.name] = x
    missing = wanted - captured.keys()
    if missing:
        raise ValueError(f"no layer named {sorted(missing)} in this model")
    return captured, x
