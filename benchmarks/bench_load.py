"""A classroom on one small server: N students drawing digits at once, against Gradio's own limit.

    python -m benchmarks.bench_load                      # 50 clients x 10 sketches: bare app, then demo.py
    python -m benchmarks.bench_load --soak 2000          # ... then 2,000 more sketches: is memory flat?
    python -m benchmarks.bench_load --clients 10 --requests 5 --rounds 2

Two servers run side by side, each its own process, driven in turn by the same clients, in three phases:

* ``bare``: ``benchmarks/bare_app.py``, a Gradio app with the sketch endpoint's shape (Sketchpad
  in, Label out) whose handler does nothing: what Gradio itself serves on this machine;
* ``app``: ``demo.py``, the same drawings (every client draws ``--requests`` digits with
  ``/explain_sketch``, one after the other) while the instructor trains a model (``/train``,
  1 epoch, from the start of the phase). The issue's targets compare this phase with ``bare``;
* ``mixed``: the same again, and after every ``--extra-every`` drawings each client also uses
  another tab (``/explain_test_image``, ``/feature_maps``, ``/maximize`` in turn) without waiting
  for it, as a page does. Its ratios to ``bare`` are printed too, but they compare more requests
  with fewer: the bare app has no other tabs.

Each client is its own ``gradio_client.Client`` session (one browser page) and sends unique
drawings (PNG, 400x400, black ink on transparent, as the Sketchpad sends them). The clients are
threads of this process (``--client-procs P``: P processes) and share the cores with the server,
so both sides' CPU time is printed. They are gradio_client as it comes, as in the issue (where the
bare app then serves a few sketches a second); ``--lean-client`` makes them much lighter, so that
the server becomes the bottleneck. Sketch latencies are reported apart from the other endpoints;
the comparison with the bare app is on sketches: throughput (sketches answered per second, from
the start signal to the last sketch answered) and p95 latency. ``--rounds R`` alternates the
phases R times and pools the rounds, which evens out other load on the machine.

The server's RSS (with its training worker's, a child process) is sampled every 0.25 s. ``--soak N``
then sends N more sketches to the app (and another tab's request every 10), each client opening a
new session every 5 sketches, and prints the RSS after every 500 sketches; memory is flat when it
grows by at most 25 MiB after the first 500.

Every loop is bounded (request counts, ``--request-timeout`` per request, ``--phase-timeout`` per
phase); the servers are stopped at the end, whatever happens.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gzip
import math
import multiprocessing
import os
import queue
import shutil
import signal
import ssl
import struct
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # gradio_client reads it too: nothing leaves this machine

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from harness.memory import child_pids, current_mib, peak_mib  # noqa: E402
from harness.app_server import ROOT, running_app  # noqa: E402
from harness.strokes import render_digit  # noqa: E402

SKETCH = "explain_sketch"
EXTRAS = ("explain_test_image", "feature_maps", "explain_test_image", "maximize")  # the other tabs, in turn
TRAINING = {"Dataset": "mnist", "Epochs": 1, "Batch size": 256}  # by the form's labels; the rest: defaults
MEMORY_EVERY = 0.25  # seconds between RSS samples
SOAK_CHECKPOINT = 500  # sketches between memory checkpoints of the soak
SOAK_SESSION_EVERY = 5  # the soak's clients open a new session (reload the page) every that many sketches
SOAK_EXTRA_EVERY = 10  # ... and use another tab every that many: figures and sessions must not pile up
# The targets for 50 students x 10 sketches, side by side with the bare app.
TARGET_THROUGHPUT_RATIO = 0.7  # app / bare, at least
TARGET_P95_RATIO = 1.5  # app / bare, at most
# RSS growth of the soak from its first checkpoint (the first 500 sketches warm the allocator up after the
# training) to its end, at most. Over 2,000 sketches the soak opens 400 sessions (Gradio keeps 150-300 KiB
# of state per session of demo.py; demo.py keeps 150 sessions) and asks for 100 different grids.
TARGET_SOAK_GROWTH_MIB = 25.0
# gradio_client makes a new httpx client for most requests, and each one loads the CA certificates into
# a new SSL context, even for plain http: half the clients' CPU time in a profile. With --lean-client one
# context, made once, serves every request: the clients then leave most of the shared cores to the server,
# and the server's own cost decides (a harsher test than the issue's, which is about stock clients).
TLS = ssl.create_default_context()
# gradio_client gives up on a request (CancelledError) when its session's event stream closes just as the
# request is sent: the server closes a session's stream once its last event is answered, and the client
# library files a request sent in that instant under the closing stream. A client-side race, rare (a few
# in 2,000 with stock clients opening new sessions), with no error on the server; counted and shown apart.
STREAM_RACE = "stranded by gradio_client's event-stream race (client side)"


# --------------------------------------------------------------------------------------------- inputs

def prepare_sketches(folder: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` different drawings (digit, pen width, size, place, slant), saved as the Sketchpad
    sends them. All different, as students' drawings are (identical outputs at the same moment
    would also meet a Gradio cache race, see the report)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        image = render_digit(k % 10, canvas=400, ink="transparent", stroke_width=float(rng.uniform(5, 30)),
                             scale=float(rng.uniform(0.45, 0.85)),
                             offset=(float(rng.uniform(-0.12, 0.12)), float(rng.uniform(-0.1, 0.1))),
                             rotation_deg=float(rng.uniform(-15, 15)))
        path = folder / f"sketch-{k:05d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def make_data_dir(folder: Path) -> Path:
    """A --data-dir whose MNIST "training set" is the shipped 10,000 test images six times (60,000, as
    the app expects), like tests/conftest.py's offline_data_dir; written here without TensorFlow."""
    shipped, target = ROOT / "data" / "mnist", folder / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for kind, magic in (("images-idx3", 0x0803), ("labels-idx1", 0x0801)):
        name = f"t10k-{kind}-ubyte.gz"
        shutil.copy(shipped / name, target / name)
        raw = gzip.decompress((shipped / name).read_bytes())
        ndim = magic & 0xFF
        shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        header = struct.pack(">I", magic) + struct.pack(f">{ndim}I", shape[0] * 6, *shape[1:])
        (target / f"train-{kind}-ubyte").write_bytes(header + raw[4 + 4 * ndim:] * 6)
    return folder


