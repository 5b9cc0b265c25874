"""The arithmetic view of the Draw tab (webapp/static/arithmetic.js, arithmetic_view.js), in Chromium.

- ``cnnDemo.arithmetic`` on 50 shipped test images of each dataset, a cell of every layer (conv1, pool1, conv2,
  pool2) and a class's logit: the windows, kernels, products, sums, biases, values before and after ReLU, pool
  winners and logit contributions equal those computed here from the model's weights, on tests/reference.py's
  float64 feature maps, and the values equal the Keras model's own layer outputs;
- a click on a feature map's tile (or a class's bar) opens the view with the same numbers in the page, and the
  keyboard reaches and moves it; it follows the pen (new numbers at every frame, the same cell, no request);
- on a phone a finger taps a tile and the panel's arrow buttons move the cell.

Screenshots go to $SCREENSHOT_DIR (default: a pytest temporary folder), to look at.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from cnn.model_store import load_model
from harness.app_server import ROOT
from harness.browser import canvas_mapping, draw_digit, mouse_stroke, open_page, shoot, touch_stroke
from harness.strokes import DIGIT_STROKES
from tests import reference

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT = 90_000  # ms: a loaded 2-core CI machine runs TensorFlow, the server and Chromium at once
CANVAS = "#draw-pad canvas"
DOUBLE_TAP_TIMEOUT_MS = 350
PANEL = "#live-arithmetic"
TITLE = "#live-arithmetic-title"
IMAGES = 50
# The page computes in float64 from the float32 weights, as reference.py does (in another order): ~1e-15 apart.
# Against Keras' float32 outputs, ~1e-6 (as tests/test_browser_network.py's LAYER_TOLERANCE).
SAME_FLOAT64 = 1e-9
KERAS_TOLERANCE = 1e-5
LOGIT_TOLERANCE = 1e-4
# A pool window's cells within this of its maximum are candidates to win it: which one does depends on the
# float rounding of the conv below (and on max-pool's tie rule), so the page's winner must be one of them.
TIE_TOLERANCE = 1e-5
TOP = 10  # contributions the page lists
MINUS = "\u2212"


# -- the Python side: each number from the model's weights and reference.py's float64 maps --------------------
def conv_cell(model, maps: dict, image: np.ndarray, layer: str, filter_: int, row: int, col: int) -> dict:
    """A 3x3 "same" conv cell: windows, kernel slices and products as [channel][ky][kx], as the page gives them."""
    below = image[..., None] if layer == "conv1" else maps[f"pool{int(layer[-1]) - 1}"]
    kernel, bias = (w.astype(np.float64) for w in model.get_layer(layer).get_weights())
    window = np.pad(below.astype(np.float64), ((1, 1), (1, 1), (0, 0)))[row:row + 3, col:col + 3]
    products = window * kernel[..., filter_]
    padded = np.pad(np.zeros(below.shape[:2], bool), 1, constant_values=True)[row:row + 3, col:col + 3]
    pre = products.sum() + bias[filter_]
    return {"window": window.transpose(2, 0, 1), "kernel": kernel[..., filter_].transpose(2, 0, 1),
            "products": products.transpose(2, 0, 1), "padded": padded, "channelSums": products.sum(axis=(0, 1)),
            "sum": products.sum(), "bias": bias[filter_], "preActivation": pre, "output": max(pre, 0.0)}


def pool_cell(maps: dict, layer: str, channel: int, row: int, col: int) -> dict:
    window = maps[layer.replace("pool", "conv")][2 * row:2 * row + 2, 2 * col:2 * col + 2, channel]
    candidates = [tuple(int(i) for i in at) for at in np.argwhere(window >= window.max() - TIE_TOLERANCE)]
    return {"window": window, "output": window.max(), "candidates": candidates}


def logit_terms(model, maps: dict, unit: int) -> dict:
    kernel, bias = (w.astype(np.float64) for w in model.get_layer("logits").get_weights())
    activations = maps["pool2"].reshape(-1)
    products = activations * kernel[:, unit]
    return {"activations": activations, "weights": kernel[:, unit], "products": products, "bias": bias[unit],
            "logit": products.sum() + bias[unit]}


def keras_outputs(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's float32 output, as the served model computes it."""
    from explainers.forward import forward

    names = [layer.name for layer in model.layers]
    captured, _ = forward(model, images[..., None], capture=names)
    return {name: value.numpy() for name, value in captured.items()}


