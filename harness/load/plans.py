"""What the clients send: unique drawings, and each client's list of calls (sketches, and now and then
another tab's request)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.strokes import render_digit

SKETCH = "explain_sketch"
EXTRAS = ("explain_test_image", "feature_maps", "explain_test_image", "maximize")  # the other tabs, in turn
SOAK_CHECKPOINT = 500  # sketches between memory checkpoints of the soak
SOAK_SESSION_EVERY = 5  # the soak's clients open a new session (reload the page) every that many sketches
SOAK_EXTRA_EVERY = 10  # ... and use another tab every that many: figures and sessions must not pile up


@dataclass(frozen=True)
class Call:
    """One request: the endpoint, and its arguments (for a sketch, the prepared drawing's index first)."""
    endpoint: str
    args: tuple


def prepare_sketches(folder: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` different drawings (digit, pen width, size, place, slant), saved as the Sketchpad
    sends them. All different, as students' drawings are (identical outputs at the same moment
    would also meet a Gradio cache race, see the report)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        image = render_digit(k % 10, canvas=400, ink="transparent", stroke_width=float(rng.uniform(5, 30)),
                             scale=float(rng.uniform(0.45, 0.85)),
                             offset=(float(rng.uniform(-0.12, 0.12)), float(rng.uniform(-0.1, 0.1))),
                             rotation_deg=float(rng.uniform(-15, 15)))
        path = folder / f"sketch-{k:05d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def client_plan(index: int, requests: int, first_sketch: int, extra_every: int = 0) -> list[Call]:
    """What client ``index`` sends: sketches ``first_sketch``... of the prepared ones, one after the
    other, and another tab's request after every ``extra_every`` of them (0: none), at a different
    point for each client so that they spread over the phase."""
    rng = np.random.default_rng(index)
    calls = []
    for k in range(requests):
        target = -1 if rng.random() < 0.8 else int(rng.integers(10))  # mostly "predicted class"
        method = "Grad-CAM" if rng.random() < 0.8 else "HiResCAM"
        calls.append(Call(SKETCH, (first_sketch + k, target, "mnist", method)))
        if extra_every and (k + index) % extra_every == extra_every - 1:  # staggered between clients
            extra = EXTRAS[(index + (k + index) // extra_every) % len(EXTRAS)]
            if extra == "explain_test_image":
                calls.append(Call(extra, (int(rng.integers(10000)), bool(rng.random() < 0.3), -1, "mnist",
                                          "Grad-CAM")))
            elif extra == "feature_maps":
                calls.append(Call(extra, (int(rng.integers(10000)), "mnist")))
            else:  # conv1's eight filters with the UI's fewest steps; the other settings: the form's defaults
                calls.append(Call(extra, (("Layer", "conv1"), ("Gradient-ascent steps", 16),
                                          ("Random seed", int(rng.integers(1000))))))
    return calls


def plans_for(clients: int, requests: int, first_sketch: int = 0, extra_every: int = 0,
              seed: int = 0) -> list[list[Call]]:
    """Every client's plan: ``requests`` sketches each, from ``first_sketch`` on, none drawn twice."""
    return [client_plan(seed + i, requests, first_sketch + i * requests, extra_every) for i in range(clients)]
