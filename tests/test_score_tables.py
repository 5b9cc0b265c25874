"""plots.score_tables: the faithfulness and sanity tables show the numbers the explainers computed, row by
row, and mark the best and the undefined."""
from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pytest

from explainers import GradCAM, Saliency, SanityCheck, Similarity
from explainers.faithfulness import faithfulness_table
from plots import faithfulness_table_html, sanity_table_html

METHODS = {"Saliency": Saliency, "Grad-CAM": GradCAM}
IMAGES = 20


class Cells(HTMLParser):
    """The text of every table cell, row by row, and the style of each cell."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.styles: list[list[str]] = []
        self.inside = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
            self.styles.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self.styles[-1].append(dict(attrs).get("style") or "")
            self.inside = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.rows[-1][-1] += data


@pytest.fixture(scope="module")
def mnist_images(mnist_test) -> np.ndarray:
    return mnist_test[0][:IMAGES, :, :, 0]


def test_faithfulness_table_shows_each_methods_aucs_and_the_random_maps(shipped_mnist, mnist_images) -> None:
    rows = faithfulness_table(shipped_mnist, mnist_images, methods=METHODS)
    cells = Cells(faithfulness_table_html(rows, IMAGES))
    header, *body = cells.rows
    assert header[0] == "method" and len(body) == len(METHODS) + 1
    for row, shown in zip(rows, body):
        assert shown[0] == row.method
        assert shown[1] == f"{row.deletion.mean:.3f} ({row.deletion.low:.3f}–{row.deletion.high:.3f})"
        assert shown[2] == f"{row.insertion.mean:.3f} ({row.insertion.low:.3f}–{row.insertion.high:.3f})"
        assert shown[3] == " / ".join("yes" if b else "no" for b in (row.beats_random_deletion,
                                                                    row.beats_random_insertion))
    assert body[-1][0] == "random map" and body[-1][1].startswith(f"{rows[0].random_deletion.mean:.3f} ")
    best_deletion = min(range(len(rows)), key=lambda i: rows[i].deletion.mean)
    best_insertion = max(range(len(rows)), key=lambda i: rows[i].insertion.mean)
    green = [[i for i, style in enumerate(styles) if "color:#2ca02c" in style] for styles in cells.styles[1:]]
    assert green[best_deletion].count(1) == 1 and green[best_insertion].count(2) == 1
    assert sum(len(columns) for columns in green) == 2  # one best per curve, nothing else
    assert f"over {IMAGES} test images" in faithfulness_table_html(rows, IMAGES)


def test_sanity_table_has_one_column_per_stage_with_each_methods_similarity(shipped_mnist, mnist_images) -> None:
    scores = SanityCheck(shipped_mnist, METHODS).cascade(mnist_images[:5])
    cells = Cells(sanity_table_html(scores)).rows
    assert cells[0] == ["method", "logits", "conv2", "conv1"]
    assert [row[0] for row in cells[1:]] == list(METHODS)
    for score in scores:
        row = cells[1 + list(METHODS).index(score.method)]
        shown = row[cells[0].index(score.stage)]
        if math.isnan(score.spearman_abs):
            assert shown == "undefined (constant maps)"
        else:
            assert shown.startswith(f"ρ {score.spearman_abs:.2f} · SSIM {score.ssim:.2f}")


def test_sanity_table_marks_flat_maps_and_shades_by_similarity() -> None:
    scores = [Similarity("Grad-CAM", "logits", float("nan"), float("nan"), 0.1, 4, 4),
              Similarity("Grad-CAM", "conv2", 0.5, 0.4, 0.3, 4, 1),
              Similarity("Saliency", "logits", 1.0, 1.0, 1.0, 4, 0)]
    parsed = Cells(sanity_table_html(scores))
    assert parsed.rows[1] == ["Grad-CAM", "undefined (constant maps)", "ρ 0.50 · SSIM 0.30 (1 flat)"]
    assert parsed.rows[2] == ["Saliency", "ρ 1.00 · SSIM 1.00", ""]  # no conv2 score for it: an empty cell
    assert "rgba(214,39,40,0.30)" in parsed.styles[1][2] and "rgba(214,39,40,0.60)" in parsed.styles[2][1]