def chosen_cells(keras: dict, index: int, shapes: dict) -> dict[str, tuple[int, int, int]]:
    """One cell per spatial layer for image ``index``: a random channel; every other image its strongest cell
    (where the numbers are large), the rest a random one (the border and its padding included)."""
    rng = np.random.default_rng(index)
    cells = {}
    for name, (height, width, channels) in shapes.items():
        channel = int(rng.integers(channels))
        if index % 2 == 0:
            row, col = np.unravel_index(int(keras[name][index, ..., channel].argmax()), (height, width))
        else:
            row, col = rng.integers(height), rng.integers(width)
        cells[name] = (channel, int(row), int(col))
    return cells


def assert_close(mine, expected, tolerance: float, what: str) -> float:
    difference = float(np.abs(np.asarray(mine, np.float64) - np.asarray(expected, np.float64)).max())
    assert difference <= tolerance, f"{what}: {difference:.2e} apart"
    return difference


def check_conv(answer: dict, expected: dict, keras_value: float) -> float:
    for key in ("window", "kernel", "products", "channelSums", "sum", "bias", "preActivation", "output"):
        assert_close(answer[key], expected[key], SAME_FLOAT64, key)
    assert np.array_equal(answer["padded"], expected["padded"])
    return assert_close(answer["output"], keras_value, KERAS_TOLERANCE, "conv value against Keras")


def check_pool(answer: dict, expected: dict, keras_value: float) -> tuple[float, bool]:
    assert_close(answer["window"], expected["window"], SAME_FLOAT64, "pool window")
    assert_close(answer["output"], expected["output"], SAME_FLOAT64, "pool value")
    assert tuple(answer["winner"]) in expected["candidates"], "the winner is the window's largest value"
    near_tie = len(set(expected["window"][at] for at in expected["candidates"])) > 1
    if not near_tie:  # one clear winner, or exact ties (the background: ReLU(bias) everywhere): the first
        assert tuple(answer["winner"]) == expected["candidates"][0]
    assert answer["output"] == np.asarray(answer["window"]).max(), "the pooled value is the window's maximum"
    return assert_close(answer["output"], keras_value, KERAS_TOLERANCE, "pool value against Keras"), near_tie


def check_logit(answer: dict, expected: dict, keras_logit: float, shape: tuple[int, int, int]) -> float:
    terms = answer["contributions"]
    indices = [term["index"] for term in terms]
    assert sorted(indices) == list(range(len(expected["products"]))), "every input, once"
    for key, column in (("activation", "activations"), ("weight", "weights"), ("product", "products")):
        assert_close([term[key] for term in terms], expected[column][indices], SAME_FLOAT64, key)
    assert [(t["row"], t["col"], t["channel"]) for t in terms] == \
        [tuple(int(i) for i in np.unravel_index(index, shape)) for index in indices], "each named by its cell"
    sizes = np.abs([term["product"] for term in terms])
    assert np.all(np.diff(sizes) <= 0), "largest first"
    assert_close(sizes[:TOP], np.sort(np.abs(expected["products"]))[::-1][:TOP], SAME_FLOAT64, "the largest ones")
    assert_close(answer["sum"] + answer["bias"], answer["output"], SAME_FLOAT64, "parts add up to the logit")
    assert_close(answer["output"], expected["logit"], SAME_FLOAT64, "logit")
    assert answer["active"] == int(np.count_nonzero(expected["activations"]))
    return assert_close(answer["output"], keras_logit, LOGIT_TOLERANCE, "logit against Keras")


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    page = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT, locale="en-US")
    yield page
    page.context.close()


def show_dataset(page, name: str, title: str) -> None:
    page.get_by_label(title, exact=True).check()
    expect(page.locator("#live-views .cnn-live")).to_have_attribute("data-dataset", name)
    page.evaluate("() => window.cnnDemo.ready")


# -- the numbers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, title, fixture", [("mnist", "MNIST", "mnist_test"),
                                                     ("fashion_mnist", "Fashion-MNIST", "fashion_test")])
