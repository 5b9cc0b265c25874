"""Turning figures into pixels, and the small drawing pieces every plot shares.

Only matplotlib's object-oriented API is used: a ``Figure`` drawn by its own Agg
canvas. ``matplotlib.pyplot`` keeps global state (a list of open figures, a
"current" axes) that is not thread-safe and leaks figures that nobody closes;
the app serves many students at once from threads, so pyplot is never imported.
"""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from PIL import Image

# Font sizes in points, chosen to stay legible on a classroom projector at dpi 100.
TEXT_SIZE = 11
TITLE_SIZE = 12
SUPTITLE_SIZE = 14
# Below this luminance a cell counts as dark and gets white text.
DARK_LUMINANCE = 0.5


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, so titles, labels and colour bars never overlap."""
    return Figure(figsize=(width, height), layout="constrained")


def figure_to_image(fig: Figure, dpi: int = 100) -> np.ndarray:
    """Render ``fig`` to a uint8 RGB array (height, width, 3)."""
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()  # copy: the buffer belongs to the canvas


def colormap(name: str) -> Colormap:
    """A registered colormap, by name (a copy: changing it affects no other figure)."""
    return matplotlib.colormaps[name]


def image_axis(ax: Axes, image: np.ndarray, title: str | None = None, cmap: str | Colormap = "gray",
               vmin: float = 0.0, vmax: float = 1.0, title_size: float = TITLE_SIZE) -> AxesImage:
    """Show ``image`` pixel by pixel, without ticks (pixel coordinates mean nothing to a student).

    The frame stays, so that a caller can colour it to highlight a panel.
    """
    shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=title_size)
    return shown


def symmetric_norm(values: np.ndarray) -> Normalize:
    """A colour scale centred at zero, so that white means 0 and red/blue strengths are comparable."""
    limit = float(np.abs(values).max(initial=0.0))
    limit = limit if limit > 0 else 1.0  # an all-zero array still gets a valid scale
    return Normalize(-limit, limit)


def colorbar(fig: Figure, cmap: str | Colormap, norm: Normalize, axes: Axes | Sequence[Axes], label: str,
             **options) -> Colorbar:
    """A labelled colour bar for ``axes``, independent of any one image drawn on them."""
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, **options)
    bar.set_label(label, fontsize=TEXT_SIZE)
    bar.ax.tick_params(labelsize=TEXT_SIZE - 1)
    return bar


def write_cell_values(ax: Axes, shown: AxesImage, texts: np.ndarray, fontsize: float) -> None:
    """Write ``texts[row, col]`` on each cell of the image ``shown``.

    The colour of each text follows the colour of its cell (white on dark, black on
    pale) so that the numbers stay readable on strong reds, blues and on white alike.
    """
    rgba = shown.to_rgba(shown.get_array())
    luminance = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    for (row, col), text in np.ndenumerate(texts):
        color = "white" if luminance[row, col] < DARK_LUMINANCE else "black"
        ax.text(col, row, text, ha="center", va="center", fontsize=fontsize, color=color)


def png_data_url(image: np.ndarray) -> str:
    """A uint8 image as an inline ``data:`` URL: a page shows it with no file and no extra request."""
    buffer = io.BytesIO()
    # zlib level 3, not PNG's default 6: half the time for a file a few percent larger (made per request).
    Image.fromarray(image).save(buffer, format="PNG", compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
