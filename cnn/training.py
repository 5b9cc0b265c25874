"""Training the CNN with live progress and cancellation.

It is Keras' own ``model.fit`` (so it is exactly as fast), plus one callback that
reports progress to whoever is watching (the CLI prints it, the app draws curves)
and stops cleanly when the Cancel button sets an event.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from cnn.augmentation import augment_batch


@dataclass(frozen=True)
class TrainingConfig:
    """Defaults are the seed notebook's: 5 epochs, batch 128, Adam with lr 0.001."""

    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    lr_schedule: str = "constant"  # or "cosine": decays to zero over the whole run
    augment: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 200:
            raise ValueError("epochs must be between 1 and 200")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError("batch size must be between 1 and 4096")
        if not (np.isfinite(self.learning_rate) and 0 < self.learning_rate <= 1):
            raise ValueError("learning rate must be a number in (0, 1]")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError("lr_schedule must be 'constant' or 'cosine'")


@dataclass(frozen=True)
class TrainingProgress:
    epoch: int  # 1-based epoch being trained
    epochs: int
    step: int  # batches done in this epoch
    steps: int
    loss: float
    accuracy: float
    val_accuracy: float | None = None  # set once the epoch is finished

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) + self.step / self.steps) / self.epochs


@dataclass
class TrainingResult:
    history: dict[str, list[float]] = field(default_factory=dict)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def epochs_completed(self) -> int:
        return len(self.history.get("val_accuracy", []))


@dataclass
class TrainedModel:
    """A training's outcome: its result, the model (None when cancelled), its test accuracy, the images it
    trained on, and what the training measured besides (a fine-tuning's before and after)."""
    result: TrainingResult
    model: keras.Model | None
    test_accuracy: float = float("nan")
    train_images: int = 0
    evaluation: dict = field(default_factory=dict)


ProgressFn = Callable[[TrainingProgress], None]


class _ProgressCallback(keras.callbacks.Callback):
    # Safe to run in Keras' callback thread: it reads an Event and hands on floats. Keras then
    # dispatches it asynchronously, as it does its own History, so training never waits for it.
    async_safe = True

    def __init__(self, epochs: int, steps: int, on_progress: ProgressFn | None,
                 cancel: threading.Event | None, report_every: int) -> None:
        super().__init__()
        self.epochs, self.steps, self.on_progress = epochs, steps, on_progress
        self.cancel, self.report_every = cancel, report_every
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self.model.stop_training = True
        step = batch + 1
        if self.on_progress and logs and (step % self.report_every == 0 or step == self.steps):
            self.on_progress(TrainingProgress(self.epoch, self.epochs, step, self.steps,
                                              float(logs["loss"]), float(logs["accuracy"])))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.on_progress and logs:
            self.on_progress(TrainingProgress(epoch + 1, self.epochs, self.steps, self.steps,
                                              float(logs["loss"]), float(logs["accuracy"]),
                                              float(logs["val_accuracy"])))


def _augmented_batches(images: np.ndarray, labels: np.ndarray, config: TrainingConfig) -> tf.data.Dataset:
    """An endless shuffled stream of augmented batches; each batch gets its own random seed."""
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    data = data.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(config.batch_size).enumerate()
    seed = tf.constant(config.seed, tf.int64)
    data = data.map(lambda i, batch: (augment_batch(batch[0], tf.stack([seed, i])), batch[1]),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def compile_model(model: keras.Model, config: TrainingConfig, steps_per_epoch: int) -> None:
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * steps_per_epoch)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def train_model(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    config: TrainingConfig = TrainingConfig(),
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> TrainingResult:
    """Train ``model`` in place on float images (N, 28, 28, 1) and int labels.

    Returns the per-epoch history; ``cancelled`` is True when ``cancel`` was set, in
    which case the caller should discard the partly trained model.
    """
    keras.utils.set_random_seed(config.seed)
    images, labels = train
    steps = -(-len(images) // config.batch_size)
    compile_model(model, config, steps)
    callbacks: list[keras.callbacks.Callback] = [
        _ProgressCallback(config.epochs, steps, on_progress, cancel, report_every=max(1, steps // 20))]
    if config.augment:  # the dataset shuffles itself
        fit_data = dict(x=_augmented_batches(images, labels, config), steps_per_epoch=steps, shuffle=False)
    else:
        fit_data = dict(x=images, y=labels, batch_size=config.batch_size, shuffle=True)
    start = time.perf_counter()
    history = model.fit(**fit_data, epochs=config.epochs, validation_data=validation,
                        validation_batch_size=1024, callbacks=callbacks, verbose=0)
    cancelled = cancel is not None and cancel.is_set()
    return TrainingResult({k: [float(v) for v in vs] for k, vs in history.history.items()},
                          cancelled, time.perf_counter() - start)
