"""Replicas behind a real load balancer (issue 24), end to end on loopback: PostgreSQL (a cluster of the test's own),
HAProxy on deploy/haproxy.cfg itself, and two demo.py replicas sharing the class store and the served models
(harness/replicas.py). Every request goes through the balancer, as a page's does: each page is an HTTP client
that keeps its cookies (the balancer's names the replica that holds it), joins Gradio's queue and reads its
stream, and follows the Server-Sent Events a page follows. The replica is killed last, with SIGKILL.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest

from harness.classroom import KEY, event_index, page_digits, run_event, send_once
from webapp.browser_model import layer_list

COOKIE = "cnn-demo-replica"  # deploy/haproxy.cfg's
NEWS_SECONDS = 2.0  # the bound: the wall and the shown image reach every replica's pages within it
PACE = 2.5  # seconds between a student's drawings: 25 s of class stay within the class's 10 sends a minute
TRAINING = ["mnist", False, 1, 512, 0.003, 1, 4, 4, 0]  # the Model tab's form: one epoch, a small network
# The instructor page's learning panel (ui/pages/class_learning.py): fine-tune, serve it to everyone, reload (undo).
LEARNING = ("on_learn_from_class", "on_serve_class_model", "on_reload_saved_model")


@pytest.fixture(scope="module")
def events(replicas) -> dict[str, int]:
    return {name: event_index(replicas.url, name)
            for name in ("class_open", "class_send", "class_wall", "class_show", "train", *LEARNING)}


@dataclass
class Page:
    """One student's (or the instructor's) page, through the balancer: its cookies and its Gradio session."""
    http: httpx.AsyncClient
    url: str
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    models: Stream | None = None  # the models' news, which a page holds open from its load on
    served: dict = field(default_factory=dict)  # its first message: the model served for each dataset

    @property
    def replica(self) -> str:
        return self.http.cookies[COOKIE]

    async def run(self, index: int, data: list) -> list:
        output, error = await run_event(self.http, self.url, index, self.session, data)
        assert output is not None, error
        return output


async def open_pages(url: str, count: int) -> list[Page]:
    """``count`` pages loaded through the balancer, one after the other (as students arrive), each holding its
    models' news open, as a page does."""
    pages = []
    for _ in range(count):
        http = httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10))
        loaded = await http.get(url)
        assert loaded.status_code == 200 and COOKIE in http.cookies, loaded.headers
        page = Page(http, url)
        page.models = Stream(page, "/cnn-demo/models/events")
        page.served = (await page.models.next(30))[1]
        pages.append(page)
    return pages


async def close_pages(pages: list[Page], streams: list[Stream] = ()) -> None:
    for stream in [*streams, *(page.models for page in pages if page.models)]:
        await stream.close()
    for page in pages:
        await page.http.aclose()


class Stream:
    """A Server-Sent Events stream a page follows (the class's news, the models' news), read in a task."""

    def __init__(self, page: Page, path: str) -> None:
        self.messages: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.create_task(self._read(page, path))

    async def _read(self, page: Page, path: str) -> None:
        async with page.http.stream("GET", f"{page.url}{path.lstrip('/')}", timeout=None) as answer:
            assert answer.status_code == 200
            async for line in answer.aiter_lines():
                if line.startswith("data:"):
                    await self.messages.put((time.monotonic(), json.loads(line[5:])))

    async def next(self, timeout: float) -> tuple[float, dict]:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self.task


def by_replica(pages: list[Page]) -> dict[str, list[Page]]:
    grouped: dict[str, list[Page]] = {}
    for page in pages:
        grouped.setdefault(page.replica, []).append(page)
    return grouped


async def a_class(pages: list[Page], events: dict[str, int]) -> dict:
    return (await pages[0].run(events["class_open"], [KEY]))[0]


