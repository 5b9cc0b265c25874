"""The load balancer's question to each replica: are you up? (deploy/haproxy.cfg asks it every second.)

``GET /cnn-demo/health`` is answered by the server's event loop itself, with no thread, no queue and no database:
a replica that answers it can take pages. A class's store (PostgreSQL) being down is not a reason to send
students elsewhere: every replica shares it, and the rest of the app works without it.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from webapp.browser_routes import NO_CACHE, PREFIX

HEALTH_PATH = f"{PREFIX}/health"


def health_routes() -> list[BaseRoute]:
    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok\n", headers=NO_CACHE)

    return [Route(HEALTH_PATH, health, methods=["GET", "HEAD"])]
