"""The two servers a load phase drives: the bare Gradio app (Gradio's own cost) and demo.py."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

from PIL import Image

from harness.app_server import ROOT, running_app
from harness.load.client import TLS
from harness.load.plans import SKETCH
from harness.strokes import render_digit


@contextlib.contextmanager
def servers(names: list[str], work: Path, data_dir: str | None, app_script: str = "demo.py",
            log_dir: Path | None = None) -> Iterator[dict[str, tuple[str, int]]]:
    """Start the named servers ("bare", "app"), one after the other, and warm them up; yield
    {name: (url, pid)}; stop them all at the end. The app serves a copy of saved_models/."""
    log_dir = log_dir or work
    with contextlib.ExitStack() as stack:
        started = {}
        for name in names:
            if name == "bare":
                app = running_app(script="benchmarks/bare_app.py", log=log_dir / "bare.log")
            else:
                models = work / "models"
                shutil.copytree(ROOT / "saved_models", models, dirs_exist_ok=True)
                arguments = ["--models-dir", str(models)] + (["--data-dir", data_dir] if data_dir else [])
                env = {"PYTHONPATH": str(ROOT)} if app_script != "demo.py" else None
                app = running_app(*arguments, script=app_script, env=env, log=log_dir / "app.log")
            url, process = stack.enter_context(app)
            _warm_up(url, work)
            started[name] = (url, process.pid)
        yield started


def _warm_up(url: str, work: Path) -> None:
    """A few requests, so that a server starts its phase ready (models compiled, code paths imported)."""
    from gradio_client import Client, handle_file

    path = work / "warm-up.png"
    Image.fromarray(render_digit(7, ink="transparent")).save(path)
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False, ssl_verify=TLS)
    try:
        for _ in range(3):
            client.submit({"background": None, "layers": [], "composite": handle_file(str(path))}, -1, "mnist",
                          "Grad-CAM", api_name=f"/{SKETCH}").result(timeout=120)
    finally:
        client.close()
