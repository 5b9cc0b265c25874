"""Students opening the page at once: each replays a page load recorded from Chromium
(``harness/page_recording.py``) as a browser does, over at most six HTTP/1.1 connections to the server.

A student's requests go out in the recorded order, each once the answers that came before it in the
recording have come (the page, then the scripts it loads, then the modules they import...), on the first
free connection. An event stream that the page held open holds its connection, as in a browser: it has
answered at its first event, and with ``hold`` it stays open afterwards and the time of every later event
is kept (a model swap's news). The page is complete once everything has answered. As a browser does, a request
is sent again (once, on a new connection) when the server closes a kept connection as the request goes out
on it, before any answer (``Answer.resent``); any other failure counts as one.

The client is asyncio protocols with httptools' parser (the one uvicorn uses), on uvloop when installed:
a few tens of microseconds a request, so that on a shared machine the server's cost decides.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field, replace

import httptools

from harness.page_recording import RecordedRequest, Visit

CONNECTIONS = 6  # a browser's connections to one host over HTTP/1.1
SESSION_IN_TARGET = re.compile(r"(?:heartbeat/|session_hash=)([a-z0-9]+)")


@dataclass
class Answer:
    """What came back for one request."""
    status: int | None = None
    wire_bytes: int = 0
    error: str | None = None
    reused: bool = False  # sent on a connection that had carried an answer before
    resent: bool = False  # sent again on a new connection: the server had closed the kept one
    done_at: float | None = None  # time.monotonic() once answered (an open stream: at its first event)
    later_events: list[float] = field(default_factory=list)  # a held stream's events after the first
    cookies: list[str] = field(default_factory=list)  # "name=value" of each cookie it set (a load balancer's)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status in (200, 304)


@dataclass
class PageResult:
    began: float
    answers: list[Answer]
    targets: list[str]

    @property
    def complete(self) -> bool:
        return all(answer.ok for answer in self.answers)

    @property
    def seconds(self) -> float | None:
        """From the start to the last answer, for a complete page."""
        return max(answer.done_at for answer in self.answers) - self.began if self.complete else None

    @property
    def wire_bytes(self) -> int:
        return sum(answer.wire_bytes for answer in self.answers)

    def answer(self, path_part: str) -> Answer:
        """The answer to the first request whose target contains ``path_part``."""
        return next(a for a, target in zip(self.answers, self.targets) if path_part in target)


class ConnectionLost(Exception):
    pass


LOST_UNANSWERED = "ConnectionLost: closed by the server without an answer"


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; httptools calls its ``on_…`` methods as an answer comes in."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: Answer | None = None
        self.stream = False
        self.answered = asyncio.Event()  # the current answer has come (a stream: its first event)
        self.ended = asyncio.Event()  # the current answer is complete, or the connection is gone
        self.lost = False
        self.carried = 0  # answers completed on this connection

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    @property
    def reusable(self) -> bool:
        return not self.lost and self.ended.is_set() and self.parser.should_keep_alive()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: RecordedRequest, answer: Answer, host: str, cookie: str, timeout: float,
                       hold: asyncio.Event | None) -> None:
        """Send ``request``; return once ``answer`` has come (TimeoutError after ``timeout`` s, ConnectionLost if
        the server closes the connection first). With ``hold``, a stream is read on until ``hold`` is set."""
        self.answer, self.stream = answer, request.stream
        self.answered.clear()
        self.ended.clear()
        answer.reused = self.carried > 0
        self.transport.write(_request_bytes(request, host, cookie))
        await asyncio.wait_for(self.answered.wait(), timeout)
        if answer.done_at is None:
            raise ConnectionLost("closed by the server before the answer ended" if answer.status
                                 else "closed by the server without an answer")
        if request.stream and hold is not None:
            await first_of(hold.wait(), self.ended.wait())

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.answer is not None:
            self.answer.wire_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.connection_lost(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.answered.set()
        self.ended.set()

    # httptools
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"set-cookie":
            self.answer.cookies.append(value.decode("latin-1").split(";", 1)[0].strip())

    def on_headers_complete(self) -> None:
        self.answer.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.stream and b"data:" in body:
            now = time.monotonic()
            if self.answer.done_at is None:
                self.answer.done_at = now
                self.answered.set()
            else:
                self.answer.later_events.append(now)

    def on_message_complete(self) -> None:
        self.carried += 1
        self.answer.done_at = self.answer.done_at or time.monotonic()
        self.answered.set()
        self.ended.set()


def _request_bytes(request: RecordedRequest, host: str, cookie: str) -> bytes:
    lines = [f"{request.method} {request.target} HTTP/1.1", f"host: {host}",
             *(f"{name}: {value}" for name, value in request.headers), *([f"cookie: {cookie}"] if cookie else [])]
    if request.body or request.method == "POST":
        lines.append(f"content-length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def for_new_session(visit: Visit) -> list[RecordedRequest]:
    """The visit's requests with a new Gradio session of their own (its id is in URLs and bodies)."""
    recorded = {match.group(1) for request in visit.requests for match in SESSION_IN_TARGET.finditer(request.target)}
    requests = visit.requests
    for old in recorded:
        new = secrets.token_hex(8)[:len(old)]
        requests = [replace(r, target=r.target.replace(old, new), body=r.body.replace(old.encode(), new.encode()))
                    for r in requests]
    return requests


