"""Property tests: whatever image or parameters arrive, the answer is a result or a clear message."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cnn.model_manager import ModelManager
from webapp.grad_cam_view import explain_sketch
from webapp.maximization_view import maximization_grid
from webapp.served import ServedExplainers

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def explainer_set():
    return ServedExplainers(ModelManager())("mnist")


images = st.one_of(
    arrays(np.uint8, st.tuples(st.integers(1, 120), st.integers(1, 120), st.sampled_from([3, 4]))),
    arrays(np.uint8, st.tuples(st.integers(1, 120), st.integers(1, 120))),
    arrays(np.float32, st.tuples(st.integers(1, 60), st.integers(1, 60)),
           elements=st.floats(-2, 2, allow_nan=False, width=32)),
)


@SETTINGS
@given(image=images, target=st.sampled_from([-1, 0, 9]), as_dict=st.booleans())
def test_any_sketch_gives_a_result_or_a_message(explainer_set, image, target, as_dict):
    value = {"background": None, "layers": [], "composite": image} if as_dict else image
    explanation = explain_sketch(explainer_set, value, target)
    if explanation.probabilities is None:
        assert explanation.overlay is None and len(explanation.message) > 5
    else:
        assert abs(sum(explanation.probabilities.values()) - 1) < 1e-4
        assert explanation.overlay.shape == (112, 112, 3)


odd_numbers = st.one_of(st.sampled_from([-5, 0, 10**6, math.nan, math.inf, -math.inf, "x", None, "3"]),
                        st.integers(-10, 2000), st.floats(allow_nan=True))


@SETTINGS
@given(steps=odd_numbers, lr=odd_numbers, jitter=odd_numbers, layer=st.sampled_from(["conv1", "conv9", "", "logits"]))
def test_any_maximization_parameters_are_run_or_refused(explainer_set, steps, lr, jitter, layer):
    try:
        valid_steps = 16 <= float(steps) <= 1024
    except (TypeError, ValueError):
        valid_steps = False
    if valid_steps:
        steps = 16  # keep the property test fast: the step count is checked above
    try:
        grid = maximization_grid(explainer_set, layer, "all", steps, lr, 0.01, jitter, 8, 0.05, 0)
    except ValueError as err:
        assert len(str(err)) > 10
    else:
        assert grid.count("<img") == grid.count("<polyline") > 0
