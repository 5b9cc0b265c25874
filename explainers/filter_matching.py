"""Do two networks learn the same filters? Matching them one to one (the seed's tip: "train with
different random seeds and compare learned filters").

Filter 3 of one model has no reason to be filter 3 of another: training finds the same detectors in
any order. So the filters are paired up by the one-to-one assignment that maximizes the total
similarity (the Hungarian method, Kuhn 1955, ``scipy.optimize.linear_sum_assignment``), and each
pair is shown with its similarity. Similarity, by layer (as Li et al. 2016, *Convergent Learning: Do
Different Neural Networks Learn the Same Representations?*, compare networks):

- **conv1**, by its 3x3 kernels: the cosine of the two flattened kernels. It is sign aware: a kernel
  and its negation are opposite detectors (after the ReLU one fires exactly where the other is
  silent), so they score -1, never a match. The biases are left out: they set a threshold, not what
  the filter looks for.
- **conv2** (and conv3), by what they do: the Pearson correlation of their feature maps over every
  position of every image. Their kernels cannot be compared directly, since each one reads the
  *other* model's conv1 maps. A filter silent on all the images has no correlation: it scores 0.

A filter has a *close twin* when its matched similarity is at least 0.8. For kernels that is an
angle under 37 degrees; two random directions in 9 dimensions come that close with probability 0.3%.
Feature maps correlate more by chance, since every map follows the ink: two untrained models' best
conv2 pairs reach 0.57 on the default images.

Two models trained from the same initial weights (the same seed, as the shipped MNIST and
Fashion-MNIST models are) share their starting point: matching each against the untrained model of
that seed (``cnn.architecture.build_model(seed=k)``) tells what training changed and what it kept.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import numpy as np
from scipy.optimize import linear_sum_assignment

from cnn.architecture import conv_layer_names
from cnn.datasets import load_split, to_model_input
from explainers.attribution import as_images
from explainers.forward import forward

TWIN_THRESHOLD = 0.8
KERNEL_LAYER = "conv1"  # the one layer whose kernels read the same input (the pixels) in any two models
DEFAULT_IMAGES = 250  # per dataset: the first shipped test images of MNIST and of Fashion-MNIST


@dataclass(frozen=True)
class FilterMatching:
    layer: str
    measure: str  # what the similarity is, for the page
    pairs: list[tuple[int, int]]  # (filter of model a, filter of model b), most similar first
    similarity: np.ndarray  # (n,) of each pair, in the same order
    matrix: np.ndarray  # (filters of a, filters of b): every similarity

    threshold = TWIN_THRESHOLD

    @property
    def twins(self) -> int:
        """How many filters have a close twin in the other model."""
        return int((self.similarity >= self.threshold).sum())


def kernel_cosines(kernels_a: np.ndarray, kernels_b: np.ndarray) -> np.ndarray:
    """(filters a, filters b): the cosine of every pair of kernels (3, 3, in, filters)."""
    a = kernels_a.reshape(-1, kernels_a.shape[-1])
    b = kernels_b.reshape(-1, kernels_b.shape[-1])
    a, b = (k / np.maximum(np.linalg.norm(k, axis=0, keepdims=True), 1e-12) for k in (a, b))
    return a.T @ b


def map_correlations(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    """(filters a, filters b): the Pearson correlation of every pair of feature maps (N, H, W, filters),
    over all positions and images; 0 where a map is constant."""
    # float64: a float32 sum over 100,000 positions gives a map's correlation with itself as 0.999.
    a = maps_a.reshape(-1, maps_a.shape[-1]).astype(np.float64)
    b = maps_b.reshape(-1, maps_b.shape[-1]).astype(np.float64)
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    norms = np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    return np.divide(a.T @ b, norms, out=np.zeros_like(norms), where=norms > 0)


def best_assignment(similarity: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The one-to-one pairs of largest total similarity, most similar first, and their similarities."""
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    order = np.argsort(-similarity[rows, cols], kind="stable")
    pairs = [(int(rows[k]), int(cols[k])) for k in order]
    return pairs, similarity[rows[order], cols[order]]


@functools.cache
def default_images() -> np.ndarray:
    """Images neither dataset's model is partial to: the first test images of both datasets."""
    return np.concatenate([to_model_input(load_split(name, "test")[0][:DEFAULT_IMAGES])
                           for name in ("mnist", "fashion_mnist")])


def feature_maps(model: keras.Model, images: np.ndarray, layer: str) -> np.ndarray:
    return forward(model, images, capture=[layer])[0][layer].numpy()


def match_filters(model_a: keras.Model, model_b: keras.Model, layer: str = KERNEL_LAYER,
                  images: np.ndarray | None = None) -> FilterMatching:
    """Pair the filters of ``layer`` in two models one to one, most similar first.

    conv1 is compared by its kernels; a deeper conv layer by its feature maps on ``images``
    (N, 28, 28) in [0, 1], by default 250 test images of MNIST and 250 of Fashion-MNIST.
    """
    for model in (model_a, model_b):
        if layer not in conv_layer_names(model):
            raise ValueError(f"no conv layer {layer!r} in model {model.name!r}; "
                             f"choose one of {conv_layer_names(model)}")
    if layer == KERNEL_LAYER:
        measure = "cosine of the 3x3 kernels"
        matrix = kernel_cosines(model_a.get_layer(layer).kernel.numpy(), model_b.get_layer(layer).kernel.numpy())
    else:
        measure = "correlation of the feature maps"
        images = default_images() if images is None else as_images(images)
        matrix = map_correlations(feature_maps(model_a, images, layer), feature_maps(model_b, images, layer))
    pairs, similarity = best_assignment(matrix)
    return FilterMatching(layer, measure, pairs, similarity, matrix)
