"""Fine-tuning a trained model on new digits (a class's own), and measuring what it gained and what it forgot.

The network starts from the served model's weights, not from scratch, and trains for a few epochs on the new
digits' training part, optionally mixed with MNIST's own training images (a few per new digit: what it
learned before keeps being asked of it, so it forgets less). It is measured before and after on the new
digits held out (never trained on) and on MNIST's 10,000 test images: the gain, and the forgetting.

It runs in the training worker's idle-priority process (``cnn.training_worker``), which hands it a request
naming its files: the start model (.keras) and the new digits (.npz: float32 images, as the pages made them,
so that "before" is what the served model read).
"""
from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn.datasets import load_split, offline_split, to_model_input
from cnn.evaluation import confusion_matrix, predict_logits
from cnn.model_store import load_model
from cnn.training import ProgressFn, TrainedModel, TrainingConfig, train_model

KIND = "fine_tune"
# The seed recipe's learning rate, in small batches (a class has hundreds of digits, not 60,000). On 350 digits of
# new writers (benchmarks/bench_class_follow.py), held-out accuracy 58.7 % -> 76.0 % in 10 epochs, 82.7 % in 20
# (MNIST's test set 98.9 % -> 98.1 % and 97.3 %); at 3e-3, 86-87 % but 96.3 %: the more it learns, the more it forgets.
RECIPE = TrainingConfig(epochs=20, batch_size=32, learning_rate=1e-3)
MNIST_PER_NEW_DIGIT = 4  # MNIST training images mixed in per new digit, when asked to


@dataclass(frozen=True)
class NewDigits:
    """Digits to learn from (``train_*``) and to test on (``held_out_*``): float32 (N, 28, 28) in [0, 1], labels."""
    train_images: np.ndarray
    train_labels: np.ndarray
    held_out_images: np.ndarray
    held_out_labels: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, **{field.name: getattr(self, field.name) for field in dataclasses.fields(self)})

    @classmethod
    def load(cls, path: Path) -> NewDigits:
        with np.load(path, allow_pickle=False) as arrays:  # data, never code
            return cls(**{field.name: arrays[field.name] for field in dataclasses.fields(cls)})


@dataclass(frozen=True)
class FineTuneRequest:
    start_from: str  # the model to start from (.keras)
    digits: str  # the new digits (NewDigits, .npz)
    config: TrainingConfig = RECIPE
    data_dir: str | None = None  # where MNIST's training set is, to mix it in
    mix_mnist: bool = False

    def to_json(self) -> str:
        return json.dumps({"kind": KIND, **dataclasses.asdict(self)})

    @classmethod
    def from_json(cls, data: dict) -> FineTuneRequest:
        return cls(data["start_from"], data["digits"], TrainingConfig(**data["config"]), data["data_dir"],
                   data["mix_mnist"])


def mnist_training_set_here(data_dir: str | None) -> bool:
    """Whether MNIST's training set is on this machine (it is never downloaded to fine-tune)."""
    return offline_split("mnist", "train", data_dir) is not None


def _mixed_in(digits: NewDigits, request: FineTuneRequest) -> tuple[np.ndarray, np.ndarray]:
    """The training images: the new digits, and MNIST's training images drawn at random when asked to."""
    images, labels = digits.train_images, digits.train_labels
    if not request.mix_mnist:
        return images, labels
    found = offline_split("mnist", "train", request.data_dir)
    if found is None:
        raise ValueError("MNIST's training set is not in the data folder (--data-dir): fine-tune on the new digits "
                         "alone, or give the folder that holds it.")
    mnist_images, mnist_labels = found
    chosen = np.random.default_rng(request.config.seed).choice(
        len(mnist_labels), min(len(mnist_labels), MNIST_PER_NEW_DIGIT * len(labels)), replace=False)
    return (np.concatenate([images, to_model_input(mnist_images[chosen])[..., 0]]),
            np.concatenate([labels, mnist_labels[chosen]]))


def _measured(model, digits: NewDigits, test: tuple[np.ndarray, np.ndarray]) -> dict:
    """What the model reads in the held-out digits, and its confusion matrix on MNIST's test images."""
    held_out = predict_logits(model, digits.held_out_images[..., np.newaxis]).argmax(axis=1) \
        if len(digits.held_out_labels) else np.zeros(0, np.int64)
    test_predicted = predict_logits(model, test[0]).argmax(axis=1)
    return {"held_out": held_out.tolist(), "test_confusion": confusion_matrix(test[1], test_predicted).tolist()}


def fine_tune(request: FineTuneRequest, on_progress: ProgressFn | None = None,
              cancel: threading.Event | None = None) -> TrainedModel:
    """Train the start model further on the new digits; its evaluation holds "before" and "after", each with
    the held-out predictions and MNIST's test confusion matrix. The validation curve is the held-out digits'."""
    digits = NewDigits.load(Path(request.digits))
    model = load_model(request.start_from)
    images, labels = _mixed_in(digits, request)
    test_images, test_labels = load_split("mnist", "test", request.data_dir)
    test = (to_model_input(test_images), test_labels)
    before = _measured(model, digits, test)
    held_out = (digits.held_out_images[..., np.newaxis], digits.held_out_labels)
    result = train_model(model, (images[..., np.newaxis], labels), held_out, request.config, on_progress, cancel)
    if result.cancelled:
        return TrainedModel(result, None)
    after = _measured(model, digits, test)
    test_accuracy = float(np.trace(after["test_confusion"]) / len(test_labels))
    return TrainedModel(result, model, test_accuracy, len(labels), {"before": before, "after": after})
