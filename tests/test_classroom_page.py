"""The page as a class uses it (issue 19): the test-image browser, results that belong to the dataset they are
shown under, the header after a training, the projector view, the phone, views that need no drawing.

``demo.py`` started as a process, driven with Playwright and Chromium as tests/test_browser.py does. Screenshots
of the projector view and of every tab on a phone go to $SCREENSHOT_DIR (default: a pytest temporary folder).
"""
from __future__ import annotations

import re

import pytest

from harness.browser import RequestLog, draw_digit, open_page, shoot
from harness.strokes import DIGIT_STROKES

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PROJECTOR = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT = 90_000  # ms: first paint of the page, on a loaded 2-core machine
ANSWER_TIMEOUT = 60_000  # ms: one light view
HEAVY_TIMEOUT = 240_000  # ms: the twelve methods, the deeper network's first maximizations
TRAINING_TIMEOUT = 600_000  # ms: one epoch on 60,000 images, at idle priority, beside the other tests
TABS = ["Grad-CAM", "Compare methods", "Experiments", "Filters", "Activation Maximization", "Model"]

STATUS = "#status"  # the server's words about a test image or an upload
LIVE = "#live-views .cnn-live"
CANVAS = "#draw-pad canvas"
# The number box of the only slider in sight (the Grad-CAM tab's test images): its label changes with the list.
NUMBER_BOX = "input[type=number][aria-label^='number input for']:visible"


@pytest.fixture(scope="module", autouse=True)
def patient_assertions():
    """expect() waits as long as a loaded 2-core machine needs (Playwright's default: 5 s), in this file only."""
    expect.set_options(timeout=ANSWER_TIMEOUT)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    """One desktop page, shared by the tests in file order as a student would use it."""
    page = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT, locale="en-US")
    page.set_default_timeout(ANSWER_TIMEOUT)
    yield page
    page.context.close()


def go_to_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def choose_dataset(page, title: str) -> None:
    page.get_by_role("radio", name=title, exact=True).first.check()  # the header's: the first in the page


def no_error_shown(page) -> None:
    """Gradio's error toasts: none may have appeared."""
    expect(page.locator(".toast-body")).to_have_count(0)


def clear_canvas(page) -> None:
    page.locator("#draw-pad .cnn-clear").click()
    expect(page.locator("#live-status")).to_contain_text("Draw")


def show_test_image(page, index: int) -> None:
    """On the Grad-CAM tab's test images, image ``index``, sent as Gradio's slider sends it (on leaving the box)."""
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="🗂️ Test images").click()
    page.get_by_label("Only images the model gets wrong").uncheck()  # all 10,000 of them
    number = page.locator(NUMBER_BOX).first
    expect(number).to_have_attribute("max", "9999")
    number.fill(str(index))
    number.press("Tab")
    expect(page.locator(STATUS)).to_contain_text(f"Test image #{index},")


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


# -- the test-image browser (items 1, 4 and 9) ------------------------------------------------------------------
def test_the_test_images_tab_opens_on_a_test_image(page):
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="🗂️ Test images").click()
    expect(page.locator(STATUS)).to_contain_text("Test image #0, labelled 7")
    expect(page.locator("#views img")).to_have_count(2)  # the image and its heatmap, not grey boxes


def test_enter_in_the_number_box_shows_that_image(page):
    number = page.locator(NUMBER_BOX).first
    number.fill("1234")
    number.press("Enter")
    expect(page.locator(STATUS)).to_contain_text("Test image #1234")
    assert number.evaluate("(box) => box === document.activeElement"), "the keyboard's focus stays in the box"


def test_a_new_target_or_method_keeps_the_test_image_line(page):
    show_test_image(page, 1234)
    page.get_by_role("radio", name="HiResCAM", exact=True).check()
    expect(page.locator(STATUS)).to_contain_text("Red: where the evidence")
    expect(page.locator(STATUS)).to_contain_text("Test image #1234")
    page.get_by_role("radio", name="Grad-CAM", exact=True).check()
    expect(page.locator(STATUS)).to_contain_text("Test image #1234")


def draw_at_random(page) -> None:
    """🎲, until the image shown changes (the same one twice in a row is a 1-in-100 chance)."""
    before = page.locator(STATUS).inner_text()
    for _ in range(3):
        page.get_by_role("button", name="🎲 Random test image").click()
        try:
            expect(page.locator(STATUS)).not_to_have_text(before, timeout=20_000)
            return
        except AssertionError:
            continue
    raise AssertionError("🎲 does not change the test image")


