"""Chromium driven by Playwright, as the browser tests and the browser benchmark use it: how to start it
offline, a log of every request the pages make, and a student's pen (mouse, or finger on a touch screen).

Needs Chromium: $CHROMIUM, else /usr/bin/chromium or the one Playwright installed.
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import urlparse

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
STEP_PX = 20  # about one pointer event per 20 px: each one costs a software-rendered frame, slow on CI

Point = tuple[float, float]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # let Playwright use a browser it installed, if any


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright's Browser), closed afterwards; RuntimeError saying so if there is none."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        except Error as err:
            raise RuntimeError(f"no usable Chromium (apt install chromium): {str(err).splitlines()[0]}") from None
        try:
            yield browser
        finally:
            browser.close()


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


def open_page(browser, url: str, log: RequestLog, viewport: dict, timeout_ms: float, **context_options):
    """A new browser context (a student) on the app, its requests in ``log``, once the page's network has its
    weights (window.cnnDemo.ready): from then on the student can draw."""
    context = browser.new_context(viewport=viewport, **context_options)
    log.watch(context)
    return open_in(context, url, timeout_ms)


def open_in(context, url: str, timeout_ms: float):
    """A new page of ``context`` on the app, once its network has its weights."""
    page = context.new_page()
    load(page, url, timeout_ms)
    return page


def load(page, url: str, timeout_ms: float, network: bool = True) -> None:
    """Go to ``url``; return once the page has loaded and (``network``) the app's network has its weights."""
    page.set_default_timeout(timeout_ms)
    page.goto(url, timeout=timeout_ms)
    if network:
        page.wait_for_function("() => window.cnnDemo", timeout=timeout_ms)
        page.evaluate("() => window.cnnDemo.ready")


def shoot(page, folder: Path, name: str, full_page: bool = True) -> Path:
    """A screenshot of the page (all of it, or what the screen shows), to look at; AssertionError if blank."""
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=full_page, animations="disabled")
    assert path.stat().st_size > 10_000, f"{path} looks blank"
    return path


def canvas_mapping(page, canvas_selector: str, scale: float = 0.7) -> Callable[[float, float], Point]:
    """Unit-box points (x right, y down) to pixels of the page's viewport: a digit of ``scale`` times 80 % of
    the canvas, centred on it. The canvas is scrolled into view first: the pointer only reaches what is shown."""
    canvas = page.locator(canvas_selector).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    side = 0.8 * min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    return lambda x, y: (left + (0.5 + (x - 0.5) * scale) * side, top + (0.5 + (y - 0.5) * scale) * side)


def _path(stroke: Sequence[Point], at: Callable[[float, float], Point]) -> list[Point]:
    """The page points of a stroke, with the intermediate points of each segment every STEP_PX."""
    points = [at(*stroke[0])]
    for target in stroke[1:]:
        (x, y), (to_x, to_y) = points[-1], at(*target)
        steps = max(1, round(math.hypot(to_x - x, to_y - y) / STEP_PX))
        points += [(x + (to_x - x) * k / steps, y + (to_y - y) * k / steps) for k in range(1, steps + 1)]
    return points


def mouse_stroke(page, stroke: Sequence[Point], at: Callable[[float, float], Point],
                 during: Callable[[int], None] | None = None) -> None:
    """Drag the mouse along one polyline; ``during(i)`` runs after the i-th move, the button still down."""
    points = _path(stroke, at)
    page.mouse.move(*points[0])
    page.mouse.down()
    for i, point in enumerate(points[1:]):
        page.mouse.move(*point)
        if during:
            during(i)
    page.mouse.up()


def touch_stroke(page, stroke: Sequence[Point], at: Callable[[float, float], Point],
                 during: Callable[[int], None] | None = None) -> None:
    """The same with a finger: touch events through the DevTools protocol (the page needs ``has_touch``);
    Chromium turns them into pointer events of type "touch", as on a phone."""
    session = page.context.new_cdp_session(page)
    points = _path(stroke, at)

    def touch(kind: str, point: Point | None) -> None:
        session.send("Input.dispatchTouchEvent",
                     {"type": kind, "touchPoints": [] if point is None else [{"x": point[0], "y": point[1]}]})

    touch("touchStart", points[0])
    for i, point in enumerate(points[1:]):
        touch("touchMove", point)
        if during:
            during(i)
    touch("touchEnd", None)
    session.detach()


def draw_digit(page, strokes: Sequence[Sequence[Point]], canvas_selector: str, scale: float = 0.7,
               touch: bool = False) -> None:
    """Draw every stroke of a digit on the canvas, with the mouse or (``touch``) a finger."""
    at = canvas_mapping(page, canvas_selector, scale)
    for stroke in strokes:
        (touch_stroke if touch else mouse_stroke)(page, stroke, at)
