"""One shared place that owns the models: loading, caching, training, saving.

Every explainer and every browser session asks the ModelManager for the current
model of a dataset. Readers get an immutable ``ServedModel``; a finished training
swaps a new one in with one dictionary assignment, so readers never see a model
half-way through training. Only one training runs at a time, server-wide.

Replicas of the app (``published``: cnn/published_models.py) serve the same models: what one of them swaps in
is published first, and each follows what the others publish (``follow_published``, once a second); one
training runs at a time in the whole deployment.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import keras

from cnn.architecture import Architecture, architecture_of
from cnn.datasets import dataset_info
from cnn.fine_tuning import RECIPE, FineTuneRequest, NewDigits
from cnn.model_card import ModelCard
from cnn.model_store import ModelFileError, card_path, load_card, load_model, remove_leftovers, save_model
from cnn.published_models import PublishedModels, TrainingElsewhere
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
    published: str | None = None  # its name in the replicas' publication folder, the same in each replica


class ModelManager:
    def __init__(self, models_dir: str | Path = DEFAULT_MODELS_DIR, data_dir: str | Path | None = None,
                 published: PublishedModels | None = None) -> None:
        self.models_dir = Path(models_dir)
        self.data_dir = data_dir
        self.published = published
        self._unloadable: dict[str, str] = {}  # a published model that failed to load, said once
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
                served = self._served.get(dataset) or self._load_published(dataset) or self._load_from_disk(dataset)
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
        return self._swap_in(ServedModel(dataset, load_model(chosen), load_card(chosen)))

    def _swap_in(self, served: ServedModel) -> ServedModel:
        """Serve ``served`` from now on; among replicas, publish it first, so that every one of them serves it."""
        if self.published is not None and served.published is None:
            served = replace(served, published=self.published.publish(served.dataset, served.model, served.card))
        self._served[served.dataset] = served
        return served

    # -- replicas --------------------------------------------------------------
    def _load_published(self, dataset: str) -> ServedModel | None:
        """The model the deployment serves for ``dataset`` (None: none published yet, or not a replica)."""
        name = self.published.current(dataset) if self.published is not None else None
        if name is None:
            return None
        model, card = self.published.load(name)
        served = ServedModel(dataset, model, card, published=name)
        self._served[dataset] = served
        return served

    def follow_published(self) -> list[str]:
        """Serve what another replica has published since the last call; the datasets swapped. A published
        model that cannot be loaded is said once, and the one served stays."""
        swapped = []
        for dataset, served in list(self._served.items()):
            name = self.published.current(dataset)
            if name in (None, served.published, self._unloadable.get(dataset)):
                continue
            with self._load_lock:
                if self._served[dataset].published == name:
                    continue  # this replica published it meanwhile
                try:
                    self._load_published(dataset)
                except ModelFileError as err:
                    self._unloadable[dataset] = name
                    print(f"⚠️  {dataset}: the model another server published cannot be served: {err}", flush=True)
                    continue
            swapped.append(dataset)
        return swapped

    def keep_following(self, seconds: float = 1.0) -> threading.Thread:
        """Follow the publication folder every ``seconds``, in a thread of its own, for as long as the server runs."""
        def follow() -> None:
            while True:
                time.sleep(seconds)
                self.follow_published()

        thread = threading.Thread(target=follow, name="published-models", daemon=True)
        thread.start()
        return thread

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
            with self._training_in_deployment():
                request = TrainingRequest(dataset, config, architecture,
                                          None if self.data_dir is None else str(self.data_dir), train_limit)
                trained = (train_in_worker if in_worker else train_new_model)(request, on_progress, cancel)
                if trained.model is None:
                    return trained.result, None
                card = self._card(request, trained)
                if save:
                    save_model(trained.model, self.model_path(dataset), card)
                with self._load_lock:
                    return trained.result, self._swap_in(ServedModel(dataset, trained.model, card))
        finally:
            self._train_lock.release()

    @contextlib.contextmanager
    def _training_in_deployment(self) -> Iterator[None]:
        """Among replicas, held while this one trains: TrainingBusyError if another one is training."""
        if self.published is None:
            yield
            return
        try:
            with self.published.training():
                yield
        except TrainingElsewhere as elsewhere:
            raise TrainingBusyError(str(elsewhere)) from None

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
            with self._training_in_deployment():  # among replicas: one training in the deployment
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
                                                 trained.test_accuracy, trained.result.seconds, served.card)
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
            return self._swap_in(served)  # among replicas, published: every replica serves it

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
