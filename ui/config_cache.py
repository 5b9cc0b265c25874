"""The page, its configuration and its API description, built once per address instead of per visitor.

Gradio answers ``/`` and ``/config`` by deep-copying the whole page configuration (172 components, about
190 KB of JSON here) and rewriting its URLs for the address the request came to, and ``/gradio_api/info``
by encoding the API description afresh: 30-40, 22-30 and 11-18 ms a request, for every student's page and
every API client (replayed: 2 ms). Yet these answers depend only on the app's configuration, the
request's path and query (a page, every endpoint), and the headers that make the address: kept per such
key (``webapp/kept_answers.py``), they are replayed, compressed once (the page is 260 KB of HTML and JSON,
which Gradio sends uncompressed: it has no file extension), and revalidated by their ETag.

A deep link or a login cookie is passed on as it is, as is any answer that is not a plain 200 without
cookies. A new configuration (Gradio's reload mode makes one) drops every kept answer.
"""
from __future__ import annotations

from collections.abc import Callable

from webapp.kept_answers import AnswerCache
from ui.request_limits import ASGIApp, Scope

CACHED_PATHS = frozenset({"/", "/config", "/config/", "/gradio_api/info"})
# What Gradio builds the app's public address from (gradio/route_utils.get_request_origin, get_root_url).
ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")
# Each kept answer is a few hundred KB; distinct addresses are few (localhost, the LAN, the share link),
# and a client inventing Host headers only pushes the oldest ones out.
MAX_BYTES = 16 * 2**20


class ConfigCache(AnswerCache):
    """ASGI middleware: replays the answer to a GET of the page, its configuration or its API description."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BYTES,
                 around: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        super().__init__(app, max_bytes, around)

    def key(self, scope: Scope) -> tuple | None:
        return cache_key(scope)


def cache_key(scope: Scope) -> tuple | None:
    """What the answer to this request depends on, or None if it is not one we replay."""
    if scope["path"] not in CACHED_PATHS:
        return None
    headers = dict(scope["headers"])
    query = scope.get("query_string", b"")
    if b"deep_link" in query or b"access-token" in headers.get(b"cookie", b""):
        return None  # a deep link's answer is read from its own file; a logged-in user's names them
    address = tuple(headers.get(name) for name in ADDRESS_HEADERS)
    return scope["path"], query, scope.get("scheme"), scope.get("server"), scope.get("root_path", ""), address
