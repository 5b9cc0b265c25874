"""One training, from a request to a trained model: here, or in a separate low-priority process.

A server that answers a class while the instructor trains should not train in its own
process: there the training competes with the students' requests for the cores and for
Python's GIL. ``train_in_worker`` runs the same ``train_new_model`` in a child process
(``python -m cnn.idle_worker``, which lowers its priority before TensorFlow loads), scheduled
as SCHED_IDLE on Linux (elsewhere at nice 19): it computes only when no request wants the
processor, however many cores it has, and the web server's threads never wait for it.

The protocol is one JSON line each way and back: the request on the child's stdin (a
``TrainingRequest``, or a ``FineTuneRequest``: cnn/fine_tuning.py), then progress lines and
one final line on its stdout; the model comes back as a ``.keras`` file, loaded in safe mode.
"cancel" on stdin, or stdin closing (the server died), stops the training after the current batch.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import tensorflow as tf

from cnn.architecture import Architecture, build_model
from cnn.datasets import DataUnavailableError, load_split, to_model_input
from cnn.evaluation import accuracy
from cnn.fine_tuning import KIND as FINE_TUNE, FineTuneRequest, fine_tune
from cnn.model_store import load_model, process_alive, save_model
from cnn.training import ProgressFn, TrainedModel, TrainingConfig, TrainingProgress, TrainingResult, train_model

CANCEL = "cancel"
FOLDER_PREFIX = "cnn-demo-training-"  # then the server's pid: a killed server's folder can be told apart
# Kinds of error the worker reports by name, so that the server raises the same kind (a missing or
# damaged training set is the user's to fix; anything else is a failed training).
KNOWN_ERRORS = {cls.__name__: cls for cls in (DataUnavailableError, ValueError)}


@dataclass(frozen=True)
class TrainingRequest:
    dataset: str
    config: TrainingConfig = TrainingConfig()
    architecture: Architecture = Architecture()
    data_dir: str | None = None
    train_limit: int | None = None  # train on the first N images only (tests, quick demos)

    def to_json(self) -> str:
        return json.dumps({"dataset": self.dataset, "config": dataclasses.asdict(self.config),
                           "architecture": self.architecture.to_dict(), "data_dir": self.data_dir,
                           "train_limit": self.train_limit})

    @classmethod
    def from_json(cls, data: dict) -> TrainingRequest:
        return cls(data["dataset"], TrainingConfig(**data["config"]), Architecture.from_dict(data["architecture"]),
                   data["data_dir"], data["train_limit"])


Request = TrainingRequest | FineTuneRequest


def read_request(line: str) -> Request:
    data = json.loads(line)
    return (FineTuneRequest if data.get("kind") == FINE_TUNE else TrainingRequest).from_json(data)


def run_request(request: Request, on_progress: ProgressFn | None = None,
                cancel: threading.Event | None = None) -> TrainedModel:
    """The request's training, in this process."""
    return (fine_tune if isinstance(request, FineTuneRequest) else train_new_model)(request, on_progress, cancel)


def train_new_model(request: TrainingRequest, on_progress: ProgressFn | None = None,
                    cancel: threading.Event | None = None) -> TrainedModel:
    """Load the data, build a fresh model and train it; raises DataUnavailableError without data."""
    x_train, y_train = load_split(request.dataset, "train", request.data_dir)
    x_test, y_test = load_split(request.dataset, "test", request.data_dir)
    if request.train_limit is not None:
        x_train, y_train = x_train[:request.train_limit], y_train[:request.train_limit]
    x_train, x_test = to_model_input(x_train), to_model_input(x_test)
    model = build_model(request.architecture, seed=request.config.seed)
    result = train_model(model, (x_train, y_train), (x_test, y_test), request.config, on_progress, cancel)
    if result.cancelled:
        return TrainedModel(result, None)
    return TrainedModel(result, model, accuracy(model, x_test, y_test), len(x_train))


# ------------------------------------------------------------------------------------------ the server side

def train_in_worker(request: Request, on_progress: ProgressFn | None = None,
                    cancel: threading.Event | None = None) -> TrainedModel:
    """``run_request`` in a low-priority child process; the same answer, or the same error."""
    with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-") as folder:
        model_path = Path(folder) / "model.keras"
        worker = subprocess.Popen([sys.executable, "-m", "cnn.idle_worker", str(model_path)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
        try:
            worker.stdin.write(request.to_json() + "\n")
            worker.stdin.flush()
            if cancel is not None:
                threading.Thread(target=_forward_cancel, args=(worker, cancel), daemon=True).start()
            final = _read_progress(worker.stdout, on_progress)
        finally:
            _stop(worker)
        if final is None:
            raise RuntimeError(f"the training process ended unexpectedly (exit code {worker.returncode})")
        if "error" in final:
            raise KNOWN_ERRORS.get(final["kind"], RuntimeError)(final["error"])
        result = TrainingResult(**final["result"])
        if result.cancelled:
            return TrainedModel(result, None)
        return TrainedModel(result, load_model(model_path), final["test_accuracy"], final["train_images"],
                            final["evaluation"])


def remove_leftover_folders() -> list[Path]:
    """Delete the folders of trainings whose server was killed (a killed process cannot clean up)."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        owner = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and not (owner.isdigit() and process_alive(int(owner))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _read_progress(lines: IO[str], on_progress: ProgressFn | None) -> dict | None:
    """Hand on each progress line; return the final one (None if the worker died first)."""
    for line in lines:
        message = json.loads(line)
        if "progress" not in message:
            return message
        if on_progress:
            on_progress(TrainingProgress(**message["progress"]))
    return None


def _forward_cancel(worker: subprocess.Popen, cancel: threading.Event) -> None:
    """Tell the worker when the Cancel button is pressed, until it ends."""
    while worker.poll() is None:
        if cancel.wait(0.2):
            with contextlib.suppress(OSError, ValueError):  # it has just finished and closed its stdin
                worker.stdin.write(CANCEL + "\n")
                worker.stdin.flush()
            return


def _stop(worker: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        worker.stdin.close()  # a worker still training takes it as "cancel"
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


# ------------------------------------------------------------------------------------------ the worker side

def _watch_for_cancel(requests: IO[str], cancel: threading.Event) -> None:
    for line in requests:
        if line.strip() == CANCEL:
            break
    cancel.set()  # asked to, or the server has gone


def worker_main(model_path: str) -> int:
    # One core's idle time at most: a second thread would mostly compete for the caches and memory
    # bandwidth that the server's requests use, for little gain on a model this small.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    report = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)  # the protocol's channel...
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # ... and anything else printed goes to stderr

    lock = threading.Lock()  # Keras may report progress from more than one thread

    def send(message: dict) -> None:
        with lock:
            report.write(json.dumps(message) + "\n")

    request = read_request(sys.stdin.readline())
    cancel = threading.Event()
    threading.Thread(target=_watch_for_cancel, args=(sys.stdin, cancel), daemon=True).start()
    try:
        trained = run_request(request, lambda p: send({"progress": dataclasses.asdict(p)}), cancel)
    except Exception as err:  # reported to the server, which raises it there
        kind = next((name for name, cls in KNOWN_ERRORS.items() if isinstance(err, cls)), "RuntimeError")
        send({"error": str(err), "kind": kind})
        return 1
    if trained.model is not None:
        save_model(trained.model, model_path)
    send({"result": dataclasses.asdict(trained.result), "test_accuracy": trained.test_accuracy,
          "train_images": trained.train_images, "evaluation": trained.evaluation})
    return 0
