"""The Grad-CAM tab: from a sketch, an upload or a test image to prediction and heatmaps.

The per-stroke path (``explain_*``) is kept light for a classroom on one small server:
a few milliseconds of model work and two small images drawn with numpy (the page
enlarges them). The richer matplotlib figures (ten classes, counterfactual, guided)
are made on request.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn.datasets import dataset_info
from cnn.preprocessing import (InputImageError, NothingToReadError, image_to_mnist, load_upload,
                               sketch_to_mnist)
from explainers import PREDICTED, CAMResult, GradCAM, HiResCAM, guided_grad_cam
from explainers.attribution import check_class
from plots import class_grid_figure, figure_to_image, heatmap_overlay, variants_figure
from webapp import notes
from webapp.served import DEFAULT_METHOD, ExplainerSet

OVERLAY_SIZE = 112  # 4 px per input pixel; the page shows it twice as large, smoothly


@dataclass(frozen=True)
class Explanation:
    message: str  # markdown shown above the pictures
    image28: np.ndarray | None = None  # what the model sees; kept by the session for the deeper views
    probabilities: dict[str, float] | None = None
    overlay: np.ndarray | None = None
    note: str = ""  # what the image is ("Test image #62, labelled **9**."), said again when the target changes


def target_choices(dataset: str) -> list[tuple[str, int]]:
    """The target classes a student can choose for the heatmap: the predicted one, or any class by name."""
    names = dataset_info(dataset).class_names
    return [("predicted class", PREDICTED)] + [(f"{i} · {name}" if name != str(i) else name, i)
                                               for i, name in enumerate(names)]


def parse_target(value: object) -> int:
    """The target class chosen in the UI or sent through the API; nothing chosen means PREDICTED."""
    try:
        target = int(value) if value not in (None, "") else PREDICTED
    except (TypeError, ValueError):
        raise ValueError(f"Target class must be a number from 0 to 9 (or {PREDICTED} for the prediction).") from None
    try:
        return check_class(target)
    except ValueError:
        raise ValueError(f"Target class {target} does not exist: choose 0 to 9 (or {PREDICTED} for the prediction).") \
            from None


FALLBACK = HiResCAM.name


def _describe(result: CAMResult, names: tuple[str, ...], method: str, shown: CAMResult) -> str:
    predicted, target = names[result.predicted], names[result.target]
    text = f"**Prediction: {predicted}** ({result.probabilities[result.predicted]:.1%} sure). "
    if shown is not result:
        why = (": its weight per map is an average gradient, the same for every image in this network"
               if method == GradCAM.name else "")
        text += (f"{method} finds no positive evidence for **{target}**{why}. "
                 f"The heatmap shows **{FALLBACK}** instead. ")
    elif not result.has_evidence:
        return text + f"{method} finds no positive evidence for **{target}** anywhere in this image."
    return text + f"Red: where the evidence for **{target}** lies."


def explain_image(explainer_set: ExplainerSet, image28: np.ndarray, target: int, method: str = DEFAULT_METHOD,
                  note: str = "") -> Explanation:
    """Prediction and heatmap; an empty Grad-CAM map falls back to HiResCAM's, saying so."""
    result = explainer_set.cam(method).result(image28, target)
    shown = result
    if not result.has_evidence and method != FALLBACK:
        shown = explainer_set.cam(FALLBACK).result(image28, result.target)
    names = explainer_set.class_names
    return Explanation(
        message=(note + " " if note else "") + _describe(result, names, method, shown),
        image28=image28,
        probabilities={names[i]: float(p) for i, p in enumerate(result.probabilities)},
        overlay=heatmap_overlay(image28, shown.heatmap, OVERLAY_SIZE),
        note=note,
    )


def explain_sketch(explainer_set: ExplainerSet, sketch: object, target: object,
                   method: str = DEFAULT_METHOD) -> Explanation:
    try:
        return explain_image(explainer_set, sketch_to_mnist(sketch), parse_target(target), method)
    except InputImageError as err:
        return Explanation(message=f"✏️ {err}")


def upload_label(dataset: str) -> str:
    return f"A picture of {notes.DRAW_WHAT[dataset]} (PNG, JPEG, GIF, ≤ 10 MB)"


def explain_upload(explainer_set: ExplainerSet, path: str | None, target: object,
                   method: str = DEFAULT_METHOD) -> Explanation:
    what = notes.DRAW_WHAT[explainer_set.served.dataset]
    if not path:
        return Explanation(message=f"📁 Upload a picture of {what} (PNG or JPEG).")
    try:
        image28 = image_to_mnist(load_upload(path))
    except NothingToReadError:  # worded for a canvas: this is a picture
        return Explanation(message=f"⚠️ This picture has nothing to read: it is blank, or its marks are too small. "
                                   f"Upload a picture of {what}, dark on light or light on dark, filling most of it.")
    except InputImageError as err:
        return Explanation(message=f"⚠️ {err}")
    return explain_image(explainer_set, image28, parse_target(target), method)


def test_choices(explainer_set: ExplainerSet, misclassified_only: bool) -> int:
    """How many test images the browser offers: all 10,000, or only the misclassified ones."""
    return len(explainer_set.misclassified) if misclassified_only else len(explainer_set.test_set[1])


def random_position(explainer_set: ExplainerSet, misclassified_only: bool) -> int:
    """A position in the browser's list (of all test images, or of the misclassified ones), at random."""
    return int(np.random.default_rng().integers(max(test_choices(explainer_set, misclassified_only), 1)))


def explain_test_image(explainer_set: ExplainerSet, position: int, misclassified_only: bool, target: object,
                       method: str = DEFAULT_METHOD) -> Explanation:
    images, labels = explainer_set.test_set
    pool = explainer_set.misclassified if misclassified_only else np.arange(len(labels))
    if len(pool) == 0:
        return Explanation(message="This model gets every test image right: nothing to browse.")
    index = int(pool[int(np.clip(position, 0, len(pool) - 1))])
    names = explainer_set.class_names
    note = f"Test image #{index}, labelled **{names[labels[index]]}**."
    if explainer_set.test_predictions[index] != labels[index]:
        note += " ❌ The model gets this one wrong."
    return explain_image(explainer_set, images[index, :, :, 0], parse_target(target), method, note)


def deeper_views(explainer_set: ExplainerSet, image28: np.ndarray | None, target: object,
                 method: str = DEFAULT_METHOD) -> tuple[np.ndarray, np.ndarray]:
    """The ten-class grid and the four variants of the chosen CAM method, as rendered figures."""
    if image28 is None:
        raise InputImageError("Choose, draw or upload an image first.")
    cam_method, names = explainer_set.cam(method), list(explainer_set.class_names)
    cam = cam_method.result(image28, parse_target(target))
    guided = explainer_set.methods["Guided Backprop"].explain(image28, cam.target)[0]
    grid = class_grid_figure(image28, cam_method.explain_all(image28), names)
    variants = variants_figure(image28, cam, cam_method.counterfactual(image28, cam.target), guided,
                               guided_grad_cam(guided, cam.heatmap), names)
    return figure_to_image(grid), figure_to_image(variants)
