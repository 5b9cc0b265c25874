"""What the class's tests and benchmarks share: a server with a class store of its own, digits sent as a page
sends them (MNIST's, or a class of new writers'), and the index of an event for calls past gradio_client."""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
from scipy import ndimage

from classroom.store import FILE_NAME
from cnn.datasets import load_split
from harness.app_server import running_app

KEY = "the test instructor's key, long enough"


@contextlib.contextmanager
def class_server(folder: Path, *args: str, log: Path | None = None) -> Iterator[tuple[str, object]]:
    """``demo.py`` with its classes in ``folder`` and the instructor key KEY; yields (url, process)."""
    with running_app("--class-dir", str(folder), "--instructor-key", KEY, *args, log=log) as started:
        yield started


def printed_instructor_link(log: Path, timeout: float = 30) -> str:
    """The instructor link a server started without a key prints once it listens (its key in the fragment)."""
    deadline = time.monotonic() + timeout
    while not (found := re.search(r"(http://\S+/instructor#key=\S+)", log.read_text())):
        assert time.monotonic() < deadline, "the server printed no instructor link"
        time.sleep(0.2)
    return found[1]


def page_digits(count: int, start: int = 0) -> list[tuple[list[float], int]]:
    """Shipped MNIST test digits as a page sends them (784 float32 values in [0, 1]) with their labels."""
    images, labels = load_split("mnist", "test")
    chosen = range(start, start + count)
    return [((images[i].astype(np.float32) / 255).reshape(-1).tolist(), int(labels[i])) for i in chosen]


def new_writers(count: int, start: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    """A class of writers the model never met: shipped test digits thickened, rotated by 30 degrees either way
    and moved off-centre, as float32 (count, 28, 28) in [0, 1] (as pages send them), and their labels. The
    shipped MNIST model reads about half of them right (0.54 of 500 from 5,000)."""
    images, labels = load_split("mnist", "test")
    chosen = range(start, start + count)
    written = [np.clip(ndimage.shift(ndimage.rotate(ndimage.grey_dilation(images[i] / np.float32(255), size=(3, 3)),
                                                    30 if i % 2 else -30, reshape=False, order=1),
                                     (3, -3 if i % 3 else 3), order=1), 0, 1) for i in chosen]
    return np.stack(written).astype(np.float32), labels[start:start + count].astype(np.int64)


def event_index(url: str, api_name: str) -> int:
    """The index of the event named ``api_name``, as a script calls it past gradio_client."""
    config = httpx.get(f"{url}config", timeout=30).json()
    return next(i for i, event in enumerate(config["dependencies"]) if event.get("api_name") == api_name)


def integrity(folder: Path) -> str:
    with contextlib.closing(sqlite3.connect(folder / FILE_NAME)) as database:
        return database.execute("PRAGMA integrity_check").fetchone()[0]


async def run_event(http: httpx.AsyncClient, url: str, index: int, session: str, data: list) -> tuple[list | None, str | None]:
    """One event as a page runs it (join the queue, then read the session's stream): (its output, None) or
    (None, the error). ``http`` keeps the page's cookies, so that behind a balancer both go to its replica."""
    joined = await http.post(f"{url}gradio_api/queue/join", json={
        "data": data, "fn_index": index, "session_hash": session, "event_data": None, "trigger_id": None})
    if joined.status_code != 200:
        return None, f"join {joined.status_code}: {joined.text[:100]}"
    async with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as events:
        async for line in events.aiter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                if not message.get("success"):
                    return None, str(message.get("output", {}).get("error"))[:100]
                return message["output"]["data"], None
    return None, "the event stream ended without an answer"


async def send_once(http: httpx.AsyncClient, url: str, index: int, session: str, data: list) -> tuple[int | None, str | None]:
    """One drawing sent as a page sends it; (its number on the wall, None) or (None, the error)."""
    output, error = await run_event(http, url, index, session, data)
    return (None, error) if output is None else (output[0]["number"], None)
