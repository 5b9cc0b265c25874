"""The class follows the instructor, in Chromium (issue 21): one instructor page and five student pages (two on a
phone viewport).

The instructor shows everyone a drawing from the wall (HiResCAM, a chosen target class), then a test image
(Grad-CAM, the predicted class) to a student who has wandered off to another tab: every student page switches
to it within 2 s of the click, with the right image, target and method, and its own network's views equal the
Python model's for that image. A student steps back to their own drawing and rejoins; a page opened afterwards
lands on what is shown; the instructor shows a photo-like picture of a digit they upload (and a file that is no
picture is refused in words, showing nothing); the wall's button stops it. The wall's table reads the class's
digits with the served model, digit by digit, beside MNIST's test digits. A student's page, without the token,
cannot show anything (through the API and by the events' index). Screenshots go to $SCREENSHOT_DIR (default: a
pytest folder).
"""
from __future__ import annotations

import re
import time

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from cnn.preprocessing import image_to_mnist, load_upload
from harness.app_server import raw_call
from harness.batch_invariance import undecided
from harness.browser import RequestLog, draw_digit, open_page, shoot
from harness.classroom import KEY, class_server, event_index, page_digits
from harness.strokes import DIGIT_STROKES

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
PHONES = (3, 4)  # which of the five students hold a phone
LOAD_TIMEOUT = 90_000  # ms: a loaded 2-core CI machine runs TensorFlow, the server and seven pages at once
SHOW_DELAY = 2.0  # seconds from the instructor's click to the image on every student's page
PROBABILITY_TOLERANCE = 1e-5  # as tests/test_browser_network.py: float32 there, float64 here
MAP_TOLERANCE = 1e-4
CANVAS = "#draw-pad canvas"
BAR = ".cnn-follow"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classes")
    with class_server(folder / "classes", log=folder / "server.log") as (url, _):
        yield url


@pytest.fixture(scope="module", autouse=True)
def patient_assertions():
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


def python_view(model, image: np.ndarray, target: int, method: str) -> dict:
    """What the page should show for ``image``: the probabilities, and the heatmap of ``method`` (HiResCAM's
    where it finds no evidence, as the page and the server do), with whether a max-pool window is too close to
    call for float32 and float64 alike (then its map is not compared, as in tests/test_browser_network.py)."""
    from explainers import METHODS
    from explainers.forward import forward

    batch = image.reshape(1, 28, 28, 1).astype(np.float32)
    result = METHODS[method](model).results(batch, np.array([target]))[0]
    if not result.has_evidence and method != "HiResCAM":
        method, result = "HiResCAM", METHODS["HiResCAM"](model).results(batch, np.array([target]))[0]
    conv2 = forward(model, batch, capture=["conv2"])[0]["conv2"].numpy()
    return {"probabilities": np.asarray(result.probabilities), "predicted": result.predicted, "method": method,
            "heatmap": np.asarray(result.heatmap), "undecided": bool(undecided(conv2)[0])}


def wait_for_shown(page, version: int, timeout_ms: float = 30_000) -> dict:
    page.wait_for_function(f"() => window.cnnDemo.shown && window.cnnDemo.shown.shown >= {version} "
                           "&& window.cnnDemo.shown.at !== null", timeout=timeout_ms)
    return page.evaluate("() => window.cnnDemo.shown")


def check_view(page, expected_image: np.ndarray, target: int, method: str, model) -> None:
    """The page shows the instructor's image, explained as the Python model explains it."""
    seen = page.evaluate("() => window.cnnDemo.onScreen")
    assert seen["source"] == "instructor"
    assert np.array_equal(np.float32(seen["image"]), expected_image.reshape(-1)), "the stored float32 values, exactly"
    expected = python_view(model, expected_image, target, method)
    assert seen["target"] == (expected["predicted"] if target < 0 else target)
    assert seen["method"] == expected["method"] and seen["predicted"] == expected["predicted"]
    assert np.abs(np.array(seen["probabilities"]) - expected["probabilities"]).max() <= PROBABILITY_TOLERANCE
    if not expected["undecided"]:
        assert np.abs(np.array(seen["heatmap"]) - expected["heatmap"].reshape(-1)).max() <= MAP_TOLERANCE


def check_per_digit_table(wall, sent: list, model) -> None:
    """The wall's table: per digit meant, the drawings, how many the served model reads right, and its accuracy on
    MNIST's test digits of that digit."""
    from cnn.datasets import load_split, to_model_input
    from cnn.evaluation import predict_logits

    images = np.float32([image for image, _ in sent]).reshape(-1, 28, 28, 1)
    meant = np.array([digit for _, digit in sent])
    right = predict_logits(model, images).argmax(axis=1) == meant
    test_images, test_labels = load_split("mnist", "test")
    test_right = predict_logits(model, to_model_input(test_images)).argmax(axis=1) == test_labels
    rows = wall.locator(".cw-per-digit tbody tr")
    expect(rows).to_have_count(10)
    for digit in range(10):
        cells = [rows.nth(digit).locator("td").nth(i) for i in range(3)]
        count = int((meant == digit).sum())
        expect(cells[0]).to_have_text(str(count))
        if count:
            expect(cells[1]).to_have_text(f"{int(right[meant == digit].sum())} · "
                                          f"{right[meant == digit].mean() * 100:.1f} %")
        mnist = test_right[test_labels == digit].mean() * 100
        assert abs(float(cells[2].inner_text().rstrip(" %")) - mnist) <= 0.051, (digit, mnist)


