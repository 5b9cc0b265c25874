"""The Experiments tab in a real browser: ``demo.py`` (on the shipped models and the variants of
tests/experiment_models.py) driven with Playwright and Chromium, on a desktop screen and on a phone.

A student's path: choose a test image on the Grad-CAM tab, open the Experiments tab, run every experiment.
Screenshots of each go to $SCREENSHOT_DIR (default: a pytest temporary folder), to look at.
"""
from __future__ import annotations

import pytest

from harness.browser import open_page, shoot
from tests.experiment_models import experiments_app

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT = 90_000  # ms: first paint of the page, on a loaded 2-core machine
ANSWER_TIMEOUT = 120_000  # ms: one experiment (the deeper network's first maximizations: 10-20 s)
CURVE_TIMEOUT = 300_000  # ms: the robustness curve's first computation (under a minute here, alone)
TEST_IMAGE = 1  # MNIST's second test image, a 2


@pytest.fixture(scope="module")
def app_url(request, tmp_path_factory) -> str:
    return experiments_app(request.config, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    """One desktop page, shared by the tests in file order as a student would use it."""
    page = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT, locale="en-US")
    page.set_default_timeout(ANSWER_TIMEOUT)
    yield page
    page.context.close()


def choose_test_image(page, index: int = TEST_IMAGE) -> None:
    """On the Grad-CAM tab's test-image browser, the image ``index`` (its number box; leaving it sends it)."""
    page.get_by_role("tab", name="🗂️ Test images").click()
    box = page.get_by_label("number input for sample_idx (test image)")
    box.fill(str(index))
    box.blur()
    expect(page.locator("#status")).to_contain_text(f"Test image #{index}", timeout=ANSWER_TIMEOUT)


def open_section(page, title: str) -> None:
    """Open the Experiments tab's accordion of that title (a click toggles it: only for a closed one)."""
    page.get_by_text(title, exact=True).click()


def pictures_shown(page, elem_id: str, count: int, timeout: float = ANSWER_TIMEOUT) -> None:
    """Wait until the HTML ``elem_id`` holds ``count`` pictures, scrolled into view, the first loaded."""
    pictures = page.locator(f"#{elem_id} img")
    expect(pictures).to_have_count(count, timeout=timeout)
    # Gradio's pictures load lazily: one far below the screen stays empty until the student scrolls to it.
    pictures.first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=pictures.first.element_handle())


def shoot_from(page, screens, elem_id: str, name: str) -> None:
    """A screenshot of the screen scrolled so that ``elem_id`` starts at its top (the controls just above)."""
    page.locator(f"#{elem_id}").evaluate("(el) => { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -120); }")
    shoot(page, screens, name, full_page=False)


def fits_the_screen(page, elem_id: str, width: int) -> None:
    box = page.locator(f"#{elem_id}").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, f"#{elem_id} is wider than the screen"


def test_an_adversarial_example_of_a_test_image(page, screens):
    choose_test_image(page)
    page.get_by_role("tab", name="Experiments", exact=True).click()
    page.get_by_role("button", name="Attack this image").click()
    pictures_shown(page, "adversarial", 3 + 8)
    expect(page.locator("#adversarial")).to_contain_text("2 became 3")
    expect(page.locator("#adversarial")).to_contain_text("Where did the evidence move?")
    shoot_from(page, screens, "adversarial", "experiments-01-adversarial")


@pytest.mark.parametrize("section, button, output, pictures, says, name", [
    ("🔁 Feature inversion: what each layer keeps", "Reconstruct this image from every layer", "inversion", 6,
     "from logits", "experiments-02-inversion"),
    ("🎨 Style transfer: this image in the style of another", "Transfer the style", "style-transfer", 3,
     "Fashion-MNIST (Ankle boot)", "experiments-03-style"),
])
def test_an_experiment_on_the_image(page, screens, section, button, output, pictures, says, name):
    open_section(page, section)
    page.get_by_role("button", name=button).click()
    pictures_shown(page, output, pictures)
    expect(page.locator(f"#{output}")).to_contain_text(says)
    shoot_from(page, screens, output, name)


def test_seeds_compared_across_datasets(page, screens):
    open_section(page, "🌱 Seeds compared: do two trainings learn the same filters?")
    networks = page.get_by_label("Networks")
    networks.click()
    page.get_by_role("option", name="MNIST vs Fashion-MNIST, both shipped (the same seed-0 start)").click()
    page.get_by_role("button", name="Match their filters").click()
    pictures_shown(page, "filter-matching", 16)
    expect(page.locator("#filter-matching")).to_contain_text("Both started from the same untrained network")
    shoot_from(page, screens, "filter-matching", "experiments-04-seeds")


def test_deeper_network(page, screens):
    open_section(page, "🧱 Deeper network: two conv blocks or three?")
    page.get_by_role("button", name="Show both networks (filters, synthesized images, Grad-CAM of this image)").click()
    expect(page.locator("#three-blocks")).to_contain_text("at conv3 (7x7 maps)", timeout=ANSWER_TIMEOUT)
    pictures_shown(page, "two-blocks", 1 + 2 + 16)  # Grad-CAM, two weight figures, 16 synthesized images
    pictures_shown(page, "three-blocks", 1 + 3 + 24)
    two, three = (page.locator(f"#{side}").bounding_box() for side in ("two-blocks", "three-blocks"))
    assert two["x"] + two["width"] <= three["x"] + 1, "side by side on a desktop"
    shoot_from(page, screens, "two-blocks", "experiments-05-deeper")


def test_robustness_curve(page, screens):
    """Last of the desktop's: its first computation is the longest."""
    open_section(page, "📉 Robustness curve of the shipped models")
    page.get_by_role("button", name="Attack 1,000 test images of each dataset").click()
    pictures_shown(page, "robustness-curve", 1, CURVE_TIMEOUT)
    expect(page.locator("#targeted-success")).to_contain_text("Fashion-MNIST")
    shoot_from(page, screens, "robustness-curve", "experiments-06-robustness")
    shoot(page, screens, "experiments-07-whole-tab")


def test_phone_layout(browser, app_url, requests_made, screens):
    """On a phone every tab is in sight (they wrap onto more rows); the pictures wrap to the screen."""
    phone = open_page(browser, app_url, requests_made, PHONE, LOAD_TIMEOUT, is_mobile=True, has_touch=True)
    phone.set_default_timeout(ANSWER_TIMEOUT)
    try:
        choose_test_image(phone)
        phone.get_by_role("tab", name="Experiments", exact=True).click()
        phone.get_by_role("button", name="Attack this image").click()
        pictures_shown(phone, "adversarial", 11)
        fits_the_screen(phone, "adversarial", PHONE["width"])
        shoot_from(phone, screens, "adversarial", "experiments-08-phone-adversarial")
        open_section(phone, "🧱 Deeper network: two conv blocks or three?")
        phone.get_by_role("button", name="Show both networks (filters, synthesized images, Grad-CAM of this image)") \
            .click()
        pictures_shown(phone, "three-blocks", 1 + 3 + 24)
        for side in ("two-blocks", "three-blocks"):
            fits_the_screen(phone, side, PHONE["width"])
        two, three = (phone.locator(f"#{side}").bounding_box() for side in ("two-blocks", "three-blocks"))
        assert three["y"] >= two["y"] + two["height"] - 1, "one above the other on a phone"
        shoot_from(phone, screens, "two-blocks", "experiments-09-phone-deeper")
    finally:
        phone.context.close()
