"""The class through its API on the real server (issues 20 and 21): gradio_client and raw HTTP, events called by
index; what the instructor shows everyone and the class's digits in MNIST's IDX format.

One server, its classes in a folder of the test's own, the instructor key given with --instructor-key.
"""
from __future__ import annotations

import gzip
import json
import math
import struct
import re
import time

import httpx
import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from cnn.evaluation import predict_logits
from cnn.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from harness.app_server import raw_call
from harness.classroom import KEY, class_server, event_index, page_digits

NOT_ACCEPTED = "must be a whole number|784 numbers|letters and digits|Draw a digit"
# The page's own events that read a wall or change a class: every one needs the class's token.
PAGE_EVENTS = ("on_refresh", "on_inspect", "on_deeper", "on_compare", "on_hide", "on_end")
# Issue 21's: what each takes after the page's question (its class, token and drawing clicked).
FOLLOW_EVENTS = {"on_show_everyone": ["drawing", 0, None, 0, -1, "Grad-CAM"], "on_show_inspected": ["Grad-CAM"],
                 "on_stop_showing": [], "on_export_digits": [], "on_learn_from_class": [False],
                 "on_cancel_learning": [], "on_serve_class_model": [], "on_reload_saved_model": []}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("classes")


@pytest.fixture(scope="module")
def server(folder):
    with class_server(folder / "classes", log=folder / "server.log") as (url, _):
        yield url


TOKENS: list[str] = []  # every token the tests saw, for the last test


@pytest.fixture
def opened(client) -> dict:
    class_opened = client.predict(KEY, api_name="/class_open")
    TOKENS.append(class_opened["token"])
    return class_opened


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def wall_numbers(client: Client, opened: dict) -> list[int]:
    return [d["number"] for d in client.predict(opened["code"], opened["token"], api_name="/class_wall")["drawings"]]


def test_a_class_opens_collects_digits_and_ends(server, client, opened, shipped_mnist):
    assert opened["student_link"] == f"{server}?class={opened['code']}"
    assert opened["instructor_link"] == f"{server}instructor#class={opened['code']}&token={opened['token']}"
    digits = page_digits(6)
    images = np.asarray([image for image, _ in digits], np.float32).reshape(-1, 28, 28, 1)
    expected = predict_logits(shipped_mnist, images).argmax(axis=1)
    other = Client(server, verbose=False)  # a second student
    sent = [(other if i % 2 else client).predict(opened["code"], image, meant, api_name="/class_send")
            for i, (image, meant) in enumerate(digits)]
    assert [s["number"] for s in sent] == [1, 2, 3, 4, 5, 6]
    assert [s["predicted"] for s in sent] == expected.tolist(), "the server predicts, with the served model"
    wall = client.predict(opened["code"], opened["token"], api_name="/class_wall")
    assert [(d["meant"], d["predicted"]) for d in wall["drawings"]] == list(zip([m for _, m in digits], expected))
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, ([m for _, m in digits], expected), 1)
    assert wall["confusion"] == confusion.tolist()
    assert wall["accuracy"] == pytest.approx(np.trace(confusion) / 6)

    with pytest.raises(AppError, match="not one of yours"):
        client.predict(opened["code"], 2, api_name="/class_withdraw")  # the other student's
    assert client.predict(opened["code"], 1, api_name="/class_withdraw") == {"withdrawn": 1}
    assert client.predict(opened["code"], opened["token"], 4, api_name="/class_hide") == {"hidden": 4}
    assert wall_numbers(client, opened) == [2, 3, 5, 6]
    assert client.predict(opened["code"], opened["token"], api_name="/class_end") == {"ended": opened["code"]}
    with pytest.raises(AppError, match="No class .* is open"):
        client.predict(opened["code"], *digits[0], api_name="/class_send")
    with pytest.raises(AppError, match="No class .* is open"):
        wall_numbers(client, opened)


WRONG_TOKENS = [None, "", "not the token", 42]


