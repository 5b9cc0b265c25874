"""The network that runs in the page (webapp/static/), in Chromium, against the Python model and the server.

- ``cnnDemo.explain`` on shipped test images of both datasets, and on a model with a third conv block
  trained here, gives the Python model's probabilities, Grad-CAM and HiResCAM maps and feature maps;
- ``cnnDemo.strokesToImage`` reads the digits 0-9 drawn as strokes, as the server reads them drawn as pictures;
- drawing with the mouse and with a finger updates the prediction and the heatmap during the stroke, with no
  request to the server; a training in another tab swaps the weights and the page says so;
- on a phone the canvas shows without scrolling.

Screenshots go to $SCREENSHOT_DIR (default: a pytest temporary folder), to look at.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from cnn.architecture import Architecture, build_model, feature_layer_names
from cnn.model_store import load_model, save_model
from cnn.preprocessing import image_to_mnist
from cnn.training import TrainingConfig, train_model
from harness.app_server import ROOT, running_app
from harness.batch_invariance import nudged, undecided
from harness.browser import RequestLog, canvas_mapping, mouse_stroke, open_page, shoot, touch_stroke
from harness.strokes import DIGIT_STROKES, placed_strokes, render_digit

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT = 90_000  # ms: a loaded 2-core CI machine runs TensorFlow, the server and Chromium at once
CANVAS = "#draw-pad canvas"
STATUS = "#live-status"
LIVE = "#live-views .cnn-live"  # its data-* attributes: the dataset, model id and predicted class shown

IMAGES_PER_MODEL = 200
CHUNK = 50  # images per call into the page: each answer carries ~10,000 numbers per image
PROBABILITY_TOLERANCE = 1e-5
MAP_TOLERANCE = 1e-4
LAYER_TOLERANCE = 1e-5
# TensorFlow computes in float32, the page in float64: conv outputs differ by ~1e-6. Which cell of a max-pool
# window takes its gradient (HiResCAM puts the window's term there) is decided by the same rule in both,
# explainers/max_pool.py's: ties, exact or a few rounding steps apart, go to the first cell on both sides.
# Its one undecided case is a real gap within rounding of the tie tolerance itself, which float32 and
# float64 may put on either side: an image with such a window (the gap's distance to the tolerance within
# twice its difference between page and server: none of the 650 here) is left out of HiResCAM's comparison.
UNDECIDED_SHARE = 0.05


def page_network(page, method: str) -> None:
    """Choose the page's CAM method, as a student does, and wait until the page's network uses it."""
    page.get_by_label(method, exact=True).check()
    expect(page.locator("#live-heatmap .cnn-method")).to_have_text(method)


def show_dataset(page, name: str, title: str) -> None:
    page.get_by_label(title, exact=True).check()
    expect(page.locator(LIVE)).to_have_attribute("data-dataset", name)
    page.evaluate("() => window.cnnDemo.ready")


def explained_in_page(page, images: np.ndarray, targets: list[int | None], keep_layers: bool) -> list[dict]:
    """cnnDemo.explain of each image, in chunks."""
    results = []
    for start in range(0, len(images), CHUNK):
        # Both ways as one JSON string: Playwright's own serialization of a million numbers takes tens of seconds.
        chunk = json.dumps([images[start:start + CHUNK].reshape(-1, 784).tolist(), targets[start:start + CHUNK]])
        results += json.loads(page.evaluate(
            """([chunk, keepLayers]) => {
                 const [images, targets] = JSON.parse(chunk);
                 return JSON.stringify(images.map((image, i) => {
                   const result = window.cnnDemo.explain(image, targets[i]);
                   return keepLayers ? result : {...result, layers: null};
                 }));
               }""", [chunk, keep_layers]))
    return results


def python_explanations(model, images: np.ndarray, targets: list[int | None]) -> dict[str, object]:
    from explainers import PREDICTED, GradCAM, HiResCAM
    from explainers.forward import forward

    batch = images[..., None]
    classes = np.array([PREDICTED if t is None else t for t in targets])
    grad_cam, hires_cam = GradCAM(model).results(batch, classes), HiResCAM(model).results(batch, classes)
    layers = {name: maps.numpy() for name, maps in forward(model, batch, capture=feature_layer_names(model))[0].items()}
    return {"probabilities": np.stack([r.probabilities for r in grad_cam]),
            "predicted": np.array([r.predicted for r in grad_cam]), "target": np.array([r.target for r in grad_cam]),
            "Grad-CAM": np.stack([r.heatmap for r in grad_cam]), "HiResCAM": np.stack([r.heatmap for r in hires_cam]),
            "layers": layers}


def sample_images(images: np.ndarray, count: int = IMAGES_PER_MODEL) -> tuple[np.ndarray, list[int | None]]:
    """``count`` test images spread over the set; every other one explained for a chosen class (its index's
    last digit), the rest for the predicted class."""
    indices = np.linspace(0, len(images) - 1, count).round().astype(int)
    targets = [None if i % 2 else int(index % 10) for i, index in enumerate(indices)]
    return images[indices, :, :, 0], targets


def check_agreement(page, model, images: np.ndarray, targets: list[int | None], label: str) -> None:
    """The page's explain() against the Python model on the same images, within the tolerances."""
    expected = python_explanations(model, images, targets)
    page_network(page, "Grad-CAM")
    answers = explained_in_page(page, images, targets, keep_layers=True)
    page_network(page, "HiResCAM")
    hires = explained_in_page(page, images, targets, keep_layers=False)

    probabilities = np.array([a["probabilities"] for a in answers])
    assert [a["predicted"] for a in answers] == expected["predicted"].tolist()
    assert [a["target"] for a in answers] == expected["target"].tolist()
    differences = {"probabilities": np.abs(probabilities - expected["probabilities"]).max(),
                   "Grad-CAM": np.abs(np.array([a["cam"] for a in answers]).reshape(-1, 28, 28)
                                      - expected["Grad-CAM"]).max()}
    mine = {}
    for name, maps in expected["layers"].items():
        mine[name] = np.array([a["layers"][name]["data"] for a in answers]).reshape(maps.shape)
        assert answers[0]["layers"][name]["shape"] == list(maps.shape[1:])
        differences[name] = np.abs(mine[name] - maps).max()
    cam_layer = [name for name in expected["layers"] if name.startswith("conv")][-1]
    undecided_ones = undecided(expected["layers"][cam_layer], elsewhere=mine[cam_layer])
    hires_maps = np.array([a["cam"] for a in hires]).reshape(-1, 28, 28)
    differences["HiResCAM"] = np.abs(hires_maps - expected["HiResCAM"])[~undecided_ones].max()
    print(f"{label}: largest differences over {len(images)} images: "
          + ", ".join(f"{name} {value:.1e}" for name, value in differences.items())
          + f"; HiResCAM compared on {int((~undecided_ones).sum())}, {int(undecided_ones.sum())} left to rounding")
    assert set(answers[0]["layers"]) == set(expected["layers"])
    assert differences["probabilities"] <= PROBABILITY_TOLERANCE
    assert differences["Grad-CAM"] <= MAP_TOLERANCE and differences["HiResCAM"] <= MAP_TOLERANCE
    assert all(differences[name] <= LAYER_TOLERANCE for name in expected["layers"])
    assert undecided_ones.mean() < UNDECIDED_SHARE


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """Copies of the shipped models: the tests swap models in this folder, never in saved_models/."""
    folder = tmp_path_factory.mktemp("models")
    for path in (ROOT / "saved_models").glob("*_simple_cnn.keras*"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def app_url(models_dir, offline_data_dir):
    with running_app("--models-dir", str(models_dir), "--data-dir", str(offline_data_dir)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    page = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT, locale="en-US")
    yield page
    page.context.close()


# -- the weights ----------------------------------------------------------------------------------------------
def test_the_layer_list_holds_every_layer_and_the_exact_float32_weights(shipped_mnist):
    import keras

    from webapp.browser_model import BrowserModelError, describe_layer, layer_list

    layers = layer_list(shipped_mnist)
    assert [layer["type"] for layer in layers] == ["conv2d", "max_pool2d", "conv2d", "max_pool2d", "flatten", "dense"]
    assert [layer["output_shape"] for layer in layers] == [[28, 28, 8], [14, 14, 8], [14, 14, 8], [7, 7, 8], [392],
                                                           [10]]
    for described, layer in zip(layers, shipped_mnist.layers):
        for values, stored in zip((described.get("kernel"), described.get("bias")), layer.get_weights()):
            assert np.array_equal(np.float32(values), stored.ravel()), "read back as float32: the same weights"
    with pytest.raises(BrowserModelError, match="cannot run in the browser"):
        describe_layer(keras.layers.Dropout(0.5))
    from explainers.max_pool import ABSOLUTE_TIE, RELATIVE_TIE

    pools = [layer for layer in layers if layer["type"] == "max_pool2d"]
    assert all(pool["tie_tolerance"] == {"relative": RELATIVE_TIE, "absolute": ABSOLUTE_TIE} for pool in pools)


# -- the network ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, title, fixture", [("mnist", "MNIST", "mnist_test"),
                                                     ("fashion_mnist", "Fashion-MNIST", "fashion_test")])
