"""The app's logic without the UI: parameter checks, the server policy, the training supervisor."""
from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

from cnn.model_manager import ModelManager, TrainingBusyError
from cnn.architecture import Architecture
from cnn.training import TrainingConfig
from explainers import PREDICTED
from webapp.grad_cam_view import explain_sketch, parse_target
from webapp.maximization_view import maximization_grid
from webapp.policy import NotAllowedError, ServerPolicy
from webapp.served import ServedExplainers
from webapp.server import spare_long_lived_objects_from_gc
from webapp.training_view import TrainingSupervisor, follow, parse_request


@pytest.fixture(scope="module")
def mnist_explainers():
    return ServedExplainers(ModelManager())("mnist")


def test_target_parsing():
    assert parse_target(None) == PREDICTED and parse_target(-1) == PREDICTED and parse_target("3") == 3
    for bad in (12, -2, "three", 3.5j):
        with pytest.raises(ValueError, match="Target class"):
            parse_target(bad)


@pytest.mark.parametrize("override", [
    {"steps": -5}, {"steps": 10**6}, {"lr": math.nan}, {"lr": "fast"}, {"layer": "conv9"},
    {"l2_decay": math.inf}, {"jitter": -1}, {"seed": "x"}, {"filter_choice": 99},
])
def test_maximization_parameters_are_refused_with_a_message(mnist_explainers, override):
    params = dict(layer="conv1", filter_choice="all", steps=32, lr=0.05, l2_decay=0.01, jitter=1, blur_every=8,
                  total_variation=0.05, seed=0) | override
    with pytest.raises(ValueError) as err:
        maximization_grid(mnist_explainers, **params)
    assert len(str(err.value)) > 10  # a sentence for the student, not a bare exception


def test_blank_and_garbage_sketches_give_messages(mnist_explainers):
    for value in (None, {}, {"background": None, "layers": [], "composite": None},
                  {"composite": np.zeros((50, 50, 4), np.uint8)}, np.full((100, 100, 3), 255, np.uint8)):
        explanation = explain_sketch(mnist_explainers, value, -1)
        assert "Draw a digit" in explanation.message or "empty" in explanation.message
        assert explanation.overlay is None and explanation.probabilities is None


def test_training_request_checks():
    config, architecture = parse_request(3, 64, 0.01, 1, 8, 16, 0)
    assert config == TrainingConfig(epochs=3, batch_size=64, learning_rate=0.01, seed=1)
    assert architecture == Architecture((8, 16))
    for form in ((0, 64, 0.01, 1, 8, 8, 0), (3, 64, math.nan, 1, 8, 8, 0), (3, "x", 0.01, 1, 8, 8, 0),
                 (3, 64, 0.01, 1, 8, 999, 0)):
        with pytest.raises(ValueError):
            parse_request(*form)


def test_policy_shared_link_and_spaces(monkeypatch):
    monkeypatch.delenv("SYSTEM", raising=False)
    assert ServerPolicy.decide(share=False, allow_training=False).allow_training
    assert not ServerPolicy.decide(share=True, allow_training=False).allow_training
    assert ServerPolicy.decide(share=True, allow_training=True).allow_training
    monkeypatch.setenv("SYSTEM", "spaces")
    policy = ServerPolicy.decide(share=False, allow_training=False)
    with pytest.raises(NotAllowedError, match="--allow-training"):
        policy.require_training()


def test_supervisor_runs_one_training_and_reports_the_end(tmp_path, quick_model_path, offline_data_dir):
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager = ModelManager(models_dir=tmp_path, data_dir=offline_data_dir)
    supervisor = TrainingSupervisor(manager)
    job = supervisor.start("mnist", TrainingConfig(epochs=1, batch_size=512), Architecture())
    with pytest.raises(TrainingBusyError):
        supervisor.start("mnist", TrainingConfig(epochs=1), Architecture())
    updates = list(follow(job, ServedExplainers(manager)))
    assert updates[-1].confusion is not None and "Every student is now served" in updates[-1].status
    assert manager.get("mnist") is job.served
    assert not supervisor.cancel()  # nothing left to cancel


def test_training_without_data_reports_and_keeps_the_model(tmp_path, quick_model_path, monkeypatch):
    # The training runs in a worker process, which inherits the environment: no data directory, an empty
    # Keras cache, and a proxy that refuses, so its download fails here as on a machine with no internet.
    monkeypatch.delenv("CNN_DEMO_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # the discard port: nothing listens
    for bypass in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(bypass, raising=False)
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager = ModelManager(models_dir=tmp_path, data_dir=tmp_path / "nothing-here")
    before = manager.get("mnist")
    job = TrainingSupervisor(manager).start("mnist", TrainingConfig(epochs=1), Architecture())
    final = list(follow(job, ServedExplainers(manager)))[-1]
    assert "Training failed" in final.status and "--data-dir" in final.status
    assert manager.get("mnist") is before and not manager.training_in_progress


def test_an_empty_grad_cam_map_falls_back_to_hires_cam_and_says_so(mnist_explainers):
    from webapp.grad_cam_view import explain_image
    images, labels = mnist_explainers.test_set
    zeros = images[labels == 0][:20, :, :, 0]
    empty = [im for im in zeros if not mnist_explainers.cam("Grad-CAM").result(im).has_evidence]
    assert empty, "the shipped model has Grad-CAM maps without evidence for some 0s"
    explanation = explain_image(mnist_explainers, empty[0], PREDICTED, "Grad-CAM")
    assert "HiResCAM" in explanation.message and "no positive evidence" in explanation.message
    hires = mnist_explainers.cam("HiResCAM").result(empty[0])
    from plots import heatmap_overlay

    np.testing.assert_array_equal(explanation.overlay, heatmap_overlay(empty[0], hires.heatmap, 112))


def test_a_swapped_out_set_is_replaced_and_then_after_swap_runs(tmp_path, quick_model_path):
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager, swaps = ModelManager(models_dir=tmp_path), []
    served = ServedExplainers(manager, after_swap=lambda: swaps.append(manager.get("mnist").version))
    first = served("mnist")
    assert served("mnist") is first and swaps == [], "the first set is no swap"
    manager.reload("mnist")  # what the end of a training does: a new version served
    second = served("mnist")
    assert second is not first and swaps == [second.served.version]


def test_long_lived_objects_are_spared_and_a_swapped_out_ones_cycles_collected():
    class Node:
        pass

    kept, dropped = Node(), Node()
    dropped.self = dropped  # a reference cycle, as a Keras model's explainers hold: only the collector frees it
    gone = weakref.ref(dropped)
    try:
        spare_long_lived_objects_from_gc()
        assert gc.get_freeze_count() > 0
        assert all(o is not kept for o in gc.get_objects()), "in no generation the collector walks"
        del dropped
        gc.collect()
        assert gone() is not None, "frozen: a full collection does not walk it"
        spare_long_lived_objects_from_gc()
        assert gone() is None, "collected at the next call (a swap)"
    finally:
        gc.unfreeze()  # the test process goes on with normal collections
