"""The class in Chromium through the balancer (issue 24): the deployment tests/test_replicas.py uses (two replicas,
PostgreSQL, HAProxy on deploy/haproxy.cfg), but its student pages are real Chromium pages, one browser context
each, so that the page's own JavaScript (the class's news and shown-image streams, the models' news) and the
balancer's sticky cookie (httponly, SameSite=Lax) are exercised as a class uses them.

Four students open the student link on the balancer and land on both replicas (by the cookie each context
holds); each draws a digit and sends it from the page; the instructor's wall, opened from the instructor link
on either replica, shows all four; the instructor shows everyone a test image and every student page, on both
replicas, switches to it within the replicas' news bound. Screenshots go to $SCREENSHOT_DIR (default: a pytest
folder).
"""
from __future__ import annotations

import asyncio
import concurrent.futures

import numpy as np
import pytest

from harness.browser import open_page, shoot
from harness.classroom import event_index, page_digits
from tests.test_browser_class import send
from tests.test_browser_class_follow import show, wait_for_shown
from tests.test_replicas import COOKIE, NEWS_SECONDS, a_class, close_pages, open_pages

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DESKTOP = {"width": 1400, "height": 1000}
LOAD_TIMEOUT = 90_000  # ms: two replicas, PostgreSQL, HAProxy and five Chromium pages on a loaded 2-core machine
DRAWN = (3, 7, 2, 5)  # each student's digit, drawn with the mouse and meant as drawn
TEST_IMAGE = 62  # what the instructor shows everyone: MNIST's test image #62, a 9


@pytest.fixture(scope="module", autouse=True)
def patient_assertions():
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


def opened_class(url: str) -> dict:
    """A class opened through the balancer with the instructor key, by the API (as tests/test_replicas.py); in a
    thread of its own, since Playwright's synchronous API holds this one's event loop."""
    async def opening() -> dict:
        pages = await open_pages(url, 1)
        try:
            return await a_class(pages, {"class_open": event_index(url, "class_open")})
        finally:
            await close_pages(pages)

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, opening()).result()


def replica_of(page) -> str:
    """The replica the balancer holds this page's context to: its cookie, as the browser keeps it."""
    cookies = [cookie for cookie in page.context.cookies() if cookie["name"] == COOKIE]
    assert len(cookies) == 1, f"the balancer's cookie {COOKIE} is not in the browser: {page.context.cookies()}"
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Lax", cookies[0]
    return cookies[0]["value"]


def test_a_class_in_chromium_on_two_replicas_behind_the_balancer(replicas, browser, requests_made, screens):
    opened = opened_class(replicas.url)
    code = opened["code"]
    assert opened["instructor_link"].startswith(replicas.url), "the links name the balancer, as the caller reached it"
    students = [open_page(browser, f"{replicas.url}?class={code}", requests_made, DESKTOP, LOAD_TIMEOUT)
                for _ in DRAWN]
    on = [replica_of(page) for page in students]
    assert sorted(set(on)) == ["replica1", "replica2"], f"the balancer spreads the students over both replicas: {on}"

    sent = {}
    for page, digit in zip(students, DRAWN):
        number, _, _ = send(page, digit, digit, touch=False)
        sent[number] = replica_of(page)  # still held to the replica it loaded from
    assert sorted(sent) == [1, 2, 3, 4], "one count for the class, on both replicas"

    context = browser.new_context(viewport=DESKTOP)
    requests_made.watch(context)
    wall = context.new_page()
    wall.set_default_timeout(LOAD_TIMEOUT)
    wall.goto(opened["instructor_link"])
    wall_on = replica_of(wall)
    for number in sent:  # whichever replica took the drawing, the wall's replica reads it from the database
        expect(wall.locator(f'.cw-drawing[data-number="{number}"]')).to_be_visible()
    expect(wall.locator(".cw-summary")).to_contain_text("4 drawings")
    print(f"students on {on}, the wall on {wall_on}")

    pressed = show(wall, "a test image", "predicted class", "Grad-CAM", test_image=TEST_IMAGE)
    expected = np.float32(page_digits(1, start=TEST_IMAGE)[0][0])
    delays = []
    for page in students:
        shown = wait_for_shown(page, 1)
        assert np.array_equal(np.float32(shown["image"]), expected), "the instructor's image, exactly"
        assert page.evaluate("() => window.cnnDemo.onScreen.source") == "instructor"
        delays.append(shown["at"] / 1000 - pressed)
    print("shown on the students' pages", ", ".join(f"{d:.2f} s ({r})" for d, r in zip(delays, on)),
          f"after the click on the wall ({wall_on})")
    assert max(delays) <= NEWS_SECONDS + 1.0, delays  # the replicas' bound, and a click through Chromium
    expect(wall.locator(".cw-showing")).to_contain_text("Everyone sees MNIST test image #62")
    shoot(wall, screens, "replicas-wall")
    shoot(students[on.index("replica2")], screens, "replicas-student", full_page=False)
    assert not requests_made.foreign(), "nothing but the balancer is asked"
    for page in [*students, wall]:
        page.context.close()
