"""The 28x28 image a page made from a drawing, sent for the deeper views or to a class: checked before any use.

The page prepares the drawing itself (webapp/static/strokes_to_image.js) and sends the result, so
the server explains exactly what the student saw. Anyone can send anything, though: only 784
finite numbers in [0, 1] are an image.
"""
from __future__ import annotations

import math

import numpy as np

from cnn.preprocessing import FRAME, InputImageError

PIXELS = FRAME * FRAME
SHAPE_MESSAGE = f"The drawing must come as {PIXELS} numbers from 0 to 1 (a {FRAME}x{FRAME} image, row by row)"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def browser_image(value: object) -> np.ndarray:
    """float32 (28, 28) from the page's ``value``; InputImageError saying what is wrong otherwise."""
    if not isinstance(value, list) or len(value) != PIXELS:
        size = f"{len(value)} values" if isinstance(value, list) else type(value).__name__
        raise InputImageError(f"{SHAPE_MESSAGE}; this one is {size}.")
    if not all(_number(pixel) for pixel in value):
        raise InputImageError(f"{SHAPE_MESSAGE}; this one holds something else.")
    image = np.asarray(value, np.float64)
    if image.min() < 0 or image.max() > 1:
        raise InputImageError(f"{SHAPE_MESSAGE}; this one has values from {image.min():.3g} to {image.max():.3g}.")
    if image.max() == 0:
        raise InputImageError("Draw first: the canvas is empty, or what is drawn is too small to read (draw it "
                              "big and centred).")
    return image.reshape(FRAME, FRAME).astype(np.float32)
