"""One shared place that owns the models: loading, caching, training, saving.

Every explainer and every browser session asks the ModelManager for the current
model of a dataset. Readers get an immutable ``ServedModel``; a finished training
swaps a new one in with one dictionary assignment, so readers never see a model
half-way through training. Only one training runs at a time, server-wide.
"""
from __future__ import annotations

import itertools
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import keras

from cnn.architecture import Architecture, architecture_of
from cnn.datasets import dataset_info
from cnn.fine_tuning import RECIPE, FineTuneRequest, NewDigits
from cnn.model_card import ModelCard
from cnn.model_store import card_path, load_card, load_model, remove_leftovers, save_model
from cnn.training import ProgressFn, TrainedModel, TrainingConfig, TrainingResult
from cnn.training_worker import (FOLDER_PREFIX, TrainingRequest, remove_leftover_folders, train_in_worker,
                                 train_new_model)

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "saved_models"
VARIANT_NAME = re.compile(r"[a-z0-9_]+")
SHUFFLED_LABELS = "shuffled_labels"
_versions = itertools.count(1)


class TrainingBusyError(RuntimeError):
    """A second training was requested while one is running."""


@dataclass(frozen=True)
class ServedModel:
    dataset: str
    model: keras.Model
    card: ModelCard | None = None  # None: no card was saved with it (e.g. a legacy .h5 file)
    version: int = field(default_factory=lambda: next(_versions))  # new for every model swapped in


