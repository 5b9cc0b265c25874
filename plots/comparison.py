"""Methods side by side: the maps of one image with their faithfulness scores, their deletion and
insertion curves in one plot, and the sanity check's grid of maps as the network is randomized.

Every map is drawn the same way, whatever its method, so that they can be compared: red where it
sees evidence for the class, blue against, white nothing, each scaled to its own largest value. A map
that is positive everywhere (RISE's: a mean probability) is drawn from its smallest value up, or it
would be one flat red.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from plots.html_grids import GREEN_TEXT, HEADER, ROW, grey_uint8, tile
from plots.overlay import signed_map_rgb
from plots.render import SUPTITLE_SIZE, TEXT_SIZE, TITLE_SIZE, colormap, new_figure

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers.faithfulness import MethodScore
    from explainers.sanity import Similarity

MAP_PX = 112  # a 28x28 map at 4 screen pixels per pixel: legible on a projector, 3 across on a phone
STAGE_PX = 70
BEST = "#2ca02c"  # matplotlib's tab:green, as in the curves


def _map_tile(values: np.ndarray, name: str, caption: str, size: int, style: str = "") -> str:
    values = np.reshape(values, (28, 28))
    if values.min() > 0:
        values = values - values.min()
    return tile(signed_map_rgb(values, 28), name, caption, size=size, style=style)


def _similarity_caption(score: Similarity | None) -> str:
    if score is None:
        return "learned"
    rank = "ρ undefined (a flat map)" if np.isnan(score.spearman_abs) else f"ρ {score.spearman_abs:.2f}"
    return f"{rank} · SSIM {score.ssim:.2f}"


def methods_html(image28: np.ndarray, scores: list[MethodScore], summaries: dict[str, str], title: str) -> str:
    """The image, then one tile per method: its map, what it computes, its deletion and insertion AUC
    against the random map's (the last score). The best of each curve is framed and starred."""
    methods, chance = scores[:-1], scores[-1]
    best_deletion = min(methods, key=lambda s: s.deletion_auc).method
    best_insertion = max(methods, key=lambda s: s.insertion_auc).method
    tiles = [tile(grey_uint8(np.reshape(image28, (28, 28))), "the image", "<b>the image</b>", size=MAP_PX)]
    for score in methods:
        stars = "★ " * ((score.method == best_deletion) + (score.method == best_insertion))
        caption = (f"<b>{stars}{html.escape(score.method)}</b><br><span style='font-size:0.9em'>"
                   f"{html.escape(summaries[score.method])}</span><br>deletion <b>{score.deletion_auc:.2f}</b> "
                   f"· insertion <b>{score.insertion_auc:.2f}</b>")
        framed = f"border:3px solid {BEST};padding:2px" if stars else "padding:5px"
        tiles.append(_map_tile(score.map, score.method, caption, MAP_PX, f"width:{MAP_PX + 26}px;{framed}"))
    legend = (f"<p style='margin:4px 0'>Red: evidence for the class, blue: against, each map scaled to its own "
              f"maximum (RISE's, positive everywhere, from its minimum). <b>Deletion</b> AUC (lower is better) "
              f"and <b>insertion</b> AUC (higher is better) of the class's probability as the map's pixels are "
              f"removed or revealed, most important first; a <b>random map</b> scores "
              f"{chance.deletion_auc:.2f} and {chance.insertion_auc:.2f}. "
              f"★ <span style='color:{GREEN_TEXT}'>framed</span>: the best of each.</p>")
    return HEADER.format(html.escape(title)) + legend + ROW.format("".join(tiles))


def curves_figure(scores: list[MethodScore], fractions: np.ndarray, title: str) -> Figure:
    """Every method's deletion and insertion curve in one plot each, the random map dashed; one legend
    below both, with each method's two AUCs."""
    fig = new_figure(12, 6.2)
    deletion_ax, insertion_ax = fig.subplots(1, 2, sharey=True)
    colours = colormap("tab20")(np.linspace(0, 1, 20))
    for index, score in enumerate(scores):
        is_random = index == len(scores) - 1
        style = dict(color="black", linestyle="--", linewidth=2.5) if is_random else dict(
            color=colours[index % 20], linewidth=1.8)
        deletion_ax.plot(fractions, score.deletion, **style)
        insertion_ax.plot(fractions, score.insertion, label=f"{score.method} "
                          f"({score.deletion_auc:.2f} / {score.insertion_auc:.2f})", **style)
    for ax, name in ((deletion_ax, "Deletion: a faithful map falls fast"),
                     (insertion_ax, "Insertion: a faithful map rises fast")):
        ax.set_title(name, fontsize=TITLE_SIZE)
        ax.set_xlabel("fraction of the pixels, most important first", fontsize=TEXT_SIZE)
        ax.tick_params(labelsize=TEXT_SIZE - 1)
        ax.grid(alpha=0.3)
    deletion_ax.set_ylabel("probability of the class", fontsize=TEXT_SIZE)
    fig.legend(*insertion_ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=TEXT_SIZE - 1,
               title="method (deletion AUC / insertion AUC)", title_fontsize=TEXT_SIZE)
    fig.suptitle(title, fontsize=SUPTITLE_SIZE)
    return fig


def sanity_html(stages: list[str], maps: dict[str, dict[str, np.ndarray]],
                similarity: dict[tuple[str, str], Similarity], stage_titles: dict[str, str]) -> str:
    """One row per method, one column per randomization stage: the map, and under it how much it still
    resembles the learned network's map (Spearman rank correlation of |map|, and SSIM)."""
    header = "".join(f"<th style='padding:2px 6px;font-size:0.85em'>{html.escape(stage_titles[stage])}</th>"
                     for stage in stages)
    rows = []
    for method in maps[stages[0]]:
        cells = []
        for stage in stages:
            caption = _similarity_caption(similarity.get((method, stage)))
            cells.append(f"<td style='padding:2px'>{_map_tile(maps[stage][method], method, caption, STAGE_PX)}</td>")
        rows.append(f"<tr><th style='text-align:left;font-size:0.9em;padding-right:6px'>{html.escape(method)}</th>"
                    + "".join(cells) + "</tr>")
    legend = ("<p style='margin:4px 0'>Left to right, the network's learned weights are replaced by random ones "
              "from the top down. ρ: rank correlation of |map| with the learned network's map, SSIM: how alike "
              "they look (1 = the same). A map that explains the <i>network</i> must change: one that still "
              "looks the same is explaining the image, not the decision.</p>")
    return (HEADER.format("Sanity check: do the maps depend on what the network learned?") + legend
            + "<div style='overflow-x:auto'><table style='border-collapse:collapse'><tr><th></th>" + header + "</tr>"
            + "".join(rows) + "</table></div>")
