"""The app through its real API: ``demo.py`` started as a process, driven with gradio_client."""
from __future__ import annotations

import uuid

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from harness.app_server import running_app
from tests.inline_images import inline_images
from harness.strokes import render_digit


@pytest.fixture(scope="module")
def client():
    with running_app() as (url, _):
        yield Client(url, verbose=False)


def sketch_file(tmp_path, digit: int, **drawing) -> dict:
    """A drawing as an API client sends a Sketchpad value: only the composite image."""
    path = tmp_path / f"digit-{digit}-{abs(hash(str(drawing)))}.png"
    Image.fromarray(render_digit(digit, **drawing)).save(path)
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def predicted_label(outputs) -> str:
    message, views, probabilities = outputs[:3]
    assert views.count("data:image/png;base64,") == 2, "the model's view and the heatmap come back as images"
    return probabilities["label"]


@pytest.mark.parametrize("drawing", [
    dict(stroke_width=4, ink="transparent"),  # a thin mouse line on the transparent sketch layer
    dict(stroke_width=40, ink="black_on_white"),  # a thick finger stroke
    dict(stroke_width=12, scale=0.3, offset=(0.3, -0.3), ink="transparent"),  # small, in a corner
])
def test_drawn_digits_are_recognised(client, tmp_path, drawing):
    predictions = [predicted_label(client.predict(sketch_file(tmp_path, d, **drawing), -1, "mnist",
                                                  api_name="/explain_sketch")) for d in range(10)]
    assert predictions == [str(d) for d in range(10)]


def test_probabilities_and_target_class(client, tmp_path):
    outputs = client.predict(sketch_file(tmp_path, 7, stroke_width=16), 3, "mnist", api_name="/explain_sketch")
    probabilities = outputs[2]
    assert probabilities["label"] == "7"
    confidences = {c["label"]: c["confidence"] for c in probabilities["confidences"]}
    assert confidences["7"] > 0.9 and sum(confidences.values()) <= 1 + 1e-6
    assert "evidence for **3**" in outputs[0]
    model_input, overlay = inline_images(outputs[1])
    assert model_input.shape == (28, 28) and overlay.shape == (112, 112, 3) and overlay.std() > 10


def test_blank_sketch_says_draw_and_clears_the_heatmap(client):
    for blank in ({"background": None, "layers": [], "composite": None}, None):
        message, views, probabilities = client.predict(blank, -1, "mnist", api_name="/explain_sketch")
        assert "Draw a digit" in message
        assert "<img" not in views and not probabilities.get("label")


def test_out_of_range_target_is_refused_with_a_message(client, tmp_path):
    # Gradio itself checks the dropdown's choices; our handler says the same for other inputs.
    with pytest.raises(AppError, match=r"12 is not in the list of choices|Target class 12 does not exist"):
        client.predict(sketch_file(tmp_path, 1), 12, "mnist", api_name="/explain_sketch")


def test_fashion_sketch_uses_fashion_classes(client, tmp_path):
    outputs = client.predict(sketch_file(tmp_path, 1, stroke_width=60), -1, "fashion_mnist",
                             api_name="/explain_sketch")
    from cnn.datasets import DATASETS

    assert outputs[2]["label"] in DATASETS["fashion_mnist"].class_names


def test_test_image_browser_and_misclassified(client):
    outputs = client.predict(0, False, -1, "mnist", api_name="/explain_test_image")
    assert "Test image #0" in outputs[0] and outputs[2]["label"] == "7"
    wrong = client.predict(0, True, -1, "mnist", api_name="/explain_test_image")
    assert "gets this one wrong" in wrong[0]


