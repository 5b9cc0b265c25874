"""A classroom on one small server: N students drawing digits at once, against Gradio's own limit.

    python -m benchmarks.bench_load                          # 50 clients x 10 sketches, bare app then demo.py
    python -m benchmarks.bench_load --soak 2000              # ... then 2,000 more sketches: is memory flat?
    python -m benchmarks.bench_load --clients 10 --requests 5 --skip-bare --no-train

Two servers are started in turn, each as its own process, and driven by the same clients:

* ``bare``: ``benchmarks/bare_app.py``, a Gradio app with the sketch endpoint's shape (Sketchpad
  in, Label out) whose handler does nothing: what Gradio itself can serve on this machine;
* ``app``: ``demo.py``, with mixed traffic: every client draws ``--requests`` digits
  (``/explain_sketch``) and, after every ``--extra-every`` sketches, uses another tab
  (``/explain_test_image``, ``/feature_maps``, ``/maximize`` in turn), while one small training
  (``/train``, 1 epoch) runs from the first request on.

Each client is its own ``gradio_client.Client`` session (one page in a browser) sending, one
request after the other, PNG drawings of digits as the Sketchpad does. The clients are threads of
this process (``--client-procs P`` spreads them over P processes); they share the machine's cores
with the server, so the CPU time of both sides is printed. Sketch latencies are reported apart from
the other endpoints, and the comparison with the bare app is on sketch requests: throughput
(sketches served per second of the phase) and p95 latency. Server memory (RSS) is sampled every
0.25 s; ``--soak N`` then sends N more sketches to the app (each client a new session every
``--requests`` requests) and prints the RSS after every 500.

Every loop is bounded (a request count, ``--request-timeout`` per request, ``--phase-timeout``
per phase); the servers are stopped at the end, whatever happens.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import math
import multiprocessing
import os
import queue
import shutil
import struct
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # gradio_client reads it; nothing may leave this machine

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.memory import current_mib, peak_mib  # noqa: E402
from tests.app_server import ROOT, running_app  # noqa: E402
from tests.strokes import render_digit  # noqa: E402

SKETCH = "explain_sketch"
EXTRAS = ("explain_test_image", "feature_maps", "explain_test_image", "maximize")  # the other tabs, in turn
TRAINING = {"Dataset": "mnist", "Epochs": 1, "Batch size": 256}  # by the form's labels; the rest: defaults
MEMORY_EVERY = 0.25  # seconds between RSS samples
SOAK_CHECKPOINT = 500  # requests between memory checkpoints of the soak phase
# The targets for 50 students x 10 sketches, measured side by side with the bare app.
TARGET_THROUGHPUT_RATIO = 0.7  # app / bare, at least
TARGET_P95_RATIO = 1.5  # app / bare, at most
TARGET_SOAK_GROWTH_MIB = 25.0  # RSS growth from the first soak checkpoint to the last, at most


# --------------------------------------------------------------------------------------------- inputs

def prepare_sketches(folder: Path) -> list[Path]:
    """PNG drawings of the ten digits at a few pen widths, sizes and places, as the Sketchpad sends them
    (400x400, black strokes on a transparent background)."""
    drawings = [dict(stroke_width=14), dict(stroke_width=6), dict(stroke_width=26, scale=0.8),
                dict(stroke_width=12, scale=0.45, offset=(0.15, -0.1)), dict(stroke_width=20, rotation_deg=10)]
    paths = []
    for variant, drawing in enumerate(drawings):
        for digit in range(10):
            path = folder / f"sketch-{digit}-{variant}.png"
            Image.fromarray(render_digit(digit, canvas=400, ink="transparent", **drawing)).save(path)
            paths.append(path)
    return paths


def make_data_dir(folder: Path) -> Path:
    """A --data-dir whose MNIST "training set" is the shipped 10,000 test images six times (60,000, as
    the app expects), like tests/conftest.py's offline_data_dir; written here without TensorFlow."""
    shipped = ROOT / "data" / "mnist"
    target = folder / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for kind, magic in (("images-idx3", 0x0803), ("labels-idx1", 0x0801)):
        name = f"t10k-{kind}-ubyte.gz"
        shutil.copy(shipped / name, target / name)
        raw = gzip.decompress((shipped / name).read_bytes())
        ndim = magic & 0xFF
        shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
        body = raw[4 + 4 * ndim:]
        header = struct.pack(">I", magic) + struct.pack(f">{ndim}I", shape[0] * 6, *shape[1:])
        (target / f"train-{kind}-ubyte").write_bytes(header + body * 6)
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


