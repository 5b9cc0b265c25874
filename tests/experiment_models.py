"""A models folder for the Experiments tab's tests: the shipped models, and beside them the variants the tab
compares (MNIST seed1 and seed2, a three-block model of each dataset), trained in seconds on shipped test
images, each with its card. The tests then do not depend on which variants happen to be in saved_models/.
And the app serving that folder, shared by the test files that drive it.
"""
from __future__ import annotations

import contextlib
import functools
import shutil
from pathlib import Path

from cnn.architecture import Architecture, build_model
from cnn.datasets import load_split, to_model_input
from cnn.evaluation import accuracy
from cnn.model_card import ModelCard
from cnn.model_manager import DEFAULT_MODELS_DIR
from cnn.model_store import save_model
from cnn.training import TrainingConfig, train_model
from harness.app_server import running_app

TRAIN_IMAGES = 2000  # one epoch on these: a few seconds, and filters that have moved from their start
VARIANTS = [("mnist", "seed1", (8, 8), 1), ("mnist", "seed2", (8, 8), 2),
            ("mnist", "conv3", (8, 8, 8), 0), ("fashion_mnist", "conv3", (8, 8, 8), 0)]


def _train_variant(dataset: str, filters: tuple[int, ...], seed: int) -> tuple:
    images, labels = load_split(dataset, "test")
    images = to_model_input(images)
    architecture, config = Architecture(filters), TrainingConfig(epochs=1, seed=seed)
    model = build_model(architecture, seed=seed)
    result = train_model(model, (images[:TRAIN_IMAGES], labels[:TRAIN_IMAGES]), (images[-1000:], labels[-1000:]),
                         config)
    card = ModelCard.of_training(dataset, architecture, config, int(model.count_params()), TRAIN_IMAGES,
                                 accuracy(model, images, labels), result.seconds)
    return model, card


def shipped_models_folder(folder: Path) -> Path:
    """``folder`` with the shipped models and their cards copied into it, and no variant."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("mnist", "fashion_mnist", "mnist_shuffled_labels"):
        for suffix in (".keras", ".keras.json"):
            shutil.copy(DEFAULT_MODELS_DIR / f"{name}_simple_cnn{suffix}", folder)
    return folder


@functools.cache  # once per test session: every test file that asks gets the same folder
def models_folder(base: Path) -> Path:
    """``base``/experiment-models: the shipped models, and the variants trained into it."""
    folder = shipped_models_folder(base / "experiment-models")
    for dataset, variant, filters, seed in VARIANTS:
        model, card = _train_variant(dataset, filters, seed)
        save_model(model, folder / f"{dataset}_{variant}_simple_cnn.keras", card)
    return folder


@functools.cache  # once per test session: the API and the browser tests share the server and its caches
def experiments_app(config, base: Path) -> str:
    """The URL of ``demo.py`` serving ``models_folder(base)``; stopped when the test session ends (``config``:
    pytest's, whose cleanups run then)."""
    stack = contextlib.ExitStack()
    url, _ = stack.enter_context(running_app("--models-dir", str(models_folder(base))))
    config.add_cleanup(stack.close)
    return url
