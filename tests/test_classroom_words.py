"""What the page says and shows a class, without a browser (issue 19's list): frames around synthesized
images, class names instead of numbers, messages that name what the student did."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from cnn.browser_image import browser_image
from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from cnn.preprocessing import InputImageError
from explainers.activation_maximizer import MaximizationResult
from plots import maximization_html
from webapp import notes
from webapp.grad_cam_view import explain_upload
from webapp.maximization_view import checked_number
from webapp.served import ServedExplainers


@pytest.fixture(scope="module")
def served():
    return ServedExplainers(ModelManager())


def synthesized(layer: str, images: np.ndarray) -> MaximizationResult:
    """What activation maximization returns for ``images`` (n, 28, 28), one target per image of ``layer``."""
    steps = 4
    return MaximizationResult([(layer, i) for i in range(len(images))], images,
                              np.linspace(0, 1, steps)[None, :].repeat(len(images), axis=0))


def test_a_white_synthesized_image_has_a_frame():
    """MNIST's conv1 #5-#7 want white everywhere: on the white page, without a frame, an empty panel."""
    page = maximization_html(synthesized("conv1", np.ones((2, 28, 28), np.float32)))
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == 2
    for image in images:
        style = re.search(r'style="([^"]*)"', image).group(1)
        assert re.search(r"(outline|border):\s*\d+px solid", style), f"no frame: {style}"


def test_the_logits_are_named_by_their_class():
    fashion = DATASETS["fashion_mnist"].class_names
    page = maximization_html(synthesized("logits", np.zeros((10, 28, 28), np.float32)), class_names=fashion)
    for index, name in enumerate(fashion):
        assert f"class {index}: {name}" in page
    digits = maximization_html(synthesized("logits", np.zeros((10, 28, 28), np.float32)),
                               class_names=DATASETS["mnist"].class_names)
    assert "class 3<" in digits or "class 3 " in digits  # a digit's name is its number: said once


def test_a_seed_out_of_range_is_told_in_whole_numbers():
    with pytest.raises(ValueError) as refused:
        checked_number("Seed", 3_000_000_000, 0, 2**31 - 1)
    assert "2,147,483,647" in str(refused.value) and "e+" not in str(refused.value)
    with pytest.raises(ValueError, match="between 0.0001 and 1"):
        checked_number("Learning rate", 2, 1e-4, 1.0)


def test_each_dataset_says_what_to_draw():
    assert set(notes.DRAW_WHAT) == set(DATASETS)
    assert "digit" in notes.DRAW_WHAT["mnist"] and "digit" not in notes.DRAW_WHAT["fashion_mnist"]


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_a_blank_upload_is_called_a_blank_picture(served, tmp_path, dataset):
    """Not "Draw a digit first: the canvas is empty": the student uploaded a picture, and there was no canvas."""
    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    message = explain_upload(served(dataset), str(path), -1).message
    assert "picture" in message and "blank" in message
    assert "canvas" not in message and "Draw" not in message
    assert notes.DRAW_WHAT[dataset] in message


def test_an_empty_drawing_sent_by_the_page_may_be_a_dot():
    """The page sends zeros for an empty canvas and for a dot too small to read: the message covers both."""
    with pytest.raises(InputImageError) as refused:
        browser_image([0.0] * 784)
    assert "too small" in str(refused.value) and "empty" in str(refused.value)