class Student:
    """One page load: each request once those before it in the recording have answered, on a free connection."""

    def __init__(self, host: str, port: int, requests: list[RecordedRequest], timeout: float,
                 hold: asyncio.Event | None = None) -> None:
        self.host, self.port, self.requests, self.timeout, self.hold = host, port, requests, timeout, hold
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(CONNECTIONS)
        self.answers = [Answer() for _ in requests]
        self.waiting = [len(request.after) for request in requests]  # answers each request still waits for
        self.followers: list[list[int]] = [[] for _ in requests]
        for index, request in enumerate(requests):
            for before in request.after:
                self.followers[before].append(index)
        self.settled = [False] * len(requests)
        self.unanswered = self.unfinished = len(requests)
        self.loaded = asyncio.Event()  # every request has answered (held streams are still open)
        self.finished = asyncio.Event()  # and every one is over
        self.tasks: list[asyncio.Future] = []
        # The cookies the answers set, sent with every later request as a browser does: behind a load balancer
        # its cookie holds the page to one replica (deploy/haproxy.cfg).
        self.cookies: dict[str, str] = {}

    async def run(self) -> PageResult:
        began = time.monotonic()
        for index, waiting in enumerate(self.waiting):
            if waiting == 0:
                self.tasks.append(asyncio.ensure_future(self._one(index)))
        await self.finished.wait()
        for connection in self.idle:
            connection.close()
        return PageResult(began, self.answers, [request.target for request in self.requests])

    def _answered(self, index: int) -> None:
        """Request ``index`` has its answer (or has failed): the requests that waited for it may go."""
        if self.settled[index]:
            return
        self.settled[index] = True
        self.unanswered -= 1
        if self.unanswered == 0:
            self.loaded.set()
        for follower in self.followers[index]:
            self.waiting[follower] -= 1
            if not self.answers[index].ok and not self.settled[follower]:
                self.answers[follower].error = "not sent: an answer it follows failed"
                self._answered(follower)
                self._over()
            elif self.waiting[follower] == 0 and not self.settled[follower]:
                self.tasks.append(asyncio.ensure_future(self._one(follower)))

    def _over(self) -> None:
        self.unfinished -= 1
        if self.unfinished == 0:
            self.finished.set()

    async def _one(self, index: int) -> None:
        try:
            async with self.slots:
                await self._exchange(self.requests[index], self.answers[index], index)
        finally:
            self._answered(index)
            self._over()

    def _idle_connection(self) -> _Connection | None:
        """A kept connection that the server has not closed meanwhile (a browser checks it too)."""
        while self.idle:
            connection = self.idle.pop()
            if not connection.lost:
                return connection
        return None

    async def _exchange(self, request: RecordedRequest, answer: Answer, index: int) -> None:
        kept = self._idle_connection()
        if kept is not None:
            if await self._attempt(kept, request, answer, index) or not answer.error.startswith(LOST_UNANSWERED):
                return
            # The server closed the kept connection as the request went out on it (it closes connections idle
            # for a while): a browser sends the request again, once, on a new connection. So does a student.
            answer.resent, answer.error, answer.wire_bytes = True, None, 0
        try:
            connection = await _Connection.open(self.host, self.port)
        except OSError as err:
            answer.error = f"{type(err).__name__}: {err}"
            return
        await self._attempt(connection, request, answer, index)

    async def _attempt(self, connection: _Connection, request: RecordedRequest, answer: Answer, index: int) -> bool:
        """One try on ``connection``: whether the answer came (if not, ``answer.error`` says why)."""
        try:
            cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            exchange = connection.exchange(request, answer, f"{self.host}:{self.port}", cookie, self.timeout, self.hold)
            if request.stream:  # those after it wait for its first event, not for its end
                task = asyncio.ensure_future(exchange)
                await first_of(task, connection.answered.wait(), cancel=False)
                self._keep_cookies(answer)
                if answer.done_at is not None:
                    self._answered(index)
                await task
            else:
                await exchange
                self._keep_cookies(answer)
        except (ConnectionLost, OSError) as err:
            answer.error = f"{type(err).__name__}: {err}"
        except asyncio.TimeoutError:
            answer.error = "timeout"
        if answer.error is None and connection.reusable:
            self.idle.append(connection)
        else:
            connection.close()
        return answer.error is None


    def _keep_cookies(self, answer: Answer) -> None:
        for pair in answer.cookies:
            name, _, value = pair.partition("=")
            self.cookies[name] = value


async def first_of(*awaitables, cancel: bool = True) -> None:
    """Wait until one of ``awaitables`` is done; the others are cancelled (a task given with ``cancel=False``
    is left running)."""
    futures = [asyncio.ensure_future(a) for a in awaitables]
    _, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    for future in pending:
        if cancel or future is not awaitables[0]:
            future.cancel()


def crowd(url: str, visit: Visit, students: int, timeout: float = 300.0,
          hold: asyncio.Event | None = None) -> list[Student]:
    """``students`` page loads of ``visit`` against ``url`` (http://host:port/), each a session of its own, to
    run; with ``hold``, the pages' open event streams stay open until ``hold`` is set."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    return [Student(host, int(port), for_new_session(visit), timeout, hold) for _ in range(students)]


async def replay(url: str, visit: Visit, students: int, timeout: float = 300.0) -> list[PageResult]:
    """``students`` page loads of ``visit`` at once against ``url``; their results once all are done."""
    return await asyncio.gather(*(student.run() for student in crowd(url, visit, students, timeout)))


def run(coroutine):
    """Run ``coroutine`` on uvloop when it is installed (a cheaper client), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
