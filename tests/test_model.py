"""The model and its lifecycle: architecture, training, saving, loading, serving."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import keras
import numpy as np
import pytest

from harness.memory import child_pids
from cnn.model_manager import ModelManager, TrainingBusyError
from cnn.architecture import Architecture, build_model
from cnn.evaluation import accuracy
from cnn.model_card import ModelCard
from cnn.model_store import ModelFileError, load_card, load_model, process_alive, save_model
from cnn.training import TrainingConfig, TrainingProgress, train_model
from cnn.training_worker import FOLDER_PREFIX, TrainingRequest, train_in_worker


def test_architecture_is_the_seed_network():
    model = build_model()
    assert [layer.name for layer in model.layers] == ["conv1", "pool1", "conv2", "pool2", "flatten", "logits"]
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == [(28, 28, 8), (14, 14, 8), (14, 14, 8), (7, 7, 8), (392,), (10,)]
    assert model.count_params() == 4594
    assert model.get_layer("logits").activation.__name__ == "linear"  # logits, softmax only where shown


def test_easy_modifications_filters_and_third_block():
    model = build_model(Architecture(filters=(16, 8, 4)))
    names = [layer.name for layer in model.layers]
    assert names[:6] == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"]
    assert model.get_layer("conv1").filters == 16 and model.get_layer("conv3").filters == 4
    assert tuple(model.get_layer("pool3").output.shape[1:]) == (3, 3, 4)
    with pytest.raises(ValueError):
        Architecture(filters=(8,))


def test_quick_training_beats_chance_and_reports_progress(mnist_test):
    images, labels = mnist_test
    seen: list[TrainingProgress] = []
    model = build_model()
    result = train_model(model, (images[:3000], labels[:3000]), (images[9000:], labels[9000:]),
                         TrainingConfig(epochs=2, batch_size=64), on_progress=seen.append)
    assert not result.cancelled and result.epochs_completed == 2
    assert result.history["val_accuracy"][-1] > 0.5  # chance is 0.1
    within_epoch = [p for p in seen if p.val_accuracy is None]
    epoch_ends = [p for p in seen if p.val_accuracy is not None]
    assert len(within_epoch) >= 10 and [p.epoch for p in epoch_ends] == [1, 2]
    assert all(np.isfinite(p.loss) and 0 <= p.accuracy <= 1 for p in seen)
    assert 0 < seen[0].fraction < seen[-1].fraction == 1.0


def test_training_is_reproducible_for_a_seed(mnist_test):
    images, labels = mnist_test
    weights = []
    for _ in range(2):
        model = build_model(seed=7)
        train_model(model, (images[:1000], labels[:1000]), (images[9000:9100], labels[9000:9100]),
                    TrainingConfig(epochs=1, seed=7, augment=True))
        weights.append(model.get_layer("conv1").get_weights()[0])
    np.testing.assert_allclose(weights[0], weights[1], atol=1e-6)


def test_cancel_stops_training(mnist_test):
    images, labels = mnist_test
    cancel = threading.Event()
    model = build_model()
    result = train_model(model, (images[:3000], labels[:3000]), (images[9000:], labels[9000:]),
                         TrainingConfig(epochs=5), on_progress=lambda p: cancel.set(), cancel=cancel)
    assert result.cancelled and result.epochs_completed <= 1


def test_save_load_round_trip_gives_identical_predictions(tmp_path, quick_model_path, mnist_test):
    model = load_model(quick_model_path)
    path = tmp_path / "copy.keras"
    card = ModelCard.of_training("mnist", Architecture(), TrainingConfig(epochs=3), model.count_params(),
                                 train_images=4000, test_accuracy=0.5, training_seconds=1.0)
    save_model(model, path, card)
    again = load_model(path)
    images = mnist_test[0][:200]
    np.testing.assert_array_equal(np.asarray(model(images)), np.asarray(again(images)))
    assert load_card(path) == card and load_card(path).dataset == "mnist"


def test_crash_mid_save_leaves_the_old_file_intact(tmp_path, quick_model_path, monkeypatch):
    path = tmp_path / "mnist_simple_cnn.keras"
    model = load_model(quick_model_path)
    save_model(model, path)
    before = path.read_bytes()

    def crash_half_way(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(keras.Model, "save", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        save_model(build_model(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_simple_cnn.keras"]  # no temp file left
    load_model(path)


def test_legacy_h5_model_loads(tmp_path, quick_model_path, mnist_test):
    model = load_model(quick_model_path)
    legacy = tmp_path / "mnist_simple_cnn.h5"
    model.save(legacy)  # the seed notebook's format
    manager = ModelManager(models_dir=tmp_path)
    served = manager.get("mnist")
    images = mnist_test[0][:100]
    np.testing.assert_allclose(np.asarray(served.model(images)), np.asarray(model(images)), atol=1e-5)


def test_corrupt_or_missing_model_file_is_a_clear_error(tmp_path):
    manager = ModelManager(models_dir=tmp_path)
    with pytest.raises(ModelFileError, match="no such model file"):
        manager.get("mnist")
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="damaged"):
        manager.get("mnist")


def test_manager_caches_and_trains_one_at_a_time(tmp_path, quick_model_path, offline_data_dir):
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager = ModelManager(models_dir=tmp_path, data_dir=offline_data_dir)
    first = manager.get("mnist")
    assert manager.get("mnist") is first  # loaded once, cached

    started, release = threading.Event(), threading.Event()

    def slow_progress(progress: TrainingProgress) -> None:
        started.set()
        release.wait(timeout=60)

    outcome = {}
    trainer = threading.Thread(target=lambda: outcome.update(result=manager.train(
        "mnist", TrainingConfig(epochs=1), on_progress=slow_progress, train_limit=2000)))
    trainer.start()
    assert started.wait(timeout=120)
    assert manager.training_in_progress
    with pytest.raises(TrainingBusyError):
        manager.train("mnist", TrainingConfig(epochs=1), train_limit=500)
    assert manager.get("mnist") is first  # readers keep the old model during training
    release.set()
    trainer.join(timeout=120)
    result, served = outcome["result"]
    assert manager.get("mnist") is served and served.version > first.version
    assert served.card.train_images == 2000 and 0 < served.card.test_accuracy <= 1
    assert (tmp_path / "mnist_simple_cnn.keras").read_bytes() == quick_model_path.read_bytes()  # not saved
    assert manager.reload("mnist").version > served.version  # back to the file on disk


@pytest.mark.parametrize("in_worker", [False, True])
def test_cancelled_training_keeps_the_served_model(tmp_path, quick_model_path, offline_data_dir, in_worker):
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager = ModelManager(models_dir=tmp_path, data_dir=offline_data_dir)
    before = manager.get("mnist")
    cancel = threading.Event()
    result, served = manager.train("mnist", TrainingConfig(epochs=3), on_progress=lambda p: cancel.set(),
                                   cancel=cancel, train_limit=2000, in_worker=in_worker)
    assert result.cancelled and served is None
    assert manager.get("mnist") is before and not manager.training_in_progress


@pytest.mark.parametrize("dataset, minimum", [("mnist", 0.985), ("fashion_mnist", 0.89)])
def test_shipped_models_reach_their_accuracy(dataset, minimum, mnist_test, fashion_test):
    images, labels = mnist_test if dataset == "mnist" else fashion_test
    served = ModelManager().get(dataset)

    measured = accuracy(served.model, images, labels)
    assert measured >= minimum
    assert abs(measured - served.card.test_accuracy) < 1e-3  # the card tells the truth
    assert served.card.parameters == 4594 and served.card.train_images == 60_000


def _worker_policies() -> list[int]:
    """The scheduling policies of this process's training workers now (Linux's /proc)."""
    return [os.sched_getscheduler(pid) for pid in child_pids()
            if b"cnn.idle_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_worker_process_trains_at_idle_priority_and_hands_back_the_model(offline_data_dir, mnist_test):
    policies: list[list[int]] = []
    progress: list[TrainingProgress] = []

    def on_progress(p: TrainingProgress) -> None:
        progress.append(p)
        policies.append(_worker_policies())

    request = TrainingRequest("mnist", TrainingConfig(epochs=2, batch_size=256), data_dir=str(offline_data_dir),
                              train_limit=3000)
    trained = train_in_worker(request, on_progress)
    assert policies[0] == [os.SCHED_IDLE]  # the students' requests come first
    assert [p.epoch for p in progress if p.val_accuracy is not None] == [1, 2]
    assert trained.train_images == 3000 and len(trained.result.history["val_accuracy"]) == 2
    images, labels = mnist_test
    assert abs(accuracy(trained.model, images, labels) - trained.test_accuracy) < 1e-6  # the model it measured
    assert trained.test_accuracy == pytest.approx(trained.result.history["val_accuracy"][-1], abs=1e-6)
    assert _worker_policies() == []  # and it has ended


def test_a_worker_reports_a_damaged_training_set_as_the_same_error(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (folder / name).write_bytes(b"not an IDX file")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        train_in_worker(TrainingRequest("mnist", data_dir=str(tmp_path)))


def _a_dead_pid() -> int:
    """The pid of a process that has ended (and has not been reused: checked)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not process_alive(process.pid)
    return process.pid


