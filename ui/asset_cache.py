"""The files a page loads that never change while the server runs, kept in memory, compressed once at their best.

A student's first visit asks for about a hundred of them: Gradio's frontend (``/assets/``, its build, each
file named with a hash of its content), Gradio's ``/static/`` files and favicon, the theme's CSS
(``/theme.css?v=<its hash>``) and the page's own JavaScript (``/cnn-demo/static…/``, webapp/browser_routes.py).
Gradio reads each from disk in a worker thread and compresses it again for every student, and sends no
lifetime, so that the next visit asks again. Here each is recorded once from Gradio's own answer, kept
with its Brotli and gzip encodings (``webapp/kept_answers.py``) and answered from memory; a URL that names a
version is cached by the browser for a year (``immutable``: the next visit does not ask), any other is
revalidated by its ETag ("304 Not Modified").
"""
from __future__ import annotations

import re
from collections.abc import Callable

from webapp.kept_answers import IMMUTABLE, REVALIDATE, AnswerCache
from ui.request_limits import ASGIApp, Scope

KEPT_PREFIXES = ("/assets/", "/static/", "/svelte/", "/cnn-demo/static")
KEPT_PATHS = frozenset({"/theme.css", "/favicon.ico"})
HASHED_NAME = re.compile(r"-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")  # Vite's build names: Index-Akn07EZk2.js
# Gradio's whole frontend is 21 MB, of which a page asks for about 1 MB; a client asking for every file only
# pushes the least recently used out.
MAX_BYTES = 64 * 2**20


class AssetCache(AnswerCache):
    """ASGI middleware: answers GETs of the frontend's files, the theme and the page's own files from memory."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BYTES,
                 around: Callable[[ASGIApp], ASGIApp] | None = None) -> None:
        super().__init__(app, max_bytes, around)

    def key(self, scope: Scope) -> tuple[str, bytes] | None:
        path = scope["path"]
        if path not in KEPT_PATHS and not path.startswith(KEPT_PREFIXES):
            return None
        return path, scope.get("query_string", b"")

    def cache_control(self, scope: Scope) -> bytes:
        return IMMUTABLE if versioned(scope["path"], scope.get("query_string", b"")) else REVALIDATE


def versioned(path: str, query: bytes) -> bool:
    """Whether the URL names one version of a file: Gradio's build files, the theme's CSS with its hash."""
    return bool(path.startswith("/assets/") and HASHED_NAME.search(path)) or (path == "/theme.css"
                                                                                and query.startswith(b"v="))
