"""Start ``demo.py`` as its own process, as a user would, and stop it afterwards.

Used by the API and browser tests and by the load benchmark; ``raw_call`` runs one of its events by index.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180  # seconds; importing TensorFlow and gradio takes 10-25 s on 2 cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(*args: str, env: dict[str, str] | None = None, script: str = "demo.py",
                log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (url, process) once the server answers; the output goes to ``log`` (or a temp file).

    Each app gets a data home of its own (XDG_DATA_HOME), so a test's classes never meet the machine's
    (~/.local/share/cnn-demo/classes, where any other run of the app keeps them) nor another test's."""
    port = free_port()
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"cnn-demo-{port}.log"
    data_home = tempfile.TemporaryDirectory(prefix="cnn-demo-data-")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                   "XDG_DATA_HOME": data_home.name, **(env or {})}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, script, "--port", str(port), *args], cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Running on local URL" not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, process
    finally:
        stop(process, 20)
        data_home.cleanup()


def stop(process: subprocess.Popen, timeout: float) -> None:
    """Ask ``process`` to end (SIGTERM); kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def raw_call(url: str, fn_index: int, data: list, timeout: float = 300) -> dict:
    """An event run by its index, as a script would, past gradio_client and the API docs: its last message."""
    session = uuid.uuid4().hex
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    # Python's JSON, NaN and Infinity included: a script may send what a JSON library would refuse to write.
    joined = httpx.post(f"{url}gradio_api/queue/join", timeout=30, content=json.dumps(body),
                        headers={"content-type": "application/json"})
    assert joined.status_code == 200, joined.text
    stream = httpx.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}, timeout=timeout)
    with stream as events:
        for line in events.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return message
    raise AssertionError(f"event {fn_index} never completed")