def test_the_arithmetic_is_the_python_models_on_50_images_a_cell_of_each_layer(page, request, dataset, title,
                                                                                fixture):
    show_dataset(page, dataset, title)
    model = load_model(ROOT / "saved_models" / f"{dataset}_simple_cnn.keras")
    test_images = request.getfixturevalue(fixture)[0]
    images = test_images[np.linspace(0, len(test_images) - 1, IMAGES).round().astype(int), :, :, 0]
    keras = keras_outputs(model, images)
    shapes = {name: keras[name].shape[1:] for name in ("conv1", "pool1", "conv2", "pool2")}
    asks = []
    for i in range(IMAGES):
        cells = chosen_cells(keras, i, shapes)
        asks += [[i, name, *cells[name]] for name in shapes] + [[i, "logits", i % 10, 0, 0]]
    answers = json.loads(page.evaluate(
        """([images, asks]) => JSON.stringify(asks.map(([i, layer, channel, row, col]) =>
             window.cnnDemo.arithmetic(images[i], layer, channel, row, col)))""",
        [images.reshape(IMAGES, -1).tolist(), asks]))

    keras_differences, undecided = {}, 0
    references = [reference.all_feature_maps(model, image) for image in images]
    for (i, name, channel, row, col), answer in zip(asks, answers):
        maps = references[i]
        assert (answer["layer"], answer["channel"]) == (name, channel)
        if name.startswith("conv"):
            difference = check_conv(answer, conv_cell(model, maps, images[i], name, channel, row, col),
                                    keras[name][i, row, col, channel])
        elif name.startswith("pool"):
            difference, tie = check_pool(answer, pool_cell(maps, name, channel, row, col),
                                         keras[name][i, row, col, channel])
            undecided += tie
        else:
            difference = check_logit(answer, logit_terms(model, maps, channel), keras["logits"][i, channel],
                                     shapes["pool2"])
        keras_differences[name] = max(keras_differences.get(name, 0.0), difference)
    print(f"{dataset}: {IMAGES} images, a cell of each layer and a logit: equal to the float64 reference within "
          f"{SAME_FLOAT64:g}; largest differences from Keras' float32 "
          + ", ".join(f"{name} {value:.1e}" for name, value in keras_differences.items())
          + f"; {undecided} pool windows with different values within {TIE_TOLERANCE:g} of the largest "
          "(the winner: one of them)")


def test_the_arithmetic_refuses_what_is_not_a_cell(page):
    show_dataset(page, "mnist", "MNIST")
    for layer, channel, row, col, message in (("conv1", 8, 0, 0, "channel must be an integer 0..7"),
                                              ("pool2", 0, 7, 0, "row must be an integer 0..6"),
                                              ("logits", 10, 0, 0, "class must be 0..9"),
                                              ("flatten", 0, 0, 0, "nothing is computed there"),
                                              ("conv9", 0, 0, 0, "no layer conv9")):
        error = page.evaluate("""([layer, channel, row, col]) => {
            try { window.cnnDemo.arithmetic(new Array(784).fill(0.5), layer, channel, row, col); return null; }
            catch (error) { return error.message; } }""", [layer, channel, row, col])
        assert error is not None and message in error


# -- the view in the page -----------------------------------------------------------------------------------
def number(text: str) -> float:
    return float(text.replace(MINUS, "-").replace("Σ", "").strip())


def drawn_image(page) -> np.ndarray:
    """The 28x28 image the page made of the drawing, as the model reads it (float32)."""
    return np.float32(page.evaluate("() => window.cnnDemoPage.drawingForServer()")).reshape(28, 28)


def tile(page, layer: str, channel: int):
    return page.locator(f"#live-layers .cnn-layer:has-text('{layer}') .cnn-tile").nth(channel)


def click_cell(page, layer: str, channel: int, row: int, col: int, size: int) -> None:
    """A click in the middle of one cell of one map's tile."""
    target = tile(page, layer, channel)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.click(box["x"] + box["width"] * (col + 0.5) / size, box["y"] + box["height"] * (row + 0.5) / size)


