"""Start ``demo.py`` as its own process, as a user would, and stop it afterwards.

Used by the API and browser tests and by the load benchmark.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180  # seconds; importing TensorFlow and gradio takes 10-25 s on 2 cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(*args: str, env: dict[str, str] | None = None, script: str = "demo.py",
                log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (url, process) once the server answers; the output goes to ``log`` (or a temp file)."""
    port = free_port()
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"cnn-demo-{port}.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
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
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
