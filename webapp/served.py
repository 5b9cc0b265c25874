"""The explainers of each dataset's currently served model, and the shipped test sets.

Explainers compile TensorFlow functions for their model, so they are built once per
model and shared by every request; when a training swaps in a new model, the next
request builds a fresh set for it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from explainers import ActivationMaximizer, FilterStats, FilterVisualizer, GradCAM, HiResCAM, ModelManager, ServedModel
from explainers.architecture import conv_layer_names
from explainers.datasets import dataset_info, load_split, to_model_input
from explainers.evaluation import predict_logits

STATS_IMAGES = 1000  # test images used to find dead filters


@lru_cache(maxsize=None)
def test_set(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images (float, N x 28 x 28 x 1) and labels shipped with the app."""
    images, labels = load_split(dataset, "test")
    return to_model_input(images), labels


@dataclass(eq=False)  # hashed by identity: one set per served model, used as a cache key
class ExplainerSet:
    served: ServedModel
    cams: dict[str, GradCAM] = field(init=False)  # by method name: "Grad-CAM", "HiResCAM"
    filters: FilterVisualizer = field(init=False)
    maximizer: ActivationMaximizer = field(init=False)

    def __post_init__(self) -> None:
        model = self.served.model
        self.cams = {cam.name: cam(model) for cam in (GradCAM, HiResCAM)}
        self.filters, self.maximizer = FilterVisualizer(model), ActivationMaximizer(model)

    def cam(self, method: str) -> GradCAM:
        if method not in self.cams:
            raise ValueError(f"Unknown method {method!r}: choose one of {list(self.cams)}.")
        return self.cams[method]

    @property
    def class_names(self) -> tuple[str, ...]:
        return dataset_info(self.served.dataset).class_names

    @cached_property
    def test_predictions(self) -> np.ndarray:
        return predict_logits(self.served.model, test_set(self.served.dataset)[0]).argmax(axis=1)

    @cached_property
    def misclassified(self) -> np.ndarray:
        """Indices of the test images this model gets wrong."""
        return np.flatnonzero(self.test_predictions != test_set(self.served.dataset)[1])

    @cached_property
    def filter_stats(self) -> dict[str, FilterStats]:
        """Per conv layer, how its filters fire on the first 1,000 test images."""
        images = test_set(self.served.dataset)[0][:STATS_IMAGES]
        return {layer: self.filters.filter_stats(images, layer) for layer in conv_layer_names(self.served.model)}

    @property
    def dead_filters(self) -> set[tuple[str, int]]:
        return {(layer, int(i)) for layer, stats in self.filter_stats.items() for i in np.flatnonzero(stats.dead)}

    def warm_up(self) -> None:
        """Trace the compiled functions now, so the first student does not wait for it."""
        blank = np.zeros((28, 28), np.float32)
        for cam in self.cams.values():
            cam.explain(blank)
            cam.explain_all(blank)
        self.filters.all_feature_maps(blank)


class ServedExplainers:
    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self._sets: dict[str, ExplainerSet] = {}
        self._lock = threading.Lock()

    def __call__(self, dataset: str) -> ExplainerSet:
        served = self.manager.get(dataset)
        current = self._sets.get(dataset)
        if current is None or current.served.version != served.version:
            with self._lock:
                current = self._sets.get(dataset)
                if current is None or current.served.version != served.version:
                    current = ExplainerSet(served)
                    current.warm_up()
                    self._sets[dataset] = current
        return current