def test_without_the_token_no_wall_is_read_hidden_or_ended(server, client, opened):
    other = client.predict(KEY, api_name="/class_open")
    image, meant = page_digits(1)[0]
    client.predict(opened["code"], image, meant, api_name="/class_send")
    for wrong in WRONG_TOKENS + [other["token"], opened["token"][:-1]]:
        for api_name, more in (("/class_wall", ()), ("/class_hide", (1,)), ("/class_end", ())):
            with pytest.raises(AppError, match="needs its instructor token") as refused:
                client.predict(opened["code"], wrong, *more, api_name=api_name)
            assert opened["token"] not in str(refused.value)
    for api_name, more in (("class_wall", []), ("class_hide", [1]), ("class_end", [])):  # by index, past the client
        answer = raw_call(server, event_index(server, api_name), [opened["code"], other["token"], *more])
        assert not answer["success"] and "needs its instructor token" in answer["output"]["error"]
    for name in PAGE_EVENTS:  # the page's own events, by index: the token is checked in each
        asked = {"code": opened["code"], "token": other["token"], "have": 0, "number": 1}
        data = [asked] if name in ("on_refresh", "on_hide", "on_end") else [asked, "Grad-CAM"]
        answer = raw_call(server, event_index(server, name), data if name != "on_compare" else [asked, "black (no ink)"])
        assert not answer["success"] and "needs its instructor token" in answer["output"]["error"], (name, answer)
    assert wall_numbers(client, opened) == [1], "nothing was hidden or ended"


def test_a_wrong_instructor_key_opens_nothing_and_waits_longer_each_time(server, client):
    waited = []
    for guess in ("a guess", "another guess", KEY[:-1]):
        started = time.monotonic()
        with pytest.raises(AppError, match="not this server's instructor key") as refused:
            client.predict(guess, api_name="/class_open")
        waited.append(time.monotonic() - started)
        assert guess not in str(refused.value) and KEY not in str(refused.value)
    assert waited[0] >= 1 and waited[2] >= 4 and waited[0] <= waited[1] + 0.2 <= waited[2] + 0.4, waited
    answer = raw_call(server, event_index(server, "class_open"), ["by index"])
    assert not answer["success"] and "instructor key" in answer["output"]["error"]
    started = time.monotonic()
    client.predict(KEY, api_name="/class_open")
    assert time.monotonic() - started < 2, "the right key pays no delay of its own"


def ten_megabytes() -> list[float]:
    """About 10 MiB of JSON: under the server's bound on a request's body, so it reaches the class's checks."""
    return [0.1234567] * 950_000


BAD_SENDS = {
    "783 numbers": lambda image: (image[:-1], 3),
    "a NaN": lambda image: (image[:-1] + [math.nan], 3),
    "an infinity": lambda image: (image[:-1] + [math.inf], 3),
    "label 11": lambda image: (image, 11),
    "a string label": lambda image: (image, "3"),
    "a bool label": lambda image: (image, True),
    "a string image": lambda image: ("0.5 " * 784, 3),
    "10 MB": lambda image: (ten_megabytes(), 3),
}


@pytest.mark.parametrize("why", BAD_SENDS)
def test_a_bad_send_gets_a_message_and_stores_nothing(server, client, opened, why):
    image, bad = BAD_SENDS[why](page_digits(1)[0][0])
    if not any(isinstance(v, float) and not math.isfinite(v) for v in image):  # gradio_client cannot write a NaN
        with pytest.raises(AppError, match=NOT_ACCEPTED):
            client.predict(opened["code"], image, bad, api_name="/class_send")
    answer = raw_call(server, event_index(server, "class_send"), [opened["code"], image, bad])
    assert not answer["success"] and re.search(NOT_ACCEPTED, answer["output"]["error"]), answer
    assert wall_numbers(client, opened) == []


def test_a_bad_code_gets_a_message(client):
    image, meant = page_digits(1)[0]
    for code in ("", "ABC", "../../etc/passwd", "O0I1OO", "A" * 10_000):
        with pytest.raises(AppError, match="letters and digits") as refused:
            client.predict(code, image, meant, api_name="/class_send")
        assert code[:3] not in str(refused.value) or not code