READ_PANEL = """() => {
  const panel = document.querySelector("#live-arithmetic");
  const texts = (selector) => Array.from(panel.querySelectorAll(selector), (node) => node.textContent);
  return {
    title: panel.querySelector("h2").textContent, visible: !panel.hidden,
    channels: Array.from(panel.querySelectorAll(".cnn-arith-channel"), (channel) =>
      Array.from(channel.querySelectorAll("table"), (table) => Array.from(table.querySelectorAll("td"),
        (td) => td.textContent))),
    subtotals: texts(".cnn-arith-subtotal"), pool: texts(".cnn-arith-pool td"),
    winner: texts(".cnn-arith-pool td.cnn-winner"),
    rows: Array.from(panel.querySelectorAll(".cnn-arith-contributions tbody tr"), (tr) =>
      Array.from(tr.children, (td) => td.textContent)),
    sum: texts(".cnn-arith-sum"), bias: texts(".cnn-arith-bias"), pre: texts(".cnn-arith-pre"),
    out: texts(".cnn-arith-out"), rest: texts(".cnn-arith-rest"), top: texts(".cnn-arith-top-sum"),
    equation: texts(".cnn-arith-equation").join(" "),
  };
}"""


def shown_as(text: str, value: float, digits: int) -> None:
    """The page's text is ``value`` written with ``digits`` decimals (0 for zero)."""
    assert abs(number(text) - value) <= 0.5 * 10 ** -digits + 1e-6, f"{text} for {value}"


def check_conv_in_page(shown: dict, expected: dict) -> None:
    assert len(shown["channels"]) == len(expected["window"])
    for c, tables in enumerate(shown["channels"]):
        for texts, values in zip(tables, (expected["window"][c], expected["kernel"][c], expected["products"][c])):
            for text, value in zip(texts, values.ravel()):
                shown_as(text, value, 2)
        shown_as(shown["subtotals"][c], expected["channelSums"][c], 3)
    for key, name in (("sum", "sum"), ("bias", "bias"), ("pre", "preActivation"), ("out", "output")):
        shown_as(shown[key][0], expected[name], 3)


def test_a_click_on_a_map_shows_how_its_value_is_computed(page, requests_made, screens):
    show_dataset(page, "mnist", "MNIST")
    page.get_by_role("button", name="🗑️ Clear").click()
    draw_digit(page, DIGIT_STROKES[7], CANVAS)
    expect(page.locator("#live-status")).to_contain_text("Prediction: 7")
    model = load_model(ROOT / "saved_models" / "mnist_simple_cnn.keras")
    image = drawn_image(page)
    maps = reference.all_feature_maps(model, image)

    click_cell(page, "conv2", 3, 6, 7, 14)
    expect(page.locator(PANEL)).to_be_visible()
    expect(page.locator(TITLE)).to_have_text("How conv2 filter #3 (row 6, col 7) is computed")
    expect(tile(page, "conv2", 3)).to_have_attribute("aria-expanded", "true")
    check_conv_in_page(page.evaluate(READ_PANEL), conv_cell(model, maps, image, "conv2", 3, 6, 7))
    expect(page.locator("#live-layers .cnn-mark-window")).to_have_count(8)  # its window on pool1's 8 maps
    shoot(page, screens, "arithmetic-01-desktop-conv2")

    click_cell(page, "conv1", 5, 0, 13, 28)  # the top row: its window reads the padding
    expect(page.locator(TITLE)).to_have_text("How conv1 filter #5 (row 0, col 13) is computed")
    shown = page.evaluate(READ_PANEL)
    check_conv_in_page(shown, conv_cell(model, maps, image, "conv1", 5, 0, 13))
    expect(page.locator(f"{PANEL} .cnn-arith-grid td.cnn-pad")).to_have_count(6)  # top row of window and products
    expect(page.locator(f"{PANEL} .cnn-arith-where figcaption")).to_have_text(
        "Where it looks: rows 0–1, columns 12–14 of the 28x28 input")

    pool = pool_cell(maps, "pool2", 4, 3, 3)
    click_cell(page, "pool2", 4, 3, 3, 7)
    expect(page.locator(TITLE)).to_have_text("How pool2 map #4 (row 3, col 3) is computed")
    shown = page.evaluate(READ_PANEL)
    for text, value in zip(shown["pool"], pool["window"].ravel()):
        shown_as(text, value, 3)
    assert len(shown["winner"]) == 1 and abs(number(shown["winner"][0]) - pool["output"]) < 1e-3
    shown_as(shown["out"][0], pool["output"], 3)
    winner = page.evaluate("(image) => window.cnnDemo.arithmetic(image, 'pool2', 4, 3, 3).winner",
                           image.ravel().tolist())
    assert tuple(winner) in pool["candidates"]
    page.locator(f"{PANEL} .cnn-arith-trace").click()  # how was the winner computed?
    dy, dx = winner
    expect(page.locator(TITLE)).to_have_text(f"How conv2 filter #4 (row {6 + dy}, col {6 + dx}) is computed")

    page.locator("#live-probabilities .cnn-bar").nth(7).click()
    expect(page.locator(TITLE)).to_have_text("How the score of “7” is computed")
    expected = logit_terms(model, maps, 7)
    shown = page.evaluate(READ_PANEL)
    order = np.argsort(-np.abs(expected["products"]), kind="stable")[:TOP]
    assert len(shown["rows"]) == TOP
    for (cell, activation, weight, product), index in zip(shown["rows"], order):
        shown_as(activation, expected["activations"][index], 3)
        shown_as(weight, expected["weights"][index], 3)
        shown_as(product, expected["products"][index], 3)
        row, col, channel = np.unravel_index(index, (7, 7, 8))
        assert cell == f"#{channel} ({row}, {col})"
    shown_as(shown["top"][0], expected["products"][order].sum(), 3)
    shown_as(shown["rest"][0], expected["logit"] - expected["bias"] - expected["products"][order].sum(), 3)
    shown_as(shown["out"][0], expected["logit"], 3)
    expect(page.locator("#live-layers .cnn-mark-up, #live-layers .cnn-mark-down")).to_have_count(TOP)
    shoot(page, screens, "arithmetic-02-desktop-logit")
    assert requests_made.foreign() == []


