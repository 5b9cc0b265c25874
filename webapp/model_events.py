"""The news that a training (or a reload) swapped in a new model, pushed to every open page.

The pages compute while the students draw and send nothing, so the server tells them instead:
one Server-Sent Events stream per page, opened with it. It costs nothing while no model changes:
a dictionary look-up per dataset each POLL_SECONDS, and a comment line now and then so that no
proxy or tunnel closes the quiet connection. The browser's EventSource reconnects by itself.
"""
from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from webapp.browser_model import model_id

POLL_SECONDS = 1.0  # a swap reaches the pages within a second; a training takes tens of seconds
KEEPALIVE_SECONDS = 15.0  # well under the idle timeouts of common proxies (30-100 s)
MAX_WATCHERS = 2_000  # open streams at most: a classroom is tens to hundreds of pages


def served_ids(manager: ModelManager) -> dict[str, str]:
    """The id of the model served now for each dataset loaded so far."""
    ids = {}
    for name in DATASETS:
        served = manager.served_now(name)
        if served is not None:
            ids[name] = model_id(served)
    return ids


class ModelWatchers:
    """Counts the open streams, so that a client opening thousands cannot take the server's sockets."""

    def __init__(self, limit: int = MAX_WATCHERS) -> None:
        self.limit, self.open = limit, 0

    def full(self) -> bool:
        return self.open >= self.limit

    async def stream(self, manager: ModelManager) -> AsyncIterator[str]:
        """Events ``data: {"dataset": "model id", ...}``: first every loaded model, then each change. It ends
        when the page goes (the web server stops it when a write finds the connection closed)."""
        self.open += 1
        try:
            sent: dict[str, str] = {}
            quiet = 0.0
            while True:
                changed = {name: ident for name, ident in served_ids(manager).items() if sent.get(name) != ident}
                if changed:
                    sent.update(changed)
                    quiet = 0.0
                    yield f"data: {json.dumps(changed)}\n\n"
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": still here\n\n"
                await asyncio.sleep(POLL_SECONDS)
                quiet += POLL_SECONDS
        finally:
            self.open -= 1
