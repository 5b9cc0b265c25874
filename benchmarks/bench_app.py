"""Start-up time of the app and the server-side cost of one sketch update.

    python -m benchmarks.bench_app

1. Time from launching ``python demo.py`` to the first served page (median of 3 starts).
2. One sketch update as the server's handler does it (preprocess a 400x400 RGBA canvas,
   Grad-CAM, the two images encoded into the page's HTML, the probabilities): median and
   p90 of 50, after warm-up, for thin mouse strokes and thick finger strokes.
"""
from __future__ import annotations

import statistics
import time
import urllib.request

from harness.app_server import running_app


def startup_seconds() -> float:
    start = time.monotonic()
    with running_app() as (url, _):
        urllib.request.urlopen(url, timeout=60).read()
        return time.monotonic() - start


def sketch_update_ms(repeats: int = 50) -> dict[str, list[float]]:
    from cnn.model_manager import ModelManager
    from plots import live_views_html
    from harness.strokes import render_digit, sketch_value
    from webapp.grad_cam_view import explain_sketch
    from webapp.served import ServedExplainers

    explainer_set = ServedExplainers(ModelManager())("mnist")
    timings = {}
    for name, width in (("thin mouse strokes (4 px)", 4), ("thick finger strokes (40 px)", 40)):
        sketches = [sketch_value(render_digit(d % 10, canvas=400, stroke_width=width, ink="transparent"))
                    for d in range(repeats)]
        explain_sketch(explainer_set, sketches[0], -1)  # warm-up
        runs = []
        for sketch in sketches:
            start = time.perf_counter()
            explanation = explain_sketch(explainer_set, sketch, -1)
            live_views_html(explanation.image28, explanation.overlay)
            runs.append((time.perf_counter() - start) * 1000)
            assert explanation.probabilities, explanation.message
        timings[name] = runs
    return timings


def main() -> None:
    starts = [startup_seconds() for _ in range(3)]
    print(f"python demo.py -> served page: median {statistics.median(starts):.1f} s "
          f"(runs: {', '.join(f'{s:.1f}' for s in starts)})")
    for name, runs in sketch_update_ms().items():
        print(f"sketch update, {name}: median {statistics.median(runs):.1f} ms, "
              f"p90 {statistics.quantiles(runs, n=10)[-1]:.1f} ms (n={len(runs)})")


if __name__ == "__main__":
    main()