def test_random_misclassified_images_stay_among_the_misclassified(page):
    """🎲 with "Only images the model gets wrong": a number of that list, never a test image's own index."""
    page.get_by_label("Only images the model gets wrong").check()
    expect(page.locator(STATUS)).to_contain_text("❌ The model gets this one wrong")
    number = page.locator(NUMBER_BOX).first
    largest = int(number.get_attribute("max"))
    assert 0 < largest < 1000, "the slider spans the misclassified images"
    for _ in range(3):
        draw_at_random(page)
        expect(page.locator(STATUS)).to_contain_text("❌ The model gets this one wrong")
        assert 0 <= int(number.input_value()) <= largest
    no_error_shown(page)
    page.get_by_label("Only images the model gets wrong").uncheck()
    expect(page.locator(NUMBER_BOX).first).to_have_attribute("max", "9999")
    expect(page.locator(STATUS)).to_contain_text("Test image #0, labelled 7")


# -- results belong to the dataset they are shown under (item 2) -----------------------------------------------
# Every change of the page records the Compare tab's title beside the dataset chosen at that moment.
RECORD_COMPARE_TITLES = """() => {
  window.compareTitles = [];
  const chosen = () => [...document.querySelectorAll("input[type=radio]")]  // the header's come first
    .find((input) => input.checked)?.closest("label")?.textContent.trim();
  new MutationObserver(() => {
    const title = document.querySelector("#compare-maps p b")?.textContent ?? "";
    if (title) window.compareTitles.push([chosen(), title]);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def test_a_result_asked_before_a_dataset_switch_does_not_land_after_it(page):
    show_test_image(page, 3)  # an MNIST test image is the session's image
    go_to_tab(page, "Compare methods")
    page.evaluate(RECORD_COMPARE_TITLES)
    compare = page.get_by_role("button", name="Compare the twelve methods on this image")
    compare.click()
    page.wait_for_timeout(300)
    choose_dataset(page, "Fashion-MNIST")  # while the server computes MNIST's twelve maps
    expect(page.locator(STATUS)).to_contain_text("Dataset changed")
    # A Fashion-MNIST image and its comparison: the heavy views run one after the other, so by the time this
    # one is shown, MNIST's has been computed, and has had every chance to land.
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="🗂️ Test images").click()
    page.locator(NUMBER_BOX).first.fill("0")
    page.locator(NUMBER_BOX).first.press("Tab")
    expect(page.locator(STATUS)).to_contain_text("Test image #0, labelled Ankle boot")
    go_to_tab(page, "Compare methods")
    compare.click()
    expect(page.locator("#compare-maps")).to_contain_text("Evidence for", timeout=HEAVY_TIMEOUT)
    titles = page.evaluate("window.compareTitles")
    assert titles, "the observer saw the comparison"
    under_fashion = {title for dataset, title in titles if dataset == "Fashion-MNIST"}
    assert all(title.startswith("Evidence for") and not title[len("Evidence for "):][0].isdigit()
               for title in under_fashion), f"an MNIST result shown under Fashion-MNIST: {under_fashion}"


def test_the_draw_tab_asks_for_what_the_dataset_holds(page):
    """On Fashion-MNIST the pad asks for clothes, not a digit."""
    choose_dataset(page, "Fashion-MNIST")
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="✏️ Draw").click()
    expect(page.locator("#draw-pad .cnn-hint")).to_contain_text("piece of clothing")
    expect(page.locator("#live-status")).to_contain_text("piece of clothing")
    expect(page.locator("#draw-pad .cnn-hint")).not_to_contain_text("digit")
    choose_dataset(page, "MNIST")
    expect(page.locator("#draw-pad .cnn-hint")).to_contain_text("a digit")


def test_the_heatmap_names_the_method_it_falls_back_to(page):
    """Grad-CAM finds no evidence for an MNIST 0 (see the README): the heatmap is HiResCAM's, and says so."""
    choose_dataset(page, "MNIST")
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="✏️ Draw").click()
    expect(page.locator(LIVE)).to_have_attribute("data-dataset", "mnist")
    clear_canvas(page)
    draw_digit(page, DIGIT_STROKES[0], CANVAS)
    expect(page.locator(LIVE)).to_have_attribute("data-predicted", "0")
    expect(page.locator("#live-status")).to_contain_text("The heatmap shows HiResCAM instead")
    expect(page.locator("#live-heatmap .cnn-method")).to_contain_text("HiResCAM")
    clear_canvas(page)
    expect(page.locator("#live-heatmap .cnn-method")).to_have_text("Grad-CAM")