def test_no_page_a_student_receives_holds_a_token_or_the_key(server, client, opened):
    pages = [httpx.get(f"{server}?class={opened['code']}", timeout=30).text,
             httpx.get(f"{server}config", timeout=30).text, httpx.get(f"{server}gradio_api/info", timeout=30).text,
             httpx.get(f"{server}instructor", timeout=30).text]
    for page in pages:
        assert opened["token"] not in page and KEY not in page


def test_the_news_stream_says_only_that_the_wall_changed(server, client, opened):
    image, meant = page_digits(1)[0]
    with httpx.stream("GET", f"{server}cnn-demo/class/{opened['code'].lower()}/events", timeout=30) as stream:
        lines = stream.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
        started = time.monotonic()
        client.predict(opened["code"], image, meant, api_name="/class_send")
        second = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
        delay = time.monotonic() - started
    assert set(first) == set(second) == {"version"} and second["version"] > first["version"]
    assert delay < 2, delay
    with httpx.stream("GET", f"{server}cnn-demo/class/ZZZZZZ/events", timeout=30) as stream:
        assert json.loads(next(line for line in stream.iter_lines() if line.startswith("data:"))[5:]) == {"ended": True}
    assert httpx.get(f"{server}cnn-demo/class/..%2F..%2Fetc/events", timeout=30).status_code == 404


def plain_idx(path: str) -> np.ndarray:
    """An IDX file read as any MNIST reader does, without cnn/idx.py: big-endian magic and sizes, then bytes."""
    raw = gzip.open(path).read()
    magic, = struct.unpack(">I", raw[:4])
    assert magic >> 8 == 0x08, "unsigned bytes"
    shape = struct.unpack(f">{magic & 0xFF}I", raw[4:4 + 4 * (magic & 0xFF)])
    pixels = raw[4 + 4 * len(shape):]
    assert len(pixels) == np.prod(shape)
    return np.frombuffer(pixels, np.uint8).reshape(shape)


def test_the_classs_digits_download_in_mnists_format_and_read_back(server, client, opened):
    digits = page_digits(5, start=20)
    for image, meant in digits:
        client.predict(opened["code"], image, meant, api_name="/class_send")
    client.predict(opened["code"], opened["token"], 2, api_name="/class_hide")
    files = client.predict(opened["code"], opened["token"], api_name="/class_export")
    paths = sorted((item["path"] if isinstance(item, dict) else item for item in files), key=lambda p: "labels" in p)
    assert [path.rsplit("/", 1)[1] for path in paths] == ["class-images-idx3-ubyte.gz", "class-labels-idx1-ubyte.gz"]
    kept = [digits[i] for i in (0, 2, 3, 4)]  # drawing 2 is hidden: out of the data set
    expected_images = np.round(np.array([image for image, _ in kept], np.float32).reshape(-1, 28, 28) * 255)
    images, labels = read_idx(paths[0], IMAGES_MAGIC, 4), read_idx(paths[1], LABELS_MAGIC, 4)
    assert images.shape == (4, 28, 28) and np.array_equal(images, expected_images.astype(np.uint8))
    assert labels.tolist() == [meant for _, meant in kept], "the digits the students meant"
    assert np.array_equal(plain_idx(paths[0]), images) and np.array_equal(plain_idx(paths[1]), labels)
    for wrong in WRONG_TOKENS[1:]:
        with pytest.raises(AppError, match="needs its instructor token"):
            client.predict(opened["code"], wrong, api_name="/class_export")
    answer = raw_call(server, event_index(server, "class_export"), [opened["code"], None])
    assert not answer["success"] and "needs its instructor token" in answer["output"]["error"]