def show(wall, choice: str, target: str, method: str, **chosen) -> float:
    """Choose what to show on the instructor's page and press Show everyone; when it was pressed."""
    panel = wall.locator("#class-show")
    panel.get_by_label(choice, exact=True).check()
    if "upload" in chosen:
        if panel.get_by_role("button", name="Clear").count():  # the picture uploaded before
            panel.get_by_role("button", name="Clear").click()
        panel.locator("input[type=file]").set_input_files(chosen["upload"])
        expect(panel).to_contain_text(chosen["upload"].name)  # uploaded, before the click sends it
    if "test_image" in chosen:
        box = panel.get_by_label("Test image (0 to 9,999)")
        box.fill(str(chosen["test_image"]))
        box.press("Enter")
    panel.get_by_label("Target class for the heatmap").click()
    wall.get_by_role("option", name=target, exact=True).click()
    panel.get_by_label(method, exact=True).check()
    pressed = time.time()
    wall.locator("#class-show-button").click()
    return pressed


def paper_digit(path):
    """A picture of a 7 as a phone photographs one: dark ink, thick, on light grey paper, larger than 28x28."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (240, 300), (226, 222, 214))
    ImageDraw.Draw(picture).line([(50, 60), (190, 60), (110, 250)], fill=(30, 30, 40), width=24, joint="curve")
    picture.save(path)
    return path


def reached_everyone(students: list, version: int, pressed: float) -> list[float]:
    delays = [wait_for_shown(page, version)["at"] / 1000 - pressed for page in students]
    print(f"shown #{version}: on the five pages {', '.join(f'{d:.2f}' for d in delays)} s after the click")
    return delays


def test_the_class_follows_the_instructor_in_chromium(server, browser, requests_made, screens, shipped_mnist,
                                                       tmp_path):
    client = Client(server, verbose=False)
    opened = client.predict(KEY, api_name="/class_open")
    code, token = opened["code"], opened["token"]
    for image, meant in page_digits(6, start=10):  # a few drawings on the wall, sent as pages send them
        client.predict(code, image, meant, api_name="/class_send")
    wall = browser.new_context(viewport=DESKTOP)
    requests_made.watch(wall)
    wall = wall.new_page()
    wall.set_default_timeout(LOAD_TIMEOUT)
    wall.goto(opened["instructor_link"])
    expect(wall.locator(".cw-drawing")).to_have_count(6)
    check_per_digit_table(wall, page_digits(6, start=10), shipped_mnist)
    asked_by_students = RequestLog()  # the students' pages' requests alone (the wall's are in requests_made)
    students = [open_page(browser, f"{server}?class={code}", asked_by_students, PHONE if i in PHONES else DESKTOP,
                          LOAD_TIMEOUT, **({"has_touch": True, "is_mobile": True} if i in PHONES else {}))
                for i in range(5)]
    for page in students:
        assert page.evaluate("() => window.cnnDemo.shown") is None
        expect(page.locator(BAR)).to_be_hidden()
    draw_digit(students[1], DIGIT_STROKES[4], CANVAS)  # a student was drawing their own

    # A drawing from the wall, HiResCAM, for class 3.
    wall.locator('.cw-drawing[data-number="2"]').click()
    expect(wall.locator("#class-inspected")).to_contain_text("Drawing 2")
    pressed = show(wall, "the drawing clicked on the wall", "3", "HiResCAM")
    delays = reached_everyone(students, 1, pressed)
    drawing2 = np.float32(page_digits(1, start=11)[0][0]).reshape(28, 28)
    for page in students:
        shown = page.evaluate("() => window.cnnDemo.shown")
        assert (shown["target"], shown["method"]) == (3, "HiResCAM")
        assert np.array_equal(np.float32(shown["image"]), drawing2.reshape(-1))
        check_view(page, drawing2, 3, "HiResCAM", shipped_mnist)
        expect(page.locator(BAR)).to_contain_text("The instructor shows everyone drawing 2 of the class wall")
    assert max(delays) <= SHOW_DELAY, delays
    expect(wall.locator(".cw-showing")).to_contain_text("Everyone sees drawing 2")
    expect(wall.locator('.cw-drawing[data-number="2"]')).to_have_class(re.compile("cw-shown"))
    shoot(wall, screens, "follow-instructor")
    shoot(students[0], screens, "follow-student-desktop", full_page=False)
    shoot(students[3], screens, "follow-student-phone", full_page=False)

    # A student steps back to their own drawing, then rejoins the instructor's view.
    student = students[1]
    student.locator(BAR).get_by_role("button", name="Back to my drawing").click()
    expect(student.locator(BAR)).to_contain_text("You are looking at your own drawing")
    assert student.evaluate("() => window.cnnDemo.onScreen.source") == "drawing"
    assert student.evaluate("() => window.cnnDemo.onScreen.predicted") == 4, "their own 4, as they left it"
    shoot(student, screens, "follow-student-stepped-away", full_page=False)
    student.locator(BAR).get_by_role("button", name="Rejoin the instructor's view").click()
    check_view(student, drawing2, 3, "HiResCAM", shipped_mnist)
    draw_digit(student, DIGIT_STROKES[7], CANVAS)  # drawing again steps away by itself
    assert student.evaluate("() => window.cnnDemo.onScreen.source") == "drawing"

    # A test image, Grad-CAM, the predicted class: the student on another tab is brought back, and so is the one
    # who stepped away.
    students[2].get_by_role("tab", name="Compare methods", exact=True).click()
    pressed = show(wall, "a test image", "predicted class", "Grad-CAM", test_image=62)
    delays = reached_everyone(students, 2, pressed)
    test_image = np.float32(page_digits(1, start=62)[0][0]).reshape(28, 28)
    for page in students:
        check_view(page, test_image, -1, "Grad-CAM", shipped_mnist)
        expect(page.locator(BAR)).to_contain_text("MNIST test image #62, labelled 9")
    expect(students[2].get_by_role("tab", name="Grad-CAM", exact=True)).to_have_attribute("aria-selected", "true")
    assert max(delays) <= SHOW_DELAY, delays

    # A page opened afterwards lands on what is shown.
    late = open_page(browser, f"{server}?class={code}", asked_by_students, PHONE, LOAD_TIMEOUT, has_touch=True,
                     is_mobile=True)
    wait_for_shown(late, 2)
    check_view(late, test_image, -1, "Grad-CAM", shipped_mnist)
    # In sight at the top of the screen, once the page's parts have loaded above it (not scrolled past them).
    late.wait_for_function(f"() => Math.abs(document.querySelector('{BAR}').getBoundingClientRect().top) < 2")
    shoot(late, screens, "follow-late-joiner-phone", full_page=False)

    # A picture the instructor uploads, LayerCAM for class 7: read as the Grad-CAM tab reads an upload.
    picture = paper_digit(tmp_path / "photo-of-a-seven.png")
    asked_before = len(asked_by_students.urls)
    pressed = show(wall, "an upload", "7", "LayerCAM", upload=picture)
    delays = reached_everyone(students, 3, pressed)
    uploaded = image_to_mnist(load_upload(picture))
    for page in students + [late]:
        check_view(page, uploaded, 7, "LayerCAM", shipped_mnist)
        expect(page.locator(BAR)).to_contain_text("a picture the instructor uploaded")
    assert max(delays) <= SHOW_DELAY, delays
    asked = asked_by_students.urls[asked_before:]
    assert asked == [], f"the pages heard the image on their open stream and explained it themselves: {asked}"
    shoot(wall, screens, "follow-instructor-upload")
    # A file that is no picture: refused in words on the instructor's page, and nothing new is shown.
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("these are my lecture notes, not a picture")
    show(wall, "an upload", "7", "LayerCAM", upload=not_a_picture)
    expect(wall.locator(".toast-body")).to_contain_text("That file is not an image we can read")
    assert late.evaluate("() => window.cnnDemo.shown.shown") == 3

    # A student's page cannot show anything: it has no token (the API and the page's events, by index).
    assert token not in late.content()
    image = page_digits(1, start=0)[0][0]
    with pytest.raises(AppError, match="needs its instructor token"):
        Client(server, verbose=False).predict(code, "", image, -1, "Grad-CAM", api_name="/class_show")
    refused = raw_call(server, event_index(server, "class_show"), [code, None, image, -1, "Grad-CAM"])
    assert not refused["success"] and "needs its instructor token" in refused["output"]["error"]
    page_event = raw_call(server, event_index(server, "on_show_everyone"),
                          [{"code": code, "token": None, "number": 1}, "drawing", 0, None, 0, -1, "Grad-CAM"])
    assert not page_event["success"] and "needs its instructor token" in page_event["output"]["error"]
    assert client.predict(code, api_name="/class_shown")["method"] == "LayerCAM", "still the instructor's"

    # The wall's button stops it: every page goes back to its own drawing.
    wall.locator(".cw-showing").get_by_role("button", name="Stop showing").click()
    for page in students + [late]:
        page.wait_for_function("() => window.cnnDemo.shown === null")
        expect(page.locator(BAR)).to_be_hidden()
    assert students[1].evaluate("() => window.cnnDemo.onScreen.source") == "drawing"
    expect(wall.locator(".cw-showing")).to_be_hidden()
    assert not requests_made.foreign() and not asked_by_students.foreign(), "nothing but the app is asked"
