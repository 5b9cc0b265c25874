"""Filter visualization: the raw 3x3 weights, and what each filter responds to.

Conv1's filters look at pixels directly, so their 3x3 weights read like tiny
edge and stroke detectors. Conv2's filters combine conv1's maps; each has one 3x3
kernel per conv1 map. Feature maps show where in an image each filter fires, and
filter statistics over many images find "dead" filters that never fire at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import feature_layer_names
from explainers.forward import forward
from explainers.attribution import IMAGES, as_images


@dataclass(frozen=True)
class FilterStats:
    layer: str
    fire_rate: np.ndarray  # (filters,) fraction of images on which the filter is positive somewhere
    active_fraction: np.ndarray  # (filters,) fraction of all positions (over all images) that are positive
    mean_activation: np.ndarray  # (filters,) mean activation over images and positions

    @property
    def dead(self) -> np.ndarray:
        """Filters that never fire on the given images."""
        return self.fire_rate == 0


class FilterVisualizer:
    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.layers = feature_layer_names(model)
        layers = self.layers

        @tf.function(input_signature=[IMAGES])
        def all_feature_maps(images):
            return forward(model, images, capture=layers)[0]

        self._all_feature_maps = all_feature_maps

    def weights(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """(kernel (3, 3, in_channels, filters), bias (filters,)) exactly as stored in the layer."""
        conv = self.model.get_layer(layer)
        if not isinstance(conv, keras.layers.Conv2D):
            raise ValueError(f"{layer!r} is not a convolution layer")
        kernel, bias = conv.get_weights()
        return kernel, bias

    def all_feature_maps(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every conv and pool layer's output (H, W, channels) for one image, in one pass."""
        return {name: maps.numpy()[0] for name, maps in self._all_feature_maps(as_images(image)).items()}

    def feature_maps(self, image: np.ndarray, layer: str) -> np.ndarray:
        """The output (H, W, channels) of ``layer`` (conv1, pool1, conv2, pool2, ...) for one image."""
        if layer not in self.layers:
            raise ValueError(f"no feature layer {layer!r}; choose one of {self.layers}")
        return self.all_feature_maps(image)[layer]

    def filter_stats(self, images: np.ndarray, layer: str, batch_size: int = 1000) -> FilterStats:
        """How often and how strongly each filter of ``layer`` fires on float images (N, 28, 28[, 1])."""
        if layer not in self.layers:
            raise ValueError(f"no feature layer {layer!r}; choose one of {self.layers}")
        images = np.asarray(images, np.float32).reshape(-1, 28, 28, 1)
        fires, active, total = 0.0, 0.0, 0.0
        for start in range(0, len(images), batch_size):
            maps = self._all_feature_maps(images[start:start + batch_size])[layer].numpy()
            positive = maps > 0
            fires = fires + positive.any(axis=(1, 2)).sum(axis=0)
            active = active + positive.sum(axis=(0, 1, 2))
            total = total + maps.sum(axis=(0, 1, 2))
        positions = len(images) * maps.shape[1] * maps.shape[2]
        return FilterStats(layer, fires / len(images), active / positions, total / positions)
