"""The app in a real browser: ``demo.py`` started as a process, driven with Playwright and Chromium.

A student's path through the page: draw digits with the mouse on the Draw tab's canvas, read the prediction,
clear, visit every tab; meanwhile no request may leave the machine (a classroom may have no internet).
Full-page screenshots of each state go to $SCREENSHOT_DIR (default: a pytest temporary folder), to look at.
tests/test_browser_network.py tests the network that runs in the page.

Needs Chromium: $CHROMIUM, else /usr/bin/chromium or the one Playwright installed; skipped without one.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from harness.browser import RequestLog, draw_digit, open_page, shoot
from harness.strokes import DIGIT_STROKES

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
# Generous: a loaded 2-core CI machine runs TensorFlow, the server and Chromium at once.
LOAD_TIMEOUT = 90_000  # ms: first paint of the page
PREDICTION_TIMEOUT = 60_000  # ms: a drawing's prediction and heatmap
HEAVY_TIMEOUT = 240_000  # ms: activation maximization, the filters' figures

CANVAS = "#draw-pad canvas"
CLEAR = "#draw-pad .cnn-clear"  # found by class: its label is not translated, but tests need not rely on that
LIVE = "#live-views .cnn-live"  # the drawing's live panel; data-predicted: the class it shows
STATUS = "#live-status"
# Whether a canvas of the live panel shows a picture: some pixel differs from the blank grey.
PAINTED = """(canvas) => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data
    .some((value, i) => i % 4 !== 3 && value !== 0xee)"""


def open_app(browser, url: str, log: RequestLog, viewport: dict, **context_options):
    """The app in a new context, once the page's network has its weights: the student can draw at once."""
    page = open_page(browser, url, log, viewport, LOAD_TIMEOUT, **context_options)
    page.set_default_timeout(PREDICTION_TIMEOUT)
    expect(page.locator(CANVAS)).to_be_visible()
    return page


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    """One desktop page, shared by the tests in file order as a student would use it."""
    page = open_app(browser, app_url, requests_made, DESKTOP, locale="en-US")
    yield page
    page.context.close()


def image_block(page, elem_id: str):
    """The gr.Image with this elem_id."""
    return page.locator(f"#{elem_id}")


def shown_image(page, elem_id: str, timeout: float = PREDICTION_TIMEOUT) -> str:
    """Wait until the component ``elem_id`` (a gr.Image, or the first picture of an HTML grid) shows a
    loaded picture; its src."""
    # Gradio's pictures load lazily: one far below the screen stays empty until the student scrolls to it.
    image_block(page, elem_id).scroll_into_view_if_needed(timeout=timeout)
    picture = image_block(page, elem_id).locator("img").first
    expect(picture).to_be_visible(timeout=timeout)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(),
                           timeout=timeout)
    return picture.get_attribute("src")


def go_to_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def draw(page, strokes, scale: float = 0.7) -> None:
    """Drag the mouse along polylines given in a unit box (x right, y down), over the canvas."""
    draw_digit(page, strokes, CANVAS, scale)


def clear_canvas(page) -> None:
    page.locator(CLEAR).click()
    expect(page.locator(STATUS)).to_contain_text("Draw a digit", timeout=PREDICTION_TIMEOUT)


def painted(page, selector: str) -> bool:
    return page.locator(selector).evaluate(PAINTED)


def expect_prediction(page, digit: int) -> None:
    expect(page.locator(LIVE)).to_have_attribute("data-predicted", str(digit), timeout=PREDICTION_TIMEOUT)
    expect(page.locator(STATUS)).to_contain_text(f"Prediction: {digit}")
    assert painted(page, "#live-input canvas") and painted(page, "#live-heatmap .cnn-heatmap")


VERTICAL_ONE = [[(0.5, 0.0), (0.5, 1.0)]]  # one straight downward drag


