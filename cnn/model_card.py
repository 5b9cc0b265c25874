"""A model's card: what it is and how it was trained, saved as JSON beside the model file.

The app's header shows it, and the tests check that it tells the truth (its test accuracy is
measured again on the shipped test set).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import platform
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnn.architecture import Architecture
from cnn.training import TrainingConfig


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


@dataclass(frozen=True)
class ModelCard:
    dataset: str
    architecture: Architecture
    parameters: int
    config: TrainingConfig  # the recipe: epochs, batch size, learning rate and schedule, augmentation, seed
    train_images: int
    test_accuracy: float  # on the 10,000 test images
    training_seconds: float
    trained_at: str  # ISO 8601, UTC
    versions: dict[str, str]
    # A fine-tuning starts from a trained model: its card, so that "on 350 images" is not read as all it learned from.
    fine_tuned_from: ModelCard | None = None

    @classmethod
    def of_training(cls, dataset: str, architecture: Architecture, config: TrainingConfig, parameters: int,
                    train_images: int, test_accuracy: float, training_seconds: float,
                    fine_tuned_from: ModelCard | None = None) -> ModelCard:
        """The card of a model trained just now, on this machine (from ``fine_tuned_from``'s model, if given)."""
        return cls(dataset, architecture, parameters, config, train_images, round(test_accuracy, 5),
                   round(training_seconds, 1), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   library_versions(), fine_tuned_from)

    def to_dict(self) -> dict:
        """The JSON layout of the shipped cards: the recipe's fields at the top level."""
        return {"dataset": self.dataset,
                "architecture": self.architecture.to_dict() | {"description": self.architecture.describe()},
                "parameters": self.parameters, **dataclasses.asdict(self.config),
                "train_images": self.train_images, "test_accuracy": self.test_accuracy,
                "training_seconds": self.training_seconds, "trained_at": self.trained_at, "versions": self.versions,
                **({} if self.fine_tuned_from is None else {"fine_tuned_from": self.fine_tuned_from.to_dict()})}

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        """Raises KeyError, TypeError or ValueError when ``data`` is not a whole card."""
        recipe = {field.name: data[field.name] for field in dataclasses.fields(TrainingConfig)}
        return cls(str(data["dataset"]), Architecture.from_dict(data["architecture"]), int(data["parameters"]),
                   TrainingConfig(**recipe), int(data["train_images"]), float(data["test_accuracy"]),
                   float(data["training_seconds"]), str(data["trained_at"]), dict(data["versions"]),
                   cls.from_dict(data["fine_tuned_from"]) if "fine_tuned_from" in data else None)
