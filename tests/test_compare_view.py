"""The Compare tab's logic without the UI: twelve maps and their scores, the sanity grid, the table."""
from __future__ import annotations

import html
import re

import numpy as np
import pytest

from cnn.model_manager import ModelManager
from cnn.preprocessing import InputImageError
from explainers import METHODS, RANDOM
from tests.inline_images import inline_images
from webapp.compare_view import compare_methods, dataset_table, sanity_grid
from webapp.served import ServedExplainers


@pytest.fixture(scope="module")
def mnist_set():
    return ServedExplainers(ModelManager())("mnist")


def test_all_twelve_methods_on_one_image_with_their_scores(mnist_set):
    image = mnist_set.test_set[0][0, :, :, 0]
    page, table, curves = compare_methods(mnist_set, image, -1, "black (no ink)")
    assert [row[0] for row in table] == list(METHODS) + [RANDOM]
    assert all(0 <= row[1] <= 1 and 0 <= row[2] <= 1 for row in table)
    pictures = inline_images(page)
    assert len(pictures) == 1 + len(METHODS) and all(p.shape[:2] == (28, 28) for p in pictures)
    written = re.findall(r"deletion <b>([\d.]+)</b> · insertion <b>([\d.]+)</b>", page)
    shown = [tuple(map(float, pair)) for pair in written]
    assert len(shown) == len(METHODS)
    for (name, deletion, insertion), (shown_deletion, shown_insertion) in zip(table, shown):
        # two decimals on the page, three in the table
        assert abs(shown_deletion - deletion) <= 0.0051 and abs(shown_insertion - insertion) <= 0.0051
        assert html.escape(METHODS[name].summary) in page
    best = min(table[:-1], key=lambda row: row[1])[0]
    assert f"★ {best}" in page or f"★ ★ {best}" in page  # the best deletion is marked
    assert curves.ndim == 3 and curves.std() > 10
    assert "Evidence for 7" in page  # the first test image is a 7, and the model predicts it


def test_the_sanity_grid_shows_every_method_at_every_stage(mnist_set):
    page = sanity_grid(mnist_set, mnist_set.test_set[0][1, :, :, 0], 2)
    stages = ["learned network", "…logits randomized", "…conv2 randomized", "…conv1 randomized",
              "trained on shuffled labels"]
    assert all(stage in page for stage in stages)
    assert len(inline_images(page)) == len(METHODS) * len(stages)
    assert page.count("SSIM") >= len(METHODS) * (len(stages) - 1)


def test_missing_image_and_bad_parameters_get_messages(mnist_set):
    with pytest.raises(InputImageError, match="Choose, draw or upload"):
        compare_methods(mnist_set, None, -1, "black (no ink)")
    with pytest.raises(ValueError, match="Removed pixels"):
        compare_methods(mnist_set, np.zeros((28, 28), np.float32), -1, "white")
    with pytest.raises(ValueError, match="test images"):
        dataset_table(mnist_set, 7, "black (no ink)")