def test_students_on_both_replicas_fill_one_wall_and_what_is_shown_reaches_both(replicas, events):
    async def scenario() -> None:
        pages, streams = await open_pages(replicas.url, 8), []
        try:
            grouped = by_replica(pages)
            assert sorted(grouped) == ["replica1", "replica2"], "the balancer spreads new pages over both replicas"
            opened = await a_class(pages, events)
            code, token = opened["code"], opened["token"]
            first, second = grouped["replica1"][0], grouped["replica2"][0]
            news = {page.replica: Stream(page, f"/cnn-demo/class/{code}/events") for page in (first, second)}
            streams.extend(news.values())
            shown = {page.replica: Stream(page, f"/cnn-demo/class/{code}/shown") for page in (first, second)}
            streams.extend(shown.values())
            for stream in news.values():
                assert (await stream.next(10))[1] == {"version": 0}
            for stream in shown.values():
                assert (await stream.next(10))[1] == {"shown": 0, "image": None}

            digits = page_digits(3 * len(pages))

            async def three_drawings(i: int, page: Page) -> list[int]:  # one after the other, as a page sends
                return [(await page.run(events["class_send"], [code, *digits[3 * i + k]]))[0]["number"]
                        for k in range(3)]

            numbers = sum(await asyncio.gather(*(three_drawings(i, page) for i, page in enumerate(pages))), [])
            assert sorted(numbers) == list(range(1, len(digits) + 1)), "one count for the class, on both replicas"

            for page in (first, second):  # the instructor's wall, opened on either replica, shows every drawing
                wall = (await page.run(events["class_wall"], [code, token]))[0]
                assert sorted(d["number"] for d in wall["drawings"]) == sorted(numbers)

            for extra, (sender, other) in enumerate(((first, "replica2"), (second, "replica1")), start=1):
                await sender.run(events["class_send"], [code, *digits[0]])
                acknowledged = time.monotonic()
                arrived, message = await news[other].next(NEWS_SECONDS + 1)
                while message["version"] < len(digits) + extra:  # news of the sends before, still on its way
                    arrived, message = await news[other].next(NEWS_SECONDS + 1)
                assert arrived - acknowledged < NEWS_SECONDS, \
                    f"the news reached {other} after {arrived - acknowledged:.2f} s"

            image = digits[5][0]  # "show everyone", from the instructor's page on one replica: pages on both see it
            assert (await pages[0].run(events["class_show"], [code, token, image, 4, "LayerCAM"]))[0] == {"shown": 1}
            acknowledged = time.monotonic()
            for replica, stream in shown.items():
                arrived, message = await stream.next(NEWS_SECONDS + 1)
                assert message["shown"] == 1 and np.array_equal(np.float32(message["image"]), np.float32(image))
                assert arrived - acknowledged < NEWS_SECONDS, \
                    f"the image reached {replica} after {arrived - acknowledged:.2f} s"
        finally:
            await close_pages(pages, streams)

    asyncio.run(scenario())


def test_a_model_trained_on_the_instructors_replica_reaches_pages_on_both(replicas, events):
    async def scenario() -> None:
        pages = await open_pages(replicas.url, 4)
        try:
            grouped = by_replica(pages)
            watched = [grouped["replica1"][0], grouped["replica2"][0]]
            before = {page.replica: (await page.http.get(f"{page.url}cnn-demo/network/mnist.json")).json()
                      for page in watched}
            assert before["replica1"] == before["replica2"], "both replicas serve the one published model"
            news = [page.models for page in watched]
            served = [page.served["mnist"] for page in watched]
            assert served[0] == served[1], "a page that moves to the other replica keeps its model"

            progress = await watched[0].run(events["train"], TRAINING)  # the instructor's page, on replica1
            assert "Every student is now served this model" in progress[0]
            trained = time.monotonic()
            for stream in news:
                arrived, message = await stream.next(15)
                assert message["mnist"] != served[0] and arrived - trained < NEWS_SECONDS + 1.5
            after = [(await page.http.get(f"{page.url}cnn-demo/network/mnist.json")).json() for page in watched]
            assert after[0] == after[1] != before["replica1"]
        finally:
            await close_pages(pages)

    asyncio.run(scenario())