def client_plan(index: int, requests: int, sketches: int, extra_every: int) -> list[Call]:
    """What client ``index`` sends: ``requests`` sketches, and another tab after every ``extra_every``."""
    rng = np.random.default_rng(index)
    calls = []
    for k in range(requests):
        target = -1 if rng.random() < 0.8 else int(rng.integers(10))
        method = "Grad-CAM" if rng.random() < 0.8 else "HiResCAM"
        calls.append(Call(SKETCH, (int(rng.integers(sketches)), target, "mnist", method)))
        if extra_every and (k + 1) % extra_every == 0:
            extra = EXTRAS[(index + k // extra_every) % len(EXTRAS)]
            if extra == "explain_test_image":
                calls.append(Call(extra, (int(rng.integers(100)), bool(rng.random() < 0.3), -1, "mnist", "Grad-CAM")))
            elif extra == "feature_maps":
                calls.append(Call(extra, (int(rng.integers(10000)), "mnist")))
            else:  # a short synthesis of conv1's filters (the UI's smallest step count); the others: defaults
                calls.append(Call(extra, (("Layer", "conv1"), ("Gradient-ascent steps", 16),
                                          ("Random seed", int(rng.integers(1000))))))
    return calls


# ------------------------------------------------------------------------------------------- clients

@dataclass(frozen=True)
class Record:
    endpoint: str
    start: float  # time.monotonic(), comparable between processes on Linux
    seconds: float
    error: str | None = None


def _arguments(client, call: Call, sketch_paths: list[str]) -> tuple:
    from gradio_client import handle_file

    if call.endpoint == SKETCH:
        path_index, *rest = call.args
        return ({"background": None, "layers": [], "composite": handle_file(sketch_paths[path_index])}, *rest)
    if call.endpoint == "maximize":
        return by_label(client, call.endpoint, dict(call.args))
    return call.args


def by_label(client, endpoint: str, values: dict[str, object]) -> tuple:
    """Arguments for an endpoint with many inputs: each input's default, or the value given for the input
    whose label starts with a key of ``values``; robust to inputs being added to the form."""
    parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"][f"/{endpoint}"]["parameters"]
    arguments = []
    for parameter in parameters:
        label = parameter.get("label") or ""
        given = [value for key, value in values.items() if label.startswith(key)]
        arguments.append(given[0] if given else parameter.get("parameter_default"))
    return tuple(arguments)


def _describe_error(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".replace("\n", " ")
    return text[:200]


def run_client(url: str, calls: list[Call], sketch_paths: list[str], start: threading.Barrier | None,
               deadline: float, request_timeout: float, session_every: int, downloads: str,
               record, done_counter) -> None:
    """One student: connect, wait for the others, then send ``calls`` one after the other."""
    from gradio_client import Client

    client = None
    try:
        connected = time.monotonic()
        try:
            client = Client(url, verbose=False, download_files=downloads, analytics_enabled=False)
        except Exception as err:  # noqa: BLE001 - counted and reported
            record(Record("connect", connected, time.monotonic() - connected, _describe_error(err)))
            return
        finally:
            if start is not None:
                start.wait(timeout=max(1.0, deadline - time.monotonic()))
        sketches_sent = 0
        for call in calls:
            if time.monotonic() > deadline:
                record(Record(call.endpoint, time.monotonic(), 0.0, "not sent: phase time limit"))
                continue
            if call.endpoint == SKETCH and session_every and sketches_sent and sketches_sent % session_every == 0:
                client.reset_session()  # a new page: a new session on the server
            began = time.monotonic()
            error = None
            job = None
            try:
                job = client.submit(*_arguments(client, call, sketch_paths), api_name=f"/{call.endpoint}")
                job.result(timeout=request_timeout)
            except Exception as err:  # noqa: BLE001 - every failure is counted and reported
                error = "timeout" if isinstance(err, TimeoutError) else _describe_error(err)
                if job is not None and error == "timeout":
                    job.cancel()
            record(Record(call.endpoint, began, time.monotonic() - began, error))
            if call.endpoint == SKETCH:
                sketches_sent += 1
                done_counter()
    finally:
        if client is not None:
            client.close()


def _client_threads(url, plans, sketch_paths, barrier, deadline, request_timeout, session_every, downloads,
                    record, done_counter) -> list[threading.Thread]:
    return [threading.Thread(target=run_client, name=f"client-{i}", daemon=True,
                             args=(url, plan, sketch_paths, barrier, deadline, request_timeout, session_every,
                                   downloads, record, done_counter))
            for i, plan in enumerate(plans)]


def _process_main(url, plans, sketch_paths, start, deadline, request_timeout, session_every, downloads,
                  results, counter) -> None:
    """A client process: its share of the clients as threads; records go back through ``results``.
    Its clients start once all of them are connected and every other process's too (``start``)."""
    records: list[Record] = []
    lock = threading.Lock()

    def record(r: Record) -> None:
        with lock:
            records.append(r)

    def done() -> None:
        with counter.get_lock():
            counter.value += 1

    cpu_at_start = []

    def all_connected() -> None:
        start.wait(timeout=max(1.0, deadline - time.monotonic()))
        usage = os.times()
        cpu_at_start.append(usage.user + usage.system)

    connected = threading.Barrier(len(plans), action=all_connected)
    threads = _client_threads(url, plans, sketch_paths, connected, deadline, request_timeout, session_every,
                              downloads, record, done)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline + request_timeout + 30 - time.monotonic()))
    usage = os.times()
    results.put((records, usage.user + usage.system - (cpu_at_start[0] if cpu_at_start else 0.0)))


# -------------------------------------------------------------------------------------------- server

def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class MemorySampler:
    """The server's RSS every MEMORY_EVERY seconds, with how many sketches had been answered."""

    def __init__(self, pid: int, progress=lambda: 0) -> None:
        self.pid, self.progress = pid, progress
        self.samples: list[tuple[float, float, int]] = []  # (time, MiB, requests done)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="memory")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(MEMORY_EVERY)

    def sample(self) -> float:
        try:
            mib = current_mib(self.pid)
        except OSError:
            return float("nan")
        self.samples.append((time.monotonic(), mib, self.progress()))
        return mib

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    @property
    def peak(self) -> float:
        return max(m for _, m, _ in self.samples)

    def at_progress(self, done: int) -> float | None:
        """RSS at the first sample taken once ``done`` requests had been answered."""
        return next((m for _, m, n in self.samples if n >= done), None)


# ----------------------------------------------------------------------------------------------- phase

@dataclass
class Phase:
    name: str
    clients: int
    seconds: float = 0.0  # from the start signal to the last client's last answer
    records: list[Record] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)  # start, peak, end (MiB), vm_hwm
    server_cpu: float = 0.0  # seconds of CPU used by the server during the phase
    client_cpu: float = 0.0  # seconds of CPU used by the clients once connected (this process, client processes)
    training: dict = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # requests planned, by endpoint
    soak_rss: list[tuple[int, float]] = field(default_factory=list)

    def of(self, endpoint: str) -> list[Record]:
        return [r for r in self.records if r.endpoint == endpoint]

    def stats(self, endpoint: str) -> dict:
        records = self.of(endpoint)
        ok = sorted(r.seconds for r in records if r.error is None)
        planned = max(self.expected.get(endpoint, 0), len(records))
        return {  # a request planned but never reported (a client that died) counts as an error
            "requests": planned, "answered": len(ok), "errors": planned - len(ok),
            "busy": sum(1 for r in records if r.error and "queue is full" in r.error.lower()),
            "p50": _percentile(ok, 50), "p95": _percentile(ok, 95), "max": ok[-1] if ok else math.nan,
            "throughput": len(ok) / self.seconds if self.seconds else math.nan,
        }

    @property
    def errors(self) -> list[Record]:
        """Failed requests, and a "never reported" record for each planned one that is missing."""
        failed = [r for r in self.records if r.error is not None]
        for endpoint, planned in self.expected.items():
            failed += [Record(endpoint, 0.0, 0.0, "never reported")] * (planned - len(self.of(endpoint)))
        return failed


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return float(np.percentile(sorted_values, q, method="linear"))


