"""The class wall, as the instructor's page and the API show it (the class's rules and storage: classroom/).

A class draws digits, so the served MNIST model reads every drawing (``digit_reader``). The wall page keeps
the thumbnails it already has: each update brings the wall's list (number, meant, predicted: a few bytes a
drawing), the counts, and the pixels of only the drawings the page lacks, one byte each (the grey level the
page's pictures use, floor(255 v)) in base64. The API gets the list and the counts, no pixels. A drawing
clicked on the wall is explained with the views the Grad-CAM and Compare tabs have for any image.
"""
from __future__ import annotations

import base64
from typing import Callable

import numpy as np

from classroom.classes import CLASS_DATASET, Classroom, Wall
from classroom.store import StoredDrawing
from explainers import PREDICTED
from plots import live_views_html
from webapp.class_data import ClassReadings
from webapp.class_show import source_of, source_words
from webapp.grad_cam_view import explain_image
from webapp.served import DEFAULT_METHOD, ServedExplainers


def digit_reader(served_explainers: ServedExplainers) -> Callable[[np.ndarray], int]:
    """What the served MNIST model predicts for a page's 28x28 image (a compiled pass: about 3 ms)."""
    def predict(image28: np.ndarray) -> int:
        return served_explainers(CLASS_DATASET).cam(DEFAULT_METHOD).result(image28, PREDICTED).predicted
    return predict


def model_accuracy(served_explainers: ServedExplainers) -> float:
    """The served MNIST model's accuracy on the 10,000 test images (computed once per model)."""
    served = served_explainers(CLASS_DATASET)
    return float(np.mean(served.test_predictions == served.test_set[1]))


def wall_answer(wall: Wall) -> dict:
    """The API's wall: its drawings, the class's accuracy on them (None while empty), the confusion matrix."""
    return {"drawings": [{"number": d.number, "meant": d.meant, "predicted": d.predicted} for d in wall.drawings],
            "accuracy": wall.accuracy, "confusion": wall.confusion.tolist()}


def grey_levels(image28: np.ndarray) -> str:
    """784 grey levels (floor(255 v), as the page's pictures), base64."""
    return base64.b64encode(np.floor(np.clip(image28, 0, 1) * 255).astype(np.uint8).tobytes()).decode("ascii")


def asked_field(asked: object, name: str) -> object:
    """One field of what a page asks (a JSON object), None when it is missing: the rules refuse a None."""
    return asked.get(name) if isinstance(asked, dict) else None


def wall_update(classroom: Classroom, served_explainers: ServedExplainers, readings: ClassReadings,
                asked: object) -> dict:
    """What a wall page asking with ``{"code", "token", "have"}`` lacks: the wall, its counts, and the pixels
    of the drawings numbered above ``have`` (the highest number whose pixels the page holds); the served
    model's readings per digit beside MNIST's; what the class is shown."""
    code, token = asked_field(asked, "code"), asked_field(asked, "token")
    wall = classroom.wall(code, token)
    pixels = classroom.images(code, token, after=asked_field(asked, "have") or 0)
    shown = classroom.shown(wall.code)
    return {
        **wall_answer(wall), "code": wall.code, "version": wall.version, "expires_at": wall.expires_at,
        "drawings": [[d.number, d.meant, d.predicted] for d in wall.drawings],
        "pixels": {str(number): grey_levels(image) for number, image in pixels.items()},
        "model_accuracy": model_accuracy(served_explainers),
        "per_digit": readings.per_digit(wall.code, wall.drawings, lambda after: classroom.images(code, token, after)),
        "shown": None if shown is None else {"source": source_words(source_of(shown)), "target": shown.target,
                                             "method": shown.method,
                                             "number": shown.source_number if shown.source == "drawing" else None},
    }


def inspected(classroom: Classroom, asked: object) -> tuple[StoredDrawing, np.ndarray]:
    """The drawing a wall page clicked (``{"code", "token", "number"}``) and its pixels, the page's own values."""
    return classroom.drawing(asked_field(asked, "code"), asked_field(asked, "token"), asked_field(asked, "number"))


def drawing_explained(served_explainers: ServedExplainers, drawing: StoredDrawing, image28: np.ndarray,
                      method: str) -> tuple[str, str, dict[str, float] | None]:
    """What the inspector shows first: a line on the drawing, the drawing and its heatmap (HTML), the class
    probabilities."""
    explanation = explain_image(served_explainers(CLASS_DATASET), image28, PREDICTED, method)
    verdict = "✅ read as meant" if drawing.predicted == drawing.meant else "❌ misread"
    line = f"**Drawing {drawing.number}**, meant **{drawing.meant}** ({verdict}). {explanation.message}"
    return line, live_views_html(image28, explanation.overlay), explanation.probabilities
