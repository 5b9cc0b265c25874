"""Pictures of the Experiments tab's image experiments: an adversarial example and where its evidence
moved, the robustness curve, the reconstructions of feature inversion, and a style transfer.

Everything a student compares tile by tile is HTML of tiny PNGs (plots.html_grids): the 28x28 images
enlarged pixel by pixel, sharp on a projector, wrapping on a phone. The curve is a matplotlib figure.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from plots.html_grids import HEADER, ROW, grey_uint8, tile
from plots.overlay import heatmap_overlay, signed_rgb
from plots.render import SUPTITLE_SIZE, TEXT_SIZE, TITLE_SIZE, new_figure

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from explainers import AttackResult, CAMResult, Reconstruction, StyleTransferResult

IMAGE_PX = 112  # 4 screen pixels per input pixel, as the Compare tab's maps
TILE_STYLE = f"width:{IMAGE_PX + 20}px"  # room for a caption, and still two tiles across a phone
NOTE = "<p style='margin:4px 0;font-size:0.9em'>{}</p>"
TOP_CLASSES = 3


def top_classes(probabilities: np.ndarray, names: tuple[str, ...], count: int = TOP_CLASSES) -> str:
    """The most probable classes, "7 98% · 3 1%", the first in bold."""
    order = np.argsort(probabilities)[::-1][:count]
    parts = [f"{html.escape(names[k])}&nbsp;{probabilities[k]:.0%}" for k in order]  # a class and its share together
    return f"<b>{parts[0]}</b> · " + " · ".join(parts[1:])


def _image_tile(image: np.ndarray, name: str, caption: str) -> str:
    return tile(grey_uint8(np.reshape(image, (28, 28))), name, caption, size=IMAGE_PX, style=TILE_STYLE)


def perturbation_caption(linf: float) -> str:
    """The perturbation's colour scale: the largest change is full colour, so small changes are amplified."""
    if linf <= 0:
        return "<b>perturbation</b><br>no pixel changed"
    return (f"<b>perturbation</b><br>red: brighter, blue: darker<br>full colour = ±{linf:.2f}"
            f"<br>(amplified ×{1 / linf:.0f})")


def _cam_tile(image: np.ndarray, result: CAMResult, caption: str) -> str:
    if not result.has_evidence:
        caption += "<br><i>no positive evidence</i>"
    return tile(heatmap_overlay(image, result.heatmap, IMAGE_PX), result.method, caption, size=IMAGE_PX,
                style=TILE_STYLE)


def evidence_rows(original: np.ndarray, adversarial: np.ndarray, maps: dict[str, list[CAMResult]],
                  classes: tuple[int, int], names: tuple[str, ...]) -> str:
    """One row per CAM method: the maps of the old and the new class, before and after the attack.
    ``maps[method]`` holds the four results in that order: (before, old), (before, new), (after, old), (after, new)."""
    rows = []
    for method, results in maps.items():
        tiles = []
        for (stage, image), cls, result in zip([("before", original)] * 2 + [("after", adversarial)] * 2,
                                               classes * 2, results):
            caption = (f"{stage}: evidence for&nbsp;<b>{html.escape(names[cls])}</b>"
                       f"<br>p = {result.probabilities[cls]:.0%}")
            tiles.append(_cam_tile(image, result, caption))
        rows.append(f"<p style='margin:6px 0 0'><b>{html.escape(method)}</b></p>" + ROW.format("".join(tiles)))
    return "".join(rows)


def attack_html(original: np.ndarray, attack: AttackResult, maps: dict[str, list[CAMResult]],
                classes: tuple[int, int], names: tuple[str, ...], title: str) -> str:
    """Original, perturbation and adversarial image with both predictions, then where the evidence moved."""
    before, after = attack.original_probabilities[0], attack.probabilities[0]
    tiles = [_image_tile(original, "the original", f"<b>original</b><br>{top_classes(before, names)}"),
             tile(signed_rgb(attack.perturbation[0]), "the perturbation", perturbation_caption(float(attack.linf[0])),
                  size=IMAGE_PX, style=TILE_STYLE),
             _image_tile(attack.adversarial[0], "the adversarial image",
                         f"<b>adversarial</b><br>{top_classes(after, names)}")]
    legend = NOTE.format("Heatmaps: red where the evidence for the class lies, each scaled to its own maximum; "
                         "p: the class's probability on that image.")
    return (HEADER.format(html.escape(title)) + ROW.format("".join(tiles))
            + HEADER.format("Where did the evidence move?") + legend
            + evidence_rows(original, attack.adversarial[0], maps, classes, names))


