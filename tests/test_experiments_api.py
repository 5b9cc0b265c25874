"""The Experiments tab through the app's real API: ``demo.py`` started as a process (on the shipped models
and the variants of tests/experiment_models.py), driven with gradio_client as any client would."""
from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from tests.experiment_models import experiments_app
from tests.inline_images import inline_images
from webapp.experiments_view import ATTACKS, SUCCESS_HEADERS
from webapp.networks_view import SEED_PAIRS

TARGETED = list(ATTACKS)[-1]


@pytest.fixture(scope="module")
def url(request, tmp_path_factory) -> str:
    return experiments_app(request.config, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def client(url) -> Client:
    """A session whose image is the first MNIST test image (a 7), chosen as the Grad-CAM tab does."""
    client = Client(url, verbose=False)
    assert "Test image #0" in client.predict(0, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")[0]
    return client


def test_adversarial_example(client):
    page = client.predict("mnist", TARGETED, 0.2, 3, api_name="/adversarial")
    assert "7 became 3" in page and len(inline_images(page)) == 11
    with pytest.raises(AppError, match="The network already says 7"):
        client.predict("mnist", TARGETED, 0.2, 7, api_name="/adversarial")
    # Gradio checks the slider's range itself; our handler says the same for other inputs.
    with pytest.raises(AppError, match=r"greater than maximum value 0.5|ε must be between 0 and 0.5"):
        client.predict("mnist", TARGETED, 0.9, 3, api_name="/adversarial")


def test_a_session_without_an_image_is_told_to_choose_one(url):
    fresh = Client(url, verbose=False)
    for endpoint, args in (("/adversarial", ("mnist", TARGETED, 0.2, 3)), ("/feature_inversion", ("mnist",)),
                           ("/style_transfer", ("mnist", "fashion_mnist", 0))):
        with pytest.raises(AppError, match="Choose, draw or upload an image first"):
            fresh.predict(*args, api_name=endpoint)
    # The networks compared need no image: all but the Grad-CAM of one.
    two, three = fresh.predict("mnist", api_name="/deeper_network")
    assert "The conv filters" in three and "Draw, choose or upload an image" in three


def test_feature_inversion_and_style_transfer(client):
    inversion = client.predict("mnist", api_name="/feature_inversion")
    assert len(inline_images(inversion)) == 6 and "from logits" in inversion
    style = client.predict("mnist", "fashion_mnist", 1, api_name="/style_transfer")
    assert len(inline_images(style)) == 3 and "test image #1 of Fashion-MNIST (Pullover)" in style


@pytest.mark.parametrize("pair", list(SEED_PAIRS))
def test_filter_matching_of_every_pair(client, pair):
    page = client.predict(pair, "conv1", api_name="/match_filters")
    assert "of 8 conv1 filters have a close twin" in page and len(inline_images(page)) == 16
    assert "against its own untrained start" in page


def test_deeper_network(client):
    two, three = client.predict("mnist", api_name="/deeper_network")
    assert "Two conv blocks (served)" in two and "at <b>conv2</b> (14x14 maps)" in two
    assert "Three conv blocks" in three and "at <b>conv3</b> (7x7 maps)" in three and "<b>conv3 #7</b>" in three


def test_robustness_curve(client):
    """Last: the first request attacks 1,000 test images of each dataset (under a minute here)."""
    picture, table = client.predict(api_name="/robustness_curve")
    assert np.asarray(Image.open(picture)).std() > 10
    assert table["headers"] == SUCCESS_HEADERS
    rows = {row[0]: row for row in table["data"]}
    assert set(rows) == {"MNIST", "Fashion-MNIST"}
    # The shipped models' cards say at least 98.5 % and 89 % on all 10,000 images.
    assert float(rows["MNIST"][1].rstrip("%")) > 97 and float(rows["Fashion-MNIST"][1].rstrip("%")) > 85
    assert all(row[-1] == "100%" for row in rows.values())  # ε = 0.3 reaches every target (measured)
