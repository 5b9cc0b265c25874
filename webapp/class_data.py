"""The class's digits as a data set: written in MNIST's own IDX format, read by the served model digit by digit
beside MNIST's test digits, and split into a part to learn from and a part held out (class_learning.py).

Only the drawings on the wall count (hidden and withdrawn ones are left out); a drawing's label is the digit
its student meant.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

from classroom.classes import CLASS_DATASET, DIGITS, ClassRefused
from classroom.store import StoredDrawing
from cnn.evaluation import predict_logits
from cnn.idx import write_idx
from webapp.served import ExplainerSet, ServedExplainers

EXPORT_NAMES = ("class-images-idx3-ubyte.gz", "class-labels-idx1-ubyte.gz")
EXPORT_PREFIX = "cnn-demo-class-export-"
EXPORT_KEPT_SECONDS = 3600.0  # Gradio copies the files it serves: the originals go at a later export
HELD_OUT = 0.3  # of each digit's drawings: never trained on, only tested
KEPT_CLASSES = 64  # classes whose readings are kept (the most recently read)

Drawings = list[tuple[StoredDrawing, np.ndarray]]


def as_bytes(images: np.ndarray) -> np.ndarray:
    """[0, 1] images as MNIST stores them: one byte a pixel, the nearest of 0..255."""
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)


def export_idx(code: str, drawings: Drawings) -> tuple[Path, Path]:
    """The class's drawings as MNIST's two gzipped IDX files (images N x 28 x 28, labels N), in a new folder."""
    if not drawings:
        raise ClassRefused(f"Class {code} has no drawings on its wall yet: there is nothing to download.")
    folder = _export_folder()
    images, labels = folder / EXPORT_NAMES[0], folder / EXPORT_NAMES[1]
    write_idx(images, as_bytes(np.stack([pixels for _, pixels in drawings])))
    write_idx(labels, np.array([drawing.meant for drawing, _ in drawings], np.uint8))
    return images, labels


def _export_folder() -> Path:
    """A new folder for one export; those of exports older than EXPORT_KEPT_SECONDS are removed."""
    for old in Path(tempfile.gettempdir()).glob(f"{EXPORT_PREFIX}*"):
        if old.is_dir() and old.stat().st_mtime < time.time() - EXPORT_KEPT_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=EXPORT_PREFIX))


def held_out(drawings: list[StoredDrawing], code: str, fraction: float = HELD_OUT) -> np.ndarray:
    """Which drawings are held out (a boolean per drawing): of each digit meant, round(fraction x its drawings),
    chosen by a hash of the class and the drawing's number, so that a drawing keeps its side from one
    fine-tuning to the next (as the class grows, only the drawings at the margin may change sides)."""
    chosen = np.zeros(len(drawings), bool)
    for digit in range(DIGITS):
        mine = [i for i, drawing in enumerate(drawings) if drawing.meant == digit]
        mine.sort(key=lambda i: hashlib.sha256(f"{code}:{drawings[i].number}".encode()).digest())
        chosen[mine[:int(len(mine) * fraction + 0.5)]] = True
    return chosen


def predicted_digits(model_set: ExplainerSet, images: np.ndarray) -> np.ndarray:
    """What the model of ``model_set`` reads in 28x28 images, in one batch."""
    if not len(images):
        return np.zeros(0, np.int64)
    return predict_logits(model_set.served.model, images[..., np.newaxis]).argmax(axis=1)


def test_accuracy_per_digit(model_set: ExplainerSet) -> list[float]:
    """The model's accuracy on MNIST's test images of each digit (kept with the model)."""
    def per_digit() -> list[float]:
        labels = model_set.test_set[1]
        right = model_set.test_predictions == labels
        return [float(right[labels == digit].mean()) for digit in range(DIGITS)]
    return model_set.remember("test accuracy per digit", per_digit)


class ClassReadings:
    """What the served MNIST model reads in each drawing of each class: a wall update reads only the drawings
    it has not read yet, and all of them again once another model is served (after a training, or after the
    class's own fine-tuned model is served), so that the wall's table is the served model's, now."""

    def __init__(self, served_explainers: ServedExplainers, kept: int = KEPT_CLASSES) -> None:
        self.served_explainers = served_explainers
        self._kept: OrderedDict[str, tuple[int, dict[int, int]]] = OrderedDict()
        self._lock = threading.Lock()
        self.kept = kept

    def readings(self, code: str, images_after: Callable[[int], dict[int, np.ndarray]]) -> dict[int, int]:
        """By drawing number, the digit the served model reads; ``images_after(n)`` gives the pixels of the
        class's drawings numbered above n."""
        model_set = self.served_explainers(CLASS_DATASET)
        with self._lock:
            version, read = self._kept.get(code, (None, {}))
            read = dict(read) if version == model_set.served.version else {}
        unread = images_after(max(read, default=0))
        read.update(zip(unread, predicted_digits(model_set, np.array(list(unread.values()))).tolist()))
        with self._lock:
            self._kept[code] = (model_set.served.version, read)
            self._kept.move_to_end(code)
            while len(self._kept) > self.kept:
                self._kept.popitem(last=False)
        return read

    def per_digit(self, code: str, drawings: list[StoredDrawing],
                  images_after: Callable[[int], dict[int, np.ndarray]]) -> dict:
        """The wall's table: per digit meant, the drawings, how many the served model reads right now, and its
        accuracy on MNIST's test images of that digit."""
        read = self.readings(code, images_after)
        counts, right = np.zeros(DIGITS, int), np.zeros(DIGITS, int)
        for drawing in drawings:
            counts[drawing.meant] += 1
            right[drawing.meant] += read.get(drawing.number, drawing.predicted) == drawing.meant
        return {"drawings": counts.tolist(), "read_right": right.tolist(),
                "mnist": test_accuracy_per_digit(self.served_explainers(CLASS_DATASET))}
