"""Answers kept in memory: recorded once from the app, compressed once at their best, replayed to every client.

What a lecture hall's pages ask for is mostly the same few hundred KB again and again: Gradio's frontend
files, the page's own JavaScript, the page and its configuration. Gradio reads each file from disk and
compresses it afresh for every student (Brotli quality 4, per request); the page and its configuration
are not compressed at all, having no file extension. A kept answer is compressed once, with Brotli at
quality 11 and gzip at level 9 (in a worker thread: the event loop goes on serving), and answered from
memory in the encoding the client accepts, with a strong ETag of its content and a lifetime; a client
that asks again with the ETag it has gets "304 Not Modified". Compressing at their best takes time (about
2 s of CPU for a page's hundred files): the first request of a file gets it compressed quickly (Brotli 5,
gzip 6), and one background thread compresses it at its best meanwhile, for everyone after.

``AnswerCache`` is the ASGI middleware that records and replays; its subclasses say which requests it
keeps (``ui/asset_cache.py``: files that never change while the server runs; ``ui/config_cache.py``: the
page and its configuration, per address). ``KeptAnswer.of`` keeps a body a route makes itself (the served
model's weights, webapp/browser_routes.py).
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json",
                "application/xml", "image/svg+xml")
# Headers that a kept answer sets itself, for the encoding and the validator it answers with.
OWN_HEADERS = frozenset({b"content-length", b"content-encoding", b"etag", b"last-modified", b"vary"})
REVALIDATE = b"no-cache"  # the browser may keep it, and asks with its ETag before using it again
IMMUTABLE = b"public, max-age=31536000, immutable"  # for a URL that names a version: a year, never asked again
# Asked without what would make the app's answer depend on the client (the CORS headers of an Origin: ``around``).
RECORDED_AWAY = (b"accept-encoding", b"if-none-match", b"if-modified-since", b"range", b"if-range", b"origin")
ANSWER = "cnn_demo.answer"  # the scope key under which an answer's ASGI messages pass through ``around``
BEST, QUICK = (11, 9), (5, 6)  # Brotli quality, gzip level: at their best; quick (a few ms for 100 KB)
# Compresses kept answers at their best, one at a time: at most one core, while the students wait for none.
BEST_COMPRESSOR = ThreadPoolExecutor(1, thread_name_prefix="compress-at-best")


def compressions(body: bytes, content_type: str, levels: tuple[int, int] = BEST) -> dict[str, bytes]:
    """The body in each content coding that makes it smaller: Brotli and gzip at ``levels``."""
    if not content_type.startswith(COMPRESSIBLE):
        return {}  # pictures, fonts (WOFF2 is compressed already)
    quality, level = levels
    encoded = {"br": brotli.compress(body, quality=quality, mode=brotli.MODE_TEXT),
               "gzip": gzip.compress(body, compresslevel=level, mtime=0)}
    return {coding: data for coding, data in encoded.items() if len(data) < len(body)}


def accepted_codings(accept_encoding: str) -> set[str]:
    """The content codings a request's Accept-Encoding allows (those with a q-value above 0)."""
    accepted = set()
    for item in accept_encoding.lower().split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        refused = any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in parameters)
        if coding and not refused:
            accepted.add(coding)
    return accepted


def etag_names(if_none_match: str) -> set[str]:
    """The entity tags of an If-None-Match header, without quotes, weakness marks or our coding suffixes."""
    names = set()
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        names.add(tag.rsplit("-", 1)[0] if tag.endswith(("-br", "-gzip")) else tag)
    return names


