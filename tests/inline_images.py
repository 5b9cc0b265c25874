"""The pictures inside the app's HTML answers (inline ``data:`` PNGs), decoded for assertions."""
from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image


def inline_images(page: str) -> list[np.ndarray]:
    """Every PNG embedded in ``page``, in order, as arrays."""
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
            for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)]