def test_the_keyboard_reaches_moves_and_closes_it(page):
    show_dataset(page, "mnist", "MNIST")
    page.get_by_role("button", name="🗑️ Clear").click()
    draw_digit(page, DIGIT_STROKES[2], CANVAS)
    if page.locator(PANEL).is_visible():  # left open by a test above
        page.get_by_role("button", name="Close the arithmetic view").click()
    page.locator("#live-probabilities .cnn-bar").last.focus()
    page.keyboard.press("Tab")  # from the last class's bar, the next stop is conv1's first map
    first = page.get_by_role("button", name="conv1 filter #0: how is its value computed?")
    expect(first).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="conv1 filter #2: how is its value computed?")).to_be_focused()
    page.keyboard.press("Enter")  # the map's strongest value
    expect(page.locator(PANEL)).to_be_visible()
    title = page.locator(TITLE).text_content()
    row, col = (int(v) for v in title.split("(row ")[1].split(")")[0].split(", col "))
    answer = page.evaluate("([row, col]) => window.cnnDemo.arithmetic(window.cnnDemoPage.drawingForServer(), "
                           "'conv1', 2, row, col)", [row, col])
    conv1 = page.evaluate("() => window.cnnDemo.explain(window.cnnDemoPage.drawingForServer()).layers.conv1.data")
    assert abs(answer["output"] - max(conv1[2::8])) < 1e-12 and answer["output"] > 0, "Enter: the strongest value"
    announced = page.locator("#live-views [aria-live='polite']", has_text="conv1 filter #2")
    expect(announced).to_have_text(f"How conv1 filter #2 (row {row}, col {col}) is computed = "
                                   f"{answer['output']:.3f}")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator(TITLE)).to_have_text(f"How conv1 filter #2 (row {row + 2}, col {col + 1}) is computed")
    expect(announced).to_contain_text(f"(row {row + 2}, col {col + 1})")
    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    expect(page.get_by_role("button", name="conv1 filter #2: how is its value computed?")).to_be_focused()
    expect(page.locator("#live-layers .cnn-mark")).to_have_count(0)


# -- following the pen --------------------------------------------------------------------------------------
def read_while_drawing(page, log, stroke, stroke_with=mouse_stroke, every: int = 2) -> list[dict]:
    """Draw one stroke, reading the panel every ``every`` moves; no request from pen down to a second after."""
    before, seen = len(log.urls), []
    at = canvas_mapping(page, CANVAS)
    stroke_with(page, stroke, at, lambda i: seen.append(page.evaluate(READ_PANEL)) if i % every == 0 else None)
    time.sleep(1.0)
    seen.append(page.evaluate(READ_PANEL))
    assert log.urls[before:] == [], "drawing asks the server nothing"
    return seen