# -- views that need no drawing (item 7) -----------------------------------------------------------------------
def test_comparing_networks_needs_no_drawing(page, screens):
    """The canvas empty, the Draw tab open: the filters are still matched, and both networks shown, only without
    the Grad-CAM of an image."""
    go_to_tab(page, "Grad-CAM")
    page.get_by_role("tab", name="✏️ Draw").click()
    clear_canvas(page)
    go_to_tab(page, "Experiments")
    page.get_by_text("🌱 Seeds compared: do two trainings learn the same filters?", exact=True).click()
    page.get_by_role("button", name="Match their filters").click()
    expect(page.locator("#filter-matching img")).to_have_count(16, timeout=HEAVY_TIMEOUT)
    page.get_by_text("🧱 Deeper network: two conv blocks or three?", exact=True).click()
    page.get_by_role("button", name="Show both networks (filters, synthesized images, Grad-CAM of this image)").click()
    for column in ("#two-blocks", "#three-blocks"):
        expect(page.locator(column)).to_contain_text("The conv filters", timeout=HEAVY_TIMEOUT)
        expect(page.locator(column)).to_contain_text("Draw, choose or upload an image")
    no_error_shown(page)
    shoot(page, screens, "classroom-experiments-without-drawing")


# -- the projector view (item 5) --------------------------------------------------------------------------------
def font_px(page, selector: str) -> float:
    return page.locator(selector).first.evaluate("(node) => parseFloat(getComputedStyle(node).fontSize)")


def text_grows_to(page, selector: str, px: float) -> None:
    """Wait until the text of ``selector`` is at least ``px`` high (the theme eases sizes in)."""
    page.wait_for_function("([selector, px]) => parseFloat(getComputedStyle(document.querySelector(selector))"
                           ".fontSize) >= px", arg=[selector, px])


def test_the_projector_view_is_one_switch_away(browser, app_url, requests_made, screens):
    """1440x900: larger type and pictures, and the controls beside the heatmap they redraw, both in sight."""
    page = open_page(browser, app_url, requests_made, PROJECTOR, LOAD_TIMEOUT, locale="en-US")
    page.set_default_timeout(ANSWER_TIMEOUT)
    try:
        body_before = page.get_by_text("A deliberately tiny convolutional network").evaluate(
            "(node) => parseFloat(getComputedStyle(node).fontSize)")
        page.locator("#projector").get_by_role("checkbox").check()  # the one switch
        expect(page.locator("html")).to_have_class(re.compile(r"\bcnn-projector\b"))
        assert body_before < 18
        text_grows_to(page, "#live-status", 22)
        notes_text = page.get_by_text("Grad-CAM takes the gradient of a class score", exact=False)
        assert notes_text.evaluate("(node) => parseFloat(getComputedStyle(node).fontSize)") >= 18
        draw_digit(page, DIGIT_STROKES[7], CANVAS)
        expect(page.locator(LIVE)).to_have_attribute("data-predicted", "7")
        page.evaluate("window.scrollTo(0, 0)")
        canvas, controls, heatmap = box(page, CANVAS), box(page, "#cam-controls"), box(page, "#live-heatmap")
        assert controls["x"] >= canvas["x"] + canvas["width"], "the target and method sit beside the canvas"
        assert controls["y"] + controls["height"] <= heatmap["y"], "above the heatmap they redraw"
        assert heatmap["y"] + heatmap["height"] <= PROJECTOR["height"], "the heatmap in sight, not scrolled away"
        assert box(page, "#live-heatmap .cnn-overlay")["width"] >= 240
        shoot(page, screens, "projector-1-gradcam", full_page=False)

        go_to_tab(page, "Compare methods")
        page.get_by_role("button", name="Compare the twelve methods on this image").click()
        expect(page.locator("#compare-maps img")).to_have_count(13, timeout=HEAVY_TIMEOUT)
        assert box(page, "#compare-maps img")["width"] >= 160
        assert font_px(page, "#compare-maps figcaption") >= 16
        page.get_by_text("Every method over the test set", exact=True).click()
        table, last = box(page, "#method-table"), box(page, "#method-table th:last-child")
        assert last["x"] + last["width"] <= table["x"] + table["width"] + 1, "the table's last column in sight"
        page.locator("#compare-maps").scroll_into_view_if_needed()
        shoot(page, screens, "projector-2-compare", full_page=False)
        for number, tab in enumerate(TABS[2:], start=3):
            go_to_tab(page, tab)
            page.wait_for_timeout(1500)
            shoot(page, screens, f"projector-{number}-{tab.lower().replace(' ', '-')}", full_page=False)
    finally:
        page.context.close()


# -- the phone (item 6) -----------------------------------------------------------------------------------------
def no_sideways_scroll(page, selector: str) -> None:
    """Nothing inside ``selector`` scrolls sideways, and it ends within the screen."""
    hidden = page.locator(selector).evaluate("""(root) => [root, ...root.querySelectorAll("*")]
        .filter((node) => node.scrollWidth > node.clientWidth + 1 && getComputedStyle(node).overflowX !== "visible"
                          && getComputedStyle(node).overflowX !== "hidden")
        .map((node) => `${node.tagName}.${node.className}: ${node.scrollWidth} > ${node.clientWidth}`)""")
    assert hidden == [], f"{selector} scrolls sideways: {hidden}"
    found = box(page, selector)
    assert found["x"] >= 0 and found["x"] + found["width"] <= PHONE["width"] + 1, f"{selector} is wider than the screen"


