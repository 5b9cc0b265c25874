"""The limit to measure the class against: a bare Gradio app with the class's send endpoint.

    python benchmarks/bare_class_app.py --port 7862

``/class_send(code, image, meant) -> {"number", "predicted"}`` whose handler only counts: no checks, no model,
no database. The queue has demo.py's settings (size, concurrency, the class's group, places told once a
second, no direct route), so whatever this app costs per send is stock Gradio's own: the join, the queue, the
event stream. ``benchmarks/bench_class.py`` drives it before demo.py, with the same students. It imports
neither TensorFlow nor the project's packages.
"""
from __future__ import annotations

import argparse
import itertools
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402


def build_app() -> gr.Blocks:
    numbers = itertools.count(1)

    def class_send(code: str, image: list[float], meant: int) -> dict:
        return {"number": next(numbers), "predicted": 0}

    with gr.Blocks(title="Bare class app", analytics_enabled=False) as app:
        gr.api(class_send, api_name="class_send", concurrency_id="class", concurrency_limit=8)  # as ui/class_api.py
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare Gradio app with the class's send endpoint")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    app = build_app()
    app.queue(max_size=200, default_concurrency_limit=2, api_open=False, status_update_rate=1)
    app.launch(server_port=args.port, ssr_mode=False, show_error=False)


if __name__ == "__main__":
    main()
