"""Where long computations run: in this process (``InProcess``: scripts, tests), or, for a server that answers
a class, in worker processes at idle priority (``LongJobs``), where a student's request takes the processor first.

A worker (``python -m webapp.job_worker``) lowers its priority to SCHED_IDLE (Linux; nice 19 elsewhere) before
TensorFlow loads, as the training worker does: it computes only when no request of the server wants the
processor, however many cores there are, and the server's threads never wait for it (nor for its GIL). The
server's model reaches it as a ``.keras`` file, written once per served model (which may be an unsaved
training). The protocol is one JSON line each way per job.

Jobs wait in one queue, first come first served, for a free worker, except that the longest (over
LONG_SECONDS: the test-set table, a robustness curve) never take the last one: a maximization of a few
seconds never waits minutes behind them. A worker starts on first use (TensorFlow's import, seconds) and
ends with the server (the kernel kills it if the server is killed); a started one takes a job before a new
one is started. Each holds 0.5-1.2 GB: TensorFlow, the explainers of the models it was asked about, and a
table's arrays while it makes one.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn.model_manager import ServedModel
from cnn.model_store import save_model
from cnn.training_worker import FOLDER_PREFIX
from webapp.once import Computation, Waiting

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2  # each takes at most one core's idle time
LONG_SECONDS = 10.0  # a job estimated longer never takes the last free worker
START_SECONDS = 15.0  # a worker's start (TensorFlow's import, at idle priority), for the estimates
KNOWN_ERRORS = {cls.__name__: cls for cls in (ValueError,)}  # raised again here under their own kind


class InProcess:
    """Runs each job in the thread of the student who asked first."""

    def run(self, explainer_set: Any, computation: Computation) -> None:
        computation.compute_here(lambda: computation.job.run_on(explainer_set))


@dataclass
class _Queued:
    computation: Computation
    model_file: Path
    dataset: str


def _is_long(computation: Computation) -> bool:
    return computation.job.seconds > LONG_SECONDS


class LongJobs:
    """A pool of ``workers`` idle-priority worker processes and the queue of jobs waiting for them."""

    def __init__(self, workers: int = WORKERS) -> None:
        # Beside the trainings' folders: the next start removes what a killed server left (remove_leftover_folders).
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-jobs-"))
        atexit.register(shutil.rmtree, self.folder, ignore_errors=True)
        self.workers = workers
        self.long_lanes = max(workers - 1, 1)  # workers that may run the longest jobs at once
        self.pace = 1.0  # how much longer than their estimates the last jobs took (the machine's load)
        self.processes: list[subprocess.Popen] = []  # the running workers (the tests look at them)
        self._queue: list[_Queued] = []
        self._running: list[Computation] = []
        self._idle_workers = 0  # started workers waiting for a job
        self._on_fresh_worker: set[Computation] = set()  # running jobs whose worker is loading TensorFlow first
        self._changed = threading.Condition()
        self._files: dict[int, Path] = {}  # model version -> its file
        self._files_lock = threading.Lock()
        for number in range(workers):
            threading.Thread(target=self._serve, daemon=True, name=f"long-jobs-{number}").start()

    def run(self, explainer_set: Any, computation: Computation) -> None:
        """Queue the computation's job on ``explainer_set``'s model; the computation's future gets its answer."""
        queued = _Queued(computation, self._model_file(explainer_set.served), explainer_set.served.dataset)
        computation.estimates = self
        with self._changed:
            self._queue.append(queued)
            self._changed.notify_all()

    def waiting(self, computation: Computation) -> Waiting:
        """About how long ``computation`` has yet to take: what runs and waits before it in its lane (the longest
        jobs', or the others'), shared by the workers of that lane."""
        with self._changed:
            expected = computation.job.seconds * self.pace + START_SECONDS * (computation in self._on_fresh_worker)
            if computation.started is not None:
                return Waiting.running(computation.job.what, time.monotonic() - computation.started, expected)
            queued = [q.computation for q in self._queue]
            before = self._running + queued[:queued.index(computation)] if computation in queued else self._running
            if _is_long(computation):
                lane, lanes = [c for c in before if _is_long(c)], self.long_lanes
            else:
                lane, lanes = [c for c in before if not _is_long(c)], self.workers - sum(map(_is_long, self._running))
            if len(lane) < lanes:  # it is about to start
                return Waiting(computation.job.what, 0, expected + START_SECONDS * (not self._idle_workers), 0.0)
            now = time.monotonic()
            left = sum(c.job.seconds * self.pace - (0.0 if c.started is None else now - c.started) for c in lane)
            return Waiting(computation.job.what, len(lane), max(left, 0.0) / max(lanes, 1) + expected, 0.0)

    def close(self) -> None:
        """End the workers: each sees its stdin close after its job (a server's end with it; for tests)."""
        with self._changed:
            processes = list(self.processes)
        for process in processes:
            with contextlib.suppress(OSError):
                process.stdin.close()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def _model_file(self, served: ServedModel) -> Path:
        """The served model as a file the workers load, written once per model."""
        with self._files_lock:
            if served.version not in self._files:
                path = self.folder / f"{served.dataset}-{served.version}.keras"
                save_model(served.model, path)
                self._files[served.version] = path
            return self._files[served.version]

    # -- one thread per worker -------------------------------------------------------------------------------
    def _serve(self) -> None:
        """Hand the queued jobs, one at a time, to this thread's worker (started, or restarted, when needed).
        This thread lives as long as the server: the kernel ends the worker with the thread that started it."""
        worker: subprocess.Popen | None = None
        while True:
            live = worker is not None and worker.poll() is None
            queued = self._take(live)
            try:
                if not live:
                    worker = self._start_worker(worker, queued.computation)
                answer = self._ask(worker, queued)
            except Exception as err:  # the students who wait see it
                self._finished(queued.computation, learn=False)
                queued.computation.future.set_exception(err)
            else:
                self._finished(queued.computation, learn=live)  # a new worker's time includes its start
                queued.computation.future.set_result(answer)

    def _take(self, live: bool) -> _Queued:
        """The next job for this thread's worker: the first queued that it may take (the longest only while
        another worker stays free for the others). A started worker is served first: a thread without one
        takes a job only when the started ones that wait cannot take them all."""
        with self._changed:
            self._idle_workers += live
            while True:
                long_running = sum(map(_is_long, self._running))
                allowed = [q for q in self._queue if not _is_long(q.computation) or long_running < self.long_lanes]
                if allowed and (live or len(allowed) > self._idle_workers):
                    break
                self._changed.wait()
            self._idle_workers -= live
            queued = allowed[0]
            self._queue.remove(queued)
            queued.computation.started = time.monotonic()
            self._running.append(queued.computation)
            return queued

    def _start_worker(self, ended: subprocess.Popen | None, first: Computation) -> subprocess.Popen:
        worker = subprocess.Popen([sys.executable, "-m", "webapp.job_worker"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        with self._changed:
            self.processes = [p for p in self.processes if p is not ended] + [worker]
            self._on_fresh_worker.add(first)
        return worker

    def _ask(self, worker: subprocess.Popen, queued: _Queued) -> Any:
        job = queued.computation.job
        request = {"function": f"{job.function.__module__}:{job.function.__name__}", "args": list(job.args),
                   "model": str(queued.model_file), "dataset": queued.dataset}
        try:
            worker.stdin.write(json.dumps(request) + "\n")
            worker.stdin.flush()
            line = worker.stdout.readline()
        except (OSError, ValueError):  # it has ended, or is being closed
            line = ""
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=5)
            raise RuntimeError(f"the long-computation process ended unexpectedly (exit code {worker.poll()}); "
                               "try again")
        reply = json.loads(line)
        if "error" in reply:
            raise KNOWN_ERRORS.get(reply["kind"], RuntimeError)(reply["error"])
        return reply["result"]

    def _finished(self, computation: Computation, learn: bool) -> None:
        """It no longer runs (a longest job's end frees a lane); ``learn``: the machine's pace from its time."""
        with self._changed:
            self._running.remove(computation)
            self._on_fresh_worker.discard(computation)
            if learn:
                took = time.monotonic() - computation.started
                self.pace = min(max(0.5 * self.pace + 0.5 * took / computation.job.seconds, 0.5), 20.0)
            self._changed.notify_all()
