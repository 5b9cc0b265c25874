"""Synthetic hand-drawn digits for tests: pen strokes on a canvas, like a student's sketch.

Each digit is a few polylines in a unit box (x right, y down), with curves sampled from
elliptic arcs. ``render_digit`` draws them with a round pen of any width, at any size,
position and angle, in the three ways a browser canvas or an upload can hold ink.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]
InkStyle = Literal["white_on_black", "black_on_white", "transparent"]


def _arc(cx: float, cy: float, rx: float, ry: float, start_deg: float, end_deg: float) -> Stroke:
    """Points along an ellipse; angles as on a clock face turned maths-wise (0 = right, 90 = top)."""
    steps = max(8, int(abs(end_deg - start_deg) / 10))
    angles = np.radians(np.linspace(start_deg, end_deg, steps + 1))
    return [(cx + rx * math.cos(a), cy - ry * math.sin(a)) for a in angles]


# Shapes follow common MNIST handwriting: an open-topped 4, a 1 with a small flag,
# loops for 6, 8 and 9 drawn in the direction people usually draw them.
DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.47, 90, 460)],
    1: [[(0.42, 0.13), (0.56, 0.03), (0.52, 0.97)]],
    2: [_arc(0.5, 0.3, 0.28, 0.26, 160, -30) + [(0.18, 0.95), (0.84, 0.95)]],
    3: [_arc(0.47, 0.27, 0.26, 0.22, 150, -90) + _arc(0.47, 0.72, 0.3, 0.24, 90, -150)],
    4: [[(0.27, 0.03), (0.18, 0.62), (0.86, 0.62)], [(0.68, 0.12), (0.68, 0.97)]],
    5: [[(0.8, 0.04), (0.3, 0.04), (0.27, 0.45)] + _arc(0.48, 0.67, 0.3, 0.27, 125, -150)],
    6: [_arc(0.78, 0.62, 0.52, 0.6, 100, 180) + _arc(0.5, 0.71, 0.25, 0.24, 180, 520)],
    7: [[(0.15, 0.05), (0.85, 0.05), (0.42, 0.97)]],
    8: [_arc(0.5, 0.26, 0.22, 0.23, 0, 365), _arc(0.5, 0.72, 0.28, 0.25, 0, 365)],
    9: [_arc(0.48, 0.3, 0.27, 0.26, 0, 360) + [(0.72, 0.97)]],
}


def _place(stroke: Stroke, canvas: int, scale: float, offset: Point, rotation_deg: float) -> Stroke:
    """Map unit-box points to canvas pixels: scale about the centre, rotate, then shift."""
    size = scale * canvas
    cos, sin = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    centre_x = canvas / 2 + offset[0] * canvas
    centre_y = canvas / 2 + offset[1] * canvas
    placed = []
    for x, y in stroke:
        dx, dy = (x - 0.5) * size, (y - 0.5) * size
        placed.append((centre_x + cos * dx - sin * dy, centre_y + sin * dx + cos * dy))
    return placed


def placed_strokes(digit: int, canvas: int = 400, scale: float = 0.7, offset: Point = (0, 0),
                   rotation_deg: float = 0) -> list[Stroke]:
    """The strokes of ``digit`` in canvas pixels, placed as ``render_digit`` draws them (same arguments)."""
    return [_place(stroke, canvas, scale, offset, rotation_deg) for stroke in DIGIT_STROKES[digit]]


def _draw_ink(digit: int, canvas: int, stroke_width: float, scale: float,
              offset: Point, rotation_deg: float) -> np.ndarray:
    """The ink of a digit as uint8 (canvas, canvas): 255 where the pen went."""
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    width = max(1, round(stroke_width))
    radius = (width - 1) / 2
    for points in placed_strokes(digit, canvas, scale, offset, rotation_deg):
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen tip at both ends
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(image)


def render_digit(digit: int, canvas: int = 400, stroke_width: float = 20, scale: float = 0.7,
                 offset: Point = (0, 0), rotation_deg: float = 0,
                 ink: InkStyle = "white_on_black") -> np.ndarray:
    """Draw ``digit`` (0-9) with a round pen on a square canvas.

    scale is the digit's height as a fraction of the canvas; offset moves its centre by a
    fraction of the canvas (x, y); rotation_deg turns it clockwise on screen.
    Returns uint8 RGB, or RGBA with a transparent background for ink="transparent"
    (black opaque strokes, as Gradio's Sketchpad draws them).
    """
    pen = _draw_ink(digit, canvas, stroke_width, scale, offset, rotation_deg)
    if ink == "white_on_black":
        return np.stack([pen] * 3, axis=2)
    if ink == "black_on_white":
        return np.stack([255 - pen] * 3, axis=2)
    if ink == "transparent":
        return np.dstack([np.zeros((canvas, canvas, 3), np.uint8), pen])
    raise ValueError(f"unknown ink style {ink!r}")


def sketch_value(image: np.ndarray) -> dict:
    """Wrap an RGBA drawing as the value Gradio's Sketchpad sends to a handler."""
    return {"background": None, "layers": [image], "composite": image}