def test_the_page_computes_what_the_python_model_computes(page, models_dir, request, dataset, title, fixture):
    show_dataset(page, dataset, title)
    images, targets = sample_images(request.getfixturevalue(fixture)[0])
    check_agreement(page, load_model(models_dir / f"{dataset}_simple_cnn.keras"), images, targets, dataset)


def test_the_page_and_the_server_break_max_pool_ties_alike(page, models_dir, mnist_test):
    """Every pixel nudged by less than 1e-8: the background's tied windows now differ by a few units in the
    last place, which float64 here and float32 there see differently; the rule for ties gives both sides
    the same cell."""
    show_dataset(page, "mnist", "MNIST")
    images, targets = sample_images(mnist_test[0], 50)
    check_agreement(page, load_model(models_dir / "mnist_simple_cnn.keras"), nudged(images), targets, "nudged")


# -- the strokes -> 28x28 preprocessing ----------------------------------------------------------------------
DRAWINGS = [  # where and how big the digit is on the canvas, and (for the picture) the pen's width
    dict(canvas=400, scale=0.7, offset=(0, 0), stroke_width=4),  # a thin mouse line, centred
    dict(canvas=400, scale=0.9, offset=(0, 0), stroke_width=40),  # big, with a finger
    dict(canvas=400, scale=0.3, offset=(0.3, -0.3), stroke_width=12),  # small, in a corner
    dict(canvas=300, scale=0.55, offset=(-0.15, 0.15), stroke_width=16, rotation_deg=8),  # a phone, slanted
]
# The server reads a picture: it estimates the stroke width (2 x area / perimeter), thickens or thins the
# strokes by whole pixels of a 2-4x grid, and PIL drew the ends and joints; it measures the centre of mass
# before its resampling, so its digits' centres stray up to 0.33 px from (14, 14). The page draws the pen's
# exact path at exactly 2.3 px and centres what it drew (within 0.05 px). So the edges' greys differ, not the
# digit: measured on these 40 drawings, at most 0.022 of full ink per pixel on average over an image (0.59 at
# the worst edge pixel), up to 20 % of the ink placed differently, and centres of mass 0.37 px apart at most.
MEAN_DIFFERENCE = 0.05  # per pixel, of full ink (1.0)
INK_MOVED = 0.3  # sum of |differences| / the server's total ink
CENTRE_DISTANCE = 0.5  # px
NO_PIXEL_FLIPS = 0.75  # no pixel is full ink in one image and background in the other


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def test_strokes_become_the_image_the_server_makes_of_the_same_drawing(page, shipped_mnist):
    show_dataset(page, "mnist", "MNIST")
    rows = []
    for drawing in DRAWINGS:
        placement = {key: value for key, value in drawing.items() if key != "stroke_width"}
        for digit in range(10):
            mine = np.array(page.evaluate("([strokes, side]) => window.cnnDemo.strokesToImage(strokes, side, side)",
                                          [placed_strokes(digit, **placement), drawing["canvas"]])).reshape(28, 28)
            server = image_to_mnist(render_digit(digit, **drawing))
            predicted = page.evaluate("(image) => window.cnnDemo.explain(image, null).predicted", mine.ravel().tolist())
            server_predicted = int(shipped_mnist.predict(server[None, ..., None], verbose=0).argmax())
            difference = np.abs(mine - server)
            rows.append((digit, predicted, server_predicted, difference.mean(), difference.sum() / server.sum(),
                         np.linalg.norm(centre_of_mass(mine) - centre_of_mass(server)), difference.max()))
    digits, predicted, server_predicted, mean, moved, centre, largest = map(np.array, zip(*rows))
    print(f"strokesToImage vs image_to_mnist on {len(rows)} drawings: mean |difference| up to {mean.max():.3f}, "
          f"ink moved up to {moved.max():.0%}, centres {centre.max():.2f} px apart at most, "
          f"largest pixel difference {largest.max():.2f}")
    assert predicted.tolist() == digits.tolist(), "the page reads every digit right"
    assert server_predicted.tolist() == predicted.tolist(), "as the server reads the same drawing as a picture"
    assert mean.max() < MEAN_DIFFERENCE and moved.max() < INK_MOVED
    assert centre.max() < CENTRE_DISTANCE and largest.max() < NO_PIXEL_FLIPS