def default_data_dir() -> str | None:
    for candidate in (os.environ.get("CNN_DEMO_DATA_DIR"), str(ROOT.parent / "shared" / "data")):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class Call:
    endpoint: str
    args: tuple


def client_plan(index: int, requests: int, first_sketch: int, extra_every: int = 0) -> list[Call]:
    """What client ``index`` sends: sketches ``first_sketch``... of the prepared ones, one after the
    other, and another tab's request after every ``extra_every`` of them (0: none), at a different
    point for each client so that they spread over the phase."""
    rng = np.random.default_rng(index)
    calls = []
    for k in range(requests):
        target = -1 if rng.random() < 0.8 else int(rng.integers(10))  # mostly "predicted class"
        method = "Grad-CAM" if rng.random() < 0.8 else "HiResCAM"
        calls.append(Call(SKETCH, (first_sketch + k, target, "mnist", method)))
        if extra_every and (k + index) % extra_every == extra_every - 1:  # staggered between clients
            extra = EXTRAS[(index + (k + index) // extra_every) % len(EXTRAS)]
            if extra == "explain_test_image":
                calls.append(Call(extra, (int(rng.integers(10000)), bool(rng.random() < 0.3), -1, "mnist",
                                          "Grad-CAM")))
            elif extra == "feature_maps":
                calls.append(Call(extra, (int(rng.integers(10000)), "mnist")))
            else:  # conv1's eight filters with the UI's fewest steps; the other settings: the form's defaults
                calls.append(Call(extra, (("Layer", "conv1"), ("Gradient-ascent steps", 16),
                                          ("Random seed", int(rng.integers(1000))))))
    return calls


def plans_for(clients: int, requests: int, first_sketch: int = 0, extra_every: int = 0,
              seed: int = 0) -> list[list[Call]]:
    return [client_plan(seed + i, requests, first_sketch + i * requests, extra_every) for i in range(clients)]


# ------------------------------------------------------------------------------------------- clients

@dataclass(frozen=True)
class Record:
    endpoint: str
    start: float  # time.monotonic(): the same clock in every process on Linux
    seconds: float
    error: str | None = None


def by_label(client, endpoint: str, values: dict[str, object]) -> tuple:
    """Arguments for an endpoint with many inputs: each input's default, or the value given for the input
    whose label starts with a key of ``values`` (robust to inputs being added to a form)."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][f"/{endpoint}"]
    arguments = []
    for parameter in info["parameters"]:
        label = parameter.get("label") or ""
        given = [value for key, value in values.items() if label.startswith(key)]
        arguments.append(given[0] if given else parameter.get("parameter_default"))
    return tuple(arguments)


def _arguments(client, call: Call, sketch_paths: list[str]) -> tuple:
    from gradio_client import handle_file

    if call.endpoint == SKETCH:
        index, *rest = call.args
        return ({"background": None, "layers": [], "composite": handle_file(sketch_paths[index])}, *rest)
    if call.endpoint == "maximize":
        return by_label(client, call.endpoint, dict(call.args))
    return call.args


def _describe_error(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, concurrent.futures.CancelledError):
        return STREAM_RACE
    return f"{type(err).__name__}: {err}".replace("\n", " ")[:200]


@dataclass
class ClientOptions:
    deadline: float  # time.monotonic() after which nothing more is sent
    request_timeout: float
    downloads: str | bool  # folder for the files that answers point to (False: not fetched)
    session_every: int = 0  # a new session (a reloaded page) every that many sketches; 0: never
    stock_client: bool = False


def run_client(url: str, calls: list[Call], sketch_paths: list[str], start, options: ClientOptions,
               record: Callable[[Record], None], sketch_done: Callable[[], None]) -> None:
    """One student: connect, wait for the start signal, then draw (each sketch waits for its answer)
    and now and then use another tab (not waited for, as a page does not)."""
    from gradio_client import Client

    def connect() -> Client | None:
        began = time.monotonic()
        try:
            return Client(url, verbose=False, download_files=options.downloads, analytics_enabled=False,
                          **({} if options.stock_client else {"ssl_verify": TLS}))
        except Exception as err:  # noqa: BLE001 - counted and reported
            record(Record("connect", began, time.monotonic() - began, _describe_error(err)))
            return None

    client = None
    pending: list[tuple[str, float, object, list[float]]] = []
    try:
        try:
            client = connect()
        finally:
            start.wait(timeout=max(1.0, options.deadline - time.monotonic()))
        if client is None:
            return
        sketches = 0
        for call in calls:
            if time.monotonic() > options.deadline:
                record(Record(call.endpoint, time.monotonic(), 0.0, "not sent: phase time limit"))
                continue
            if call.endpoint == SKETCH and options.session_every and sketches and sketches % options.session_every == 0:
                # The page is reloaded: a new session. (A new Client, as a browser makes a new connection;
                # Client.reset_session() can strand the next answer on the old session's event stream.)
                _finish(pending, options, record)
                client.close()
                client = connect()
                if client is None:
                    return
            began = time.monotonic()
            try:
                job = client.submit(*_arguments(client, call, sketch_paths), api_name=f"/{call.endpoint}")
            except Exception as err:  # noqa: BLE001
                record(Record(call.endpoint, began, time.monotonic() - began, _describe_error(err)))
                continue
            if call.endpoint != SKETCH:
                finished: list[float] = []
                job.add_done_callback(lambda _, finished=finished: finished.append(time.monotonic()))
                pending.append((call.endpoint, began, job, finished))
                continue
            error = None
            try:
                job.result(timeout=options.request_timeout)
            except Exception as err:  # noqa: BLE001 - every failure is counted and reported
                error = _describe_error(err)
                if error == "timeout":
                    job.cancel()
            record(Record(call.endpoint, began, time.monotonic() - began, error))
            sketches += 1
            sketch_done()
        _finish(pending, options, record)
    finally:
        if client is not None:
            client.close()


def _finish(pending: list, options: ClientOptions, record: Callable[[Record], None]) -> None:
    """Wait for the requests sent without waiting, record them, and empty ``pending``."""
    for endpoint, began, job, finished in pending:
        error = None
        try:
            job.result(timeout=max(0.1, began + options.request_timeout - time.monotonic()))
        except Exception as err:  # noqa: BLE001
            error = _describe_error(err)
            if error == "timeout":
                job.cancel()
        end = finished[0] if finished else time.monotonic()
        record(Record(endpoint, began, end - began, error))
    pending.clear()


def _client_threads(url, plans, sketch_paths, start, options, record, sketch_done) -> list[threading.Thread]:
    return [threading.Thread(target=run_client, name=f"client-{i}", daemon=True,
                             args=(url, plan, sketch_paths, start, options, record, sketch_done))
            for i, plan in enumerate(plans)]


def _client_process(url, plans, sketch_paths, start, options, results, counter) -> None:
    """A client process: its share of the clients, as threads, released once every client of every
    process is connected (``start``); the records and CPU time go back through ``results``."""
    records: list[Record] = []
    lock = threading.Lock()
    cpu_at_start: list[float] = []

    def record(r: Record) -> None:
        with lock:
            records.append(r)

    def sketch_done() -> None:
        with counter.get_lock():
            counter.value += 1

    def all_connected() -> None:
        start.wait(timeout=max(1.0, options.deadline - time.monotonic()))
        cpu_at_start.append(_cpu_seconds())

    connected = threading.Barrier(len(plans), action=all_connected)
    threads = _client_threads(url, plans, sketch_paths, connected, options, record, sketch_done)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, options.deadline + options.request_timeout + 30 - time.monotonic()))
    with lock:
        results.put((list(records), _cpu_seconds() - (cpu_at_start[0] if cpu_at_start else 0.0)))


def _cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


# -------------------------------------------------------------------------------------------- server

def process_cpu_seconds(pid: int) -> float:
    """CPU time of the process and of its children that have ended (the app's training worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def process_tree_mib(pid: int) -> float:
    """Resident memory of the process and of its running children (the app's training worker)."""
    total = current_mib(pid)
    for child in child_pids(pid):
        with contextlib.suppress(OSError):  # it has just ended
            total += process_tree_mib(child)
    return total


class MemorySampler:
    """The server's RSS (with its training worker's) every MEMORY_EVERY seconds, with how many sketches
    had been answered then."""

    def __init__(self, pid: int, progress: Callable[[], int] = lambda: 0) -> None:
        self.pid, self.progress = pid, progress
        self.samples: list[tuple[float, float, int]] = []  # (time, MiB, sketches answered)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="memory")

    def _run(self) -> None:
        while not self._stop.wait(MEMORY_EVERY):
            self.sample()

    def sample(self) -> float:
        try:
            mib = process_tree_mib(self.pid)
        except OSError:  # the server has gone
            return math.nan
        self.samples.append((time.monotonic(), mib, self.progress()))
        return mib

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def at_progress(self, done: int) -> float | None:
        """RSS at the first sample taken once ``done`` sketches had been answered."""
        return next((mib for _, mib, n in self.samples if n >= done), None)


# ----------------------------------------------------------------------------------------------- phase

@dataclass
class Phase:
    name: str
    clients: int
    seconds: float = 0.0  # from the start signal to the last sketch answered
    records: list[Record] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # requests planned, by endpoint
    memory: dict[str, float] = field(default_factory=dict)  # start, peak, end, vm_hwm (MiB)
    server_cpu: float = 0.0  # seconds of CPU the server used during the phase
    client_cpu: float = 0.0  # seconds of CPU the clients used, once connected
    training: dict = field(default_factory=dict)
    soak_rss: list[tuple[int, float]] = field(default_factory=list)  # (sketches answered, MiB)
    rounds: int = 1
    began: float = 0.0  # time.monotonic() of the start signal (of the first round)

    def of(self, endpoint: str) -> list[Record]:
        return [r for r in self.records if r.endpoint == endpoint]

    def stats(self, endpoint: str) -> dict:
        records = self.of(endpoint)
        ok = sorted(r.seconds for r in records if r.error is None)
        planned = max(self.expected.get(endpoint, 0), len(records))
        return {  # a planned request that was never reported (its client died) counts as an error
            "requests": planned, "answered": len(ok), "errors": planned - len(ok),
            "busy": sum(1 for r in records if r.error and "queue is full" in r.error.lower()),
            "p50": _percentile(ok, 50), "p95": _percentile(ok, 95), "max": ok[-1] if ok else math.nan,
            "throughput": len(ok) / self.seconds if self.seconds else math.nan,
        }

    @property
    def errors(self) -> list[Record]:
        """Failed requests, and a "never reported" record for each planned one missing."""
        failed = [r for r in self.records if r.error is not None]
        for endpoint, planned in self.expected.items():
            failed += [Record(endpoint, 0.0, 0.0, "never reported")] * max(0, planned - len(self.of(endpoint)))
        return failed

    def merge(self, other: Phase) -> None:
        """Pool another round of the same server into this one."""
        self.seconds += other.seconds
        self.records += other.records
        for endpoint, count in other.expected.items():
            self.expected[endpoint] += count
        self.memory = {"start": self.memory["start"], "peak": max(self.memory["peak"], other.memory["peak"]),
                       "end": other.memory["end"], "vm_hwm": other.memory["vm_hwm"]}
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        if other.training:
            self.training.setdefault("rounds", [dict(self.training)] if self.training else [])
            self.training["rounds"].append(other.training)
        self.rounds += 1


def _percentile(sorted_values: list[float], q: float) -> float:
    return float(np.percentile(sorted_values, q)) if sorted_values else math.nan


def drive(url: str, pid: int, name: str, plans: list[list[Call]], sketch_paths: list[str], *,
          client_procs: int = 1, phase_timeout: float = 900.0, request_timeout: float = 120.0,
          session_every: int = 0, stock_client: bool = False, fetch_files: bool = True,
          training: dict | None = None, soak_checkpoint: int = 0) -> Phase:
    """Connect len(plans) clients, release them together, and collect every request's record."""
    phase = Phase(name, len(plans))
    for plan in plans:
        for call in plan:
            phase.expected[call.endpoint] += 1
    downloads = tempfile.mkdtemp(prefix="bench-load-downloads-")
    options = ClientOptions(time.monotonic() + phase_timeout, request_timeout, downloads if fetch_files else False,
                            session_every, stock_client)
    join_by = options.deadline + request_timeout + 60
    lock = threading.Lock()
    answered = [0]
    client_procs = min(client_procs, len(plans))
    try:
        if client_procs <= 1:
            start = threading.Barrier(len(plans) + 1)

            def record(r: Record) -> None:
                with lock:
                    phase.records.append(r)

            def sketch_done() -> None:
                with lock:
                    answered[0] += 1

            progress = lambda: answered[0]  # noqa: E731
            workers = _client_threads(url, plans, sketch_paths, start, options, record, sketch_done)
            results = None
        else:
            context = multiprocessing.get_context("spawn")
            start = context.Barrier(client_procs + 1)
            counter = context.Value("i", 0)
            results = context.Queue()
            progress = lambda: counter.value  # noqa: E731
            workers = [context.Process(target=_client_process, daemon=True,
                                       args=(url, plans[i::client_procs], sketch_paths, start, options, results,
                                             counter))
                       for i in range(client_procs)]
        for worker in workers:
            worker.start()
        start.wait(timeout=max(1.0, options.deadline - time.monotonic()))  # every client is connected
        with MemorySampler(pid, progress) as memory:
            cpu_before, server_before, began = _cpu_seconds(), process_cpu_seconds(pid), time.monotonic()
            phase.began = began
            trainer = None
            if training is not None:
                trainer = threading.Thread(target=_train, args=(url, training, options, phase.training),
                                           daemon=True, name="training")
                trainer.start()
            if results is None:
                for worker in workers:
                    worker.join(timeout=max(1.0, join_by - time.monotonic()))
            else:
                for _ in workers:
                    try:
                        records, cpu = results.get(timeout=max(1.0, join_by - time.monotonic()))
                    except queue.Empty:
                        break
                    phase.records += records
                    phase.client_cpu += cpu
                for worker in workers:
                    worker.join(timeout=10)
                    if worker.is_alive():
                        worker.terminate()
            if trainer is not None:
                trainer.join(timeout=max(1.0, join_by - time.monotonic()))
            phase.server_cpu = process_cpu_seconds(pid) - server_before
            phase.client_cpu += _cpu_seconds() - cpu_before
            with lock:
                ends = [r.start + r.seconds for r in phase.records if r.endpoint == SKETCH and r.error is None]
            phase.seconds = (max(ends) if ends else time.monotonic()) - began
            if phase.training.get("started"):
                phase.training["started"] -= began
        phase.memory = {"start": memory.samples[0][1], "peak": max(m for _, m, _ in memory.samples),
                        "end": memory.samples[-1][1], "vm_hwm": peak_mib(pid)}
        if soak_checkpoint:
            answered_sketches = phase.stats(SKETCH)["answered"]
            for count in range(soak_checkpoint, answered_sketches + 1, soak_checkpoint):
                rss = memory.at_progress(count)
                if rss is not None:
                    phase.soak_rss.append((count, rss))
            if answered_sketches % soak_checkpoint:
                phase.soak_rss.append((answered_sketches, phase.memory["end"]))
    finally:
        shutil.rmtree(downloads, ignore_errors=True)
    return phase


def _train(url: str, settings: dict, options: ClientOptions, out: dict) -> None:
    """The instructor: one training, started with the phase and followed to its end."""
    from gradio_client import Client

    out["started"] = began = time.monotonic()
    try:
        client = Client(url, verbose=False, download_files=False, analytics_enabled=False, ssl_verify=TLS)
        try:
            job = client.submit(*by_label(client, "train", settings), api_name="/train")
            progress = job.result(timeout=max(1.0, options.deadline - time.monotonic()))[0]
            out["status"] = "done" if "Done in" in progress else progress[:200]
        finally:
            client.close()
    except Exception as err:  # noqa: BLE001 - reported
        out["status"] = _describe_error(err)
    out["seconds"] = time.monotonic() - began


# ------------------------------------------------------------------------------------------- running

@contextlib.contextmanager
def servers(names: list[str], work: Path, data_dir: str | None, app_script: str = "demo.py",
            log_dir: Path | None = None) -> Iterator[dict[str, tuple[str, int]]]:
    """Start the named servers ("bare", "app"), one after the other, and warm them up; yield
    {name: (url, pid)}; stop them all at the end. The app serves a copy of saved_models/."""
    log_dir = log_dir or work
    with contextlib.ExitStack() as stack:
        started = {}
        for name in names:
            if name == "bare":
                app = running_app(script="benchmarks/bare_app.py", log=log_dir / "bare.log")
            else:
                models = work / "models"
                shutil.copytree(ROOT / "saved_models", models, dirs_exist_ok=True)
                arguments = ["--models-dir", str(models)] + (["--data-dir", data_dir] if data_dir else [])
                env = {"PYTHONPATH": str(ROOT)} if app_script != "demo.py" else None
                app = running_app(*arguments, script=app_script, env=env, log=log_dir / "app.log")
            url, process = stack.enter_context(app)
            _warm_up(url, work)
            started[name] = (url, process.pid)
        yield started


def _warm_up(url: str, work: Path) -> None:
    """A few requests, so that a server starts its phase ready (models compiled, code paths imported)."""
    from gradio_client import Client, handle_file

    path = work / "warm-up.png"
    Image.fromarray(render_digit(7, ink="transparent")).save(path)
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False, ssl_verify=TLS)
    try:
        for _ in range(3):
            client.submit({"background": None, "layers": [], "composite": handle_file(str(path))}, -1, "mnist",
                          "Grad-CAM", api_name=f"/{SKETCH}").result(timeout=120)
    finally:
        client.close()


def run_benchmark(clients: int = 50, requests: int = 10, *, soak: int = 0, skip_bare: bool = False,
                  train: bool = True, extra_every: int = 5, rounds: int = 1, data_dir: str | None = None,
                  client_procs: int = 1, stock_client: bool = False, fetch_files: bool = True,
                  app_script: str = "demo.py",
                  phase_timeout: float = 900.0, request_timeout: float = 120.0, log_dir: Path | None = None,
                  echo: Callable[[str], None] = print) -> dict[str, Phase]:
    """Run the phases and return them by name: "bare", "app", "mixed" (each pooled over the rounds), "soak"."""
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    phases: dict[str, Phase] = {}
    try:
        count = clients * requests + soak
        echo(f"preparing {count} different drawings ...")
        sketch_paths = prepare_sketches(work / "sketches", count)
        if train and data_dir is None:
            data_dir = str(make_data_dir(work / "data"))
        options = dict(client_procs=client_procs, phase_timeout=phase_timeout, request_timeout=request_timeout,
                       stock_client=stock_client, fetch_files=fetch_files)
        plan = [("bare", "bare", 0, False)] * (not skip_bare) + [("app", "app", 0, train)] \
            + [("mixed", "app", extra_every, train)] * bool(extra_every)  # (phase, server, extras, training)
        names = sorted({server for _, server, _, _ in plan})
        echo(f"starting {' and '.join(names)} ...")
        with servers(names, work, data_dir, app_script, log_dir) as started:
            for round_number in range(1, rounds + 1):
                for name, server, extra, training in plan:
                    url, pid = started[server]
                    echo(f"{name} (round {round_number}/{rounds}): {clients} clients x {requests} sketches"
                         + (f", another tab every {extra}" if extra else "")
                         + (", one training running" if training else "") + " ...")
                    phase = drive(url, pid, name, plans_for(clients, requests, 0, extra, seed=round_number * 1000),
                                  sketch_paths, training=TRAINING if training else None, **options)
                    echo(summary_line(phase))
                    if name in phases:
                        phases[name].merge(phase)
                    else:
                        phases[name] = phase
            if soak:
                url, pid = started["app"]
                per_client = math.ceil(soak / clients)
                echo(f"soak: {clients} clients x {per_client} sketches, another tab every {SOAK_EXTRA_EVERY}, "
                     f"a new session every {SOAK_SESSION_EVERY} ...")
                plans = plans_for(clients, per_client, clients * requests, SOAK_EXTRA_EVERY, seed=99_000)
                phases["soak"] = drive(url, pid, "soak", plans, sketch_paths, session_every=SOAK_SESSION_EVERY,
                                       soak_checkpoint=SOAK_CHECKPOINT, **options)
                echo(summary_line(phases["soak"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return phases


# ------------------------------------------------------------------------------------------ printing

def summary_line(phase: Phase, slices: int = 6) -> str:
    """One round's figures, and the sketches' p95 latency in consecutive slices of the round (when in the
    round the slow answers came: a training's start or end, a burst of heavy requests)."""
    s = phase.stats(SKETCH)
    line = (f"  {phase.name}: {s['answered']}/{s['requests']} sketches in {phase.seconds:.1f} s, "
            f"{s['throughput']:.2f}/s, p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, errors {len(phase.errors)}")
    width = phase.seconds / slices if phase.seconds else 0
    if width and phase.rounds == 1:
        parts = []
        for k in range(slices):
            ok = sorted(r.seconds for r in phase.of(SKETCH) if r.error is None
                        and k * width <= r.start - phase.began < (k + 1) * width)
            parts.append(f"{len(ok)}: {_percentile(ok, 95):.1f}" if ok else "0: -")
        line += f"\n    sketches sent in each {width:.0f} s of the round (count: p95 s): " + ", ".join(parts)
    return line


def report(phases: dict[str, Phase], echo: Callable[[str], None] = print) -> dict[str, bool]:
    """Print the table, the ratios and PASS/MISS against the issue's targets; return the verdicts."""
    echo("")
    echo(f"{'phase':6} {'endpoint':20} {'requests':>8} {'errors':>6} {'busy':>5} {'p50 s':>7} {'p95 s':>7} "
         f"{'max s':>7} {'req/s':>7}")
    for phase in phases.values():
        for endpoint in [SKETCH] + sorted({r.endpoint for r in phase.records} - {SKETCH}):
            s = phase.stats(endpoint)
            echo(f"{phase.name:6} {endpoint:20} {s['requests']:8d} {s['errors']:6d} {s['busy']:5d} {s['p50']:7.2f} "
                 f"{s['p95']:7.2f} {s['max']:7.2f} {s['throughput']:7.2f}")
    echo("(req/s: answered requests per second of the phase, which ends with its last sketch answered)")
    echo("")
    for phase in phases.values():
        m = phase.memory
        requests = max(len(phase.records), 1)
        echo(f"{phase.name:6} {phase.clients} clients, {phase.seconds:.1f} s"
             f"{f' over {phase.rounds} rounds' if phase.rounds > 1 else ''}; server RSS start {m['start']:.0f} MiB, "
             f"peak {m['peak']:.0f} MiB, end {m['end']:.0f} MiB (VmHWM {m['vm_hwm']:.0f}); CPU: server "
             f"{phase.server_cpu:.1f} s ({1000 * phase.server_cpu / requests:.0f} ms/request"
             f"{', its training worker included' if phase.training else ''}), clients "
             f"{phase.client_cpu:.1f} s ({1000 * phase.client_cpu / requests:.0f} ms/request)")
        for t in phase.training.get("rounds", [phase.training] if phase.training else []):
            echo(f"       training ({TRAINING['Epochs']} epoch, batch {TRAINING['Batch size']}), started at "
                 f"{t.get('started', math.nan):.1f} s: {t.get('status')} after {t.get('seconds', math.nan):.1f} s")
    verdicts: dict[str, bool] = {}
    for phase in phases.values():
        errors = phase.errors
        server_errors = [r for r in errors if r.error != STREAM_RACE]
        races = len(errors) - len(server_errors)
        verdicts[f"{phase.name}: zero errors, every request answered"
                 + (f" but {races}, {STREAM_RACE}" if races else "")] = not server_errors
        kinds: dict[str, int] = defaultdict(int)
        for r in errors:
            kinds[f"{r.endpoint}: {r.error}"] += 1
        for text, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:8]:
            echo(f"  {phase.name} error x{count}: {text}")
    for name in ("app", "mixed"):
        ratios = throughput_and_p95_ratios(phases, name)
        if ratios is None:
            continue
        throughput, p95 = ratios
        bare, app = phases["bare"].stats(SKETCH), phases[name].stats(SKETCH)
        echo("")
        if name == "app":  # the targets: students drawing, while the instructor trains
            verdicts["sketch throughput app/bare"] = throughput >= TARGET_THROUGHPUT_RATIO
            verdicts["sketch p95 app/bare"] = p95 <= TARGET_P95_RATIO
            marks = [f"(target >= {TARGET_THROUGHPUT_RATIO}) {_verdict(verdicts['sketch throughput app/bare'])}",
                     f"(target <= {TARGET_P95_RATIO}) {_verdict(verdicts['sketch p95 app/bare'])}"]
        else:  # not comparable to a target: the bare app has no other tabs, so it answers fewer requests
            marks = ["(other tabs' requests too, not counted)"] * 2
        echo(f"sketch throughput {name}/bare: {app['throughput']:.2f} / {bare['throughput']:.2f} = {throughput:.2f} "
             f"{marks[0]}")
        echo(f"sketch p95 {name}/bare:{' ' * (11 - len(name))}{app['p95']:.2f} / {bare['p95']:.2f} = {p95:.2f} "
             f"{marks[1]}")
    if "soak" in phases and phases["soak"].soak_rss:
        soak = phases["soak"]
        echo("soak RSS: " + ", ".join(f"{n} sketches {mib:.0f} MiB"
                                      for n, mib in [(0, soak.memory["start"])] + soak.soak_rss))
        (first_n, first), (last_n, last) = soak.soak_rss[0], soak.soak_rss[-1]
        if len(soak.soak_rss) < 2:
            echo(f"soak too short to judge memory (at least {2 * SOAK_CHECKPOINT} sketches)")
            return _print_verdicts(verdicts, echo)
        verdicts["soak: memory flat"] = last - first <= TARGET_SOAK_GROWTH_MIB
        echo(f"soak RSS growth from {first_n} to {last_n} sketches: {last - first:+.1f} MiB (target <= "
             f"+{TARGET_SOAK_GROWTH_MIB:.0f} MiB) {_verdict(verdicts['soak: memory flat'])}; over all {last_n}: "
             f"{last - soak.memory['start']:+.1f} MiB")
    return _print_verdicts(verdicts, echo)


def _print_verdicts(verdicts: dict[str, bool], echo: Callable[[str], None]) -> dict[str, bool]:
    echo("")
    for name, ok in verdicts.items():
        echo(f"{_verdict(ok)} {name}")
    return verdicts


def throughput_and_p95_ratios(phases: dict[str, Phase], name: str = "app") -> tuple[float, float] | None:
    """Phase ``name``'s sketch throughput and p95 latency relative to the bare app's."""
    if "bare" not in phases or name not in phases:
        return None
    bare, app = phases["bare"].stats(SKETCH), phases[name].stats(SKETCH)
    return app["throughput"] / bare["throughput"], app["p95"] / bare["p95"]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent students (default 50)")
    parser.add_argument("--requests", type=int, default=10, help="sketches each (default 10)")
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="then N more sketches (and other tabs) to the app, new sessions all along; "
                             "RSS printed every 500 sketches (e.g. 2000)")
    parser.add_argument("--skip-bare", action="store_true", help="do not run the bare Gradio app")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the phases this many times (default 1)")
    parser.add_argument("--no-train", action="store_true", help="no training during the app's phases")
    parser.add_argument("--extra-every", type=int, default=5,
                        help="in the mixed phase, another tab's request after every N sketches (0: no mixed "
                             "phase; default 5)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with MNIST's training IDX files (default $CNN_DEMO_DATA_DIR or "
                             "../shared/data, else one made from the shipped test set)")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="spread the clients over this many processes (default 1: threads of this one)")
    parser.add_argument("--lean-client", action="store_true",
                        help="one SSL context for all requests instead of one per request (gradio_client's "
                             "way): clients about 9x lighter, so the server is the bottleneck")
    parser.add_argument("--no-downloads", action="store_true",
                        help="clients do not fetch the pictures the answers point to (a page does)")
    parser.add_argument("--app-script", default="demo.py", help="the app to serve (to try a changed copy)")
    parser.add_argument("--phase-timeout", type=float, default=900.0, help="seconds per phase at most")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request at most")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the servers' output there")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped from outside: still stop the servers
    data_dir = None if args.no_train else (args.data_dir or default_data_dir())
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPU cores shared by the servers and the clients "
          f"({'threads of this process' if args.client_procs <= 1 else f'{args.client_procs} processes'}"
          f"{', lean clients' if args.lean_client else ', gradio_client as it comes'}); training data: "
          f"{data_dir or ('none' if args.no_train else 'made from the shipped test set')}", flush=True)
    phases = run_benchmark(args.clients, args.requests, soak=args.soak, skip_bare=args.skip_bare,
                           train=not args.no_train, extra_every=args.extra_every, rounds=args.rounds,
                           data_dir=data_dir, client_procs=args.client_procs, stock_client=not args.lean_client,
                           app_script=args.app_script, phase_timeout=args.phase_timeout,
                           request_timeout=args.request_timeout, log_dir=args.log_dir,
                           echo=lambda line: print(line, flush=True))
    verdicts = report(phases)
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
