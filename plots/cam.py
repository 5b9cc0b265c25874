"""Class activation map pictures (Grad-CAM, HiResCAM...): which parts of the image made the network
choose a class.

Every title names the method that made the map (``CAMResult.method``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from plots.overlay import HEATMAP_CMAP, SIGNED_CMAP, grayscale_rgb, heatmap_overlay, signed_map_rgb
from plots.render import SUPTITLE_SIZE, TEXT_SIZE, TITLE_SIZE, colorbar, image_axis, new_figure

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers.grad_cam import CAMResult

PREDICTED_COLOR = "magenta"  # absent from 'jet', so the frame stands out on any heatmap
IMPORTANCE = Normalize(0.0, 1.0)  # CAM heatmaps are scaled to [0, 1]


def _cam_panel(ax: Axes, image28: np.ndarray, result: CAMResult, title: str, no_evidence: str,
               title_size: float = TITLE_SIZE) -> None:
    """The heatmap over the grey digit or, when the map is empty, the digit and the ``no_evidence`` message.

    Stretching an all-zero map to [0, 1] would paint rounding noise as if it were a finding.
    """
    if result.has_evidence:
        image_axis(ax, heatmap_overlay(image28, result.heatmap), title, title_size=title_size)
        return
    image_axis(ax, grayscale_rgb(image28), title, title_size=title_size)
    ax.text(0.5, 0.5, no_evidence, transform=ax.transAxes, ha="center", va="center", fontsize=TEXT_SIZE,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.9))


def _importance_colorbar(fig: Figure, axes: Axes | list[Axes], label: str, **options) -> None:
    # Three ticks only: fewer labels read faster, and every text costs render time.
    colorbar(fig, HEATMAP_CMAP, IMPORTANCE, axes, label, ticks=[0.0, 0.5, 1.0], **options)


def _probability(result: CAMResult, target: int) -> str:
    return f"p={result.probabilities[target]:.2f}"


def cam_figure(image28: np.ndarray, result: CAMResult, class_names: list[str]) -> Figure:
    """The input, and where the network looked to score the target class (the CAM over the digit)."""
    target, predicted = class_names[result.target], class_names[result.predicted]
    fig = new_figure(8, 4.4)
    input_ax, cam_ax = fig.subplots(1, 2)
    image_axis(input_ax, np.asarray(image28).reshape(28, 28), "input")
    _cam_panel(cam_ax, image28, result, f"{result.method} for class {target} ({_probability(result, result.target)})",
               f"no positive evidence\nfor class {target}")
    if result.has_evidence:
        _importance_colorbar(fig, cam_ax, f"importance for class {target}")
        finding = f"red = regions that raised the score of {target}"
    else:
        finding = f"nothing in the image raised the score of {target}"
    fig.suptitle(f"The network predicts {predicted} ({_probability(result, result.predicted)});\n{finding}",
                 fontsize=SUPTITLE_SIZE)
    return fig


def cam_methods_figure(image28: np.ndarray, results: Sequence[CAMResult], class_names: list[str]) -> Figure:
    """The input, then each method's map of the same class side by side (Grad-CAM beside HiResCAM: where
    one finds no evidence, does the other?). ``results``: one per method, all of one image and one class."""
    if not results or len({(r.target, r.predicted) for r in results}) != 1:
        raise ValueError("cam_methods_figure compares methods on one image and one class: "
                         "give one result per method, all with the same target")
    target, predicted = class_names[results[0].target], class_names[results[0].predicted]
    fig = new_figure(3.6 * (len(results) + 1) + 1, 4.4)
    input_ax, *map_axes = fig.subplots(1, len(results) + 1)
    image_axis(input_ax, np.asarray(image28).reshape(28, 28), "input")
    for ax, result in zip(map_axes, results):
        _cam_panel(ax, image28, result, f"{result.method}\n{result.layer}, {_probability(result, result.target)}",
                   f"no positive evidence\nfor class {target}")
    _importance_colorbar(fig, map_axes, f"importance for class {target}", shrink=0.8)
    fig.suptitle(f"Evidence for class {target}, by {len(results)} methods (the network predicts {predicted});\n"
                 "each map is scaled to its own maximum", fontsize=SUPTITLE_SIZE)
    return fig


def class_grid_figure(image28: np.ndarray, results: list[CAMResult], class_names: list[str]) -> Figure:
    """One CAM per class (2x5), each scaled to its own max; the predicted class is framed."""
    fig = new_figure(11, 5.6)
    axes = fig.subplots(2, 5)
    for ax, result in zip(axes.flat, results):
        _cam_panel(ax, image28, result, f"{class_names[result.target]}\n{_probability(result, result.target)}",
                   "no positive\nevidence", title_size=TEXT_SIZE + 1)
        if result.target == result.predicted:
            ax.title.set(fontweight="bold", color=PREDICTED_COLOR)
            ax.spines[:].set(color=PREDICTED_COLOR, linewidth=5)
    _importance_colorbar(fig, list(axes.flat), "importance (each map scaled to its own max)", shrink=0.8)
    fig.suptitle(f"{results[0].method} for every class: where the evidence for each class is "
                 f"(framed: the prediction, {class_names[results[0].predicted]})", fontsize=SUPTITLE_SIZE)
    return fig


def variants_figure(image28: np.ndarray, cam: CAMResult, counterfactual: CAMResult,
                    guided_backprop: np.ndarray, guided_cam: np.ndarray, class_names: list[str]) -> Figure:
    """Four views of one decision: for, against, and two pixel-sharp versions."""
    name, method = class_names[cam.target], cam.method
    fig = new_figure(12, 4.6)
    for_ax, against_ax, guided_ax, guided_cam_ax = fig.subplots(1, 4)
    _cam_panel(for_ax, image28, cam, f"{method}: for {name}\nregions that raise its score",
               f"no evidence\nfor {name}")
    _cam_panel(against_ax, image28, counterfactual, f"Counterfactual: against {name}\nregions that lower its score",
               f"no evidence\nagainst {name}")
    image_axis(guided_ax, signed_map_rgb(guided_backprop), "Guided backprop\nsharp pixel-level gradient")
    image_axis(guided_cam_ax, signed_map_rgb(guided_cam), f"Guided {method}\nguided backprop x {method}")
    _importance_colorbar(fig, [for_ax, against_ax], "importance", location="bottom", shrink=0.6)
    signed_bar = colorbar(fig, SIGNED_CMAP, Normalize(-1.0, 1.0), [guided_ax, guided_cam_ax],
                      f"effect of a brighter pixel on the score of {name}", location="bottom", shrink=0.6)
    # Words, not numbers: each signed map is scaled to its own largest magnitude.
    signed_bar.set_ticks([-1, 0, 1], labels=["lowers", "none", "raises"])
    fig.suptitle(f"Four ways to explain the score of class {name} "
                 f"(network predicts {class_names[cam.predicted]})", fontsize=SUPTITLE_SIZE)
    return fig
