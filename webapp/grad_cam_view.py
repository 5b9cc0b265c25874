"""The Grad-CAM tab: from a sketch, an upload or a test image to prediction and heatmaps.

The per-stroke path (``explain_*``) is kept light for a classroom on one small server:
a few milliseconds of model work and two small images drawn with numpy (the page
enlarges them). The richer matplotlib figures (ten classes, counterfactual, guided)
are made on request.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainers.grad_cam import PREDICTED, GradCAMResult
from explainers.preprocessing import InputImageError, image_to_mnist, load_upload, sketch_to_mnist
from plots import class_grid_figure, figure_to_image, heatmap_overlay, variants_figure
from webapp.served import ExplainerSet, test_set

OVERLAY_SIZE = 112  # 4 px per input pixel; the page shows it twice as large, smoothly


@dataclass(frozen=True)
class Explanation:
    message: str  # markdown shown above the pictures
    image28: np.ndarray | None = None  # what the model sees; kept by the session for the deeper views
    probabilities: dict[str, float] | None = None
    overlay: np.ndarray | None = None


def parse_target(value: object) -> int | None:
    """The target class chosen in the UI or sent through the API: None means "predicted"."""
    try:
        target = int(value) if value not in (None, "") else PREDICTED
    except (TypeError, ValueError):
        raise ValueError(f"Target class must be a number from 0 to 9 (or {PREDICTED} for the prediction).") from None
    if target == PREDICTED:
        return None
    if not 0 <= target <= 9:
        raise ValueError(f"Target class {target} does not exist: choose 0 to 9 (or {PREDICTED} for the prediction).")
    return target


FALLBACK = "HiResCAM"


def _describe(result: GradCAMResult, names: tuple[str, ...], method: str, shown: GradCAMResult) -> str:
    predicted, target = names[result.predicted], names[result.target]
    text = f"**Prediction: {predicted}** ({result.probabilities[result.predicted]:.1%} sure). "
    if shown is not result:
        text += (f"{method} finds no positive evidence for **{target}**: its weight per map is an average "
                 f"gradient, the same for every image in this network. The heatmap shows **{FALLBACK}** instead. ")
    elif not result.has_evidence:
        return text + f"{method} finds no positive evidence for **{target}** anywhere in this image."
    return text + f"Red: where the evidence for **{target}** lies."


def explain_image(explainers: ExplainerSet, image28: np.ndarray, target: int | None, method: str = "Grad-CAM",
                  note: str = "") -> Explanation:
    """Prediction and heatmap; an empty Grad-CAM map falls back to HiResCAM's, saying so."""
    result = explainers.cam(method).explain(image28, target)
    shown = result
    if not result.has_evidence and method != FALLBACK:
        shown = explainers.cam(FALLBACK).explain(image28, result.target)
    names = explainers.class_names
    return Explanation(
        message=(note + " " if note else "") + _describe(result, names, method, shown),
        image28=image28,
        probabilities={names[i]: float(p) for i, p in enumerate(result.probabilities)},
        overlay=heatmap_overlay(image28, shown.heatmap, OVERLAY_SIZE),
    )


def explain_sketch(explainers: ExplainerSet, sketch: object, target: object, method: str = "Grad-CAM") -> Explanation:
    try:
        return explain_image(explainers, sketch_to_mnist(sketch), parse_target(target), method)
    except InputImageError as err:
        return Explanation(message=f"✏️ {err}")


def explain_upload(explainers: ExplainerSet, path: str | None, target: object, method: str = "Grad-CAM") -> Explanation:
    if not path:
        return Explanation(message="📁 Upload a picture of a digit (PNG or JPEG).")
    try:
        return explain_image(explainers, image_to_mnist(load_upload(path)), parse_target(target), method)
    except InputImageError as err:
        return Explanation(message=f"⚠️ {err}")


def test_choices(explainers: ExplainerSet, misclassified_only: bool) -> int:
    """How many test images the browser offers: all 10,000, or only the misclassified ones."""
    return len(explainers.misclassified) if misclassified_only else len(test_set(explainers.served.dataset)[1])


def explain_test_image(explainers: ExplainerSet, position: int, misclassified_only: bool, target: object,
                       method: str = "Grad-CAM") -> Explanation:
    images, labels = test_set(explainers.served.dataset)
    pool = explainers.misclassified if misclassified_only else np.arange(len(labels))
    if len(pool) == 0:
        return Explanation(message="This model gets every test image right: nothing to browse.")
    index = int(pool[int(np.clip(position, 0, len(pool) - 1))])
    names = explainers.class_names
    note = f"Test image #{index}, labelled **{names[labels[index]]}**."
    if explainers.test_predictions[index] != labels[index]:
        note += " ❌ The model gets this one wrong."
    return explain_image(explainers, images[index, :, :, 0], parse_target(target), method, note)


def deeper_views(explainers: ExplainerSet, image28: np.ndarray | None, target: object,
                 method: str = "Grad-CAM") -> tuple[np.ndarray, np.ndarray]:
    """The ten-class grid and the four Grad-CAM variants, as rendered figures."""
    if image28 is None:
        raise InputImageError("Choose, draw or upload an image first.")
    grad_cam, names = explainers.cam(method), list(explainers.class_names)
    cam = grad_cam.explain(image28, parse_target(target))
    grid = class_grid_figure(image28, grad_cam.explain_all(image28), names)
    variants = variants_figure(image28, cam, grad_cam.counterfactual(image28, cam.target),
                               grad_cam.guided_backprop(image28, cam.target),
                               grad_cam.guided_gradcam(image28, cam.target), names)
    return figure_to_image(grid), figure_to_image(variants)
