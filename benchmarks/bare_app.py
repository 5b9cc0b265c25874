"""The limit to measure the app against: a bare Gradio app with the app's sketch endpoint shape.

    python benchmarks/bare_app.py --port 7861

A Sketchpad (same settings as demo.py's: 400x400 canvas, numpy, PNG) and the same extra
inputs (target class, dataset, method) go into ``/explain_sketch``, whose handler does
nothing and returns a fixed Label (class -> probability, as the app's). The queue's size and
concurrency, the event and Gradio's monitoring table have demo.py's settings, the rest Gradio's
defaults, so whatever this app costs per request is stock Gradio's own cost: upload, PNG decoding,
queueing, the event stream (demo.py also tells waiting students their place once a second, not at
every event's start as stock Gradio does). ``benchmarks/bench_load.py``
drives it side by side with demo.py.
It deliberately imports neither TensorFlow nor the project's packages.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# demo.py's settings for Gradio's per-event monitoring table (see there), so that both apps pay the same.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "2000")

import gradio as gr  # noqa: E402

PREDICTED = -1
TARGETS = [("predicted class", PREDICTED)] + [(str(i), i) for i in range(10)]
DATASETS = [("MNIST (handwritten digits)", "mnist"), ("Fashion-MNIST (clothing)", "fashion_mnist")]
FIXED = {str(i): p for i, p in enumerate([0.001, 0.02, 0.001, 0.001, 0.001, 0.001, 0.001, 0.97, 0.001, 0.003])}


def build_app() -> gr.Blocks:
    with gr.Blocks(title="Bare sketch app", analytics_enabled=False) as app:
        dataset = gr.Radio(DATASETS, value="mnist", label="Dataset")
        sketch = gr.Sketchpad(label="Your digit", canvas_size=(400, 400), type="numpy",
                              brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                              layers=False, format="png", elem_id="sketchpad")
        target = gr.Dropdown(TARGETS, value=PREDICTED, label="Target class for the heatmap")
        method = gr.Radio(["Grad-CAM", "HiResCAM"], value="Grad-CAM", label="Method")
        probabilities = gr.Label(label="Class probabilities", num_top_classes=3)

        def on_sketch(value, target_class, name, cam_method):
            return FIXED

        # demo.py's per-stroke event settings (its LIGHT dict)
        sketch.change(on_sketch, [sketch, target, dataset, method], probabilities, api_name="explain_sketch",
                      trigger_mode="always_last", concurrency_id="light", concurrency_limit=2, show_progress="hidden")
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare Gradio app with the sketch endpoint's shape")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--queue-size", type=int, default=200, help="as demo.py's default")
    args = parser.parse_args(argv)
    app = build_app()
    app.queue(max_size=args.queue_size, default_concurrency_limit=2)
    app.launch(server_name=args.host, server_port=args.port, max_file_size="10mb", ssr_mode=False, show_error=False)


if __name__ == "__main__":
    main()
