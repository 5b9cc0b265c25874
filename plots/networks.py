"""Pictures that put two networks side by side: their filters matched one to one (seeds compared),
and a two-block and a three-block model's filters, synthesized images and Grad-CAM (deeper network).

HTML, as the other grids: each filter a tiny PNG enlarged by the browser, every number text.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from plots.html_grids import GREEN_TEXT, HEADER, ROW, feature_map_rgb, tile
from plots.render import png_data_url

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers import FilterMatching

FILTER_PX = 60
TWIN_COLOR = "#2ca02c"  # tab:green, as the Compare tab's best
NOTE = "<p style='margin:4px 0;font-size:0.9em'>{}</p>"


def map_picture(feature_map: np.ndarray) -> np.ndarray:
    """A feature map (h, w) in viridis, scaled to its own maximum."""
    return feature_map_rgb(feature_map)[0]


def _pair_tile(picture_a: np.ndarray, picture_b: np.ndarray, pair: tuple[int, int], similarity: float,
               twin: bool) -> str:
    pictures = "".join(f'<img src="{png_data_url(picture)}" width="{FILTER_PX}" height="{FILTER_PX}" '
                       f'style="image-rendering:pixelated" alt="filter {k}">'
                       for picture, k in zip((picture_a, picture_b), pair))
    frame = f"border:3px solid {TWIN_COLOR};padding:2px" if twin else "padding:5px"
    mark = f' <b style="color:{GREEN_TEXT}">twin</b>' if twin else ""
    return (f'<figure style="margin:0;text-align:center;font-size:0.85em;{frame}">'
            f'<div style="display:flex;gap:3px">{pictures}</div>'
            f'<figcaption>#{pair[0]} ↔ #{pair[1]}<br><b>{similarity:+.2f}</b>{mark}</figcaption></figure>')


def matching_html(matching: FilterMatching, pictures_a: list[np.ndarray], pictures_b: list[np.ndarray],
                  titles: tuple[str, str], what: str, facts: list[str]) -> str:
    """The matched pairs, most similar first, each with its similarity, close twins framed; then ``facts``
    (sentences of HTML) that put the numbers in context."""
    tiles = [_pair_tile(pictures_a[i], pictures_b[j], (i, j), float(s), bool(s >= matching.threshold))
             for (i, j), s in zip(matching.pairs, matching.similarity)]
    mean = float(np.mean(matching.similarity))
    headline = (f"{html.escape(titles[0])}, left of each pair ↔ {html.escape(titles[1])}, right: "
                f"{matching.twins} of {len(matching.pairs)} {matching.layer} filters have a close twin")
    legend = NOTE.format(f"Pairs found by the one-to-one assignment of largest total similarity ({matching.measure}; "
                         f"mean of the pairs {mean:+.2f}); framed: a close twin (≥ {matching.threshold}). "
                         f"Pictures: {html.escape(what)}.")
    return (HEADER.format(headline) + legend + ROW.format("".join(tiles))
            + "<ul style='margin:4px 0;font-size:0.95em'>" + "".join(f"<li>{fact}</li>" for fact in facts) + "</ul>")


def figure_img(picture: np.ndarray, alt: str) -> str:
    """A rendered figure as an image that shrinks to its column."""
    return (f'<img src="{png_data_url(picture)}" alt="{html.escape(alt)}" '
            'style="max-width:100%;height:auto;display:block;margin:4px 0">')


def network_column_html(title: str, facts: str, figures: list[tuple[str, np.ndarray]], maximization: str,
                        overlay: np.ndarray | None, cam_caption: str) -> str:
    """One model of the deeper-network comparison: its card, its conv filters, what each filter wants to see,
    and Grad-CAM of the student's image at its last conv layer (``overlay`` None: no image, ``cam_caption`` says
    how to get one)."""
    weights = "".join(figure_img(picture, alt) for alt, picture in figures)
    cam = NOTE.format(cam_caption) if overlay is None else ROW.format(
        tile(overlay, "Grad-CAM of your image", cam_caption, size=overlay.shape[0],
             style=f"max-width:{overlay.shape[0] + 120}px"))
    return (f"<h3 style='margin:4px 0'>{html.escape(title)}</h3>" + NOTE.format(facts)
            + HEADER.format("Grad-CAM of your image at the last conv layer") + cam
            + HEADER.format("The conv filters") + weights + maximization)
