"""The served models of a deployment of replicas, published in one folder that they all share.

One server serves its models from memory. Replicas behind a load balancer must all serve the same one, and
the instructor trains (or reloads, or serves a fine-tuned variant) on the one replica their page is held to.
So with a publication folder (``--served-models``), the model a server swaps in is published there first, and
every replica serves what is published:

- ``<dataset>-<12 random hex>.keras`` and its card (``….keras.json``): written once each, atomically
  (cnn/model_store.py: a temporary file renamed), never changed;
- ``<dataset>.served``: the name of the one served now, replaced atomically once the model and its card are
  complete, so that no replica reads half a model, or a model with another's card.

Each replica reads the pointer files once a second (ModelManager.follow_published) and loads what they name.
The name also names the model in the pages (webapp/browser_model.model_id), so a page whose replica died and
that reconnects to another sees the same model, not news of a new one. The folder is a local one for replicas on
one machine, or a network file system (NFS) mounted by each machine. Its last KEEP models of each dataset
stay, so that a replica still loading an older one finds it. One training runs at a time in the deployment:
``training()`` holds a lock on a file of the folder (flock, which NFS also honours).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import re
import secrets
import time
from pathlib import Path
from typing import Iterator

import keras

from cnn.datasets import dataset_info
from cnn.model_card import ModelCard
from cnn.model_store import atomic_write, card_path, load_card, load_model, save_model

KEEP = 4  # published models kept per dataset, the one served among them
LEFTOVER_SECONDS = 600.0  # a temporary file this old is what a killed publication left behind


class TrainingElsewhere(RuntimeError):
    """Another replica of the deployment is training a model."""


class PublishedModels:
    """The publication folder: what each dataset serves now, publishing a new one, and the training lock."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _pointer(self, dataset: str) -> Path:
        dataset_info(dataset)  # validates the name before it becomes part of a path
        return self.folder / f"{dataset}.served"

    def _name_pattern(self, dataset: str) -> re.Pattern:
        return re.compile(rf"{re.escape(dataset)}-[0-9a-f]{{12}}\.keras")

    def current(self, dataset: str) -> str | None:
        """The name of the model ``dataset`` serves now in the deployment; None before any is published."""
        try:
            name = self._pointer(dataset).read_text().strip()
        except FileNotFoundError:
            return None
        return name if self._name_pattern(dataset).fullmatch(name) else None

    def load(self, name: str) -> tuple[keras.Model, ModelCard | None]:
        """A published model and its card (ModelFileError if the file is gone or damaged)."""
        path = self.folder / name
        return load_model(path), load_card(path)

    def publish(self, dataset: str, model: keras.Model, card: ModelCard | None) -> str:
        """Publish ``model`` as what ``dataset`` serves in every replica; its name."""
        name = f"{dataset}-{secrets.token_hex(6)}.keras"
        save_model(model, self.folder / name, card)
        atomic_write(self._pointer(dataset), lambda tmp: tmp.write_text(name + "\n"))
        self._prune(dataset, name)
        return name

    def _prune(self, dataset: str, served: str) -> None:
        published = sorted((path for path in self.folder.glob(f"{dataset}-*.keras")
                            if self._name_pattern(dataset).fullmatch(path.name)),
                           key=lambda path: path.stat().st_mtime, reverse=True)
        for path in published[KEEP:]:
            if path.name != served:
                path.unlink(missing_ok=True)
                card_path(path).unlink(missing_ok=True)
        for leftover in self.folder.glob(".*"):  # not by process id: the writer may run on another machine
            with contextlib.suppress(FileNotFoundError):
                if leftover.is_file() and time.time() - leftover.stat().st_mtime > LEFTOVER_SECONDS:
                    leftover.unlink()

    @contextlib.contextmanager
    def training(self) -> Iterator[None]:
        """Held while this replica trains; TrainingElsewhere if another one is training."""
        with open(self.folder / "training.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno in (errno.EAGAIN, errno.EACCES):
                    raise TrainingElsewhere("A model is already being trained on another of this app's servers; "
                                            "try again when it has finished.") from None
                raise
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