def test_strokes_without_a_digit_give_an_empty_image(page):
    for strokes in ([], [[[200, 200]]], [[[200, 200], [201, 201]]]):  # nothing, a dot, a speck
        image = page.evaluate("(strokes) => window.cnnDemo.strokesToImage(strokes, 400, 400)", strokes)
        assert len(image) == 784 and max(image) == 0
    dot = page.evaluate("() => window.cnnDemo.strokesToImage([[[100, 100], [300, 300]], [[100, 300]]], 400, 400)")
    assert max(dot) == 1 and np.count_nonzero(dot) > 40, "a one-point stroke beside others is a dot"


# -- drawing ---------------------------------------------------------------------------------------------------
# What the page shows, read after the next animation frame: the prediction, the probabilities, the heatmap.
READ_VIEWS = """async () => {
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const live = document.querySelector("#live-views .cnn-live");
  const heatmap = live.querySelector(".cnn-heatmap");
  const pixels = heatmap.getContext("2d").getImageData(0, 0, heatmap.width, heatmap.height).data;
  let checksum = 0;
  for (let i = 0; i < pixels.length; i += 7) checksum = (checksum * 31 + pixels[i]) % 1000000007;
  return {predicted: live.dataset.predicted ?? null, probabilities: live.querySelector("#live-probabilities").innerText,
          heatmap: checksum};
}"""


