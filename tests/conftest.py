"""Shared fixtures: shipped data and models, small models trained and saved to disk, and the browser tests' Chromium.

Everything is built from files in this repository (the shipped test sets and
models), so the suite runs offline on a fresh clone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from cnn.datasets import load_split, to_model_input
from harness.app_server import ROOT, running_app
from harness.browser import RequestLog, chromium
from harness.data_folder import write_offline_data_dir
from harness.replicas import Deployment, deployment


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The shipped MNIST test set as model input (10000, 28, 28, 1) and labels."""
    images, labels = load_split("mnist", "test")
    return to_model_input(images), labels


@pytest.fixture(scope="session")
def fashion_test() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_split("fashion_mnist", "test")
    return to_model_input(images), labels


@pytest.fixture(scope="session")
def offline_data_dir(tmp_path_factory) -> Path:
    """A --data-dir with MNIST's shipped test files and a 60k "training set" made of them,
    so that code paths needing the training set run without the real one."""
    return write_offline_data_dir(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def training_server(tmp_path_factory, offline_data_dir) -> Iterator[tuple[str, Path]]:
    """A local server (training allowed) on copies of the shipped MNIST models, with a training set: its URL,
    and the folder of its models."""
    models = tmp_path_factory.mktemp("models")
    for path in (ROOT / "saved_models").glob("mnist_*"):
        shutil.copy(path, models / path.name)
    with running_app("--models-dir", str(models), "--data-dir", str(offline_data_dir)) as (url, _):
        yield url, models


@pytest.fixture(scope="session")
def quick_model_path(tmp_path_factory, mnist_test) -> Path:
    """A model trained briefly on 4,000 shipped test images and saved to disk."""
    from cnn.architecture import build_model
    from cnn.model_store import save_model
    from cnn.training import TrainingConfig, train_model

    images, labels = mnist_test
    model = build_model()
    train_model(model, (images[:4000], labels[:4000]), (images[9000:], labels[9000:]), TrainingConfig(epochs=3))
    path = tmp_path_factory.mktemp("models") / "quick.keras"
    save_model(model, path)
    return path


@pytest.fixture(scope="session")
def shipped_mnist():
    """The shipped MNIST model, loaded from disk as the app loads it."""
    from cnn.model_manager import ModelManager

    return ModelManager().get("mnist").model


# -- the browser tests' (tests/test_browser*.py) --------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test file."""
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """demo.py as it starts by default, one per test file (a file that needs other options defines its own)."""
    with running_app() as (url, _):
        yield url


@pytest.fixture(scope="module")
def requests_made() -> RequestLog:
    """Every request the test file's pages make."""
    return RequestLog()


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Path:
    """Where screenshots go: $SCREENSHOT_DIR, or a pytest temporary folder."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, offline_data_dir) -> Iterator[Deployment]:
    """Two replicas of the app behind HAProxy, sharing a PostgreSQL cluster and the served models (a module's own:
    tests/test_replicas.py through HTTP clients, tests/test_browser_replicas.py in Chromium)."""
    with deployment(tmp_path_factory.mktemp("replicas"), replicas=2, data_dir=str(offline_data_dir)) as running:
        yield running
