"""A hostile student against the real server: image bombs on every path that takes a picture, the
queue's bypass, blobs never used, a flood of sessions, server paths in messages, a killed server.

The server's memory is read from /proc: VmHWM, the peak resident size since it started.
"""
from __future__ import annotations

import concurrent.futures
import io
import shutil
import signal
import struct
import time
import uuid
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from harness.app_server import ROOT, raw_call, running_app
from harness.memory import child_pids, current_mib, peak_mib

PEAK_BUDGET_MIB = 1536  # the bound on the server's memory, whatever a client sends


def white_png(width: int, height: int) -> bytes:
    """A real, valid PNG of white pixels: a few hundred KB that decode to width x height bytes or more."""
    row = b"\x00" + b"\xff" * width  # filter byte, then the row
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def noise_png(side: int) -> bytes:
    """A valid RGBA PNG of random pixels: it does not compress, so it is about 4 * side**2 bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 4), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server():
    with running_app() as (url, process):
        yield url, process.pid


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("bombs")
    paths = []
    for side in (12000, 9000):
        path = folder / f"white-{side}.png"
        path.write_bytes(white_png(side, side))
        paths.append(path)
    return paths


def sketchpad_id(url: str) -> int:
    config = httpx.get(f"{url}config", timeout=30).json()
    return next(c["id"] for c in config["components"] if "accept_blobs" in c.get("props", {}).get("server_fns", []))


def post_blob(url: str, component: int, blob: bytes, session: str | None = None) -> httpx.Response:
    """What the page's Sketchpad sends ahead of a stroke's event: one layer as a blob."""
    form = {"component_id": str(component), "session_hash": session or uuid.uuid4().hex, "fn_name": "accept_blobs",
            "type": "composite", "index": "null", "id": uuid.uuid4().hex}
    return httpx.post(f"{url}gradio_api/component_server/", data=form, files={"blob": ("blob", blob, "image/png")},
                      timeout=60)


def test_image_bombs_on_every_path_are_refused_before_decoding(server, bombs):
    url, pid = server
    client = Client(url, verbose=False)
    component = sketchpad_id(url)

    def as_sketch(path: Path) -> str:
        with pytest.raises(AppError) as refused:
            client.predict({"background": None, "layers": [], "composite": handle_file(str(path))}, -1, "mnist",
                           api_name="/explain_sketch")
        return str(refused.value)

    def as_upload(path: Path) -> str:
        return client.predict(handle_file(str(path)), -1, "mnist", api_name="/explain_upload")[0]

    def as_blob(path: Path) -> str:
        answer = post_blob(url, component, path.read_bytes())
        return f"{answer.status_code} {answer.text}"

    with concurrent.futures.ThreadPoolExecutor(6) as pool:  # several at once, on every path
        replies = list(pool.map(lambda job: job[0](job[1]), [(send, path) for send in (as_sketch, as_upload, as_blob)
                                                            for path in bombs * 2]))
    for reply in replies:
        assert "large" in reply or "megapixels" in reply, reply
        assert "Traceback" not in reply and "/tmp" not in reply
    peak = peak_mib(pid)
    print(f"server peak RSS after {len(replies)} image bombs: {peak:.0f} MiB")
    assert peak <= PEAK_BUDGET_MIB
    outputs = client.predict(0, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")
    assert "Prediction" in outputs[0]  # and the server still serves


def test_the_queue_cannot_be_bypassed(server):
    url, _ = server
    direct = httpx.post(f"{url}gradio_api/run/explain_test_image", json={"data": [0, False, -1, "mnist", "Grad-CAM"]},
                        timeout=30)
    assert direct.status_code == 404 and "join the queue" in direct.text
    outputs = Client(url, verbose=False).predict(0, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")
    assert "Prediction" in outputs[0]  # through the queue, as gradio_client goes


def test_blobs_that_no_event_uses_do_not_stay_in_memory(server):
    url, pid = server
    component = sketchpad_id(url)
    assert post_blob(url, component, b"\x89PNG not an image" + bytes(5 * 2**20)).status_code == 413
    blob = noise_png(1150)  # 5 MB, 1.3 megapixels: a picture the sketch pad takes
    assert len(blob) > 5_000_000
    before = current_mib(pid)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(3):  # three rounds of 40 posts, never followed by an event
            assert all(r.status_code == 200 for r in pool.map(lambda _: post_blob(url, component, blob), range(40)))
    time.sleep(2)
    growth = current_mib(pid) - before
    print(f"server RSS after 120 unused 5 MB blobs: {growth:+.0f} MiB")
    assert growth < 150  # the blobs kept are bounded (ui/sketchpad.py: 32 MiB at most)


def test_a_flood_of_sessions_evicts_no_student_and_each_costs_little(server):
    url, pid = server
    student = Client(url, verbose=False)
    student.predict(7, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")
    before, flood, component = current_mib(pid), 3000, sketchpad_id(url)
    with httpx.Client(timeout=30) as http:
        for _ in range(flood):  # a new session each (then "no such function"): thousands a minute from one script
            answer = http.post(f"{url}gradio_api/component_server/", json={
                "data": None, "component_id": component, "session_hash": uuid.uuid4().hex, "fn_name": "nothing"})
            assert answer.status_code == 404
    per_session_kib = (current_mib(pid) - before) * 1024 / flood
    capacity = (PEAK_BUDGET_MIB - peak_mib(pid)) * 1024 / max(per_session_kib, 1e-3)
    print(f"per session: {per_session_kib:.1f} KiB; room for {capacity:,.0f} more within {PEAK_BUDGET_MIB} MiB")
    assert per_session_kib < 40
    grid, variants = student.predict(-1, "mnist", "Grad-CAM", api_name="/deeper_views")  # the student's image is kept
    assert Path(grid).is_file() and Path(variants).is_file()


# Inputs Gradio refuses before the handler runs: each answer names the parameter, or what was wrong.
REFUSED_INPUTS = [
    ("explain_test_image", ["seven", False, -1, "mnist", "Grad-CAM", None], "sample_idx (test image) (float) was refused"),
    ("explain_test_image", [3], "it takes 5 values, the request sent 1"),
    ("explain_sketch", [{"composite": "x"}, -1, "mnist", "Grad-CAM", None], "Your digit (dict("),
    ("explain_upload", [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, -1, "mnist", "Grad-CAM", None],
     "not uploaded by a user"),
]


@pytest.mark.parametrize("api_name, data, says", REFUSED_INPUTS,
                         ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(REFUSED_INPUTS)])
def test_refused_api_inputs_say_why_and_what_each_parameter_takes(server, api_name, data, says):
    url, _ = server
    config = httpx.get(f"{url}config", timeout=30).json()
    index = next(i for i, event in enumerate(config["dependencies"]) if event.get("api_name") == api_name)
    answer = raw_call(url, index, data)
    message = answer["output"]["error"]
    assert not answer["success"] and message.startswith(f"The inputs of /{api_name} were not accepted")
    assert says in message and "Dataset (Literal['mnist', 'fashion_mnist'])" in message, message


def test_an_upload_part_that_is_not_a_file_is_refused_with_a_reason(server):
    """Gradio 6.31 alone answers 500 (a TypeError) to a ``files`` part without a filename."""
    url, _ = server
    form_field = httpx.post(f"{url}gradio_api/upload", files={"files": ("", b"x")})  # httpx sends no filename
    assert form_field.status_code == 400 and "must be a file" in form_field.text
    a_file = httpx.post(f"{url}gradio_api/upload", files={"files": ("x.png", b"x")})
    assert a_file.status_code == 200 and a_file.json()[0].endswith("x.png")


def test_messages_name_no_server_path(server, tmp_path):
    url, _ = server
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    message = Client(url, verbose=False).predict(handle_file(str(garbage)), -1, "mnist",
                                                 api_name="/explain_upload")[0]
    assert "garbage.png" in message and "/" not in message.replace("garbage.png", ""), message


def test_the_api_takes_the_target_class_as_its_docs_write_it(server):
    url, _ = server
    client = Client(url, verbose=False)
    documented = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/explain_test_image"]
    target = next(p for p in documented["parameters"] if p["label"].startswith("Target class"))
    assert "'5'" in target["python_type"]["type"] and target["type"]["type"] == "integer"
    for written in ("5", 5):  # as the Python type says, and as the JSON type says
        outputs = client.predict(0, False, written, "mnist", "Grad-CAM", api_name="/explain_test_image")
        assert "evidence for **5**" in outputs[0]


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper that never comes in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_server_takes_its_training_worker_with_it(tmp_path, offline_data_dir):
    models = tmp_path / "models"
    shutil.copytree(ROOT / "saved_models", models)
    with running_app("--models-dir", str(models), "--data-dir", str(offline_data_dir)) as (url, process):
        Client(url, verbose=False).submit("mnist", False, 5, 128, 0.001, 0, 8, 8, 0, api_name="/train")
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while not workers and time.monotonic() < deadline:
            workers = [p for p in child_pids(process.pid) if b"cnn.idle_worker" in Path(f"/proc/{p}/cmdline").read_bytes()]
            time.sleep(0.2)
        assert workers, "the training started a worker process"
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 5
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(map(_running, workers))