def test_the_class_model_fine_tuned_and_served_by_the_instructor_reaches_pages_on_both(replicas, events, shipped_mnist):
    async def networks(pages: list[Page]) -> list[dict]:
        return [(await page.http.get(f"{page.url}cnn-demo/network/mnist.json")).json() for page in pages]

    async def swapped(instructor: Page, event: str, asked: dict, said: str, watched: list[Page], served: str) -> dict:
        """The instructor's ``event`` swaps the model served: each watched page hears of it within the bound, and
        every replica serves the one it names; that model's network, as the pages fetch it."""
        answer = (await instructor.run(events[event], [asked]))[0]
        assert said in answer, answer
        acknowledged, arrived = time.monotonic(), {}
        for page in watched:
            try:
                moment, message = await page.models.next(15)
            except asyncio.TimeoutError:
                pytest.fail(f"no news of a new model reached the page on {page.replica} in 15 s")
            arrived[page.replica] = (moment - acknowledged, message["mnist"])
        print(f"{event}: the news reached the pages after",
              {replica: f"{delay:.2f} s" for replica, (delay, _) in arrived.items()})
        network = await networks(watched)
        assert network[0] == network[1] and network[0]["model_id"] != served, "both replicas serve the new model"
        for replica, (delay, model) in arrived.items():
            assert model == network[0]["model_id"] and delay < NEWS_SECONDS + 1.5, (replica, delay)
        return network[0]

    async def scenario() -> None:
        pages = await open_pages(replicas.url, 8)
        try:
            grouped = by_replica(pages)
            assert sorted(grouped) == ["replica1", "replica2"], "students on both replicas"
            watched = [grouped["replica1"][0], grouped["replica2"][0]]
            instructor = grouped["replica1"][1]  # the instructor's page, held to replica1 as its students' are
            assert (await instructor.http.get(f"{instructor.url}instructor")).status_code == 200
            opened = await a_class([instructor], events)
            asked = {"code": opened["code"], "token": opened["token"]}  # what the instructor page's events send
            before = await networks(watched)
            assert before[0] == before[1], "both replicas serve the one published model"

            digits = page_digits(4 * len(pages), start=100)  # four a page: within the class's 10 sends a minute

            async def four_drawings(i: int, page: Page) -> list[int]:
                return [(await page.run(events["class_send"], [opened["code"], *digits[4 * i + k]]))[0]["number"]
                        for k in range(4)]

            numbers = sum(await asyncio.gather(*(four_drawings(i, page) for i, page in enumerate(pages))), [])
            assert sorted(numbers) == list(range(1, len(digits) + 1)), "the class's digits, sent through both replicas"

            started = time.monotonic()
            learned = await instructor.run(events["on_learn_from_class"], [asked, False])
            print(f"fine-tuned on {len(digits)} class digits in {time.monotonic() - started:.1f} s")
            assert "Fine-tuned:" in learned[2], learned  # the before and after, shown once the fine-tuning ends
            assert all(page.models.messages.empty() for page in watched), "nothing is served until the instructor says"

            class_model = await swapped(instructor, "on_serve_class_model", asked,
                                        "Every student is now served the class's model", watched, before[0]["model_id"])
            assert class_model["layers"] != before[0]["layers"], "the class's model has weights of its own"
            saved = await swapped(instructor, "on_reload_saved_model", asked,
                                  "Every student is served the saved model again", watched, class_model["model_id"])
            assert saved["layers"] == layer_list(shipped_mnist), "the saved model's weights"
        finally:
            await close_pages(pages)

    asyncio.run(scenario())

def test_a_replica_killed_mid_class_loses_no_acknowledged_drawing_and_its_students_carry_on(replicas, events):
    killed = replicas.replicas[1]

    digits = page_digits(100)

    async def student(page: Page, code: str, stop: asyncio.Event, sent: list) -> None:
        index = 0
        while not stop.is_set():
            image, meant = digits[index % len(digits)]
            try:
                number, error = await asyncio.wait_for(
                    send_once(page.http, page.url, events["class_send"], page.session, [code, image, meant]), 15)
            except (httpx.HTTPError, asyncio.TimeoutError) as failed:
                number, error = None, repr(failed)
            sent.append((time.monotonic(), page.replica, number, error))
            index += 1
            await asyncio.sleep(PACE)

    async def scenario() -> None:
        pages = await open_pages(replicas.url, 8)
        try:
            instructor = by_replica(pages)["replica1"][0]
            opened = await a_class([instructor], events)
            stop, sent = asyncio.Event(), {id(page): [] for page in pages}
            students = [asyncio.create_task(student(page, opened["code"], stop, sent[id(page)])) for page in pages]
            deadline = time.monotonic() + 15
            while not all(any(number for _, _, number, _ in sent[id(page)]) for page in pages):
                assert time.monotonic() < deadline, sent  # every page has a drawing acknowledged before the kill
                await asyncio.sleep(0.1)
            moved = [page for page in pages if page.replica == killed.name]
            assert moved, "the replica killed holds pages"
            os.kill(killed.process.pid, signal.SIGKILL)
            at_kill = time.monotonic()
            killed.process.wait()
            await asyncio.sleep(10)
            stop.set()
            await asyncio.gather(*students)

            acknowledged = [number for sends in sent.values() for _, _, number, _ in sends if number is not None]
            wall = (await instructor.run(events["class_wall"], [opened["code"], opened["token"]]))[0]
            assert set(acknowledged) <= {d["number"] for d in wall["drawings"]}, "no acknowledged drawing is lost"
            for page in moved:  # its students carry on, held now to the surviving replica
                after = [(moment, replica) for moment, replica, number, _ in sent[id(page)]
                         if moment > at_kill and number is not None]
                assert len(after) >= 2 and {replica for _, replica in after} == {"replica1"}, sent[id(page)]
                before = [number for moment, _, number, _ in sent[id(page)] if moment < at_kill and number is not None]
                assert before, "the page had sent through the killed replica"
            replicas.balancer.wait_until({"replica1": "UP", killed.name: "DOWN"})
        finally:
            await close_pages(pages)

    asyncio.run(scenario())
