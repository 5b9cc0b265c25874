"""What is kept in memory is answered first, before the middleware Gradio wraps its app in.

Gradio's app answers each request through Starlette's error handler, FastAPI's telemetry and body limit,
Gradio's Brotli compressor (which prepares a compressor for every .js and .css request, then finds the
answer compressed already) and its CORS headers: some twenty calls and three wrappers of ``send`` per answer,
about a third of the server's time per page. The page, its configuration and the files it loads are kept
in memory (ui/config_cache.py, ui/asset_cache.py), compressed once: put in front of that stack, they skip it,
except for the CORS headers, which a kept answer gets from Gradio's own middleware, built with its settings
(the browser sends ``Origin`` with every module it loads). What they do not keep goes through the whole stack.
"""
from __future__ import annotations

import gradio as gr
from gradio.route_utils import CustomCORSMiddleware

from ui.asset_cache import AssetCache
from ui.config_cache import ConfigCache
from ui.request_limits import ASGIApp


def answer_from_memory_first(app: gr.Blocks) -> None:
    """Once ``app`` is launched: the caches in front of its middleware (a request answered meanwhile went through
    the whole stack, as Gradio answers it)."""
    server_app = app.server_app
    cors = next(middleware for middleware in server_app.user_middleware if middleware.cls is CustomCORSMiddleware)

    def with_cors(answer: ASGIApp) -> ASGIApp:
        return cors.cls(answer, *cors.args, **cors.kwargs)

    stack = server_app.middleware_stack or server_app.build_middleware_stack()
    server_app.middleware_stack = AssetCache(ConfigCache(stack, around=with_cors), around=with_cors)
