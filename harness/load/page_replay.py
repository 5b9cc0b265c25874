"""Students opening the page at once: each replays a page load recorded from Chromium
(``harness/page_recording.py``) as a browser does, over at most six HTTP/1.1 connections to the server.

A student's requests go out in the recorded order, each once the answers that came before it in the
recording have come (the page, then the scripts it loads, then the modules they import...), on the first
free connection. An event stream holds its connection, as in a browser: it counts as
answered at its first event (the queue's: once it ends), and with ``hold`` it stays open afterwards and
the time of every later event is kept (a model swap's news). The page is complete once everything is
answered; a request is not retried, so that a connection the server drops counts as what it is.

The client is plain asyncio with h11 (the HTTP/1.1 state machine uvicorn uses): a few tens of
microseconds a request, so that on a shared machine the server's cost decides.
"""
from __future__ import annotations

import asyncio
import re
import resource
import secrets
import time
from dataclasses import dataclass, field, replace

import h11

from harness.page_recording import RecordedRequest, Visit

CONNECTIONS = 6  # a browser's connections to one host over HTTP/1.1
READ_BYTES = 65536
SESSION_IN_TARGET = re.compile(r"(?:heartbeat/|session_hash=)([a-z0-9]+)")


@dataclass
class Answer:
    """What came back for one request."""
    status: int | None = None
    wire_bytes: int = 0
    error: str | None = None
    reused: bool = False  # sent on a connection that had already carried an answer
    done_at: float | None = None  # time.monotonic() once answered (a stream: at its first event)
    later_events: list[float] = field(default_factory=list)  # a held stream's events after the first

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


class ConnectionLost(Exception):
    pass


class _Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host
        self.h11 = h11.Connection(h11.CLIENT)
        self.answered = 0

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=READ_BYTES)
        return cls(reader, writer, f"{host}:{port}")

    @property
    def reusable(self) -> bool:
        return self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: RecordedRequest, answer: Answer, answered: asyncio.Event, timeout: float,
                       hold: asyncio.Event | None = None) -> None:
        """Send ``request`` and read its answer into ``answer`` (TimeoutError after ``timeout`` seconds), then set
        ``answered``. A stream has answered at its first event; it is read on until it ends, or with ``hold``,
        until ``hold`` is set, noting the time of later events."""
        deadline = time.monotonic() + timeout
        answer.reused = self.answered > 0
        headers = [("host", self.host), *request.headers]
        if request.body:
            headers.append(("content-length", str(len(request.body))))
        data = self.h11.send(h11.Request(method=request.method, target=request.target, headers=headers))
        if request.body:
            data += self.h11.send(h11.Data(data=request.body))
        self.writer.write(data + self.h11.send(h11.EndOfMessage()))
        events = 0
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                held = hold is not None and events > 0 and request.stream
                chunk = await self._read(hold if held else None, None if held else deadline)
                if chunk is None:
                    return  # released: the held stream is closed by the caller
                answer.wire_bytes += len(chunk)
                self.h11.receive_data(chunk)
            elif isinstance(event, h11.Response):
                answer.status = event.status_code
            elif isinstance(event, h11.Data) and request.stream and b"data:" in event.data:
                events += 1
                now = time.monotonic()
                if events == 1:
                    answer.done_at = now
                    answered.set()
                    if hold is None and "queue/data" not in request.target:
                        return  # a page-load replay: the stream has answered
                else:
                    answer.later_events.append(now)
            elif isinstance(event, h11.EndOfMessage):
                answer.done_at = answer.done_at or time.monotonic()
                answered.set()
                self.answered += 1
                if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
                    self.h11.start_next_cycle()
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionLost("closed by the server before the answer ended")

    async def _read(self, hold: asyncio.Event | None, deadline: float | None) -> bytes | None:
        """The next bytes (TimeoutError past ``deadline``); None once ``hold`` is set (a held stream let go)."""
        if hold is None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            chunk = await asyncio.wait_for(self.reader.read(READ_BYTES), remaining)
        else:
            reading = asyncio.ensure_future(self.reader.read(READ_BYTES))
            released = asyncio.ensure_future(hold.wait())
            done, _ = await asyncio.wait({reading, released}, return_when=asyncio.FIRST_COMPLETED)
            if reading not in done:
                reading.cancel()
                return None
            released.cancel()
            chunk = reading.result()
        if not chunk:
            raise ConnectionLost("closed by the server without an answer" if self.h11.their_state is h11.SEND_RESPONSE
                                 else "closed by the server before the answer ended")
        return chunk


def for_new_session(visit: Visit) -> list[RecordedRequest]:
    """The visit's requests with a new Gradio session of their own (its id is in URLs and bodies)."""
    recorded = {match.group(1) for request in visit.requests for match in SESSION_IN_TARGET.finditer(request.target)}
    requests = visit.requests
    for old in recorded:
        new = secrets.token_hex(6)[:len(old)]
        requests = [replace(r, target=r.target.replace(old, new), body=r.body.replace(old.encode(), new.encode()))
                    for r in requests]
    return requests


class Student:
    """One page load: the page first, then its other requests over the free connections."""

    def __init__(self, host: str, port: int, requests: list[RecordedRequest], timeout: float,
                 hold: asyncio.Event | None = None) -> None:
        self.host, self.port, self.requests, self.timeout, self.hold = host, port, requests, timeout, hold
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(CONNECTIONS)
        self.answers = [Answer() for _ in requests]
        self.answered = [asyncio.Event() for _ in requests]

    async def run(self) -> PageResult:
        began = time.monotonic()
        await asyncio.gather(*(self._one(i) for i in range(len(self.requests))))
        for connection in self.idle:
            connection.close()
        return PageResult(began, self.answers, [request.target for request in self.requests])

    async def _one(self, index: int) -> None:
        request, answer = self.requests[index], self.answers[index]
        for before in request.after:
            await self.answered[before].wait()
            if not self.answers[before].ok:
                answer.error = "not sent: an answer it follows failed"
                self.answered[index].set()
                return
        async with self.slots:
            connection = None
            try:
                connection = self.idle.pop() if self.idle else await _Connection.open(self.host, self.port)
                await connection.exchange(request, answer, self.answered[index], self.timeout, self.hold)
            except (ConnectionLost, OSError, h11.ProtocolError) as err:
                answer.error = f"{type(err).__name__}: {err}"
            except asyncio.TimeoutError:
                answer.error = "timeout"
            finally:
                self.answered[index].set()
                if connection is not None and connection.reusable and answer.error is None:
                    self.idle.append(connection)
                elif connection is not None:
                    connection.close()
        if answer.error is None and answer.status is None:
            answer.error = "no answer"


def allow_many_sockets() -> None:
    """Raise this process's open-files limit to its hard limit: a thousand students hold thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def replay(url: str, visit: Visit, students: int, timeout: float = 300.0,
                 hold: asyncio.Event | None = None) -> list[PageResult]:
    """``students`` page loads of ``visit`` at once against ``url`` (http://host:port/), each a session of its
    own; with ``hold``, the pages' event streams stay open until ``hold`` is set."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    return await asyncio.gather(*(Student(host, int(port), for_new_session(visit), timeout, hold).run()
                                  for _ in range(students)))