def test_upload_of_a_non_image_is_a_message(client, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image at all")
    message = client.predict(handle_file(str(bogus)), -1, "mnist", api_name="/explain_upload")[0]
    assert "not an image" in message.lower() or "cannot" in message.lower()


def test_maximize_validates_parameters(client):
    grid = client.predict("mnist", "conv1", "all", 32, 0.05, 0.01, 1, 8, 0.05, 0, api_name="/maximize")
    assert grid.count("data:image/png;base64,") == 8 and "conv1 #7" in grid
    for steps, lr, layer in ((-5, 0.05, "conv1"), (10**6, 0.05, "conv1"), (64, 50.0, "conv1"),
                             (64, 0.05, "conv9")):  # NaN cannot travel in JSON: see test_webapp.py
        with pytest.raises(AppError, match="must be between|minimum value|maximum value|not in the list of choices|Unknown layer"):
            client.predict("mnist", layer, "all", steps, lr, 0.01, 1, 8, 0.05, 0, api_name="/maximize")


# -- bad input: every case gets a message, never a traceback or a 500, and the server keeps serving --
def _upload_cases(tmp_path) -> dict[str, tuple[str, str]]:
    """name -> (file, what the answer must say)."""
    from tests.test_preprocessing import png_claiming_size

    digit = render_digit(4, stroke_width=18)  # white on black RGB
    cases = {}

    def save(name, image, expect, **options):
        path = tmp_path / name
        image.save(path, **options)
        cases[name] = (str(path), expect)

    def write(name, content, expect):
        path = tmp_path / name
        path.write_bytes(content)
        cases[name] = (str(path), expect)

    save("white_on_black.png", Image.fromarray(digit), "Prediction: 4")
    save("black_on_white.jpg", Image.fromarray(255 - digit), "Prediction: 4")
    save("transparent.png", Image.fromarray(render_digit(4, stroke_width=18, ink="transparent")), "Prediction: 4")
    save("palette.png", Image.fromarray(255 - digit).convert("P"), "Prediction: 4")
    save("sixteen_bit.png", Image.fromarray((255 - digit[:, :, 0]).astype(np.uint16) * 257), "Prediction: 4")
    save("cmyk.jpg", Image.fromarray(255 - digit).convert("CMYK"), "Prediction: 4")
    frames = [Image.fromarray(255 - digit).convert("P"), Image.fromarray(255 - render_digit(7)).convert("P")]
    save("animated.gif", frames[0], "Prediction: 4", save_all=True, append_images=frames[1:], loop=0)
    save("one_pixel.png", Image.new("RGB", (1, 1), "white"), "nothing to read")
    write("empty.png", b"", "empty")
    write("not_an_image.png", b"hello, this is text\n" * 50, "not an image")
    write("truncated.png", (tmp_path / "white_on_black.png").read_bytes()[:300], "not an image")
    write("bomb.png", png_claiming_size(100_000, 100_000), "too large")
    return cases


def test_bad_and_odd_uploads_get_messages(client, tmp_path):
    for name, (path, expected) in _upload_cases(tmp_path).items():
        message = client.predict(handle_file(path), -1, "mnist", api_name="/explain_upload")[0]
        assert expected.lower() in message.lower(), f"{name}: {message}"


def test_odd_sketches_get_messages_and_the_server_keeps_serving(client, tmp_path):
    canvas = np.zeros((400, 400, 4), np.uint8)
    dot = canvas.copy()
    dot[200:204, 200:204] = (0, 0, 0, 255)
    edge = canvas.copy()
    edge[:, :6] = (0, 0, 0, 255)  # one stroke along the left edge of the canvas
    erased = canvas.copy()  # after the eraser: all transparent
    for name, image in (("dot", dot), ("edge", edge), ("erased", erased)):
        path = tmp_path / f"{name}.png"
        Image.fromarray(image).save(path)
        message = client.predict({"background": None, "layers": [], "composite": handle_file(str(path))}, -1,
                                 "mnist", api_name="/explain_sketch")[0]
        assert any(word in message for word in ("Draw", "small", "Prediction")), f"{name}: {message}"
    assert predicted_label(client.predict(sketch_file(tmp_path, 2), -1, "mnist", api_name="/explain_sketch")) == "2"


def test_a_path_on_the_server_is_never_opened(client):
    forged = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}, "orig_name": "passwd.png"}
    try:
        message = client.predict(forged, -1, "mnist", api_name="/explain_upload")[0]
    except AppError as err:  # Gradio refuses files that were not uploaded through it
        message = str(err)
    assert "root:" not in message
    assert "Prediction" not in message


def test_the_twelve_methods_compared_on_a_drawn_digit(client, tmp_path):
    from explainers import METHODS, RANDOM

    client.predict(sketch_file(tmp_path, 3, stroke_width=16), -1, "mnist", "HiResCAM", api_name="/explain_sketch")
    page, scores, curves = client.predict(-1, "mnist", "black (no ink)", api_name="/compare_methods")
    assert [row[0] for row in scores["data"]] == list(METHODS) + [RANDOM]  # the drawing this session made
    assert all(0 <= float(row[1]) <= 1 and 0 <= float(row[2]) <= 1 for row in scores["data"])
    assert len(inline_images(page)) == 1 + len(METHODS) and "Evidence for 3" in page
    assert np.asarray(Image.open(curves)).std() > 10
    sanity = client.predict(-1, "mnist", api_name="/sanity_checks")
    assert len(inline_images(sanity)) == len(METHODS) * 5 and "trained on shuffled labels" in sanity


def test_the_replayed_page_and_config_are_gradios_own(client):
    """demo.py replays the page, its configuration and its API description (ui/config_cache.py): what a
    second visitor gets is what Gradio answers afresh (to a query never asked before), for each address."""
    url = client.src.rstrip("/") + "/"
    for path in ["", "config", "gradio_api/info"]:
        for address in [{}, {"X-Forwarded-Host": "class.example.org", "X-Forwarded-Proto": "https"}]:
            replayed = [httpx.get(f"{url}{path}", headers=address, timeout=60) for _ in range(2)]
            fresh = httpx.get(f"{url}{path}?fresh={uuid.uuid4().hex}", headers=address, timeout=60)
            assert replayed[0].status_code == fresh.status_code == 200
            assert replayed[0].content == replayed[1].content == fresh.content, path
    shared = httpx.get(f"{url}config", headers={"X-Forwarded-Host": "class.example.org",
                                                "X-Forwarded-Proto": "https"}).json()
    assert shared["root"] == "https://class.example.org" and httpx.get(f"{url}config").json()["root"] != shared["root"]
