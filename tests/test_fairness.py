"""No student waits for another (issue 19): what does not depend on the student is computed once per model and
shared, long jobs run in idle-priority processes, and the dataset switch and the header wait for nothing.
(How long the views take meanwhile is measured by ``python -m benchmarks.bench_fairness``, not here.)"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client

import demo
from cnn.model_manager import ModelManager
from explainers import Regularization
from harness.app_server import running_app
from harness.memory import child_pids
from tests.inline_images import inline_images
from webapp import experiments_view
from webapp.long_jobs import LongJobs
from webapp.maximization_view import maximization, synthesized
from webapp.once import Job
from webapp.policy import ServerPolicy
from webapp.served import REMEMBERED, ServedExplainers

WORKER = b"webapp.job_worker"


def job_workers(pid: int | str = "self") -> list[int]:
    """The long-job worker processes of ``pid`` running now."""
    return [child for child in child_pids(pid) if WORKER in Path(f"/proc/{child}/cmdline").read_bytes()]


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def scheduling_policies(pid: int) -> set[int]:
    """The policies of every thread of ``pid`` (TensorFlow's pools too: a thread at normal priority would
    compete with the server's requests)."""
    policies = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            policies.add(os.sched_getscheduler(int(task.name)))
    return policies


@pytest.fixture(scope="module")
def manager() -> ModelManager:
    return ModelManager()


def test_two_students_asking_at_once_share_one_computation(manager):
    explainer_set = ServedExplainers(manager)("mnist")
    started, release, calls = threading.Event(), threading.Event(), []

    def slow() -> object:
        calls.append(1)
        started.set()
        release.wait(10)
        return object()

    answers = []
    first = threading.Thread(target=lambda: answers.append(explainer_set.remember("table", slow)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: answers.append(explainer_set.remember("table", slow)))
    second.start()
    time.sleep(0.3)  # the second student asks while the first computation runs...
    release.set()
    first.join(10), second.join(10)
    assert len(calls) == 1 and len(answers) == 2 and answers[0] is answers[1]  # ...and waits for the same one
    assert explainer_set.remember("table", slow) is answers[0] and len(calls) == 1  # the next one gets it at once


def test_a_failed_computation_is_told_to_its_students_and_tried_again_by_the_next(manager):
    explainer_set = ServedExplainers(manager)("mnist")
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ValueError("no test set here")

    for _ in range(2):
        with pytest.raises(ValueError, match="no test set here"):
            explainer_set.remember("table", failing)
    assert len(calls) == 2  # a failure is not kept as the answer


def test_a_job_that_cannot_start_leaves_nobody_waiting_for_it(manager):
    class NoDisk:
        def run(self, explainer_set, computation) -> None:
            raise OSError("No space left on device")  # e.g. for the model's file

    explainer_set = ServedExplainers(manager, jobs=NoDisk())("mnist")
    for _ in range(2):  # the second student's ask tries again rather than waiting forever
        with pytest.raises(OSError, match="No space left"):
            explainer_set.long_job("table", Job(synthesized, ("conv1", 0, 16, 0.05, 0, {}))).future.result(10)


def test_a_students_own_settings_keep_only_the_most_recent_and_the_class_results_stay(manager):
    explainer_set = ServedExplainers(manager)("mnist")
    kept = explainer_set.remember("weights", object)
    for seed in range(REMEMBERED + 10):
        maximization(explainer_set, "conv1", 0, 16, 0.05, 0.01, 1, 8, 0.05, seed).wait()
    assert len(explainer_set._recent) == REMEMBERED
    assert explainer_set.remember("weights", object) is kept


def test_a_model_swap_invalidates_what_was_shared(tmp_path, quick_model_path, monkeypatch):
    (tmp_path / "mnist_simple_cnn.keras").write_bytes(quick_model_path.read_bytes())
    manager = ModelManager(models_dir=tmp_path)
    served = ServedExplainers(manager)
    calls = []
    original = experiments_view.robustness_rates

    def counted(explainer_set, images):
        calls.append(explainer_set.served.version)
        return original(explainer_set, images)

    monkeypatch.setattr(experiments_view, "robustness_rates", counted)
    monkeypatch.setattr(experiments_view, "SUCCESS_IMAGES", 5)
    first = experiments_view.robustness_view([served("mnist")], images=5)[1]
    assert experiments_view.robustness_view([served("mnist")], images=5)[1] == first and len(calls) == 1
    manager.reload("mnist")  # as "Reload the saved model" (or a training) swaps in a new model
    experiments_view.robustness_view([served("mnist")], images=5)
    assert len(calls) == 2 and calls[0] != calls[1]  # computed again, for the new model


def test_a_long_job_runs_in_a_worker_at_idle_priority_and_answers_as_here(manager):
    pool = LongJobs(workers=1)
    in_worker, here = ServedExplainers(manager, jobs=pool)("mnist"), ServedExplainers(manager)("mnist")
    settings = ("conv1", None, 64, 0.05, 0.01, 1, 8, 0.05, 3)
    try:
        told, policies = [], []

        def on_wait(waiting) -> None:  # while the worker computes (it loads TensorFlow first: seconds)
            told.append(waiting)
            policies.append([scheduling_policies(pid) for pid in job_workers()])

        grid = maximization(in_worker, *settings).wait(on_wait)
        assert policies[-1] == [{os.SCHED_IDLE}]  # the students' requests come first
        assert "64 steps of gradient ascent for 8 images" in told[-1].text
        expected = maximization(here, *settings).wait()
        pictures, reference = inline_images(grid), inline_images(expected)
        assert len(pictures) == len(reference) == 8
        for picture, same in zip(pictures, reference):  # another process, another thread count: rounding only
            assert np.abs(picture.astype(float) - same.astype(float)).mean() < 2
        assert maximization(in_worker, *settings).wait() is grid  # kept: the next student gets it at once
        bad_steps = Job(synthesized, ("conv1", 0, 0, 0.05, 0, dataclasses.asdict(Regularization())))
        with pytest.raises(ValueError, match="steps must be between 1 and"):  # the worker's error, of its kind
            in_worker.long_job("no steps", bad_steps).wait()
    finally:
        pool.close()
    assert job_workers() == []  # and the worker has ended


def test_the_dataset_switch_and_the_header_wait_in_no_limited_group_and_long_jobs_not_in_the_heavy_one(manager):
    app = demo.build_app(manager, ServedExplainers(manager), ServerPolicy(allow_training=True))
    dataset = next(block for block in app.blocks.values() if isinstance(block, gr.Radio) and block.label == "Dataset")
    switch = [fn for fn in app.fns.values() if (dataset._id, "change") in fn.targets and fn.fn is not None]
    # The header's card comes with the page; after a model swap the page asks for it again (show_card).
    card = [fn for fn in app.fns.values() if fn.name == "show_card"]
    # Events with no server function (the page's own JavaScript) never reach the queue.
    load = [fn for fn in app.fns.values() if any(event == "load" for _, event in fn.targets) and fn.fn is not None]
    assert len(switch) >= 6 and len(card) == 2  # each tab's reset, the card; the card asked for again
    for fn in switch + card + load:
        assert fn.concurrency_limit is None, f"{fn.name} waits in a limited group"
    long_jobs = {fn.api_name: fn for fn in app.fns.values()
                 if fn.api_name in ("method_table", "robustness_curve", "maximize", "deeper_network")}
    assert len(long_jobs) == 4
    for fn in long_jobs.values():
        assert fn.concurrency_id == "long" and fn.concurrency_limit > 1


def test_a_students_compare_completes_while_another_students_500_image_table_is_computed(tmp_path):
    with running_app() as (url, server):
        other, student = Client(url, verbose=False), Client(url, verbose=False)
        table = other.submit("mnist", 500, "black (no ink)", api_name="/method_table")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(threads(pid) > 3 for pid in job_workers(server.pid)):
            time.sleep(0.2)  # until the worker has started TensorFlow's thread pools
        assert [scheduling_policies(pid) for pid in job_workers(server.pid)] == [{os.SCHED_IDLE}]
        student.predict(0, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")
        maps, scores, _ = student.predict(-1, "mnist", "black (no ink)", api_name="/compare_methods")
        assert len(scores["data"]) == 13 and "Evidence for 7" in maps
        assert not table.done()  # the table is still being computed: the student did not wait for it
        while not table.status().progress_data and time.monotonic() < deadline:
            time.sleep(0.2)
        told = table.status().progress_data[0].desc
        assert "scoring every method on 500 test images" in told.lower() and "about" in told