class ModelManager:
    def __init__(self, models_dir: str | Path = DEFAULT_MODELS_DIR, data_dir: str | Path | None = None) -> None:
        self.models_dir = Path(models_dir)
        self.data_dir = data_dir
        self._served: dict[str, ServedModel] = {}
        self._variants: dict[tuple[str, str], keras.Model] = {}
        self._load_lock = threading.Lock()
        self._train_lock = threading.Lock()
        # What saves and trainings killed mid-way (a SIGKILL, a power cut) left behind.
        if self.models_dir.is_dir():
            remove_leftovers(self.models_dir)
        remove_leftover_folders()

    # -- loading -------------------------------------------------------------
    def model_path(self, dataset: str) -> Path:
        dataset_info(dataset)  # validates the name before it becomes part of a path
        return self.models_dir / f"{dataset}_simple_cnn.keras"

    def variant_path(self, dataset: str, variant: str) -> Path:
        """A model kept beside the served one, never served: ``<dataset>_<variant>_simple_cnn.keras``
        (``seed1``, ``conv3``, ``shuffled_labels``...), for the views that compare networks."""
        dataset_info(dataset)  # validates the name before it becomes part of a path
        if not VARIANT_NAME.fullmatch(variant):
            raise ValueError(f"a variant is named by lowercase letters, digits and _, not {variant!r}")
        return self.models_dir / f"{dataset}_{variant}_simple_cnn.keras"

    def variants(self, dataset: str) -> list[str]:
        """The variants of ``dataset`` saved in the models folder, sorted."""
        prefix, suffix = f"{dataset}_", "_simple_cnn.keras"
        names = (path.name[len(prefix):-len(suffix)] for path in self.models_dir.glob(f"{prefix}*{suffix}"))
        return sorted(name for name in names if VARIANT_NAME.fullmatch(name))

    def variant_model(self, dataset: str, variant: str) -> keras.Model | None:
        """That model, loaded on first use and kept; None while there is none (a file saved later is found)."""
        key, path = (dataset, variant), self.variant_path(dataset, variant)
        with self._load_lock:
            if key not in self._variants and path.is_file():
                self._variants[key] = load_model(path)
            return self._variants.get(key)

    def shuffled_labels_path(self, dataset: str) -> Path:
        """The data randomization test's network: this one trained on shuffled labels (cnn/shuffled_labels.py)."""
        return self.variant_path(dataset, SHUFFLED_LABELS)

    def shuffled_labels_model(self, dataset: str) -> keras.Model | None:
        """That network (only MNIST's is shipped)."""
        return self.variant_model(dataset, SHUFFLED_LABELS)

    def get(self, dataset: str) -> ServedModel:
        """The model currently served for ``dataset``, loaded from disk on first use."""
        served = self._served.get(dataset)
        if served is None:
            with self._load_lock:
                served = self._served.get(dataset) or self._load_from_disk(dataset)
        return served

    def served_now(self, dataset: str) -> ServedModel | None:
        """The model served now, or None before its first load; never loads (for watchers that poll)."""
        return self._served.get(dataset)

    def reload(self, dataset: str) -> ServedModel:
        """Serve the saved model again (e.g. the shipped one after a training in the app)."""
        with self._load_lock:
            return self._load_from_disk(dataset)

    def _load_from_disk(self, dataset: str) -> ServedModel:
        path = self.model_path(dataset)
        legacy = path.with_suffix(".h5")
        chosen = path if path.is_file() or not legacy.is_file() else legacy
        served = ServedModel(dataset, load_model(chosen), load_card(chosen))
        self._served[dataset] = served
        return served

    # -- training ------------------------------------------------------------
    @property
    def training_in_progress(self) -> bool:
        return self._train_lock.locked()

    def train(
        self,
        dataset: str,
        config: TrainingConfig = TrainingConfig(),
        architecture: Architecture = Architecture(),
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        save: bool = False,
        train_limit: int | None = None,
        in_worker: bool = False,
    ) -> tuple[TrainingResult, ServedModel | None]:
        """Train a fresh model and, unless cancelled, serve it to everyone (and save it if asked).

        Raises TrainingBusyError if another training is running, DataUnavailableError if
        the training set cannot be found. The served model changes only on success.
        ``in_worker`` trains in a low-priority process, for a server answering people meanwhile.
        """
        if not self._train_lock.acquire(blocking=False):
            raise TrainingBusyError("A model is already being trained on this server; try again when it has finished.")
        try:
            request = TrainingRequest(dataset, config, architecture,
                                      None if self.data_dir is None else str(self.data_dir), train_limit)
            trained = (train_in_worker if in_worker else train_new_model)(request, on_progress, cancel)
            if trained.model is None:
                return trained.result, None
            card = self._card(request, trained)
            served = ServedModel(dataset, trained.model, card)
            if save:
                save_model(trained.model, self.model_path(dataset), card)
            self._served[dataset] = served
            return trained.result, served
        finally:
            self._train_lock.release()

    def train_variant(self, dataset: str, variant: str, config: TrainingConfig, architecture: Architecture,
                      on_progress: ProgressFn | None = None,
                      train_limit: int | None = None) -> tuple[TrainingResult, ModelCard]:
        """Train a fresh model in this process and save it, with its card, as the variant ``variant`` of
        ``dataset`` (``variant_path``); the served model stays. DataUnavailableError without data."""
        self.variant_path(dataset, variant)  # a bad name is refused before the training, not after it
        request = TrainingRequest(dataset, config, architecture, None if self.data_dir is None else str(self.data_dir),
                                  train_limit)
        trained = train_new_model(request, on_progress)
        card = self._card(request, trained)
        save_model(trained.model, self.variant_path(dataset, variant), card)
        with self._load_lock:
            self._variants[(dataset, variant)] = trained.model
        return trained.result, card

    def fine_tune_variant(self, dataset: str, variant: str, digits: NewDigits, mix_mnist: bool = False,
                          on_progress: ProgressFn | None = None,
                          cancel: threading.Event | None = None) -> TrainedModel:
        """Fine-tune the model served now on new digits, in the low-priority worker (cnn/fine_tuning.py), and keep
        it as the variant ``variant`` of ``dataset`` (saved with its card, never served until ``serve_variant``).
        TrainingBusyError while another training runs; the served model stays as it is."""
        self.variant_path(dataset, variant)  # a bad name is refused before the training, not after it
        if not self._train_lock.acquire(blocking=False):
            raise TrainingBusyError("A model is already being trained on this server; try again when it has finished.")
        try:
            served = self.get(dataset)
            with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-") as folder:
                start, new_digits = Path(folder) / "start.keras", Path(folder) / "digits.npz"
                save_model(served.model, start)
                digits.save(new_digits)
                request = FineTuneRequest(str(start), str(new_digits), RECIPE,
                                          None if self.data_dir is None else str(self.data_dir), mix_mnist)
                trained = train_in_worker(request, on_progress, cancel)
            if trained.model is not None:
                card = ModelCard.of_training(dataset, architecture_of(trained.model), request.config,
                                             int(trained.model.count_params()), trained.train_images,
                                             trained.test_accuracy, trained.result.seconds)
                save_model(trained.model, self.variant_path(dataset, variant), card)
                with self._load_lock:
                    self._variants[(dataset, variant)] = trained.model
            return trained
        finally:
            self._train_lock.release()

    def serve_variant(self, dataset: str, variant: str) -> ServedModel:
        """Serve the variant ``variant`` to everyone in place of the model of ``dataset`` (as a training does, not
        saved: ``reload`` serves the saved model again). ValueError if there is no such variant."""
        model = self.variant_model(dataset, variant)
        if model is None:
            raise ValueError(f"There is no {variant} model of {dataset_info(dataset).title} to serve.")
        served = ServedModel(dataset, model, load_card(self.variant_path(dataset, variant)))
        with self._load_lock:
            self._served[dataset] = served
        return served

    def remove_variant(self, dataset: str, variant: str) -> None:
        """Forget the variant ``variant`` and delete its files (a model served now stays served)."""
        path = self.variant_path(dataset, variant)
        with self._load_lock:
            self._variants.pop((dataset, variant), None)
            path.unlink(missing_ok=True)
            card_path(path).unlink(missing_ok=True)

    @staticmethod
    def _card(request: TrainingRequest, trained: TrainedModel) -> ModelCard:
        return ModelCard.of_training(request.dataset, request.architecture, request.config,
                                     int(trained.model.count_params()), trained.train_images,
                                     trained.test_accuracy, trained.result.seconds)
