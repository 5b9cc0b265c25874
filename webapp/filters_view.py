"""The Filters tab: the learned 3x3 weights, feature maps of an image, and dead filters."""
from __future__ import annotations

import numpy as np

from plots import conv_weights_figure, feature_maps_html, figure_to_image, kernel_grid_figure
from webapp.served import ExplainerSet


def weight_pictures(explainer_set: ExplainerSet) -> tuple[np.ndarray, np.ndarray]:
    """conv1's filters with their values, and conv2's grid of kernels (fixed per model, so remembered)."""
    visualizer = explainer_set.filters
    return explainer_set.remember("weight pictures", lambda: (
        figure_to_image(conv_weights_figure(*visualizer.weights("conv1"), layer="conv1")),
        figure_to_image(kernel_grid_figure(*visualizer.weights("conv2"), layer="conv2"))))


def dead_filter_table(explainer_set: ExplainerSet) -> list[list]:
    """One row per conv filter: how often it fires on test images, its mean activation, dead or not."""
    rows = []
    for layer, stats in explainer_set.filter_stats.items():
        for index in range(len(stats.fire_rate)):
            rows.append([layer, index, f"{stats.fire_rate[index]:.0%}", f"{stats.active_fraction[index]:.0%}",
                         round(float(stats.mean_activation[index]), 3), "DEAD" if stats.dead[index] else "no"])
    return rows


TABLE_HEADERS = ["layer", "filter", "fires on (% of images)", "active (% of positions)", "mean activation",
                 "dead?"]


def feature_maps_grid(explainer_set: ExplainerSet, index: int) -> tuple[str, str]:
    """The feature maps of test image ``index`` (clamped to the test set), as HTML, and a caption."""
    images, labels = explainer_set.test_set
    index = int(np.clip(index, 0, len(labels) - 1))
    image = images[index, :, :, 0]
    grid = feature_maps_html(image, explainer_set.filters.all_feature_maps(image))
    return grid, f"Feature maps of test image #{index} (a **{explainer_set.class_names[labels[index]]}**)."
