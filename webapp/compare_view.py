"""The Compare tab: which explanation can you trust? Twelve methods on the student's own image,
scored by deletion and insertion against a random map, and put through the sanity checks.

Everything here is heavy (SmoothGrad, Integrated Gradients, occlusion, RISE, the randomized
networks): the page sends it through the heavy queue, never the per-stroke one. The table over the test
set, a minute or two, is a long job: computed once per model, where no student's request waits for it.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import scipy.special

from cnn.evaluation import predict_logits
from cnn.preprocessing import InputImageError
from explainers import METHODS, ORIGINAL, SHUFFLED_LABELS, Faithfulness, SanityCheck
from explainers.faithfulness import Removal, fractions
from explainers.sanity import cascade_layers, compare
from plots import curves_figure, figure_to_image, methods_html, sanity_html
from webapp.grad_cam_view import parse_target
from webapp.once import Job, Waiting
from webapp.served import ExplainerSet

REMOVALS: dict[str, Removal] = {"black (no ink)": "black", "a blurred copy": "blur"}
TABLE_SIZES = (100, 500)  # test images for the dataset table: about 20 s, or the full report (a minute or two)
TABLE_SECONDS_PER_IMAGE = 0.2  # on this 2-core machine, idle (what a waiting student is told, at first)
METHOD_TABLE_HEADERS = ["method", "deletion AUC (95 % CI)", "insertion AUC (95 % CI)",
                        "beats random (deletion / insertion)", "sanity: ρ |map| after randomizing all layers",
                        "ms per image"]
SUMMARIES = {name: method.summary for name, method in METHODS.items()}
SANITY_IMAGES = 50  # for the table's sanity column (the fully randomized stage): its slowest part per image


def checked_image(image28: np.ndarray | None) -> np.ndarray:
    """The session's 28x28 image, or a message to choose one (every view of the student's image says the same)."""
    if image28 is None:
        raise InputImageError("Choose, draw or upload an image first (in the Grad-CAM tab).")
    return np.asarray(image28, np.float32).reshape(28, 28)


def _checked_removal(removal: str) -> str:
    if removal not in REMOVALS:
        raise ValueError(f"Removed pixels become one of {list(REMOVALS)}, not {removal!r}.")
    return removal


def _faithfulness(explainer_set: ExplainerSet, removal: str) -> Faithfulness:
    _checked_removal(removal)
    return explainer_set.remember(("faithfulness", removal), lambda: Faithfulness(explainer_set.served.model,
                                                                                  REMOVALS[removal]))


def _sanity(explainer_set: ExplainerSet) -> tuple[SanityCheck, threading.Lock]:
    """The set's sanity check, and the lock its private copy of the network needs (one check at a time)."""
    return explainer_set.remember("sanity", lambda: (SanityCheck(explainer_set.served.model), threading.Lock()))


def _title(explainer_set: ExplainerSet, image28: np.ndarray, target: int) -> tuple[int, str]:
    """The class every method explains (the prediction, unless one is chosen), and a title naming it."""
    probabilities = scipy.special.softmax(predict_logits(explainer_set.served.model, image28[None, :, :, None])[0])
    explained = int(probabilities.argmax()) if target < 0 else target
    names = explainer_set.class_names
    return explained, (f"Evidence for {names[explained]} (the model predicts {names[int(probabilities.argmax())]}, "
                       f"{probabilities.max():.0%})")


def compare_methods(explainer_set: ExplainerSet, image28: np.ndarray | None, target: object,
                    removal: str) -> tuple[str, list[list], np.ndarray]:
    """All twelve maps with their scores (HTML), the scores as a table, and the curves (a picture)."""
    image28 = checked_image(image28)
    explained, title = _title(explainer_set, image28, parse_target(target))
    scores = _faithfulness(explainer_set, removal).score_methods(image28, explained, explainer_set.methods)
    table = [[score.method, round(score.deletion_auc, 3), round(score.insertion_auc, 3)] for score in scores]
    curves = curves_figure(scores, fractions(len(scores[0].deletion) - 1), f"{title}; removed pixels become {removal}")
    return methods_html(image28, scores, SUMMARIES, title), table, figure_to_image(curves)


def sanity_grid(explainer_set: ExplainerSet, image28: np.ndarray | None, target: object) -> str:
    """Every method's map as the network is randomized from the top, and on the shuffled-labels network."""
    image28 = checked_image(image28)
    explained, _ = _title(explainer_set, image28, parse_target(target))
    check, lock = _sanity(explainer_set)
    with lock:
        stages = dict(check.cascade_maps(image28, explained))
        if explainer_set.shuffled_labels is not None:
            stages[SHUFFLED_LABELS] = check.shuffled_labels_maps(explainer_set.shuffled_labels, image28, explained)[1]
    original = stages[ORIGINAL]
    similarity = {(name, stage): compare(name, stage, original[name], maps[name])
                  for stage, maps in stages.items() if stage != ORIGINAL for name in maps}
    titles = {ORIGINAL: "learned network"} | {layer: f"…{layer} randomized" for layer in cascade_layers(
        explainer_set.served.model)} | {SHUFFLED_LABELS: "trained on shuffled labels"}
    return sanity_html(list(stages), stages, similarity, titles)


def _interval(mean_ci) -> str:
    return f"{mean_ci.mean:.3f} ({mean_ci.low:.3f}–{mean_ci.high:.3f})"


def dataset_table(explainer_set: ExplainerSet, images: object, removal: str,
                  on_wait: Callable[[Waiting], None] | None = None) -> list[list]:
    """Each method over the first test images: mean AUCs with their intervals, whether they beat the random
    map, how much the map survives randomizing every layer, and its time. Computed once per model (a long
    job); ``on_wait`` hears what the student waits for meanwhile."""
    count = int(images) if str(images).isdigit() and int(images) in TABLE_SIZES else None
    if count is None:
        raise ValueError(f"The table is made over one of {list(TABLE_SIZES)} test images, not {images!r}.")
    job = Job(dataset_rows, (count, _checked_removal(removal)), f"scoring every method on {count} test images",
              count * TABLE_SECONDS_PER_IMAGE)
    return explainer_set.long_job(("dataset table", count, removal), job).wait(on_wait)


def dataset_rows(explainer_set: ExplainerSet, count: int, removal: str) -> list[list]:
    """The table's rows (the long job)."""
    images = explainer_set.test_set[0][:count, :, :, 0]
    rows = _faithfulness(explainer_set, removal).table(images, -1, explainer_set.methods)
    check, lock = _sanity(explainer_set)
    with lock:
        survived = {s.method: s.spearman_abs for s in check.fully_randomized(images[:SANITY_IMAGES])}
    chance = rows[0]
    table = [[row.method, _interval(row.deletion), _interval(row.insertion),
              f"{'yes' if row.beats_random_deletion else 'no'} / {'yes' if row.beats_random_insertion else 'no'}",
              round(survived[row.method], 2), round(row.ms_per_image, 2)] for row in rows]
    return table + [["Random map", _interval(chance.random_deletion), _interval(chance.random_insertion), "", "", ""]]
