"""The app in a real browser: ``demo.py`` started as a process, driven with Playwright and Chromium.

A student's path through the page: draw digits with the mouse on the Sketchpad, read the prediction,
clear, visit every tab; meanwhile no request may leave the machine (a classroom may have no internet).
Full-page screenshots of each state go to $SCREENSHOT_DIR (default: a pytest temporary folder), to look at.

Needs Chromium: $CHROMIUM, else /usr/bin/chromium or the one Playwright installed; skipped without one.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from harness.app_server import running_app
from harness.strokes import DIGIT_STROKES

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Generous: a loaded 2-core CI machine runs TensorFlow, the server and Chromium at once.
LOAD_TIMEOUT = 90_000  # ms: first paint of the page
PREDICTION_TIMEOUT = 60_000  # ms: a drawing's prediction and heatmap
HEAVY_TIMEOUT = 240_000  # ms: activation maximization, the filters' figures

BRUSH = "#sketchpad .toolbar-wrap button"  # the first tool, aria-label="Brush" (translated: "Pincel", ...)
CLEAR = "#sketchpad button[aria-label='Clear canvas']"
PREDICTED_CLASS = "#probabilities [data-testid='label-output-value']"
SELECTED = re.compile(r"\bhighlight\b")  # the class of the Sketchpad's active tool


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # let Playwright use a browser it installed, if any


class RequestLog:
    """Every URL the pages ask for, requests and WebSockets."""

    def __init__(self):
        self.urls: list[str] = []

    def watch(self, context) -> None:
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", lambda page: page.on("websocket", lambda ws: self.urls.append(ws.url)))

    def foreign(self) -> list[str]:
        return [url for url in self.urls
                if urlparse(url).scheme not in ("data", "blob", "about") and urlparse(url).hostname not in LOCAL_HOSTS]


@pytest.fixture(scope="module")
def app_url():
    with running_app() as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        except playwright_api.Error as err:
            pytest.fail(f"no usable Chromium (apt install chromium): {str(err).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def requests_made() -> RequestLog:
    return RequestLog()


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_app(browser, url: str, log: RequestLog, viewport: dict, **context_options):
    context = browser.new_context(viewport=viewport, **context_options)
    log.watch(context)
    page = context.new_page()
    page.set_default_timeout(PREDICTION_TIMEOUT)
    page.goto(url, timeout=LOAD_TIMEOUT)
    expect(page.locator("#sketchpad canvas").first).to_be_visible(timeout=LOAD_TIMEOUT)
    return page


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    """One desktop page, shared by the tests in file order as a student would use it."""
    page = open_app(browser, app_url, requests_made, DESKTOP, locale="en-US")
    yield page
    page.context.close()


def shoot(page, screens: Path, name: str) -> None:
    path = screens / f"{name}.png"
    page.screenshot(path=path, full_page=True, animations="disabled")
    assert path.stat().st_size > 10_000, f"{path} looks blank"


def image_block(page, elem_id: str):
    """The gr.Image with this elem_id."""
    return page.locator(f"#{elem_id}")


def shown_image(page, elem_id: str, timeout: float = PREDICTION_TIMEOUT) -> str:
    """Wait until the component ``elem_id`` (a gr.Image, or the first picture of an HTML grid) shows a
    loaded picture; its src."""
    picture = image_block(page, elem_id).locator("img").first
    expect(picture).to_be_visible(timeout=timeout)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(),
                           timeout=timeout)
    return picture.get_attribute("src")


def go_to_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def ensure_brush(page) -> None:
    """Select the Sketchpad's brush if the page's own script has not (yet)."""
    brush = page.locator(BRUSH).first
    if not SELECTED.search(brush.get_attribute("class") or ""):
        brush.click()  # harmless if the script selected it meanwhile: the brush stays selected
    expect(brush).to_have_class(SELECTED)


def draw(page, strokes, scale: float = 0.7) -> None:
    """Drag the mouse along polylines given in a unit box (x right, y down), over the drawing area.

    The 400x400 drawing sits in the middle of the canvas element, zoomed to fit its shorter side.
    """
    ensure_brush(page)
    box = page.locator("#sketchpad canvas").first.bounding_box()
    side = 0.8 * min(box["width"], box["height"])  # inside the white drawing area
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return left + (0.5 + (x - 0.5) * scale) * side, top + (0.5 + (y - 0.5) * scale) * side

    for stroke in strokes:
        x, y = at(*stroke[0])
        page.mouse.move(x, y)
        page.mouse.down()
        for point in stroke[1:]:
            to_x, to_y = at(*point)
            # about one pointer event per 20 px: each one costs a software-rendered frame, slow on CI
            page.mouse.move(to_x, to_y, steps=max(1, round(math.hypot(to_x - x, to_y - y) / 20)))
            x, y = to_x, to_y
        page.mouse.up()


def clear_canvas(page) -> None:
    page.locator(CLEAR).click()
    expect(page.locator("#status")).to_contain_text("Draw a digit", timeout=PREDICTION_TIMEOUT)


def expect_prediction(page, digit: int) -> None:
    expect(page.locator(PREDICTED_CLASS)).to_have_text(str(digit), timeout=PREDICTION_TIMEOUT)
    expect(page.locator("#status")).to_contain_text("Prediction")
    shown_image(page, "model-view")
    shown_image(page, "heatmap")


VERTICAL_ONE = [[(0.5, 0.0), (0.5, 1.0)]]  # one straight downward drag


def test_grad_cam_tab_comes_first_with_the_brush_selected(page, screens):
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_have_text("Grad-CAM")
    expect(tabs.first).to_have_attribute("aria-selected", "true")
    for name in ("Filters", "Activation Maximization", "Model"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()
    expect(page.locator("#sketchpad")).to_be_visible()
    brush = page.locator(BRUSH).first
    expect(brush).to_have_attribute("aria-label", "Brush")
    # SELECT_BRUSH_JS finds the tools by position, as their labels are translated
    expect(page.locator("#sketchpad .top-panel button:last-of-type")).to_have_attribute("aria-label", "Clear canvas")
    # demo.py's SELECT_BRUSH_JS clicks it on load: the student can draw at once
    expect(brush).to_have_class(SELECTED, timeout=30_000)
    expect(page.locator("#status")).to_contain_text("Draw a digit")
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
    expect(image_block(page, "heatmap").locator("img")).to_have_count(0)
    expect(image_block(page, "model-view").locator("img")).to_have_count(0)
    expect(page.locator(PREDICTED_CLASS)).to_have_count(0)
    # the brush is selected again after "Clear canvas" (SELECT_BRUSH_JS), ready for the next digit
    expect(page.locator(BRUSH).first).to_have_class(SELECTED, timeout=10_000)
    shoot(page, screens, "05-cleared")


def test_filters_tab_shows_the_learned_filters(page, screens):
    go_to_tab(page, "Filters")
    shown_image(page, "conv1-weights", HEAVY_TIMEOUT)
    shown_image(page, "conv2-kernels", HEAVY_TIMEOUT)
    shown_image(page, "feature-maps", HEAVY_TIMEOUT)
    expect(page.get_by_text("Filter activity on 1,000 test images")).to_be_visible()
    shoot(page, screens, "06-filters")


def test_activation_maximization_tab_synthesizes(page, screens):
    go_to_tab(page, "Activation Maximization")
    label = "maximization"
    first = shown_image(page, label, HEAVY_TIMEOUT)  # synthesized when the tab opens
    shoot(page, screens, "07-maximization")

    layer = page.get_by_label("Layer (logits: one image per class)")
    layer.click()
    page.get_by_role("option", name="conv2", exact=True).click()
    expect(layer).to_have_value("conv2")
    page.get_by_role("button", name="Synthesize", exact=True).click()
    picture = image_block(page, label).locator("img").first
    expect(picture).not_to_have_attribute("src", first, timeout=HEAVY_TIMEOUT)
    shown_image(page, label, HEAVY_TIMEOUT)
    shoot(page, screens, "08-maximization-conv2")


def test_model_tab_shows_the_card_and_training_form(page, screens):
    go_to_tab(page, "Model")
    expect(page.locator("#model-card")).to_contain_text("test accuracy")
    expect(page.get_by_role("button", name="Train a new model")).to_be_visible()
    expect(page.get_by_role("button", name="Train a new model")).to_be_enabled()  # a local server may train
    expect(page.get_by_role("slider", name="range slider for Epochs")).to_be_visible()
    expect(page.locator("#training-progress")).to_contain_text("No training yet")
    shoot(page, screens, "09-model")


def test_phone_layout_of_the_grad_cam_tab(browser, app_url, requests_made, screens):
    phone = open_app(browser, app_url, requests_made, PHONE, is_mobile=True, has_touch=True)
    try:
        expect(phone.get_by_role("tab", name="Grad-CAM", exact=True)).to_have_attribute("aria-selected", "true")
        expect(phone.locator(BRUSH).first).to_have_class(SELECTED, timeout=30_000)
        canvas = phone.locator("#sketchpad canvas").first.bounding_box()
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= PHONE["width"] + 1, "canvas fits the screen"
        shoot(phone, screens, "10-phone-gradcam")
    finally:
        phone.context.close()


def test_brush_is_preselected_in_another_language(browser, app_url, requests_made):
    """The brush's aria-label is translated, so the page script must not rely on it."""
    spanish = open_app(browser, app_url, requests_made, DESKTOP, locale="es-ES")
    try:
        brush = spanish.locator(BRUSH).first
        expect(brush).to_have_class(SELECTED, timeout=30_000)
        expect(brush).not_to_have_attribute("aria-label", "Brush")  # really another language
    finally:
        spanish.context.close()


def test_no_request_leaves_the_machine(page, requests_made):
    """Run last: by now every tab was opened. No web fonts, CDNs or analytics: a classroom may be offline."""
    go_to_tab(page, "Grad-CAM")
    assert any(urlparse(url).path.startswith("/gradio_api/") for url in requests_made.urls), \
        "the log saw the page talk to the server"
    assert requests_made.foreign() == []