def drive(url: str, pid: int, name: str, plans: list[list[Call]], sketch_paths: list[str], *,
          client_procs: int, phase_timeout: float, request_timeout: float, session_every: int = 0,
          training: dict | None = None, soak_checkpoint: int = 0) -> Phase:
    """Connect len(plans) clients, release them together, and collect every request's record."""
    phase = Phase(name, len(plans))
    for plan in plans:
        for call in plan:
            phase.expected[call.endpoint] += 1
    downloads = tempfile.mkdtemp(prefix="bench-load-downloads-")
    deadline = time.monotonic() + phase_timeout
    lock = threading.Lock()
    done_local = [0]
    training_thread = None
    client_procs = min(client_procs, len(plans))
    try:
        if client_procs <= 1:
            start = threading.Barrier(len(plans) + 1)

            def record(r: Record) -> None:
                with lock:
                    phase.records.append(r)

            def done() -> None:
                with lock:
                    done_local[0] += 1

            progress = lambda: done_local[0]  # noqa: E731
            workers = _client_threads(url, plans, sketch_paths, start, deadline, request_timeout, session_every,
                                      downloads, record, done)
            results = None
        else:
            context = multiprocessing.get_context("spawn")
            start = context.Barrier(client_procs + 1)
            counter = context.Value("i", 0)
            results = context.Queue()
            progress = lambda: counter.value  # noqa: E731
            workers = [context.Process(target=_process_main, daemon=True,
                                       args=(url, plans[i::client_procs], sketch_paths, start, deadline,
                                             request_timeout, session_every, downloads, results, counter))
                       for i in range(client_procs)]
        for worker in workers:
            worker.start()
        start.wait(timeout=max(1.0, deadline - time.monotonic()))  # every client is connected
        cpu_before = os.times()
        with MemorySampler(pid, progress) as memory:
            server_before = process_cpu_seconds(pid)
            phase.memory["start"] = memory.samples[0][1] if memory.samples else memory.sample()
            began = time.monotonic()
            if training is not None:
                training_thread = threading.Thread(target=_train, args=(url, training, deadline, phase.training),
                                                   daemon=True, name="training")
                training_thread.start()
            if results is None:
                for worker in workers:
                    worker.join(timeout=max(1.0, deadline + request_timeout + 30 - time.monotonic()))
            else:
                for _ in workers:
                    try:
                        records, cpu = results.get(timeout=max(1.0, deadline + request_timeout + 60 - time.monotonic()))
                    except queue.Empty:
                        break
                    phase.records += records
                    phase.client_cpu += cpu
                for worker in workers:
                    worker.join(timeout=10)
                    if worker.is_alive():
                        worker.terminate()
            with lock:
                ends = [r.start + r.seconds for r in phase.records if r.start >= began]
            phase.seconds = (max(ends) if ends else time.monotonic()) - began
            phase.server_cpu = process_cpu_seconds(pid) - server_before
            if training_thread is not None:
                training_thread.join(timeout=max(1.0, deadline + request_timeout - time.monotonic()))
            phase.memory["end"] = memory.sample()
        phase.memory["peak"] = memory.peak
        phase.memory["vm_hwm"] = peak_mib(pid)
        cpu_after = os.times()
        phase.client_cpu += (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        if soak_checkpoint:
            answered = phase.stats(SKETCH)["answered"]
            for count in range(soak_checkpoint, answered + 1, soak_checkpoint):
                rss = memory.at_progress(count)
                if rss is not None:
                    phase.soak_rss.append((count, rss))
    finally:
        shutil.rmtree(downloads, ignore_errors=True)
    return phase


def _train(url: str, settings: dict, deadline: float, out: dict) -> None:
    """One student starts one training at the start of the phase and follows it to the end."""
    from gradio_client import Client

    began = time.monotonic()
    out["started"] = began
    try:
        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        try:
            job = client.submit(*by_label(client, "train", settings), api_name="/train")
            progress = job.result(timeout=max(1.0, deadline - time.monotonic()))[0]
            out["status"] = "done" if "Done in" in progress else progress
        finally:
            client.close()
    except Exception as err:  # noqa: BLE001 - reported
        out["status"] = _describe_error(err)
    out["seconds"] = time.monotonic() - began


# ------------------------------------------------------------------------------------------- running

@contextlib.contextmanager
def server(name: str, data_dir: str | None, log_dir: Path) -> Iterator[tuple[str, int]]:
    if name == "bare":
        app = running_app(script="benchmarks/bare_app.py", log=log_dir / "bare.log")
    else:
        app = running_app(*(["--data-dir", data_dir] if data_dir else []), log=log_dir / "app.log")
    with app as (url, process):
        _warm_up(url)
        yield url, process.pid


def _warm_up(url: str) -> None:
    """One request, so that both servers start the phase ready (models compiled, routes imported)."""
    from gradio_client import Client, handle_file

    path = Path(tempfile.mkdtemp(prefix="bench-load-warm-")) / "warm.png"
    Image.fromarray(render_digit(7, ink="transparent")).save(path)
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    try:
        client.submit({"background": None, "layers": [], "composite": handle_file(str(path))}, -1, "mnist",
                      "Grad-CAM", api_name=f"/{SKETCH}").result(timeout=120)
    finally:
        client.close()
        shutil.rmtree(path.parent, ignore_errors=True)


def run_benchmark(clients: int = 50, requests: int = 10, *, soak: int = 0, skip_bare: bool = False,
                  train: bool = True, extra_every: int = 5, data_dir: str | None = None, client_procs: int = 1,
                  phase_timeout: float = 900.0, request_timeout: float = 120.0, log_dir: Path | None = None,
                  echo=print) -> dict[str, Phase]:
    """Run the phases and return them by name: "bare", "app", and "soak" when asked."""
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    log_dir = log_dir or work
    phases: dict[str, Phase] = {}
    try:
        sketch_paths = [str(p) for p in prepare_sketches(work)]
        if train and data_dir is None:
            data_dir = str(make_data_dir(work / "data"))
        options = dict(client_procs=client_procs, phase_timeout=phase_timeout, request_timeout=request_timeout)
        if not skip_bare:
            echo(f"bare: starting benchmarks/bare_app.py, then {clients} clients x {requests} sketches ...")
            plans = [client_plan(i, requests, len(sketch_paths), 0) for i in range(clients)]
            with server("bare", None, log_dir) as (url, pid):
                phases["bare"] = drive(url, pid, "bare", plans, sketch_paths, **options)
            echo(summary_line(phases["bare"]))
        echo(f"app: starting demo.py, then {clients} clients x {requests} sketches"
             f"{f' + another tab every {extra_every}' if extra_every else ''}"
             f"{', one training running' if train else ''} ...")
        plans = [client_plan(i, requests, len(sketch_paths), extra_every) for i in range(clients)]
        with server("app", data_dir, log_dir) as (url, pid):
            phases["app"] = drive(url, pid, "app", plans, sketch_paths, training=TRAINING if train else None,
                                  **options)
            echo(summary_line(phases["app"]))
            if soak:
                per_client = math.ceil(soak / clients)
                echo(f"soak: {clients} clients x {per_client} sketches, a new session every {requests} ...")
                plans = [client_plan(1000 + i, per_client, len(sketch_paths), 0) for i in range(clients)]
                phases["soak"] = drive(url, pid, "soak", plans, sketch_paths, session_every=requests,
                                       soak_checkpoint=SOAK_CHECKPOINT, **options)
                echo(summary_line(phases["soak"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return phases


# ------------------------------------------------------------------------------------------ printing

def summary_line(phase: Phase) -> str:
    s = phase.stats(SKETCH)
    return (f"  {phase.name}: {s['answered']}/{s['requests']} sketches in {phase.seconds:.1f} s, "
            f"{s['throughput']:.2f}/s, p95 {s['p95']:.2f} s, errors {len(phase.errors)}")


def report(phases: dict[str, Phase], echo=print) -> dict[str, bool]:
    """Print the table, the ratios and PASS/MISS against the issue's targets; return the verdicts."""
    echo("")
    echo(f"{'phase':6} {'endpoint':20} {'requests':>8} {'errors':>6} {'busy':>5} {'p50 s':>7} {'p95 s':>7} "
         f"{'max s':>7} {'req/s':>7}")
    for phase in phases.values():
        endpoints = [SKETCH] + sorted({r.endpoint for r in phase.records} - {SKETCH})
        for endpoint in endpoints:
            s = phase.stats(endpoint)
            echo(f"{phase.name:6} {endpoint:20} {s['requests']:8d} {s['errors']:6d} {s['busy']:5d} {s['p50']:7.2f} "
                 f"{s['p95']:7.2f} {s['max']:7.2f} {s['throughput']:7.2f}")
    echo("")
    for phase in phases.values():
        m = phase.memory
        all_requests = len(phase.records)
        echo(f"{phase.name:6} {phase.clients} clients, {phase.seconds:.1f} s; server RSS start {m['start']:.0f} "
             f"MiB, peak {m['peak']:.0f} MiB (VmHWM {m['vm_hwm']:.0f}), end {m['end']:.0f} MiB; CPU s server "
             f"{phase.server_cpu:.1f} ({1000 * phase.server_cpu / max(all_requests, 1):.0f} ms/request), "
             f"clients {phase.client_cpu:.1f}")
        if phase.training:
            t = phase.training
            echo(f"       training ({TRAINING['Epochs']} epoch, batch {TRAINING['Batch size']}) from the phase's start: "
                 f"{t.get('status')} in {t.get('seconds', math.nan):.1f} s")
    verdicts: dict[str, bool] = {}
    for phase in phases.values():
        errors = phase.errors
        verdicts[f"{phase.name} zero errors"] = not errors
        if errors:
            kinds: dict[str, int] = defaultdict(int)
            for r in errors:
                kinds[f"{r.endpoint}: {r.error}"] += 1
            for text, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:8]:
                echo(f"  {phase.name} error x{count}: {text}")
    if "bare" in phases and "app" in phases:
        bare, app = phases["bare"].stats(SKETCH), phases["app"].stats(SKETCH)
        throughput = app["throughput"] / bare["throughput"]
        p95 = app["p95"] / bare["p95"]
        verdicts["throughput app/bare"] = throughput >= TARGET_THROUGHPUT_RATIO
        verdicts["p95 app/bare"] = p95 <= TARGET_P95_RATIO
        echo("")
        echo(f"sketch throughput app/bare: {app['throughput']:.2f} / {bare['throughput']:.2f} = {throughput:.2f} "
             f"(target >= {TARGET_THROUGHPUT_RATIO}) {_verdict(verdicts['throughput app/bare'])}")
        echo(f"sketch p95 app/bare:        {app['p95']:.2f} / {bare['p95']:.2f} = {p95:.2f} "
             f"(target <= {TARGET_P95_RATIO}) {_verdict(verdicts['p95 app/bare'])}")
    if "soak" in phases and phases["soak"].soak_rss:
        soak = phases["soak"]
        points = [(0, soak.memory["start"])] + soak.soak_rss
        echo("soak RSS: " + ", ".join(f"{n} req {mib:.0f} MiB" for n, mib in points))
        first, last = soak.soak_rss[0], soak.soak_rss[-1]
        growth = last[1] - first[1]
        verdicts["soak memory flat"] = growth <= TARGET_SOAK_GROWTH_MIB
        echo(f"soak growth from {first[0]} to {last[0]} requests: {growth:+.1f} MiB "
             f"(from the start: {last[1] - soak.memory['start']:+.1f} MiB; target <= {TARGET_SOAK_GROWTH_MIB:.0f} MiB)"
             f" {_verdict(verdicts['soak memory flat'])}")
    echo("")
    for name, ok in verdicts.items():
        echo(f"{_verdict(ok):4} {name}")
    return verdicts


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent students (default 50)")
    parser.add_argument("--requests", type=int, default=10, help="sketches each (default 10)")
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="then N more sketches to the app, memory checked every 500 (e.g. 2000)")
    parser.add_argument("--skip-bare", action="store_true", help="do not run the bare Gradio app")
    parser.add_argument("--no-train", action="store_true", help="no training during the app phase")
    parser.add_argument("--extra-every", type=int, default=5,
                        help="another tab's endpoint after every N sketches (0: sketches only; default 5)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with MNIST's training IDX files for the training (default ../shared/data, "
                             "or one made from the shipped test set)")
    parser.add_argument("--client-procs", type=int, default=1,
                        help="spread the clients over this many processes (default 1: threads of this one)")
    parser.add_argument("--phase-timeout", type=float, default=900.0, help="seconds per phase at most")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds per request at most")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the servers' output there")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPU cores, shared by the server and the clients "
          f"({'threads of this process' if args.client_procs <= 1 else f'{args.client_procs} processes'}); "
          f"training data: {data_dir or 'made from the shipped test set'}", flush=True)
    phases = run_benchmark(args.clients, args.requests, soak=args.soak, skip_bare=args.skip_bare,
                           train=not args.no_train, extra_every=args.extra_every, data_dir=data_dir,
                           client_procs=args.client_procs, phase_timeout=args.phase_timeout,
                           request_timeout=args.request_timeout, log_dir=args.log_dir,
                           echo=lambda line: print(line, flush=True))
    verdicts = report(phases)
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
