"""The two datasets the demo knows, and where their images come from.

Sources are tried in a fixed order so that the app works offline:
1. a folder of the original IDX files (``--data-dir`` or ``$CNN_DEMO_DATA_DIR``),
   holding the four files directly or in a sub-folder named after the dataset;
2. for the test split only, the copy shipped in this repository (``data/``);
3. Debian's package ``dataset-fashion-mnist`` for Fashion-MNIST;
4. ``keras.datasets.<name>.load_data()``, which downloads (needs internet).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn.idx import IMAGES_MAGIC, LABELS_MAGIC, IdxError, read_idx

DATA_DIR_ENV = "CNN_DEMO_DATA_DIR"
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "data"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
SPLIT_SIZE = {"train": 60_000, "test": 10_000}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    class_names: tuple[str, ...]
    debian_dir: Path | None = None


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", tuple(str(d) for d in range(10))),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        debian_dir=Path("/usr/share/datasets/fashion-mnist"),
    ),
}


class DataUnavailableError(RuntimeError):
    """None of the data sources could provide the requested split."""


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None


def _idx_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of a split in ``folder``, gzipped or raw, if both exist."""
    prefix = SPLIT_PREFIX[split]
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        candidates = [folder / f"{prefix}-{kind}{ext}" for ext in (".gz", "")]
        existing = [c for c in candidates if c.is_file()]
        if not existing:
            return None
        found.append(existing[0])
    return found[0], found[1]


def read_split_from_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Images (N, 28, 28) uint8 and labels (N,) from IDX files, or None if the folder lacks them."""
    files = _idx_files(folder, split)
    if files is None:
        return None
    count = SPLIT_SIZE[split]
    images = read_idx(files[0], IMAGES_MAGIC, count)
    labels = read_idx(files[1], LABELS_MAGIC, count)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{files[0]}: images are {images.shape[1:]}, expected 28x28")
    if labels.max() > 9:
        raise IdxError(f"{files[1]}: labels outside 0..9")
    return images, labels


def _candidate_folders(info: DatasetInfo, split: str, data_dir: str | Path | None) -> list[Path]:
    folders = []
    for root in (data_dir, os.environ.get(DATA_DIR_ENV)):
        if root:
            folders += [Path(root) / info.name, Path(root)]
    if split == "test":
        folders.append(SHIPPED_DATA / info.name)
    if info.debian_dir is not None:
        folders.append(info.debian_dir)
    return folders


def _download_with_keras(info: DatasetInfo, split: str) -> tuple[np.ndarray, np.ndarray]:
    import keras  # deferred: importing Keras costs seconds and is only needed here

    loader = getattr(keras.datasets, info.name)
    try:
        train, test = loader.load_data()
    except Exception as err:  # network errors come in many types (URLError, OSError, ...)
        raise DataUnavailableError(
            f"No {info.title} {split} data found offline, and downloading it failed ({err}).\n"
            f"Get the data in one of three ways:\n"
            f"  1. pass --data-dir DIR (or set ${DATA_DIR_ENV}) to a folder holding the four "
            f"original IDX files ({SPLIT_PREFIX[split]}-images-idx3-ubyte[.gz], ...);\n"
            f"  2. on Debian/Ubuntu, `apt install dataset-fashion-mnist` (Fashion-MNIST only);\n"
            f"  3. connect to the internet so that keras.datasets.{info.name}.load_data() can download it."
        ) from err
    return train if split == "train" else test


def offline_split(name: str, split: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """One split as ``load_split`` gives it, from the sources on this machine only; None if none has it."""
    info = dataset_info(name)
    if split not in SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    for folder in _candidate_folders(info, split, data_dir):
        loaded = read_split_from_folder(folder, split)
        if loaded is not None:
            return loaded
    return None


def load_split(name: str, split: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load one split ("train" or "test") as uint8 images (N, 28, 28) and labels (N,)."""
    loaded = offline_split(name, split, data_dir)
    return loaded if loaded is not None else _download_with_keras(dataset_info(name), split)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1], what the models take."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., np.newaxis]