@dataclass(frozen=True)
class KeptAnswer:
    """A 200 answer kept in memory: its headers (less those it sets itself), its body in every useful coding."""
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    encoded: dict[str, bytes]  # content coding -> body
    tag: str  # names the content: the ETag, less the quotes and the coding suffix
    cache_control: bytes
    size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", len(self.body) + sum(map(len, self.encoded.values())))

    @classmethod
    def of(cls, body: bytes, headers: list[tuple[bytes, bytes]], cache_control: bytes = REVALIDATE,
           tag: str | None = None, levels: tuple[int, int] = BEST) -> KeptAnswer:
        """Keep ``body``, compressed now at ``levels`` (call it off the event loop); ``tag`` names the content
        (by default its SHA-256)."""
        kept = tuple((name.lower(), value) for name, value in headers if name.lower() not in OWN_HEADERS)
        given = dict(kept).get(b"cache-control")
        content_type = dict(kept).get(b"content-type", b"").decode("latin-1")
        kept = tuple((name, value) for name, value in kept if name != b"cache-control")
        return cls(kept, body, compressions(body, content_type, levels),
                   tag or hashlib.sha256(body).hexdigest()[:32], given or cache_control)

    def choose(self, accept_encoding: str) -> str | None:
        """The smallest coding the client accepts; None: the body as it is."""
        accepted = accepted_codings(accept_encoding)
        usable = [coding for coding in self.encoded if coding in accepted]
        return min(usable, key=lambda coding: len(self.encoded[coding])) if usable else None

    def messages(self, request_headers: dict[bytes, bytes], head: bool = False) -> list[Message]:
        """The ASGI messages that answer a request with these headers: 304 if it names our content, else 200."""
        coding = self.choose(request_headers.get(b"accept-encoding", b"").decode("latin-1"))
        etag = f'"{self.tag}-{coding}"' if coding else f'"{self.tag}"'
        headers = [(b"etag", etag.encode()), (b"cache-control", self.cache_control)]
        if self.encoded:
            headers.append((b"vary", b"Accept-Encoding"))
        if self.tag in etag_names(request_headers.get(b"if-none-match", b"").decode("latin-1")):
            return [{"type": "http.response.start", "status": 304, "headers": headers},
                    {"type": "http.response.body", "body": b""}]
        body = self.encoded[coding] if coding else self.body
        headers += [*self.headers, (b"content-length", str(len(body)).encode())]
        if coding:
            headers.append((b"content-encoding", coding.encode()))
        return [{"type": "http.response.start", "status": 200, "headers": headers},
                {"type": "http.response.body", "body": b"" if head else body}]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer as an ASGI app (a route may return a kept answer as its response)."""
        for message in self.messages(dict(scope["headers"]), scope["method"] == "HEAD"):
            await send(message)


class RecordingSend:
    """``send``, keeping a copy of each message of the answer; with ``forward=False``, only keeping them."""

    def __init__(self, send: Send | None, forward: bool = True) -> None:
        self.send, self.forward, self.messages = send, forward, []

    async def __call__(self, message: Message) -> None:
        self.messages.append(fresh_copy(message))
        if self.forward:
            await self.send(message)

    def replayable(self) -> bool:
        """A complete 200 answer that sets no cookie and is not encoded already."""
        if not self.messages or self.messages[0]["type"] != "http.response.start":
            return False
        start, last = self.messages[0], self.messages[-1]
        names = {name.lower() for name, _ in start.get("headers", [])}
        complete = last["type"] == "http.response.body" and not last.get("more_body", False)
        return start["status"] == 200 and not names & {b"set-cookie", b"content-encoding"} and complete

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


def fresh_copy(message: Message) -> Message:
    """A message that the middleware around us may change without changing the kept one (Gradio's
    compressor rewrites headers and body in place). Bodies are bytes."""
    copy = dict(message)
    if "headers" in copy:
        copy["headers"] = list(copy["headers"])
    return copy


class AnswerCache:
    """ASGI middleware: answers the requests that ``key`` names from kept answers, recorded once from the app.

    The first request for a key records the app's answer (asked without compression or conditions), and every
    request for that key meanwhile waits for it; a complete plain 200 is kept and replayed, any other answer
    goes to its requests as the app made it. At most ``max_bytes`` are kept, the least recently used go first.
    A new Blocks configuration (Gradio's reload mode makes one) drops every kept answer.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, around: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        """``around``: the middleware (Gradio's CORS headers) that the app's answers pass through outside the cache,
        when the cache is put in front of it (ui/memory_first.py): every answer the cache gives passes through it."""
        self.app, self.max_bytes = app, max_bytes
        self.answer = (around or (lambda app: app))(_send_answer)
        self.answers: OrderedDict[Hashable, KeptAnswer] = OrderedDict()
        self.recording: dict[Hashable, asyncio.Future] = {}
        self.kept_bytes = 0
        self.config: object = None  # the configuration the kept answers were made from

    def key(self, scope: Scope) -> Hashable | None:
        """What the answer to this GET request depends on, or None if it is not one we keep."""
        raise NotImplementedError

    def cache_control(self, scope: Scope) -> bytes:
        """The lifetime of an answer to this request that states none itself."""
        return REVALIDATE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.key(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        self._forget_if_reconfigured(scope)
        kept = self.answers.get(key)
        if kept is None:
            kept = await self._record(key, scope, receive, send)
            if kept is None:
                return  # answered as the app made it
        self.answers.move_to_end(key)
        await self.answer({**scope, ANSWER: kept.messages(dict(scope["headers"]))}, receive, send)

    async def _record(self, key: Hashable, scope: Scope, receive: Receive, send: Send) -> KeptAnswer | None:
        waiting = self.recording.get(key)
        if waiting is not None:
            kept = await asyncio.shield(waiting)
            if kept is None:
                await self.app(scope, receive, send)
            return kept
        future = self.recording[key] = asyncio.get_running_loop().create_future()
        kept = None
        try:
            recorded = RecordingSend(None, forward=False)
            plain = [(name, value) for name, value in scope["headers"] if name.lower() not in RECORDED_AWAY]
            await self.app({**scope, "headers": plain}, receive, recorded)
            if recorded.replayable():
                kept = await self._keep(key, recorded.body(), recorded.messages[0].get("headers", []),
                                        self.cache_control(scope))
            else:
                await self.answer({**scope, ANSWER: recorded.messages}, receive, send)
        finally:
            del self.recording[key]
            future.set_result(kept)
        return kept

    async def _keep(self, key: Hashable, body: bytes, headers: list, cache_control: bytes) -> KeptAnswer:
        """Keep the answer compressed quickly now, and at its best once the background thread has done it."""
        loop = asyncio.get_running_loop()
        kept = await loop.run_in_executor(None, lambda: KeptAnswer.of(body, headers, cache_control, levels=QUICK))
        self._put(key, kept)
        best = loop.run_in_executor(BEST_COMPRESSOR, KeptAnswer.of, body, headers, cache_control)
        best.add_done_callback(lambda done: self._put(key, done.result(), instead_of=kept))
        return kept

    def _put(self, key: Hashable, kept: KeptAnswer, instead_of: KeptAnswer | None = None) -> None:
        """Keep ``kept`` for ``key`` (only if ``instead_of`` is still kept there), within ``max_bytes``."""
        if instead_of is not None:
            if self.answers.get(key) is not instead_of:
                return  # dropped meanwhile
            self.kept_bytes -= instead_of.size
        self.answers[key] = kept
        self.kept_bytes += kept.size
        while self.kept_bytes > self.max_bytes and len(self.answers) > 1:
            self.kept_bytes -= self.answers.popitem(last=False)[1].size

    def _forget_if_reconfigured(self, scope: Scope) -> None:
        config = current_config(scope)
        if config is not self.config:
            self.answers.clear()
            self.kept_bytes = 0
            self.config = config


async def _send_answer(scope: Scope, receive: Receive, send: Send) -> None:
    """As an ASGI app: sends the answer's messages, ``scope[ANSWER]``."""
    for message in scope[ANSWER]:
        await send(message)


def current_config(scope: Scope) -> object:
    """The Blocks configuration Gradio's routes answer from (Starlette puts the app in the scope)."""
    app = scope.get("app")
    return app.get_blocks().config if hasattr(app, "get_blocks") else None