def clear(page) -> None:
    page.get_by_role("button", name="🗑️ Clear").click()
    expect(page.locator(STATUS)).to_contain_text("Draw a digit")


def draw_watching(page, log: RequestLog, stroke, stroke_with, every: int = 2) -> list[dict]:
    """Draw one stroke, reading the views every ``every`` moves; no request from pen down to a second after."""
    before, seen = len(log.urls), []
    at = canvas_mapping(page, CANVAS)
    stroke_with(page, stroke, at, lambda i: seen.append(page.evaluate(READ_VIEWS)) if i % every == 0 else None)
    time.sleep(1.0)
    seen.append(page.evaluate(READ_VIEWS))
    assert log.urls[before:] == [], "drawing asks the server nothing"
    return seen


def changes(seen: list[dict], key: str) -> int:
    return sum(a[key] != b[key] for a, b in zip(seen, seen[1:]))


def test_drawing_with_the_mouse_follows_the_pen_without_a_request(page, requests_made, screens):
    show_dataset(page, "mnist", "MNIST")
    page_network(page, "Grad-CAM")
    clear(page)
    seen = draw_watching(page, requests_made, DIGIT_STROKES[7][0], mouse_stroke)
    print(f"mouse: {len(seen)} readings, predictions {[s['predicted'] for s in seen]}")
    assert changes(seen, "probabilities") >= 3 and changes(seen, "heatmap") >= 3, "the views follow the pen"
    assert changes(seen, "predicted") >= 1, "and so does the prediction"
    assert seen[-1]["predicted"] == "7"
    expect(page.locator(STATUS)).to_contain_text("Prediction: 7")
    shoot(page, screens, "network-01-desktop-drawn-7")


