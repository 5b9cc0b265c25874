"""Models across replicas (cnn/published_models.py): what one replica trains or reloads, every replica serves,
under the same name in the pages; one training at a time in the deployment; a damaged publication changes
nothing. Two ModelManagers sharing a publication folder stand for two replicas (each process has one)."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from cnn.model_manager import ModelManager, TrainingBusyError
from cnn.published_models import KEEP, PublishedModels
from cnn.training import TrainingConfig
from harness.app_server import ROOT
from webapp.browser_model import model_id


def same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.fixture
def replicas(tmp_path, offline_data_dir):
    """Two replicas' managers: each its own models folder (copies of the shipped MNIST model), one shared
    publication folder."""
    shared = tmp_path / "served"
    managers = []
    for name in ("a", "b"):
        models = tmp_path / name
        models.mkdir()
        for path in (ROOT / "saved_models").glob("mnist_simple_cnn.keras*"):
            shutil.copy(path, models / path.name)
        managers.append(ModelManager(models_dir=models, data_dir=offline_data_dir, published=PublishedModels(shared)))
    return managers


def test_the_first_replica_publishes_the_saved_model_and_the_others_serve_it_under_its_name(replicas):
    a, b = replicas
    first = a.get("mnist")
    assert first.published == a.published.current("mnist")
    served = b.get("mnist")
    assert served.published == first.published and model_id(served) == model_id(first)
    assert same_weights(served.model, first.model) and served.card == first.card
    assert b.follow_published() == [] and b.get("mnist") is served, "nothing new: nothing swapped"


def test_a_model_trained_on_one_replica_is_served_by_the_other(replicas):
    a, b = replicas
    before = b.get("mnist")
    _, trained = a.train("mnist", TrainingConfig(epochs=1), train_limit=500)
    assert b.get("mnist") is before, "until it looks"
    assert b.follow_published() == ["mnist"]
    served = b.get("mnist")
    assert served.version != before.version and model_id(served) == model_id(trained) != model_id(before)
    assert same_weights(served.model, trained.model) and not same_weights(served.model, before.model)
    assert served.card.train_images == 500
    reloaded = b.reload("mnist")  # "Reload the saved model", on the other replica: both go back to it
    assert a.follow_published() == ["mnist"] and a.get("mnist").published == reloaded.published
    assert same_weights(a.get("mnist").model, before.model)


def test_one_training_at_a_time_in_the_deployment(replicas):
    a, b = replicas
    training = threading.Event()
    release = threading.Event()

    def slow_progress(progress) -> None:
        training.set()
        release.wait(timeout=60)

    trainer = threading.Thread(target=lambda: a.train("mnist", TrainingConfig(epochs=1), on_progress=slow_progress,
                                                      train_limit=500))
    trainer.start()
    try:
        assert training.wait(timeout=120)
        with pytest.raises(TrainingBusyError, match="another of this app's servers"):
            b.train("mnist", TrainingConfig(epochs=1), train_limit=500)
        assert not b.training_in_progress
    finally:
        release.set()
        trainer.join(timeout=120)
    b.train("mnist", TrainingConfig(epochs=1), train_limit=500)  # the lock went with the training


def test_a_damaged_publication_is_said_once_and_the_served_model_stays(replicas, capsys):
    a, b = replicas
    served = b.get("mnist")
    damaged = a.published.folder / "mnist-0123456789ab.keras"
    damaged.write_bytes(b"not a model")
    (a.published.folder / "mnist.served").write_text(damaged.name)
    assert b.follow_published() == [] and b.follow_published() == []
    assert b.get("mnist") is served
    assert capsys.readouterr().out.count("cannot be served") == 1


def test_old_publications_are_removed_but_the_last_few(replicas):
    a, _ = replicas
    names = [a.reload("mnist").published for _ in range(KEEP + 2)]
    kept = sorted(path.name for path in a.published.folder.glob("mnist-*.keras"))
    assert kept == sorted(names[-KEEP:]) and a.published.current("mnist") == names[-1]
    assert len(list(a.published.folder.glob("mnist-*.keras.json"))) == KEEP


def test_a_single_server_names_its_models_as_before(tmp_path):
    for path in (ROOT / "saved_models").glob("mnist_simple_cnn.keras*"):
        shutil.copy(path, tmp_path / path.name)
    manager = ModelManager(models_dir=tmp_path)
    first = manager.get("mnist")
    assert first.published is None and model_id(manager.reload("mnist")) != model_id(first)
    assert not list(tmp_path.glob("*.served"))
