"""The Activation Maximization tab: checked parameters in, a grid of synthesized images out.

A maximization is a long job (1,024 steps for every conv filter: seconds of a core): it runs where no
student's request waits for it. The default picture is computed once per model and kept; other settings
are kept among the most recently asked.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

from cnn.architecture import LOGITS_LAYER
from explainers import Regularization
from explainers.activation_maximizer import LEARNING_RATE, STEPS
from plots import maximization_html
from webapp.once import Computation, Job, Waiting
from webapp.served import ExplainerSet

ALL_CONV = "all conv filters"
STEP_RANGE = (16, 1024)  # the UI's slider; the API is held to the same range
SECONDS_PER_STEP = 2e-4  # per synthesized image, on this 2-core machine, idle (what a waiting student is told)
DEFAULT_SETTINGS = (ALL_CONV, None, STEPS, LEARNING_RATE, 0, Regularization())  # the tab's first picture


def checked_number(name: str, value: object, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} (got {value!r}).")
    return number


def layer_choices(explainer_set: ExplainerSet) -> list[str]:
    return [ALL_CONV] + explainer_set.maximizer.layers


def filter_choices(explainer_set: ExplainerSet, layer: str) -> list[int]:
    """The filter indices of a layer (the classes, for the logits)."""
    return list(range(explainer_set.maximizer.channels.get(layer, 0)))


def _targets(explainer_set: ExplainerSet, layer: str, filter_index: int | None) -> list[tuple[str, int]]:
    maximizer = explainer_set.maximizer
    if layer == ALL_CONV:
        return [t for name in maximizer.layers if name != LOGITS_LAYER for t in maximizer.targets_of(name)]
    return maximizer.targets_of(layer, None if filter_index is None else [filter_index])


def synthesized(explainer_set: ExplainerSet, layer: str, filter_index: int | None, steps: int, lr: float, seed: int,
                regularization: dict) -> str:
    """The grid of synthesized images (the long job)."""
    result = explainer_set.maximizer.maximize_targets(_targets(explainer_set, layer, filter_index), steps, lr, seed,
                                                      Regularization(**regularization))
    return maximization_html(result, explainer_set.dead_filters)


def maximization(explainer_set: ExplainerSet, layer: str, filter_choice: object, steps: object, lr: object,
                 l2_decay: object, jitter: object, blur_every: object, total_variation: object,
                 seed: object) -> Computation:
    """Validate every parameter (they may come from the API), then start synthesizing (an HTML grid to come)."""
    if layer not in layer_choices(explainer_set):
        raise ValueError(f"Unknown layer {layer!r}: choose one of {layer_choices(explainer_set)}.")
    filter_index = None if filter_choice in (None, "", "all") else int(checked_number("Filter", filter_choice, 0, 63))
    regularization = Regularization(
        l2_decay=checked_number("L2 decay", l2_decay, 0, 0.5), jitter=int(checked_number("Jitter", jitter, 0, 4)),
        blur_every=int(checked_number("Blur every", blur_every, 0, 64)),
        total_variation=checked_number("Total variation", total_variation, 0, 10))
    settings = (layer, filter_index, int(checked_number("Steps", steps, *STEP_RANGE)),
                checked_number("Learning rate", lr, 1e-4, 1.0), int(checked_number("Seed", seed, 0, 2**31 - 1)),
                regularization)
    images = len(_targets(explainer_set, layer, filter_index))  # also checks the filter
    job = Job(synthesized, (*settings[:-1], dataclasses.asdict(regularization)),
              f"{settings[2]:,} steps of gradient ascent for {images} image{'s' if images > 1 else ''}",
              settings[2] * images * SECONDS_PER_STEP)
    # The default picture is the whole class's; other settings are kept among the most recently asked.
    start = explainer_set.long_job if settings == DEFAULT_SETTINGS else explainer_set.recent_long_job
    return start(("maximization", *settings), job)


def maximization_grid(explainer_set: ExplainerSet, layer: str, filter_choice: object, steps: object, lr: object,
                      l2_decay: object, jitter: object, blur_every: object, total_variation: object,
                      seed: object, on_wait: Callable[[Waiting], None] | None = None) -> str:
    """``maximization``'s grid; ``on_wait`` hears what the student waits for meanwhile."""
    return maximization(explainer_set, layer, filter_choice, steps, lr, l2_decay, jitter, blur_every,
                        total_variation, seed).wait(on_wait)
