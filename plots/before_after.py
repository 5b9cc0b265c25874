"""A model before and after learning from new digits, as HTML: the accuracies side by side, confusion matrices
as tables of counts (read at a glance on a projector, as the class wall's), and the drawings whose prediction
changed, each framed green (now read right) or red (now read wrong).
"""
from __future__ import annotations

import numpy as np

from plots.html_grids import GREEN_TEXT, ROW, grey_uint8, tile

TABLE = "<table style='border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:0.9em'>{}</table>"
CELL = "<td style='width:2.1em;height:1.7em;text-align:center;border:1px solid #e5e7eb;background:{colour}'>{text}</td>"
HEAD = "<th style='padding:1px 4px;font-weight:{weight}'>{text}</th>"
RIGHT_RGB, WRONG_RGB = "22,163,74", "220,38,38"  # the wall's green and red (class.css)
RED_TEXT = "#b91c1c"  # 6.5:1 on white
TILE_PX = 56


def percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def accuracy(counts: np.ndarray) -> float:
    total = int(np.sum(counts))
    return float(np.trace(counts) / total) if total else float("nan")


def confusion_table_html(counts: np.ndarray, title: str) -> str:
    """counts[meant, read] as a table: the diagonal green, the mistakes red, both as dark as their share."""
    counts = np.asarray(counts)
    total = max(int(counts.sum()), 1)
    heads = [HEAD.format(weight="normal", text="meant \\ read")] + [HEAD.format(weight="bold", text=d)
                                                                  for d in range(len(counts))]
    rows = ["<tr>" + "".join(heads) + "</tr>"]
    for meant, row in enumerate(counts):
        cells = []
        for read, count in enumerate(row):
            share = min(1.0, 4 * count / total)
            colour = (f"rgba({RIGHT_RGB},{0.15 + 0.6 * share:.2f})" if meant == read
                      else f"rgba({WRONG_RGB},{0.9 * share:.2f})")
            cells.append(CELL.format(colour=colour, text=count or ""))
        rows.append("<tr>" + HEAD.format(weight="bold", text=meant) + "".join(cells) + "</tr>")
    return (f"<figure style='margin:0'><figcaption><b>{title}</b>: {percent(accuracy(counts))} read right"
            f"</figcaption>{TABLE.format(''.join(rows))}</figure>")


def changed_drawings_html(images: np.ndarray, numbers: list[int], meant: list[int], before: list[int],
                          after: list[int]) -> str:
    """The drawings whose prediction changed, those now read right first: "12 · 7: 1 → 7"."""
    changed = [i for i in range(len(numbers)) if before[i] != after[i]]
    if not changed:
        return "<p>No drawing's prediction changed.</p>"
    changed.sort(key=lambda i: (after[i] != meant[i], numbers[i]))
    tiles = []
    for i in changed:
        right = after[i] == meant[i]
        colour, mark = (GREEN_TEXT, "✅") if right else (RED_TEXT, "❌")
        caption = (f"<span style='color:{colour}'>{mark} #{numbers[i]}</span><br>meant {meant[i]}: "
                   f"{before[i]} → <b>{after[i]}</b>")
        tiles.append(tile(grey_uint8(images[i]), f"drawing {numbers[i]}, meant {meant[i]}, read {before[i]} before "
                          f"and {after[i]} after", caption, TILE_PX,
                          style=f"border:4px solid {colour};border-radius:6px;padding:2px"))
    fixed = sum(after[i] == meant[i] for i in changed)
    return (f"<p><b>{len(changed)} drawings now read differently</b>: {fixed} now read right, "
            f"{len(changed) - fixed} now read wrong.</p>" + ROW.format("".join(tiles)))
