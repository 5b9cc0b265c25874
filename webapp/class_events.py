"""The news that a class's wall changed, pushed to the pages that show it (Server-Sent Events).

A wall page opens one stream for its class, ``/cnn-demo/class/<code>/events``, and is told the wall's
version (a count of its changes) whenever it changes; it then asks for the wall itself through the queue,
with its token. The stream carries no drawing, no count of anything and no token: anyone who knows the
class code may listen (the students' pages will, for what the instructor shows them) and learns only that
something changed, or that the class ended. One poller per server reads the versions of the watched classes
from the store every POLL_SECONDS (a query per class, not per page), so a drawing sent to any process that
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

POLL_SECONDS = 0.25  # a send reaches the wall within half a second: this, and the wall's own request
KEEPALIVE_SECONDS = 15.0  # well under the idle timeouts of common proxies (30-100 s)
MAX_WATCHERS = 2_000  # open streams at most: a class is tens to hundreds of pages
ENDED = None  # the version of a class that is no longer open


def news(version: int | None) -> str:
    return f"data: {json.dumps({'ended': True} if version is ENDED else {'version': version})}\n\n"


class ClassNews:
    """The open streams, by class, and the one task that polls their classes' versions while any is open."""

    def __init__(self, version: Callable[[str], int | None], limit: int = MAX_WATCHERS,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.version, self.limit, self.poll_seconds = version, limit, poll_seconds
        self.watchers: dict[str, set[asyncio.Queue]] = {}
        self.known: dict[str, int | None] = {}  # the version each watched class had at the last poll
        self._poller: asyncio.Task | None = None

    def full(self) -> bool:
        return sum(len(queues) for queues in self.watchers.values()) >= self.limit

    async def stream(self, code: str) -> AsyncIterator[str]:
        """``data: {"version": n}`` now and at each change, ``data: {"ended": true}`` when the class is gone.
        It ends when the page goes (the web server stops it when a write finds the connection closed)."""
        changes: asyncio.Queue = asyncio.Queue(maxsize=1)  # only the latest version matters
        self.watchers.setdefault(code, set()).add(changes)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        try:
            version = await asyncio.to_thread(self.version, code)
            self.known.setdefault(code, version)
            yield news(version)
            while version is not ENDED:
                try:
                    version = await asyncio.wait_for(changes.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                yield news(version)
        finally:
            self.watchers[code].discard(changes)
            if not self.watchers[code]:
                del self.watchers[code]
                self.known.pop(code, None)

    async def _poll(self) -> None:
        while self.watchers:
            await asyncio.sleep(self.poll_seconds)
            codes = list(self.watchers)
            versions = await asyncio.to_thread(lambda: {code: self.version(code) for code in codes})
            for code, version in versions.items():
                if code not in self.watchers or self.known.get(code, version) == version:
                    continue
                self.known[code] = version
                for changes in self.watchers[code]:
                    if changes.full():
                        changes.get_nowait()
                    changes.put_nowait(version)


def class_routes(classroom: Classroom) -> list[BaseRoute]:
    watchers = ClassNews(classroom.version)

    async def class_events(request: Request) -> Response:
        try:
            code = class_code(request.path_params["code"])
        except ClassRefused as refused:
            return JSONResponse({"error": str(refused)}, status_code=404, headers=NO_CACHE)
        if watchers.full():
            return JSONResponse({"error": "Too many pages are following classes on this server."}, status_code=503,
                                headers=NO_CACHE)
        return StreamingResponse(watchers.stream(code), media_type="text/event-stream",
                                 headers={**NO_CACHE, "X-Accel-Buffering": "no"})  # no proxy buffering

    return [Route(f"{PREFIX}/class/{{code}}/events", class_events, methods=["GET"])]
