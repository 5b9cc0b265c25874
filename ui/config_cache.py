"""The page, its configuration and its API description, built once per address instead of per visitor.

Gradio answers ``/`` and ``/config`` by deep-copying the whole page configuration (172 components, about
190 KB of JSON here) and rewriting its URLs for the address the request came to, and ``/gradio_api/info``
by encoding the API description afresh: 30-40, 22-30 and 11-18 ms a request, for every student's page and
every API client (replayed: 2 ms). Yet these answers depend only on the app's configuration, the
request's path and query (a page, every endpoint), and the headers that make the address: kept per such
key, they are replayed.

A deep link or a login cookie is passed on as it is, as is any answer that is not a plain 200 without
cookies. A new configuration (Gradio's reload mode makes one) drops every kept answer.
"""
from __future__ import annotations

from collections import OrderedDict

from ui.request_limits import ASGIApp, Message, Receive, Scope, Send

CACHED_PATHS = frozenset({"/", "/config", "/config/", "/gradio_api/info"})
# What Gradio builds the app's public address from (gradio/route_utils.get_request_origin, get_root_url).
ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")
# Each kept answer is a few hundred KB; distinct addresses are few (localhost, the LAN, the share link),
# and a client inventing Host headers only pushes the oldest ones out.
MAX_ANSWERS = 16


class ConfigCache:
    """ASGI middleware: replays the answer to a GET of the page, its configuration or its API description."""

    def __init__(self, app: ASGIApp, max_answers: int = MAX_ANSWERS) -> None:
        self.app, self.max_answers = app, max_answers
        self.answers: OrderedDict[tuple, list[Message]] = OrderedDict()
        self.config: object = None  # the configuration the kept answers were made from

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = cache_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        self._forget_if_reconfigured(scope)
        kept = self.answers.get(key)
        if kept is not None:
            self.answers.move_to_end(key)
            for message in kept:
                await send(fresh_copy(message))
            return
        recorded = RecordingSend(send)
        await self.app(scope, receive, recorded)
        if recorded.replayable():
            self.answers[key] = recorded.messages
            if len(self.answers) > self.max_answers:
                self.answers.popitem(last=False)

    def _forget_if_reconfigured(self, scope: Scope) -> None:
        config = current_config(scope)
        if config is not self.config:
            self.answers.clear()
            self.config = config


def cache_key(scope: Scope) -> tuple | None:
    """What the answer to this request depends on, or None if it is not one we replay."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in CACHED_PATHS:
        return None
    headers = dict(scope["headers"])
    query = scope.get("query_string", b"")
    if b"deep_link" in query or b"access-token" in headers.get(b"cookie", b""):
        return None  # a deep link's answer is read from its own file; a logged-in user's names them
    address = tuple(headers.get(name) for name in ADDRESS_HEADERS)
    return scope["path"], query, scope.get("scheme"), scope.get("server"), scope.get("root_path", ""), address


def current_config(scope: Scope) -> object:
    """The Blocks configuration Gradio's routes answer from (Starlette puts the app in the scope)."""
    app = scope.get("app")
    return app.get_blocks().config if hasattr(app, "get_blocks") else None


def fresh_copy(message: Message) -> Message:
    """A message that the middleware around us may change without changing the kept one (Gradio's
    compressor rewrites headers and body in place, for the files it compresses). Bodies are bytes."""
    copy = dict(message)
    if "headers" in copy:
        copy["headers"] = list(copy["headers"])
    return copy


class RecordingSend:
    """``send``, keeping a copy of each message of the answer."""

    def __init__(self, send: Send) -> None:
        self.send, self.messages = send, []

    async def __call__(self, message: Message) -> None:
        self.messages.append(fresh_copy(message))
        await self.send(message)

    def replayable(self) -> bool:
        """A complete 200 answer that sets no cookie."""
        if not self.messages or self.messages[0]["type"] != "http.response.start":
            return False
        start, last = self.messages[0], self.messages[-1]
        sets_cookie = any(name.lower() == b"set-cookie" for name, _ in start.get("headers", []))
        complete = last["type"] == "http.response.body" and not last.get("more_body", False)
        return start["status"] == 200 and not sets_cookie and complete