def robustness_figure(epsilons: np.ndarray, curves: dict[str, np.ndarray], images: int, steps: int) -> Figure:
    """Accuracy against ε, one line per dataset, each point written."""
    fig = new_figure(9, 4.8)
    ax = fig.subplots()
    for name, accuracy in curves.items():
        line, = ax.plot(epsilons, 100 * accuracy, marker="o", linewidth=2, label=f"{name} (clean {accuracy[0]:.1%})")
        for epsilon, value in zip(epsilons, accuracy):
            if 0 < value:  # the zeros speak for themselves; 0.5 % is not written "0 %"
                ax.annotate(f"{value:.0%}" if value >= 0.01 else f"{value:.1%}", (epsilon, 100 * value),
                            textcoords="offset points", xytext=(5, 4),
                            fontsize=TEXT_SIZE - 2, color=line.get_color())
    ax.set_xlabel("ε: the largest change of any pixel (pixels in [0, 1])", fontsize=TEXT_SIZE)
    ax.set_ylabel("accuracy under attack (%)", fontsize=TEXT_SIZE)
    ax.set_ylim(-3, 108)
    ax.tick_params(labelsize=TEXT_SIZE - 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=TEXT_SIZE, title="shipped model", title_fontsize=TEXT_SIZE)
    ax.set_title(f"Untargeted PGD ({steps} steps) on the first {images:,} test images", fontsize=TITLE_SIZE)
    fig.suptitle("How small a change breaks the network?", fontsize=SUPTITLE_SIZE)
    return fig


def inversion_html(image: np.ndarray, reconstructions: dict[str, Reconstruction], sizes: dict[str, int]) -> str:
    """The image, then its reconstruction from each layer with the layer's size and both errors."""
    tiles = [_image_tile(image, "the image", "<b>the image</b><br>784 pixels")]
    for layer, result in reconstructions.items():
        caption = (f"<b>from {html.escape(layer)}</b><br>{sizes[layer]:,} numbers<br>"
                   f"feature error {result.feature_error:.3f}<br>pixel error <b>{result.pixel_error:.2f}</b>")
        tiles.append(_image_tile(result.image, f"reconstruction from {layer}", caption))
    legend = NOTE.format("Each picture starts from noise and is changed until the layer's activations match the "
                         "image's (feature error: how far they still are, relative to their size). Pixel error: "
                         "how far the picture is from the image (0: identical, 1: as far as a black image).")
    return HEADER.format("What each layer still knows about the image") + legend + ROW.format("".join(tiles))


def style_html(content: np.ndarray, style: np.ndarray, result: StyleTransferResult, style_title: str) -> str:
    """Content, style and result side by side, with the losses before and after."""
    tiles = [_image_tile(content, "the content", "<b>content</b><br>your image"),
             _image_tile(style, "the style", f"<b>style</b><br>{html.escape(style_title)}"),
             _image_tile(result.image, "the result", "<b>result</b><br>content in that style")]
    losses = NOTE.format(
        f"Style loss (Gram matrices of conv1 and conv2, relative): <b>{result.style_loss_before:.3f} → "
        f"{result.style_loss_after:.3f}</b>. Content loss (conv2's maps, relative): "
        f"<b>{result.content_loss_before:.3f} → {result.content_loss_after:.3f}</b>. The optimization starts "
        f"from your image, so its content loss starts at 0 and rises as the style moves in.")
    return HEADER.format("Style transfer") + ROW.format("".join(tiles)) + losses