def test_grad_cam_tab_comes_first_ready_to_draw(page, screens):
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_have_text("Grad-CAM")
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    for name in ("Filters", "Activation Maximization", "Model"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    expect(page.locator("#draw-pad")).to_be_visible()
    # No tool to pick: the canvas draws with any pointer (open_app waited for the weights), and a finger on it
    # draws instead of scrolling the page.
    assert page.locator(CANVAS).evaluate("(c) => getComputedStyle(c).touchAction") == "none"
    expect(page.locator(CLEAR)).to_be_visible()
    expect(page.locator("#draw-pad .cnn-undo")).to_be_visible()
    expect(page.locator("#sketchpad")).to_be_hidden()  # it serves API clients only
    expect(page.locator(STATUS)).to_contain_text("Draw a digit")
    shoot(page, screens, "01-gradcam-start")


def test_drawn_digits_are_recognised(page, screens):
    go_to_tab(page, "Grad-CAM")
    draw(page, VERTICAL_ONE)
    expect_prediction(page, 1)
    shoot(page, screens, "02-drawn-1")

    clear_canvas(page)
    draw(page, DIGIT_STROKES[7])  # top bar, then the diagonal, in one go
    expect_prediction(page, 7)
    shoot(page, screens, "03-drawn-7")

    clear_canvas(page)
    draw(page, DIGIT_STROKES[0])  # an ellipse of many small moves
    expect_prediction(page, 0)
    shoot(page, screens, "04-drawn-0")


def test_clearing_the_canvas_removes_the_heatmap(page, screens):
    go_to_tab(page, "Grad-CAM")
    clear_canvas(page)  # whatever an earlier test drew: this one starts from an empty canvas
    draw(page, VERTICAL_ONE)
    expect_prediction(page, 1)

    clear_canvas(page)
    assert not painted(page, "#live-heatmap .cnn-heatmap") and not painted(page, "#live-input canvas")
    assert page.locator(LIVE).get_attribute("data-predicted") is None
    shoot(page, screens, "05-cleared")
    draw(page, DIGIT_STROKES[7])  # ready for the next digit, at once
    expect_prediction(page, 7)
    clear_canvas(page)


def compare_the_drawing(page) -> None:
    """On the Compare tab (open), the twelve methods on what the Grad-CAM tab shows: maps, scores and curves."""
    page.get_by_role("button", name="Compare the twelve methods on this image").click()
    expect(page.locator("#compare-maps img")).to_have_count(13, timeout=HEAVY_TIMEOUT)  # the image and 12 maps
    shown_image(page, "compare-curves", HEAVY_TIMEOUT)
    expect(page.locator("#compare-maps")).to_contain_text("Integrated Gradients")
    expect(page.locator("#compare-maps")).to_contain_text("★")  # the best of each metric, marked


def test_compare_tab_explains_the_drawing(page, screens):
    """The drawing made in the page reaches the server's twelve methods and its sanity checks."""
    go_to_tab(page, "Grad-CAM")
    clear_canvas(page)
    draw(page, DIGIT_STROKES[7])
    expect_prediction(page, 7)
    go_to_tab(page, "Compare methods")
    compare_the_drawing(page)
    expect(page.locator("#compare-maps")).to_contain_text("Evidence for 7 (the model predicts 7")
    for method in ("Saliency", "Score-CAM"):  # first and last of the scores table
        expect(page.locator("#compare-scores")).to_contain_text(method)
    shoot(page, screens, "06-compare")

    page.get_by_role("button", name="Sanity check: randomize the network, layer by layer").click()
    expect(page.locator("#sanity table tr")).to_have_count(13, timeout=HEAVY_TIMEOUT)  # a header and 12 methods
    expect(page.locator("#sanity")).to_contain_text("Score-CAM")
    shoot(page, screens, "07-compare-sanity")
    go_to_tab(page, "Grad-CAM")
    clear_canvas(page)


def test_filters_tab_shows_the_learned_filters(page, screens):
    go_to_tab(page, "Filters")
    shown_image(page, "conv1-weights", HEAVY_TIMEOUT)
    shown_image(page, "conv2-kernels", HEAVY_TIMEOUT)
    shown_image(page, "feature-maps", HEAVY_TIMEOUT)
    expect(page.get_by_text("Filter activity on 1,000 test images")).to_be_visible()
    shoot(page, screens, "08-filters")


def test_activation_maximization_tab_synthesizes(page, screens):
    go_to_tab(page, "Activation Maximization")
    label = "maximization"
    first = shown_image(page, label, HEAVY_TIMEOUT)  # synthesized when the tab opens
    shoot(page, screens, "09-maximization")

    layer = page.get_by_label("Layer (logits: one image per class)")
    layer.click()
    page.get_by_role("option", name="conv2", exact=True).click()
    expect(layer).to_have_value("conv2")
    page.get_by_role("button", name="Synthesize", exact=True).click()
    picture = image_block(page, label).locator("img").first
    expect(picture).not_to_have_attribute("src", first, timeout=HEAVY_TIMEOUT)
    shown_image(page, label, HEAVY_TIMEOUT)
    shoot(page, screens, "10-maximization-conv2")


def test_model_tab_shows_the_card_and_training_form(page, screens):
    go_to_tab(page, "Model")
    expect(page.locator("#model-card")).to_contain_text("test accuracy")
    expect(page.get_by_role("button", name="Train a new model")).to_be_visible()
    expect(page.get_by_role("button", name="Train a new model")).to_be_enabled()  # a local server may train
    expect(page.get_by_role("slider", name="range slider for Epochs")).to_be_visible()
    expect(page.locator("#training-progress")).to_contain_text("No training yet")
    shoot(page, screens, "11-model")


def test_phone_layout_of_the_grad_cam_tab(browser, app_url, requests_made, screens):
    phone = open_app(browser, app_url, requests_made, PHONE, is_mobile=True, has_touch=True)
    try:
        expect(phone.get_by_role("tab", name="Grad-CAM", exact=True)).to_have_attribute("aria-selected", "true")
        canvas = phone.locator(CANVAS).bounding_box()  # ready to draw: open_app waited for the weights
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= PHONE["width"] + 1, "canvas fits the screen"
        shoot(phone, screens, "12-phone-gradcam")
    finally:
        phone.context.close()


def test_phone_layout_of_the_compare_tab(browser, app_url, requests_made, screens):
    """On a phone every tab is in sight (they wrap onto more rows); the maps wrap to the screen."""
    phone = open_app(browser, app_url, requests_made, PHONE, is_mobile=True, has_touch=True)
    try:
        draw(phone, DIGIT_STROKES[7])
        expect_prediction(phone, 7)
        phone.get_by_role("tab", name="Compare methods", exact=True).click()
        compare_the_drawing(phone)
        maps = phone.locator("#compare-maps").bounding_box()
        assert maps["x"] >= 0 and maps["x"] + maps["width"] <= PHONE["width"] + 1, "the maps fit the screen"
        shoot(phone, screens, "13-phone-compare")
    finally:
        phone.context.close()


def test_drawing_works_in_another_language(browser, app_url, requests_made):
    """Gradio translates its labels, so the page script must not rely on them."""
    spanish = open_app(browser, app_url, requests_made, DESKTOP, locale="es-ES")
    try:
        expect(spanish.locator("footer")).to_contain_text("Construido con Gradio")  # really another language
        draw(spanish, VERTICAL_ONE)
        expect_prediction(spanish, 1)
    finally:
        spanish.context.close()


def test_no_request_leaves_the_machine(page, requests_made):
    """Run last: by now every tab was opened. No web fonts, CDNs or analytics: a classroom may be offline."""
    go_to_tab(page, "Grad-CAM")
    assert any(urlparse(url).path.startswith("/gradio_api/") for url in requests_made.urls), \
        "the log saw the page talk to the server"
    assert requests_made.foreign() == []
