"""The Model tab's training: one run at a time, in the background, followed live by the page.

A training thread runs it in a low-priority worker process (the students' requests come
first) and reports its progress into a ``TrainingJob``; the page's generator polls it
twice a second and redraws the curves when an epoch ends. Cancel reaches the worker,
which stops after the current batch; the served model changes only if training finishes.
"""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from cnn.architecture import Architecture
from cnn.evaluation import confusion_matrix
from cnn.model_manager import ModelManager, ServedModel, TrainingBusyError
from cnn.training import TrainingConfig, TrainingProgress, TrainingResult
from plots import confusion_matrix_figure, figure_to_image, training_curves_figure
from webapp.served import ExplainerSet, ServedExplainers

POLL_SECONDS = 0.5


def parse_request(epochs: object, batch_size: object, learning_rate: object, seed: object,
                  conv1: object, conv2: object, conv3: object) -> tuple[TrainingConfig, Architecture]:
    """Turn the form's values (or an API call's) into a checked config; ValueError says what is wrong."""
    try:
        filters = tuple(int(f) for f in (conv1, conv2, conv3) if f not in (None, "", 0, "0"))
        config = TrainingConfig(epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
                                seed=int(seed))
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"Check the training settings: {err}") from None
    return config, Architecture(filters)


@dataclass
class TrainingJob:
    dataset: str
    config: TrainingConfig
    architecture: Architecture
    save: bool = False  # also replace the model file the app starts with
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    progress: list[TrainingProgress] = field(default_factory=list)
    result: TrainingResult | None = None
    served: ServedModel | None = None
    error: str | None = None

    def run(self, manager: ModelManager) -> None:
        try:
            self.result, self.served = manager.train(self.dataset, self.config, self.architecture,
                                                     on_progress=self.progress.append, cancel=self.cancel,
                                                     save=self.save, in_worker=True)
        except Exception as err:  # shown on the page; the served model is untouched
            self.error = f"Training failed: {err}"
        finally:
            self.done.set()


class TrainingSupervisor:
    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self._job: TrainingJob | None = None
        self._lock = threading.Lock()

    def start(self, dataset: str, config: TrainingConfig, architecture: Architecture,
              save: bool = False) -> TrainingJob:
        with self._lock:
            if (self._job and not self._job.done.is_set()) or self.manager.training_in_progress:
                raise TrainingBusyError("A model is already being trained on this server; "
                                        "wait for it to finish (or cancel it) before starting another.")
            self._job = TrainingJob(dataset, config, architecture, save)
            threading.Thread(target=self._job.run, args=(self.manager,), daemon=True, name="training").start()
            return self._job

    def cancel(self) -> bool:
        job = self._job
        if job is None or job.done.is_set():
            return False
        job.cancel.set()
        return True


@dataclass(frozen=True)
class TrainingUpdate:
    fraction: float
    status: str  # HTML
    curves: np.ndarray | None = None  # set when a new epoch has finished
    confusion: np.ndarray | None = None  # set once, at the end


def progress_html(update: TrainingUpdate) -> str:
    """The page's progress bar and the status line under it (the status is HTML, its words escaped)."""
    return (f"<progress value='{update.fraction:.3f}' max='1' aria-label='Training progress' "
            f"style='width:100%;height:1.4em'></progress><p>{update.status}</p>")


def history_of(progress: list[TrainingProgress]) -> dict[str, list[float]]:
    epochs = [p for p in progress if p.val_accuracy is not None]
    return {"loss": [p.loss for p in epochs], "accuracy": [p.accuracy for p in epochs],
            "val_accuracy": [p.val_accuracy for p in epochs]}


def _status(latest: TrainingProgress | None, validation: str, loading: str) -> str:
    """The line under the progress bar; ``validation`` names the accuracy on the images the training never sees."""
    if latest is None:
        return loading
    text = f"Epoch {latest.epoch}/{latest.epochs}, batch {latest.step}/{latest.steps}: loss {latest.loss:.3f}, " \
           f"accuracy {latest.accuracy:.1%}"
    return text + (f", {validation} {latest.val_accuracy:.1%}" if latest.val_accuracy is not None else "")


def served_confusion(explainer_set: ExplainerSet) -> np.ndarray:
    """The confusion matrix of the model being served on the shipped test set (remembered: fixed per model)."""
    def draw() -> np.ndarray:
        matrix = confusion_matrix(explainer_set.test_set[1], explainer_set.test_predictions)
        return figure_to_image(confusion_matrix_figure(matrix, list(explainer_set.class_names)))
    return explainer_set.remember("confusion matrix", draw)


def _final(job: TrainingJob, served_explainers: ServedExplainers) -> TrainingUpdate:
    if job.error:
        return TrainingUpdate(0.0, f"⚠️ {html.escape(job.error)}")
    if job.served is None:
        return TrainingUpdate(0.0, "Training cancelled: everyone keeps the model they had.")
    saved = " It is saved as the model the app starts with." if job.save else ""
    return TrainingUpdate(1.0, f"✅ Done in {job.result.seconds:.0f} s: test accuracy "
                               f"<b>{job.served.card.test_accuracy:.2%}</b>. Every student is now served this model."
                               + saved,
                          figure_to_image(training_curves_figure(history_of(job.progress), job.progress)),
                          served_confusion(served_explainers(job.dataset)))  # the same test predictions the tabs use


def progress_updates(job, validation: str = "test accuracy",
                     loading: str = "Loading the training data and building the model…") -> Iterator[TrainingUpdate]:
    """Updates for the page while ``job`` (a TrainingJob, or any job with its ``progress`` list and ``done``
    event) runs; curves are drawn only when an epoch ends (a figure costs the students' requests a few hundred
    milliseconds of the server)."""
    drawn_epochs = 0
    while not job.done.wait(POLL_SECONDS):
        progress = list(job.progress)
        latest = progress[-1] if progress else None
        history = history_of(progress)
        curves = None
        if len(history["loss"]) != drawn_epochs:
            drawn_epochs = len(history["loss"])
            curves = figure_to_image(training_curves_figure(history, progress))
        yield TrainingUpdate(latest.fraction if latest else 0.0, _status(latest, validation, loading), curves)


def follow(job: TrainingJob, served_explainers: ServedExplainers) -> Iterator[TrainingUpdate]:
    """Updates for the page until the job ends, then its outcome."""
    yield from progress_updates(job)
    yield _final(job, served_explainers)
