"""The news of a class, pushed to the pages that follow it (Server-Sent Events).

Two streams follow a class, both fed by the store's version counters:

- ``/cnn-demo/class/<code>/events``, the wall's: the wall's version (a count of its changes) whenever it
  changes; the wall page then asks for the wall itself through the queue, with its token. It carries no
  drawing, no count of anything and no token.
- ``/cnn-demo/class/<code>/shown``, the students' pages': what the instructor shows everyone, whenever the
  instructor shows something else or stops: the image as 784 numbers, the target class and the method (the
  page's own network computes the views), and where the image comes from, in words. What is shown is meant
  for the whole class, so anyone who knows the class code may listen; a page that opens the stream later
  hears what is shown now, at once.

Both end with ``{"ended": true}`` when the class is gone. One poller per server reads the versions of the
watched classes from the store every POLL_SECONDS (a query per class, not per page), and reads a newly shown
image once for all the pages that follow it, so a drawing sent or an image shown through any process that
shares the store reaches every page, and a class of hundreds costs the same as a class of one.
"""
from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from classroom.classes import ClassRefused, Classroom, class_code
from webapp.browser_routes import NO_CACHE, PREFIX
from webapp.class_show import shown_news

POLL_SECONDS = 0.25  # a send reaches the wall within half a second: this, and the wall's own request
AWAY_SECONDS = 1.0  # between tries while the store cannot be read
KEEPALIVE_SECONDS = 15.0  # well under the idle timeouts of common proxies (30-100 s)
MAX_WATCHERS = 2_000  # open streams at most: a class is tens to hundreds of pages
WALL, SHOWN = "wall", "shown"  # the two streams of a class
COUNTER = {WALL: 0, SHOWN: 1}  # which of a class's versions each stream follows
ENDED = f"data: {json.dumps({'ended': True})}\n\n"

Versions = tuple[int, int] | None  # (the wall's version, what is shown's version); None: no such open class


def event(data: dict) -> str:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"


def changed(kind: str, before: Versions, now: Versions) -> bool:
    """Whether the stream ``kind`` has news: the class ended, or its own counter moved."""
    return before is None or now is None or before[COUNTER[kind]] != now[COUNTER[kind]]


class ClassNews:
    """The open streams, by class and kind, and the one task that polls their classes' versions while any is
    open. ``versions(code)`` reads a class's two counters; ``shown(code, version)`` the data of the message that
    tells what it shows (``version``: what is shown's version at the poll that asks). While they raise one of
    ``away`` (the store's database cannot be reached: a PostgreSQL server restarting), the streams stay open, kept
    alive, and the poller tries again every AWAY_SECONDS; the news that came meanwhile follows when it is back."""

    def __init__(self, versions: Callable[[str], Versions], shown: Callable[[str, int], dict],
                 away: tuple[type[Exception], ...] = (), limit: int = MAX_WATCHERS,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.versions, self.shown, self.away = versions, shown, away
        self.limit, self.poll_seconds = limit, poll_seconds
        self.watchers: dict[tuple[str, str], set[asyncio.Queue]] = {}
        self.known: dict[str, Versions] = {}  # the versions each watched class had at the last poll
        self._poller: asyncio.Task | None = None

    def full(self) -> bool:
        return sum(len(queues) for queues in self.watchers.values()) >= self.limit

    def message(self, code: str, kind: str, versions: Versions) -> str:
        """The news of the stream ``kind`` of class ``code`` at ``versions`` (read from the store: call in a thread)."""
        if versions is None:
            return ENDED
        return event({"version": versions[0]}) if kind == WALL else event(self.shown(code, versions[1]))

    async def stream(self, code: str, kind: str) -> AsyncIterator[str]:
        """The news now, then at each change of its kind, then ENDED when the class is gone. It ends when the
        page goes (the web server stops it when a write finds the connection closed)."""
        changes: asyncio.Queue = asyncio.Queue(maxsize=1)  # only the latest news matters
        self.watchers.setdefault((code, kind), set()).add(changes)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            try:
                versions = await asyncio.to_thread(self.versions, code)
                news = await asyncio.to_thread(self.message, code, kind, versions)
            except self.away:  # the store cannot be read now: the page's EventSource comes back by itself
                yield f"retry: {AWAY_SECONDS * 2000:.0f}\n\n"
                return
            self.known.setdefault(code, versions)
            yield news
            while news != ENDED:
                try:
                    news = await asyncio.wait_for(changes.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                yield news
        finally:
            self.watchers[(code, kind)].discard(changes)
            if not self.watchers[(code, kind)]:
                del self.watchers[(code, kind)]
            if not any(watched == code for watched, _ in self.watchers):
                self.known.pop(code, None)

    async def _poll(self) -> None:
        away = False  # the store could not be read at the last try
        while self.watchers:
            await asyncio.sleep(AWAY_SECONDS if away else self.poll_seconds)
            try:
                await self._tell_news()
            except self.away as err:
                if not away:  # said once an outage, by its kind alone: a message may hold the database's address
                    print(f"⚠️  The class store cannot be read ({type(err).__name__}): the classes' pages wait, "
                          f"and hear the news when it is back (trying every {AWAY_SECONDS:.0f} s).", flush=True)
                away = True
                continue
            if away:
                print("The class store can be read again: the classes' pages hear their news.", flush=True)
            away = False

    async def _tell_news(self) -> None:
        """One poll: the versions of every watched class, and the news of those that changed to their streams."""
        codes = {code for code, _ in self.watchers}
        polled = await asyncio.to_thread(lambda: {code: self.versions(code) for code in codes})
        for code, now in polled.items():
            if code not in self.known or self.known[code] == now:
                continue
            before = self.known[code]
            for kind in (WALL, SHOWN):
                if not self.watchers.get((code, kind)) or not changed(kind, before, now):
                    continue
                news = await asyncio.to_thread(self.message, code, kind, now)  # once for all of them
                for changes in self.watchers.get((code, kind), ()):
                    if changes.full():
                        changes.get_nowait()
                    changes.put_nowait(news)
            if code in self.known:  # only once its news is out: a store away meanwhile leaves it to the next poll
                self.known[code] = now


def class_routes(classroom: Classroom) -> list[BaseRoute]:
    """The two streams of every class."""
    watchers = ClassNews(classroom.versions, lambda code, version: shown_news(classroom, code, version),
                         away=classroom.store.away)

    def following(kind: str):
        async def class_events(request: Request) -> Response:
            try:
                code = class_code(request.path_params["code"])
            except ClassRefused as refused:
                return JSONResponse({"error": str(refused)}, status_code=404, headers=NO_CACHE)
            if watchers.full():
                return JSONResponse({"error": "Too many pages are following classes on this server."},
                                    status_code=503, headers=NO_CACHE)
            return StreamingResponse(watchers.stream(code, kind), media_type="text/event-stream",
                                     headers={**NO_CACHE, "X-Accel-Buffering": "no"})  # no proxy buffering
        return class_events

    return [Route(f"{PREFIX}/class/{{code}}/events", following(WALL), methods=["GET"]),
            Route(f"{PREFIX}/class/{{code}}/shown", following(SHOWN), methods=["GET"])]