def test_what_the_instructor_shows_reaches_the_students_stream_and_only_the_token_shows(server, client, opened):
    image = page_digits(1, start=7)[0][0]
    other = client.predict(KEY, api_name="/class_open")
    assert client.predict(opened["code"], api_name="/class_shown") is None
    with httpx.stream("GET", f"{server}cnn-demo/class/{opened['code']}/shown", timeout=30) as stream:
        lines = (json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:"))
        assert next(lines) == {"shown": 0, "image": None}, "what is shown now, at once: nothing"
        started = time.monotonic()
        assert client.predict(opened["code"], opened["token"], image, 4, "LayerCAM", api_name="/class_show") == \
            {"shown": 1}
        news = next(lines)
        delay = time.monotonic() - started
    assert delay < 2, delay
    assert np.array_equal(np.float32(news["image"]), np.float32(image)), "the page's float32 values, exactly"
    assert (news["shown"], news["target"], news["method"], news["dataset"]) == (1, 4, "LayerCAM", "mnist")
    assert news["source"] == "an image the instructor chose" and opened["token"] not in json.dumps(news)
    shown = client.predict(opened["code"].lower(), api_name="/class_shown")
    assert set(shown) == {"image", "target", "method"} and shown["image"] == news["image"]
    for wrong in WRONG_TOKENS + [other["token"]]:
        with pytest.raises(AppError, match="needs its instructor token"):
            client.predict(opened["code"], wrong, image, -1, "Grad-CAM", api_name="/class_show")
    for api_name, data in (("class_show", [opened["code"], other["token"], image, -1, "Grad-CAM"]),
                           ("class_stop_showing", [opened["code"], None])):
        answer = raw_call(server, event_index(server, api_name), data)
        assert not answer["success"] and "needs its instructor token" in answer["output"]["error"]
    for name, more in FOLLOW_EVENTS.items():  # the instructor page's events, by index, with another class's token
        answer = raw_call(server, event_index(server, name),
                          [{"code": opened["code"], "token": other["token"], "number": 1}, *more])
        assert not answer["success"] and "needs its instructor token" in answer["output"]["error"], (name, answer)
    assert client.predict(opened["code"], api_name="/class_shown")["method"] == "LayerCAM", "still the instructor's"
    with pytest.raises(AppError, match="must be one of"):
        client.predict(opened["code"], opened["token"], image, -1, "SmoothGrad", api_name="/class_show")
    assert client.predict(opened["code"], opened["token"], api_name="/class_stop_showing") == {"stopped": True}
    assert client.predict(opened["code"], api_name="/class_shown") is None


def test_the_instructors_page_shows_a_test_image_or_the_image_synthesized_for_a_class(server, client, opened,
                                                                                      shipped_mnist):
    show_event, asked = event_index(server, "on_show_everyone"), {**opened, "number": None}
    answer = raw_call(server, show_event, [asked, "test", 62, None, 0, 5, "Grad-CAM++"])
    assert answer["success"] and "MNIST test image #62, labelled 9" in answer["output"]["data"][0], answer
    shown = client.predict(opened["code"], api_name="/class_shown")
    assert (shown["target"], shown["method"]) == (5, "Grad-CAM++")
    assert np.array_equal(np.float32(shown["image"]), np.float32(page_digits(1, start=62)[0][0]))
    answer = raw_call(server, show_event, [asked, "synthesized", 0, None, 3, -1, "Grad-CAM"])
    assert answer["success"] and "synthesizes for class 3" in answer["output"]["data"][0], answer
    image = np.float32(client.predict(opened["code"], api_name="/class_shown")["image"]).reshape(1, 28, 28, 1)
    assert predict_logits(shipped_mnist, image).argmax() == 3, "the image class 3 most wants to see"
    for bad, refused in ((["test", 10_000, None, 0], "9999"), (["upload", 0, None, 0], "Upload"),
                         (["drawing", 0, None, 0], "Click a drawing")):
        answer = raw_call(server, show_event, [asked, *bad, -1, "Grad-CAM"])
        assert not answer["success"] and refused in answer["output"]["error"], answer


def test_no_log_line_holds_a_token_or_the_key(server, folder):
    log = (folder / "server.log").read_text()
    assert TOKENS and not [token for token in TOKENS if token in log] and KEY not in log
