"""How training went: loss and accuracy per epoch, and which classes get confused."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from plots.render import SUPTITLE_SIZE, TEXT_SIZE, TITLE_SIZE, new_figure, write_cell_values

if TYPE_CHECKING:  # only for type hints: drawing needs no TensorFlow, which explainers imports
    from cnn.training import TrainingProgress

SPLITS = (("", "training", "tab:blue"), ("val_", "validation (unseen images)", "tab:orange"))


def _plot_metric(ax: Axes, history: dict[str, list[float]], metric: str, running: list[tuple[float, float]],
                 last_epoch: float) -> None:
    """One metric per epoch for both splits, plus the running value inside the current epoch."""
    if running:
        positions, values = zip(*running)
        ax.plot(positions, values, color="tab:blue", alpha=0.35, linewidth=1.5,
                label="training, running mean within the epoch")
    for prefix, label, color in SPLITS:
        values = history.get(prefix + metric, [])
        if values:  # markers, so that a single epoch still shows as a point
            ax.plot(np.arange(1, len(values) + 1), values, "o-", color=color, linewidth=2, label=label)
    ax.set_title(metric, fontsize=TITLE_SIZE)
    ax.set_xlabel("epoch (one pass over all training images)", fontsize=TEXT_SIZE)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, last_epoch + 0.3)  # room on the right, so that a point at the last epoch is not on the frame
    ax.tick_params(labelsize=TEXT_SIZE)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=TEXT_SIZE)
    else:
        ax.text(0.5, 0.5, "no epochs yet", transform=ax.transAxes, ha="center", va="center", fontsize=TEXT_SIZE)


def training_curves_figure(history: dict[str, list[float]], progress: Sequence[TrainingProgress] = ()) -> Figure:
    """Loss and accuracy after every epoch (``history`` keys: loss, accuracy, val_loss, val_accuracy).

    ``progress`` (optional) adds the running values reported during training, placed at
    fractional epochs, so that the curves move while the first epoch is still running.
    """
    fig = new_figure(11, 4.4)
    loss_ax, accuracy_ax = fig.subplots(1, 2)
    fractions = [report.epoch - 1 + report.step / report.steps for report in progress]
    last_epoch = max([1, *fractions, *(len(values) for values in history.values())])
    _plot_metric(loss_ax, history, "loss", [(x, report.loss) for x, report in zip(fractions, progress)], last_epoch)
    _plot_metric(accuracy_ax, history, "accuracy", [(x, report.accuracy) for x, report in zip(fractions, progress)],
                 last_epoch)
    loss_ax.set_ylabel("loss (lower is better)", fontsize=TEXT_SIZE)
    accuracy_ax.set_ylabel("fraction correct (higher is better)", fontsize=TEXT_SIZE)
    fig.suptitle("Training progress: the validation curve shows how well the network does on images it never "
                 "trained on", fontsize=SUPTITLE_SIZE, wrap=True)
    return fig


def confusion_matrix_figure(counts: np.ndarray, class_names: list[str]) -> Figure:
    """counts[true, predicted] with the numbers in the cells; the diagonal holds the correct answers."""
    counts = np.asarray(counts)
    fig = new_figure(9, 8)
    ax = fig.subplots()
    # A square-root scale makes the small off-diagonal counts (the mistakes) visible next to the big diagonal.
    shown = ax.imshow(counts, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=max(int(counts.max()), 1)))
    write_cell_values(ax, shown, counts.astype(str), fontsize=TEXT_SIZE)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right", rotation_mode="anchor", fontsize=TEXT_SIZE)
    ax.set_yticks(ticks, class_names, fontsize=TEXT_SIZE)
    ax.set_xlabel("predicted class", fontsize=TITLE_SIZE)
    ax.set_ylabel("true class", fontsize=TITLE_SIZE)
    total = int(counts.sum())
    accuracy = np.trace(counts) / total if total else 0.0
    fig.suptitle(f"Confusion matrix: {total} test images, {accuracy:.1%} correct (on the diagonal)\n"
                 "each row: the images of one class, and what the network called them", fontsize=SUPTITLE_SIZE)
    return fig
