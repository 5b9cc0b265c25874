"""The Activation Maximization tab: checked parameters in, a grid of synthesized images out."""
from __future__ import annotations

import math
from cnn.architecture import LOGITS_LAYER
from explainers import Regularization
from plots import maximization_html
from webapp.served import ExplainerSet

ALL_CONV = "all conv filters"
STEP_RANGE = (16, 1024)  # the UI's slider; the API is held to the same range


def _written(number: float) -> str:
    """A bound as a person writes it: 2,147,483,647, not 2.14748e+09; 0.0001 as it is."""
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


def checked_number(name: str, value: object, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be between {_written(low)} and {_written(high)} (got {value!r}).")
    return number


def layer_choices(explainer_set: ExplainerSet) -> list[str]:
    return [ALL_CONV] + explainer_set.maximizer.layers


def filter_choices(explainer_set: ExplainerSet, layer: str) -> list[int]:
    """The filter indices of a layer (the classes, for the logits)."""
    return list(range(explainer_set.maximizer.channels.get(layer, 0)))


def _maximize(explainer_set: ExplainerSet, layer: str, filter_index: int | None, steps: int, lr: float, seed: int,
              regularization: Regularization) -> str:
    maximizer = explainer_set.maximizer
    if layer == ALL_CONV:
        targets = [t for name in maximizer.layers if name != LOGITS_LAYER for t in maximizer.targets_of(name)]
    else:
        targets = maximizer.targets_of(layer, None if filter_index is None else [filter_index])
    result = maximizer.maximize_targets(targets, steps, lr, seed, regularization)
    return maximization_html(result, explainer_set.dead_filters, explainer_set.class_names)


def maximization_grid(explainer_set: ExplainerSet, layer: str, filter_choice: object, steps: object, lr: object,
                      l2_decay: object, jitter: object, blur_every: object, total_variation: object,
                      seed: object) -> str:
    """Validate every parameter (they may come from the API), then synthesize: an HTML grid."""
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
    # Remembered: a classroom tends to ask for the same default picture many times.
    return explainer_set.remember(("maximization", *settings), lambda: _maximize(explainer_set, *settings))