def test_the_deeper_views_explain_the_image_the_page_made(page, screens):
    """The drawing of the test above goes to the server as the 784 numbers the page shows."""
    shown = page.evaluate("""() => {
        const canvas = document.querySelector("#live-views .cnn-input");
        return Array.from(canvas.getContext("2d").getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0));
    }""")
    page.get_by_text("All ten classes, counterfactual and guided backprop").click()
    with page.expect_request(lambda request: "/queue/join" in request.url
                             and isinstance(request.post_data_json["data"][0], list)) as joined:
        page.get_by_role("button", name="Show them for this image").click()
    sent = np.array(joined.value.post_data_json["data"][0])
    assert sent.shape == (784,) and np.abs(np.floor(sent * 255) - shown).max() <= 1, "what the student sees"
    for figure in ("#class-grid img", "#variants img"):
        expect(page.locator(figure)).to_be_visible(timeout=LOAD_TIMEOUT)
    shoot(page, screens, "network-05-desktop-deeper-views")


def test_the_server_refuses_anything_but_an_image_for_the_deeper_views():
    from cnn.preprocessing import InputImageError
    from cnn.browser_image import browser_image

    assert browser_image([0.5] * 784).shape == (28, 28)
    for value, reason in (([0.5] * 783, "783 values"), ("x" * 784, "str"), ([True] * 784, "something else"),
                          ([float("nan")] * 784, "something else"), ([2.0] * 784, "from 2 to 2"),
                          ([0] * 784, "Draw first")):
        with pytest.raises(InputImageError, match=reason):
            browser_image(value)


def test_undo_and_clear(page):
    clear(page)
    at = canvas_mapping(page, CANVAS)
    mouse_stroke(page, DIGIT_STROKES[4][0], at)
    first = page.evaluate(READ_VIEWS)
    mouse_stroke(page, DIGIT_STROKES[4][1], at)
    assert page.evaluate(READ_VIEWS) != first
    page.get_by_role("button", name="↶ Undo").click()
    assert page.evaluate(READ_VIEWS) == first, "undo takes back the last stroke, exactly"
    clear(page)
    assert page.evaluate(READ_VIEWS)["predicted"] is None


def test_an_empty_grad_cam_map_falls_back_to_hirescam_as_on_the_server(page):
    """In this network Grad-CAM finds no evidence for any MNIST "0" (README): the page says so, as the server does."""
    page_network(page, "Grad-CAM")
    clear(page)
    at = canvas_mapping(page, CANVAS)
    mouse_stroke(page, DIGIT_STROKES[0][0], at)
    expect(page.locator(STATUS)).to_contain_text("Grad-CAM finds no positive evidence for 0")
    expect(page.locator(STATUS)).to_contain_text("The heatmap shows HiResCAM instead")
    assert page.evaluate(READ_VIEWS)["predicted"] == "0"


def test_test_images_keep_their_server_path_and_the_drawing_its_panel(page):
    page.get_by_role("tab", name="🗂️ Test images").click()
    expect(page.locator("#live-views")).to_be_hidden()
    page.get_by_role("button", name="🎲 Random test image").click()
    expect(page.locator("#status")).to_contain_text("Test image #")
    expect(page.locator("#probabilities")).to_be_visible()
    page.get_by_role("tab", name="✏️ Draw").click()
    expect(page.locator("#live-views")).to_be_visible()
    expect(page.locator("#status")).to_be_hidden()


