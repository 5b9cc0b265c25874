"""The instructor's flow through the real API: train in the app, and every student is served the new model."""
from __future__ import annotations

import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import Status
from PIL import Image

from harness.strokes import render_digit


def test_training_swaps_the_model_for_everyone_and_saves_only_when_asked(training_server, tmp_path):
    url, models = training_server
    student, instructor, second_instructor = (Client(url, verbose=False) for _ in range(3))
    path = tmp_path / "five.png"
    Image.fromarray(render_digit(5, stroke_width=20)).save(path)
    sketch = {"background": None, "layers": [], "composite": handle_file(str(path))}
    assert "newly trained" not in student.predict(sketch, -1, "mnist", api_name="/explain_sketch")[0]
    shipped = (models / "mnist_simple_cnn.keras").read_bytes()

    job = instructor.submit("mnist", False, 1, 512, 0.003, 1, 4, 4, 0, api_name="/train")
    deadline = time.monotonic() + 120
    while job.status().code != Status.ITERATING:  # the first training is under way
        assert time.monotonic() < deadline and not job.done(), "the training never started"
        time.sleep(0.1)
    with pytest.raises(AppError, match="already being trained"):  # one training at a time, server-wide
        second_instructor.predict("mnist", False, 1, 512, 0.003, 1, 8, 8, 0, api_name="/train")
    progress_html = job.result()[0]
    assert "Every student is now served this model" in progress_html

    message = student.predict(sketch, -1, "mnist", api_name="/explain_sketch")[0]
    assert message.startswith("🔄") and "newly trained model" in message
    card = student.predict("mnist", api_name="/restore_shipped_model")
    assert "98." in card or "99." in card  # the saved (shipped) model is back
    assert (models / "mnist_simple_cnn.keras").read_bytes() == shipped  # training did not touch the file


def test_cancel_stops_the_training_and_keeps_the_model(training_server, tmp_path):
    url, _ = training_server
    instructor, student = Client(url, verbose=False), Client(url, verbose=False)
    before = student.predict(0, False, -1, "mnist", api_name="/explain_test_image")[0]
    job = instructor.submit("mnist", False, 5, 128, 0.003, 1, 8, 8, 0, api_name="/train")
    deadline = time.monotonic() + 120
    while job.status().code != Status.ITERATING:
        assert time.monotonic() < deadline and not job.done(), "the training never started"
        time.sleep(0.1)
    assert "Cancelling" in Client(url, verbose=False).predict(api_name="/cancel_training")
    assert "Training cancelled" in job.result()[0]
    after = student.predict(0, False, -1, "mnist", api_name="/explain_test_image")[0]
    assert after == before  # same model, same words
