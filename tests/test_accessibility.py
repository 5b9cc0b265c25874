"""The page for everyone (issue 19): no serious or critical WCAG 2.1 A/AA violation on any tab, on a desktop
screen and on a phone, as axe-core finds them in Chromium; the live prediction told to screen readers; every
control reachable with the keyboard; the canvas saying what it is for.

axe-core comes from npm (package.json pins it; ./run-tests installs it into node_modules/) and is injected into
the page under test: the app never serves it.
"""
from __future__ import annotations

import pytest

from harness.app_server import ROOT, running_app
from harness.browser import draw_digit, open_page
from harness.strokes import DIGIT_STROKES

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT = 90_000  # ms: first paint of the page, on a loaded 2-core machine
ANSWER_TIMEOUT = 60_000
HEAVY_TIMEOUT = 240_000  # ms: the twelve methods, the filters' figures, the first maximization
CANVAS = "#draw-pad canvas"
# What each tab shows once it has loaded: axe checks the page as a student sees it, not half drawn.
LOADED = {"Grad-CAM": "#live-views .cnn-live[data-predicted]", "Compare methods": "#compare-maps img",
          "Experiments": "#adversarial", "Filters": "#feature-maps img", "Activation Maximization": "#maximization img",
          "Model": "#confusion img"}


@pytest.fixture(scope="module")
def app_url():
    assert AXE.exists(), f"{AXE.relative_to(ROOT)} is missing: ./run-tests installs it (npm ci)"
    with running_app() as (url, _):
        yield url


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A and AA violations of the page as it is now, serious or critical."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA)
    return [violation for violation in results["violations"] if violation["impact"] in BLOCKING]


def described(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {[n['target'] for n in v['nodes']][:4]}"
            for v in violations]


# Gradio dims an output while its event runs, and fades it back in: a colour half way has less contrast.
EVENTS_DONE = """() => [...document.querySelectorAll('[data-testid="status-tracker"]')]
    .every((tracker) => tracker.classList.contains("hide"))"""
FADE_MS = 600


def settled(page) -> None:
    """Wait until no event of the page is running, and the outputs have faded back in."""
    page.wait_for_function(EVENTS_DONE, timeout=HEAVY_TIMEOUT)
    page.wait_for_timeout(FADE_MS)


def visit_every_tab(page, on_tab=lambda page, tab: None) -> dict[str, list[str]]:
    """Each tab in turn, once it has loaded (and ``on_tab`` has run): its blocking violations, by tab."""
    found = {}
    for tab, loaded in LOADED.items():
        button = page.get_by_role("tab", name=tab, exact=True)
        button.click()
        expect(button).to_have_attribute("aria-selected", "true")
        on_tab(page, tab)
        page.locator(loaded).first.wait_for(state="attached", timeout=HEAVY_TIMEOUT)
        settled(page)
        found[tab] = described(axe_violations(page))
    return found


def compare_first(page, tab: str) -> None:
    """On the Compare tab, the twelve maps, their scores and curves: the tab's tables and figures shown too."""
    if tab == "Compare methods":
        page.get_by_role("button", name="Compare the twelve methods on this image").click()
        expect(page.locator("#compare-maps img")).to_have_count(13, timeout=HEAVY_TIMEOUT)


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_no_serious_or_critical_violation_on_any_tab(browser, app_url, requests_made, screen):
    options = dict(viewport=DESKTOP) if screen == "desktop" else dict(viewport=PHONE, is_mobile=True, has_touch=True)
    page = open_page(browser, app_url, requests_made, options.pop("viewport"), LOAD_TIMEOUT, **options)
    page.set_default_timeout(ANSWER_TIMEOUT)
    try:
        draw_digit(page, DIGIT_STROKES[7], CANVAS, touch=screen == "phone")
        expect(page.locator("#live-views .cnn-live")).to_have_attribute("data-predicted", "7", timeout=ANSWER_TIMEOUT)
        found = visit_every_tab(page, compare_first)
        print(f"\naxe-core {screen}: " + "; ".join(f"{tab}: {len(rules)} rules" for tab, rules in found.items()))
        assert {tab: rules for tab, rules in found.items() if rules} == {}
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def page(browser, app_url, requests_made):
    page = open_page(browser, app_url, requests_made, DESKTOP, LOAD_TIMEOUT, locale="en-US")
    page.set_default_timeout(ANSWER_TIMEOUT)
    yield page
    page.context.close()


def test_the_canvas_says_what_it_is_for(page):
    canvas = page.locator(CANVAS)
    expect(canvas).to_have_attribute("role", "img")
    expect(canvas).to_have_accessible_name("Drawing pad: draw with the mouse, a pen or a finger. The prediction is "
                                           "read out as it changes.")
    expect(canvas).to_have_accessible_description("Draw a digit, big and centred: the network follows your pen, "
                                                  "in your browser.")


def test_the_live_prediction_is_announced_once_the_pen_rests(page):
    """A polite live region says the prediction; the status beside the pictures, rewritten at every frame of a
    stroke, is not one (a screen reader would read every frame)."""
    announcement = page.locator("#live-announcement")
    expect(announcement).to_have_attribute("aria-live", "polite")
    expect(page.locator("#live-status")).not_to_have_attribute("aria-live", "polite")
    expect(page.locator("#draw-pad .cnn-summary")).to_have_attribute("aria-live", "off")
    draw_digit(page, DIGIT_STROKES[7], CANVAS)
    expect(announcement).to_have_text("Prediction: 7, 100% sure.", timeout=ANSWER_TIMEOUT)
    page.locator("#draw-pad .cnn-clear").click()
    expect(announcement).to_contain_text("Draw a digit")


# The controls a student of the Grad-CAM tab uses, by what a screen reader calls them.
KEYBOARD_STOPS = ["radio MNIST", "checkbox 📽️ Projector view: larger type and pictures, for the back row",
                  "tab Grad-CAM", "tab Compare methods", "tab Experiments", "tab Filters",
                  "tab Activation Maximization", "tab Model", "tab ✏️ Draw", "tab 🗂️ Test images", "tab 📁 Upload",
                  "button ↶ Undo", "button 🗑️ Clear", "combobox Target class for the heatmap", "radio Grad-CAM",
                  "button All ten classes, counterfactual and guided backprop"]
FOCUSED = """() => {
  const node = document.activeElement;
  const role = node.getAttribute("role") || {INPUT: node.type === "text" ? "combobox" : node.type,
                                              BUTTON: "button", A: "link"}[node.tagName] || node.tagName.toLowerCase();
  const label = node.getAttribute("aria-label") || (node.labels && node.labels[0]?.textContent)
    || node.textContent || "";
  return `${role} ${label.replace(/\\s+/g, " ").trim()}`;
}"""


def test_every_control_is_reachable_with_the_keyboard(page):
    page.get_by_role("tab", name="Grad-CAM", exact=True).click()
    page.get_by_text("What does a CNN see?").click()  # Tab goes on from the top of the page
    reached = []
    for _ in range(200):  # the whole page once: the live panel's maps and bars are stops too
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED))
        if reached[-1] == reached[0] and len(reached) > 1:
            break
    missing = [stop for stop in KEYBOARD_STOPS if not any(seen.startswith(stop) for seen in reached)]
    assert missing == [], f"not reachable with Tab: {missing}; reached: {reached}"
