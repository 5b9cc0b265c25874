"""A ``--data-dir`` for the code paths that need a training set, made from the shipped test set alone
(offline, and without TensorFlow)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from cnn.datasets import SHIPPED_DATA, read_split_from_folder
from cnn.idx import write_idx


def write_offline_data_dir(root: Path, copies: int = 6) -> Path:
    """``root/mnist/`` with MNIST's shipped test files and a "training set" made of their 10,000
    images ``copies`` times (60,000 by default, the count the app expects). Returns ``root``, the
    folder to pass as ``--data-dir``."""
    shipped, folder = SHIPPED_DATA / "mnist", root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(shipped / name, folder / name)
    images, labels = read_split_from_folder(shipped, "test")
    write_idx(folder / "train-images-idx3-ubyte", np.tile(images, (copies, 1, 1)))
    write_idx(folder / "train-labels-idx1-ubyte", np.tile(labels, copies))
    return root