def test_it_follows_the_pen_without_a_request(page, requests_made):
    show_dataset(page, "mnist", "MNIST")
    page.get_by_role("button", name="🗑️ Clear").click()
    at = canvas_mapping(page, CANVAS)
    mouse_stroke(page, DIGIT_STROKES[4][0], at)
    click_cell(page, "conv2", 0, 7, 7, 14)
    expect(page.locator(TITLE)).to_have_text("How conv2 filter #0 (row 7, col 7) is computed")
    seen = read_while_drawing(page, requests_made, DIGIT_STROKES[4][1])
    equations = [s["equation"] for s in seen]
    print(f"conv2 cell: {len(seen)} readings, {len(set(equations))} different sums")
    assert {s["title"] for s in seen} == {"How conv2 filter #0 (row 7, col 7) is computed"}, "the cell stays chosen"
    assert sum(a != b for a, b in zip(equations, equations[1:])) >= 3, "its numbers follow the pen"
    model = load_model(ROOT / "saved_models" / "mnist_simple_cnn.keras")
    image = drawn_image(page)
    check_conv_in_page(seen[-1], conv_cell(model, reference.all_feature_maps(model, image), image, "conv2", 0, 7, 7))

    page.get_by_role("button", name="↶ Undo").click()
    page.locator("#live-probabilities .cnn-bar").nth(4).click()
    seen = read_while_drawing(page, requests_made, DIGIT_STROKES[4][1])
    logits = [s["out"][0] for s in seen]
    print(f"logit of 4: {logits}")
    assert {s["title"] for s in seen} == {"How the score of “4” is computed"}
    assert sum(a != b for a, b in zip(logits, logits[1:])) >= 3
    page.get_by_role("button", name="🗑️ Clear").click()
    expect(page.locator(f"{PANEL} .cnn-arith-message")).to_be_visible()  # nothing drawn: it says so, stays open
    expect(page.locator(TITLE)).to_have_text("How the score of “4” is computed")


# -- a phone --------------------------------------------------------------------------------------------------
def test_on_a_phone_a_finger_taps_a_map_and_the_arrows_move_the_cell(browser, app_url, requests_made, screens):
    phone = open_page(browser, app_url, requests_made, PHONE, LOAD_TIMEOUT, is_mobile=True, has_touch=True)
    try:
        draw_digit(phone, DIGIT_STROKES[3], CANVAS, touch=True)
        expect(phone.locator("#live-status")).to_contain_text("Prediction: 3")
        target = tile(phone, "pool2", 5)  # a 7x7 map: cells of 5 px, for a finger
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        # A finger lifts off the canvas, then taps: Chromium's gesture detector takes a touch within its double-tap
        # timeout (300 ms, Android's) of the last for the second half of a double tap, and makes no click of it.
        phone.wait_for_timeout(DOUBLE_TAP_TIMEOUT_MS)
        target.tap(position={"x": box["width"] * 2.5 / 7, "y": box["height"] * 4.5 / 7})
        expect(phone.locator(TITLE)).to_have_text("How pool2 map #5 (row 4, col 2) is computed")
        phone.get_by_role("button", name="One row up").tap()
        phone.get_by_role("button", name="One column right").tap()
        expect(phone.locator(TITLE)).to_have_text("How pool2 map #5 (row 3, col 3) is computed")
        phone.locator(f"{PANEL} .cnn-arith-trace").tap()  # the conv2 value that won
        expect(phone.locator(TITLE)).to_contain_text("How conv2 filter #5 (row ")
        panel = phone.locator(PANEL).bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"], "the panel fits the screen"
        phone.locator(PANEL).evaluate("(panel) => panel.scrollIntoView({block: 'start'})")
        shoot(phone, screens, "arithmetic-03-phone-conv2", full_page=False)
        phone.locator("#live-probabilities .cnn-bar").nth(3).tap()
        expect(phone.locator(TITLE)).to_have_text("How the score of “3” is computed")
        phone.locator(PANEL).evaluate("(panel) => panel.scrollIntoView({block: 'start'})")
        shoot(phone, screens, "arithmetic-04-phone-logit", full_page=False)
        seen = read_while_drawing(phone, requests_made, DIGIT_STROKES[8][0], touch_stroke)
        assert len({s["out"][0] for s in seen}) >= 3, "a finger's stroke changes the score shown"
    finally:
        phone.context.close()