def test_a_start_removes_what_killed_saves_and_trainings_left(tmp_path):
    dead = _a_dead_pid()
    left = [tmp_path / f".mnist_simple_cnn.{dead}.a1b2c3d4.keras", tmp_path / ".mnist_simple_cnn.a1b2c3d4.keras",
            tmp_path / f".mnist_simple_cnn.keras.{dead}.x_y_z_12.json"]
    in_progress = tmp_path / f".mnist_simple_cnn.{os.getpid()}.q1w2e3r4.keras"  # this process is alive
    kept = [in_progress, tmp_path / ".gitkeep", tmp_path / "mnist_simple_cnn.keras"]
    for path in left + kept:
        path.write_bytes(b"")
    killed_training = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{dead}-"))
    running_training = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    try:
        ModelManager(models_dir=tmp_path)
        assert sorted(tmp_path.iterdir()) == sorted(kept)
        assert not killed_training.exists() and running_training.is_dir()
    finally:
        shutil.rmtree(running_training, ignore_errors=True)


def test_a_model_with_python_code_is_refused_as_unsafe(tmp_path):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(tmp_path / "mnist_simple_cnn.keras")
    with pytest.raises(ModelFileError, match="refused as unsafe.*Lambda"):
        ModelManager(models_dir=tmp_path).get("mnist")