def test_the_phone_shows_every_tab_and_the_heatmap_under_the_canvas(browser, app_url, requests_made, screens):
    phone = open_page(browser, app_url, requests_made, PHONE, LOAD_TIMEOUT, is_mobile=True, has_touch=True)
    phone.set_default_timeout(ANSWER_TIMEOUT)
    try:
        for tab in TABS:
            expect(phone.get_by_role("tab", name=tab, exact=True)).to_be_visible()
        expect(phone.get_by_role("button", name="More tabs")).to_have_count(0)
        canvas, heatmap, controls = box(phone, CANVAS), box(phone, "#live-heatmap"), box(phone, "#cam-controls")
        assert canvas["y"] < heatmap["y"] < controls["y"], "canvas, then its heatmap, then the controls"
        assert heatmap["y"] - (canvas["y"] + canvas["height"]) < 200, "the heatmap right under the canvas"
        draw_digit(phone, DIGIT_STROKES[7], CANVAS, touch=True)
        expect(phone.locator(LIVE)).to_have_attribute("data-predicted", "7")
        shoot(phone, screens, "phone-1-grad-cam")

        go_to_tab(phone, "Compare methods")
        phone.get_by_role("button", name="Compare the twelve methods on this image").click()
        expect(phone.locator("#compare-maps img")).to_have_count(13, timeout=HEAVY_TIMEOUT)
        expect(phone.locator("#compare-scores")).to_contain_text("Score-CAM")
        no_sideways_scroll(phone, "#compare-scores")
        insertion = box(phone, "#compare-scores th:last-child")
        assert insertion["x"] + insertion["width"] <= PHONE["width"], "the insertion column in sight"
        phone.get_by_role("button", name="Sanity check: randomize the network, layer by layer").click()
        expect(phone.locator("#sanity table tr")).to_have_count(13, timeout=HEAVY_TIMEOUT)
        no_sideways_scroll(phone, "#sanity")
        shoot(phone, screens, "phone-2-compare-methods")
        for number, tab in enumerate(TABS[2:], start=3):
            go_to_tab(phone, tab)
            phone.wait_for_timeout(1500)
            shoot(phone, screens, f"phone-{number}-{tab.lower().replace(' ', '-')}")
    finally:
        phone.context.close()


# -- after a training (item 3) ----------------------------------------------------------------------------------
def set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(f"number input for {label}")
    field.fill(str(value))
    field.press("Enter")


def test_after_a_training_every_header_shows_the_new_model(browser, training_server, screens):
    url, _ = training_server
    instructor = open_page(browser, url, RequestLog(), DESKTOP, LOAD_TIMEOUT, locale="en-US")
    student = open_page(browser, url, RequestLog(), DESKTOP, LOAD_TIMEOUT, locale="en-US")
    try:
        for page in (instructor, student):
            expect(page.locator("#model-card")).to_contain_text("30 epochs", timeout=ANSWER_TIMEOUT)
        go_to_tab(instructor, "Model")
        set_number(instructor, "Epochs", 1)
        set_number(instructor, "conv1 filters", 4)
        set_number(instructor, "conv2 filters", 4)
        instructor.get_by_label("Batch size").click()
        instructor.get_by_role("option", name="512", exact=True).click()
        instructor.get_by_role("button", name="Train a new model").click()
        progress = instructor.locator("#training-progress")
        expect(progress).to_contain_text("Done in", timeout=TRAINING_TIMEOUT)
        expect(progress).to_contain_text("test accuracy")
        assert "*" not in progress.inner_text(), "the message's emphasis is bold, not asterisks"
        expect(progress.locator("b")).to_have_count(1)
        # A page opened now too: its card came with the page, made for the model served at start-up (ui/header.py).
        latecomer = open_page(browser, url, RequestLog(), DESKTOP, LOAD_TIMEOUT, locale="en-US")
        for page in (instructor, student, latecomer):  # every header, the students' without a click
            expect(page.locator("#model-card")).to_contain_text("1 epoch,", timeout=ANSWER_TIMEOUT)
            expect(page.locator("#model-card")).not_to_contain_text("4,594 parameters")  # the new one has 4 filters
            expect(page.locator("#model-card")).not_to_contain_text("30 epochs")
        shoot(instructor, screens, "classroom-after-training")
        latecomer.context.close()
    finally:
        instructor.context.close()
        student.context.close()
