"""Small pictures as HTML: the live views beside the sketch pad, feature maps, and the images
activation maximization synthesizes.

A class asks for these many times a minute, each for a different image or setting, so they
cannot be cached; as matplotlib figures each cost half a second of a shared CPU. Here each
map is a tiny PNG at its true resolution (28x28 at most), enlarged pixel by pixel by the
browser, and every label is HTML text: a few milliseconds for the whole grid, sharp on a
projector, and wrapping into more rows on a phone. Colours come from the same colormaps
as the figures (``plots.overlay.lut``).
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Sequence

import numpy as np

from plots.overlay import lut
from plots.render import png_data_url

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers.activation_maximizer import MaximizationResult

FEATURE_LUT = lut("viridis", 256)  # dark = no response, yellow = the map's strongest response
TILE_PX = 84  # a 28x28 map at 3 screen pixels per pixel
DEAD_COLOR = "#d62728"  # matplotlib's tab:red, as in the figures
GREEN_TEXT = "#217821"  # matplotlib's tab:green darkened for words: 5.6:1 on white (tab:green's 3.4:1 fails WCAG AA)
CURVE_COLOR = "#1f77b4"  # tab:blue
CURVE_POINTS = 128  # at most, per curve: more would not show on a 112-pixel-wide plot
ROW = '<div style="display:flex;flex-wrap:wrap;gap:6px 10px;align-items:flex-start;margin:6px 0">{}</div>'
HEADER = '<p style="margin:4px 0"><b>{}</b></p>'
TILE = ('<figure style="margin:0;text-align:center;font-size:0.85em;line-height:1.25;{style}">'
        '<img src="{src}" width="{size}" height="{size}" style="image-rendering:pixelated;display:block;margin:0 auto;'
        '{frame}" alt="{alt}">{extra}<figcaption>{caption}</figcaption></figure>')
# A thin grey frame: a synthesized image may be white all over (a filter that likes brightness everywhere),
# and would look like an empty panel on the white page without one.
FRAME = "outline:1px solid #8c8c8c"


def tile(image: np.ndarray, name: str, caption: str | None = None, size: int = TILE_PX, extra: str = "",
          style: str = "", framed: bool = False) -> str:
    """One uint8 picture (grey or RGB) enlarged to ``size`` px, with its caption (HTML; default: ``name``)."""
    return TILE.format(src=png_data_url(image), size=size, alt=html.escape(name), caption=caption or name,
                       extra=extra, style=style, frame=FRAME if framed else "")


def grey_uint8(image: np.ndarray) -> np.ndarray:
    """A [0, 1] image as 8-bit grey, its pixels as they are."""
    return (np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255).astype(np.uint8)


# The live views travel inside the answer as inline PNGs (no file to store, no second request),
# small, and the browser enlarges them: the 28x28 input pixel by pixel, the heatmap smoothly.
VIEWS = """<div style="display:flex;flex-wrap:wrap;gap:1.5em">
<figure id="model-view" style="margin:0"><figcaption><b>What the model sees</b> (28x28)</figcaption>{model}</figure>
<figure id="heatmap" style="margin:0"><figcaption><b>Heatmap</b>: weak <span style="display:inline-block;width:90px;
height:0.8em;background:linear-gradient(90deg,#00007f,#00f,#0ff,#ff0,#f00,#7f0000)"></span> strong evidence</figcaption>
{heatmap}</figure></div>"""
VIEW_IMAGE = '<img src="{src}" width="224" height="224" style="image-rendering:{rendering}" alt="{alt}">'
EMPTY_VIEW = '<div style="width:224px;height:224px;background:#eee"></div>'


def live_views_html(image28: np.ndarray | None = None, overlay: np.ndarray | None = None) -> str:
    """The model's 28x28 input and the heatmap over it (uint8 RGB), side by side; grey boxes without them."""
    if image28 is None:
        return VIEWS.format(model=EMPTY_VIEW, heatmap=EMPTY_VIEW)
    model = VIEW_IMAGE.format(src=png_data_url(grey_uint8(image28)), rendering="pixelated", alt="the 28x28 input")
    heatmap = VIEW_IMAGE.format(src=png_data_url(overlay), rendering="auto", alt="heatmap over the input")
    return VIEWS.format(model=model, heatmap=heatmap)


def _row_label(layer: str, size: str = "") -> str:
    return f'<div style="width:4.5em;font-size:0.9em"><b>{layer}</b><br>{size}</div>'


def feature_map_rgb(channel_map: np.ndarray) -> tuple[np.ndarray, float]:
    """A feature map in viridis, scaled to its own maximum (so a weak filter's pattern still shows)."""
    peak = float(channel_map.max())
    scaled = channel_map / peak if peak > 0 else np.zeros_like(channel_map)
    return FEATURE_LUT[(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)], peak


def feature_maps_html(image28: np.ndarray, maps: dict[str, np.ndarray]) -> str:
    """The input, then one row per layer with one tile per channel, each scaled to its own max."""
    legend = ("<b>conv</b>: each filter slides over all the maps above it and lights up where it finds its pattern. "
              "<b>pool</b>: keeps the largest value of every 2x2 block, so the maps shrink to half the size. "
              "Bright = strong response; each map is scaled to its own maximum (written under it).")
    image = tile(grey_uint8(np.reshape(image28, (28, 28))), "the input image", "the image")
    rows = [ROW.format(_row_label("input", "28x28") + image
                       + f'<p style="flex:1;min-width:14em;margin:0;font-size:0.9em">{legend}</p>')]
    for layer, layer_maps in maps.items():
        height, width, channels = layer_maps.shape
        tiles = []
        for channel in range(channels):
            picture, peak = feature_map_rgb(layer_maps[:, :, channel])
            tiles.append(tile(picture, f"#{channel} max {peak:.2g}" if peak > 0 else f"#{channel} all zero"))
        rows.append(ROW.format(_row_label(layer, f"{height}x{width}") + "".join(tiles)))
    return HEADER.format("Feature maps: where each filter responds in this image") + "".join(rows)


def _sparkline(values: np.ndarray, width: int, height: int, colour: str) -> str:
    """A line plot of ``values`` as inline SVG, scaled to fill the box (no axes: the caption gives the range)."""
    values = np.asarray(values, np.float64)
    values = values[np.linspace(0, len(values) - 1, min(len(values), CURVE_POINTS)).round().astype(int)]
    low, high = float(values.min()), float(values.max())
    xs = np.linspace(1, width - 1, len(values))
    ys = height - 2 - (values - low) / (high - low if high > low else 1.0) * (height - 4)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    return (f'<svg width="{width}" height="{height}" style="display:block;background:#f4f4f4" role="img" '
            f'aria-label="activation at every step"><polyline points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="2"/></svg>')


def _target_name(layer: str, index: int, class_names: Sequence[str]) -> str:
    if layer != "logits":
        return f"{layer} #{index}"
    name = class_names[index] if index < len(class_names) else str(index)
    return f"class {name}" if name == str(index) else f"class {index}: {name}"


def maximization_html(result: MaximizationResult, dead: set[tuple[str, int]] | None = None,
                      class_names: Sequence[str] = ()) -> str:
    """One tile per target: the synthesized image, its activation at every step, and first → last value.

    Targets in ``dead`` (filters that never fire on real images) are framed in red, so that nobody
    reads meaning into a picture of something the network never uses.
    """
    dead = dead or set()
    rows: dict[str, list[str]] = {}  # one row per layer, as the feature maps
    for index, (layer, filter_index) in enumerate(result.targets):
        is_dead = (layer, filter_index) in dead
        name, objective = _target_name(layer, filter_index, class_names), result.objective[index]
        caption = (f"<b>{name}</b>" + (f'<br><b style="color:{DEAD_COLOR}">dead filter</b>' if is_dead else "")
                   + f"<br>activation {objective[0]:.2g} → {objective[-1]:.2g}")
        style = f"border:3px solid {DEAD_COLOR};padding:2px" if is_dead else "padding:5px"
        curve = _sparkline(objective, 112, 40, DEAD_COLOR if is_dead else CURVE_COLOR)
        rows.setdefault(layer, []).append(tile(grey_uint8(result.images[index]), name, caption, size=112, extra=curve,
                                                style=style, framed=True))
    return (HEADER.format("Activation maximization: the input each filter responds to most")
            + "<p style='margin:0'>Found by gradient ascent on the image, starting from noise; under each image, "
              "its activation at every step.</p>"
            + "".join(ROW.format(_row_label(layer) + "".join(tiles)) for layer, tiles in rows.items()))
