"""What students cannot change, and what a damaged model file or a killed save does."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from cnn.model_manager import ModelManager
from cnn.model_store import load_card, load_model
from harness.app_server import ROOT, raw_call, running_app
from harness.memory import child_pids
from harness.strokes import render_digit


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """The app as on a Hugging Face Space (training off), with a truncated MNIST model file."""
    models = tmp_path_factory.mktemp("models")
    for path in (ROOT / "saved_models").iterdir():
        shutil.copy(path, models / path.name)
    damaged = models / "mnist_simple_cnn.keras"
    damaged.write_bytes(damaged.read_bytes()[:5000])
    with running_app("--models-dir", str(models), env={"SYSTEM": "spaces"}) as (url, process):
        yield Client(url, verbose=False), models, process


def test_students_cannot_train_cancel_or_restore_through_the_api(shared_server):
    client, models, _ = shared_server
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    with pytest.raises(AppError, match="turned off"):
        client.predict("fashion_mnist", True, 1, 128, 0.001, 0, 8, 8, 0, api_name="/train")
    with pytest.raises(AppError, match="turned off"):
        client.predict(api_name="/cancel_training")
    with pytest.raises(AppError, match="turned off"):
        client.predict("fashion_mnist", api_name="/restore_shipped_model")
    assert {p.name: p.read_bytes() for p in models.iterdir()} == before


def test_a_damaged_model_file_is_reported_and_the_app_keeps_serving(shared_server, tmp_path):
    client, models, process = shared_server
    path = tmp_path / "digit.png"
    Image.fromarray(render_digit(3, stroke_width=30)).save(path)
    sketch = {"background": None, "layers": [], "composite": handle_file(str(path))}
    with pytest.raises(AppError, match="mnist_simple_cnn.keras"):
        client.predict(sketch, -1, "mnist", api_name="/explain_sketch")
    outputs = client.predict(sketch, -1, "fashion_mnist", api_name="/explain_sketch")  # the other model works
    assert "Prediction" in outputs[0]
    assert process.poll() is None
    assert len((models / "mnist_simple_cnn.keras").read_bytes()) == 5000  # nothing overwrote it


def test_uploads_over_the_size_limit_are_refused(shared_server, tmp_path):
    client, _, _ = shared_server
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + bytes(11 * 2**20))
    with pytest.raises(Exception, match="(?i)size|large|limit|413"):
        client.predict(handle_file(str(big)), -1, "fashion_mnist", api_name="/explain_upload")


SAVE_LOOP = textwrap.dedent("""
    import sys
    from cnn.architecture import Architecture, build_model
    from cnn.model_card import ModelCard
    from cnn.model_store import save_model
    from cnn.training import TrainingConfig
    path = sys.argv[1]
    models = [build_model(seed=s) for s in range(2)]
    print("saving", flush=True)
    i = 0
    while True:  # until killed; the card's train_images counts the rounds
        card = ModelCard.of_training("mnist", Architecture(), TrainingConfig(), 4594, i, 0.5, 1.0)
        save_model(models[i % 2], path, card)
        i += 1
""")


def test_killing_the_process_during_saves_never_breaks_the_model_file(tmp_path, quick_model_path):
    path = tmp_path / "mnist_simple_cnn.keras"
    shutil.copy(quick_model_path, path)
    rng = np.random.default_rng(0)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-c", SAVE_LOOP, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        assert process.stdout.readline().strip() == "saving"
        time.sleep(rng.uniform(0.3, 1.5))  # somewhere in the middle of some save
        process.send_signal(signal.SIGKILL)
        process.wait()
        model = load_model(path)  # loads, whole, every time
        assert model.count_params() == 4594
        assert load_card(path) is not None  # and so does its card
    ModelManager(models_dir=tmp_path)  # a start-up removes what the killed saves left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_simple_cnn.keras", "mnist_simple_cnn.keras.json"]


def test_no_event_run_by_its_index_changes_what_others_see(shared_server):
    """Hidden events ("private") still run when called by index: none may change the shared model."""
    client, models, process = shared_server
    url = client.src if client.src.endswith("/") else client.src + "/"
    config = httpx.get(f"{url}config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    refused = {}
    for index, event in enumerate(config["dependencies"]):
        if not event.get("backend_fn"):
            continue
        data = [None if components[i]["type"] == "state" else components[i].get("props", {}).get("value")
                for i in event["inputs"]]
        answer = raw_call(url, index, data)
        if event.get("api_name") in ("train", "cancel_training", "restore_shipped_model"):
            refused[event["api_name"]] = answer
    assert set(refused) == {"train", "cancel_training", "restore_shipped_model"}
    assert all(not answer["success"] and "turned off" in str(answer.get("output")) for answer in refused.values())
    assert {p.name: p.read_bytes() for p in models.iterdir()} == before
    assert not [pid for pid in child_pids(process.pid)
                if b"cnn.idle_worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # no training started