def test_a_phone_shows_the_canvas_at_once_and_a_finger_draws(browser, app_url, requests_made, screens):
    phone = open_page(browser, app_url, requests_made, PHONE, LOAD_TIMEOUT, is_mobile=True, has_touch=True)
    try:
        canvas = phone.locator(CANVAS).bounding_box()
        assert phone.evaluate("() => window.scrollY") == 0
        assert canvas["y"] >= 0 and canvas["y"] + canvas["height"] <= PHONE["height"], "all of it, unscrolled"
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= PHONE["width"]
        assert phone.locator(CANVAS).evaluate("(c) => getComputedStyle(c).touchAction") == "none"
        seen = draw_watching(phone, requests_made, DIGIT_STROKES[2][0], touch_stroke)
        print(f"touch: {len(seen)} readings, predictions {[s['predicted'] for s in seen]}")
        assert changes(seen, "probabilities") >= 3 and changes(seen, "heatmap") >= 3
        assert changes(seen, "predicted") >= 1
        assert seen[-1]["predicted"] == "2" and phone.evaluate("() => window.scrollY") == 0, "a finger draws, "\
            "it does not scroll"
        shoot(phone, screens, "network-02-phone-drawn-2", full_page=False)
        shoot(phone, screens, "network-03-phone-whole-page")
    finally:
        phone.context.close()


# -- swapped models -------------------------------------------------------------------------------------------
NEW_MODEL = "A newly trained model is now served to everyone"
TRAINING_TIMEOUT = 240_000  # ms: one epoch over 60,000 images at idle priority, beside the browser


def reload_saved_model(app_url: str) -> None:
    """What the instructor's "Reload the saved model" button does."""
    from gradio_client import Client

    Client(app_url, verbose=False).predict("mnist", api_name="/restore_shipped_model")


def model_shown(page) -> str:
    return page.locator(LIVE).get_attribute("data-model-id")


def test_a_model_with_a_third_conv_block_runs_in_the_page(page, app_url, models_dir, mnist_test, screens):
    images, labels = mnist_test
    model = build_model(Architecture((8, 8, 8)), seed=0)
    train_model(model, (images[:3000], labels[:3000]), (images[9000:9500], labels[9000:9500]),
                TrainingConfig(epochs=1))
    saved = models_dir / "mnist_simple_cnn.keras"
    shipped = {path: path.read_bytes() for path in (saved, models_dir / "mnist_simple_cnn.keras.json")}
    show_dataset(page, "mnist", "MNIST")
    before = model_shown(page)
    try:
        save_model(model, saved)
        (models_dir / "mnist_simple_cnn.keras.json").unlink()
        reload_saved_model(app_url)
        expect(page.locator("#live-views .cnn-notice")).to_contain_text(NEW_MODEL)
        assert model_shown(page) != before
        expect(page.locator("#live-layers .cnn-layer-label")).to_have_count(6)  # conv1, pool1, ..., pool3
        sample, targets = sample_images(images)
        check_agreement(page, load_model(saved), sample, targets, "third conv block")
    finally:
        for path, content in shipped.items():
            path.write_bytes(content)
        reload_saved_model(app_url)
    expect(page.locator("#live-layers .cnn-layer-label")).to_have_count(4)  # the shipped model is back


def test_a_training_in_another_tab_swaps_the_weights_and_the_page_says_so(browser, page, app_url, requests_made,
                                                                         screens):
    show_dataset(page, "mnist", "MNIST")
    clear(page)
    at = canvas_mapping(page, CANVAS)
    for stroke in DIGIT_STROKES[3]:
        mouse_stroke(page, stroke, at)
    before = {"model": model_shown(page), "views": page.evaluate(READ_VIEWS)}

    instructor = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT)
    try:
        instructor.get_by_role("tab", name="Model", exact=True).click()
        for label, value in (("Epochs", "1"), ("conv1 filters", "4"), ("conv2 filters", "4")):
            number = instructor.get_by_label(f"number input for {label}")
            number.fill(value)
            number.press("Enter")
        instructor.get_by_role("button", name="Train a new model").click()
        expect(instructor.locator("#training-progress")).to_contain_text("Every student is now served this model",
                                                                         timeout=TRAINING_TIMEOUT)
    finally:
        instructor.context.close()
    expect(page.locator("#live-views .cnn-notice")).to_contain_text(NEW_MODEL, timeout=30_000)
    assert model_shown(page) != before["model"]
    expect(page.locator("#live-layers .cnn-maps").first).to_have_attribute("data-channels", "4")  # conv1: 4 filters
    assert page.evaluate(READ_VIEWS) != before["views"], "the drawing is explained by the new model"
    shoot(page, screens, "network-04-desktop-new-model")
    reload_saved_model(app_url)
