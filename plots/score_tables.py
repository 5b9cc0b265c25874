"""The trust tests over many images, as HTML tables: each method's deletion and insertion AUCs against the
random map's (``explainers.faithfulness``), and how much its maps survive the sanity checks
(``explainers.sanity``). The notebook shows them; a table of numbers reads better than a figure here.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from plots.html_grids import HEADER

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers.faithfulness import MeanCI, TableRow
    from explainers.sanity import Similarity

TABLE = "<table style='border-collapse:collapse;font-size:0.9em'>{}</table>"
CELL = "<td style='padding:2px 8px;text-align:{align};{style}'>{text}</td>"
HEAD = "<th style='padding:2px 8px;text-align:{align}'>{text}</th>"
BEST = "font-weight:bold;color:#2ca02c"  # matplotlib's tab:green, as in the Compare tab
UNCHANGED_RGB = "214,39,40"  # tab:red: the more a randomized network's map resembles the learned one's, the redder


def _row(cells: list[str]) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _cell(text: str, align: str = "right", style: str = "") -> str:
    return CELL.format(align=align, style=style, text=text)


def _interval(value: MeanCI) -> str:
    return f"{value.mean:.3f} <span style='color:#666'>({value.low:.3f}–{value.high:.3f})</span>"


def faithfulness_table_html(rows: list[TableRow], images: int) -> str:
    """One row per method (``Faithfulness.table``), the random map's last: mean AUCs with their 95 % intervals,
    whether each beats the random map (one-sided Wilcoxon, Bonferroni), and the time per image. The best mean
    of each curve is green."""
    best_deletion = min(rows, key=lambda row: row.deletion.mean).method
    best_insertion = max(rows, key=lambda row: row.insertion.mean).method
    heads = ["method", "deletion AUC (lower is better)", "insertion AUC (higher is better)",
             "beats the random map (deletion / insertion)", "ms per image"]
    lines = [_row([HEAD.format(align="left" if i == 0 else "right", text=text) for i, text in enumerate(heads)])]
    for row in rows:
        beats = " / ".join("yes" if beaten else "no" for beaten in (row.beats_random_deletion,
                                                                     row.beats_random_insertion))
        lines.append(_row([_cell(html.escape(row.method), "left"),
                           _cell(_interval(row.deletion), style=BEST if row.method == best_deletion else ""),
                           _cell(_interval(row.insertion), style=BEST if row.method == best_insertion else ""),
                           _cell(beats), _cell(f"{row.ms_per_image:.2f}")]))
    chance = rows[0]
    lines.append(_row([_cell("<i>random map</i>", "left"), _cell(_interval(chance.random_deletion)),
                       _cell(_interval(chance.random_insertion)), _cell(""), _cell("")]))
    return (HEADER.format(f"Faithfulness over {images} test images: mean AUC (95 % interval)")
            + TABLE.format("".join(lines)))


def _similarity_cell(score: Similarity) -> str:
    if np.isnan(score.spearman_abs):
        return _cell("undefined (constant maps)")
    shade = f"background:rgba({UNCHANGED_RGB},{0.6 * float(np.clip(score.spearman_abs, 0.0, 1.0)):.2f})"
    left_out = f" <span style='color:#666'>({score.undefined} flat)</span>" if score.undefined else ""
    return _cell(f"ρ {score.spearman_abs:.2f} · SSIM {score.ssim:.2f}{left_out}", style=shade)


def sanity_table_html(scores: list[Similarity]) -> str:
    """One row per method, one column per randomization (``SanityCheck.cascade``, ``data_randomization``): the
    mean Spearman correlation of |map| with the learned network's map, and SSIM. Red: still alike (a failure)."""
    stages = list(dict.fromkeys(score.stage for score in scores))
    methods = list(dict.fromkeys(score.method for score in scores))
    cells = {(score.method, score.stage): score for score in scores}
    lines = [_row([HEAD.format(align="left", text="method")]
                  + [HEAD.format(align="right", text=html.escape(stage)) for stage in stages])]
    for method in methods:
        lines.append(_row([_cell(html.escape(method), "left")]
                          + [_similarity_cell(cells[method, stage]) if (method, stage) in cells else _cell("")
                             for stage in stages]))
    legend = ("<p style='margin:4px 0'>Column: the last layer re-initialized (every layer above it too), or the "
              "network trained on shuffled labels. ρ: rank correlation of |map| with the learned network's map, "
              "SSIM: how alike they look; 1 = unchanged; (n flat): images whose map is constant, left out of ρ. "
              "A map that explains the network must change: the redder a cell, the more the map explains the image "
              "instead.</p>")
    return (HEADER.format(f"Sanity checks over {scores[0].images} test images: does the map depend on what the "
                          f"network learned?") + legend + TABLE.format("".join(lines)))
