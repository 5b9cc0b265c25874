"""A small classroom against the real servers (benchmarks/bench_load.py at 10 students), and a full queue.

demo.py and a bare Gradio app with the same sketch endpoint (``benchmarks/bare_app.py``) run side
by side; the same clients draw on both, in turn. The bounds are loose, for a loaded 2-core CI
machine where the clients share the cores with the servers, but they can fail: demo.py must
answer every request, keep up with a fair share of what Gradio alone serves, and keep serving
drawings while a model trains and other students use the heavy tabs. The figures are printed.
"""
from __future__ import annotations

import time

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from harness.app_server import running_app
from harness.load.client import TLS
from harness.load.drive import drive
from harness.load.instructor import TRAINING
from harness.load.plans import SKETCH, plans_for, prepare_sketches
from harness.load.report import report, throughput_and_p95_ratios
from harness.load.servers import servers
from harness.load.statistics import Phase
from harness.strokes import render_digit

CLIENTS, REQUESTS, ROUNDS = 10, 10, 2
# demo.py against bare Gradio, drawings only, pooled over alternating rounds, with the benchmark's lean
# clients (the server is the bottleneck: harsher than the setup). Measured on a 2-core machine at
# 10 clients: 0.64x the throughput and 1.4-2.3x the p95 (p95s of 0.15-0.4 s, so noisy); before the live
# views became inline PNGs, 0.4x. The benchmark's targets at 50 stock clients are 0.7x and 1.5x.
MIN_THROUGHPUT_RATIO = 0.45
MAX_P95_RATIO = 4.0
# While one training runs and other students use the other tabs, no drawing waits longer than this.
MAX_SKETCH_SECONDS_WHILE_TRAINING = 30.0


def test_a_full_queue_says_busy_at_once_instead_of_timing_out(tmp_path, capsys):
    """Beyond capacity a student is told the server is busy, quickly; the others are served,
    and the server serves again once the queue has drained."""
    path = tmp_path / "three.png"
    Image.fromarray(render_digit(3, ink="transparent", stroke_width=16)).save(path)
    with running_app("--queue-size", "2") as (url, _):
        clients = [Client(url, verbose=False, download_files=False, analytics_enabled=False, ssl_verify=TLS)
                   for _ in range(7)]
        try:
            for client in clients:  # each session explains a test image...
                client.predict(0, False, -1, "mnist", "Grad-CAM", api_name="/explain_test_image")
            began = time.monotonic()  # ... then all put it through the sanity checks, a second or two each:
            jobs = [client.submit(-1, "mnist", api_name="/sanity_checks")  # 1 runs, 2 wait, 4 refused
                    for client in clients]
            answered: dict[int, float] = {}
            for i, job in enumerate(jobs):
                job.add_done_callback(lambda _, i=i: answered.setdefault(i, time.monotonic() - began))
            outcomes = []
            for i, job in enumerate(jobs):
                try:
                    job.result(timeout=180)
                    outcome = "served"
                except Exception as err:  # noqa: BLE001 - the refusals are what this test is about
                    outcome = f"{type(err).__name__}: {err}"
                outcomes.append((outcome, round(answered.get(i, time.monotonic() - began), 2)))
            busy = [seconds for outcome, seconds in outcomes if "Queue is full" in outcome]
            served = [seconds for outcome, seconds in outcomes if outcome == "served"]
            with capsys.disabled():
                print(f"\nqueue of 2, 7 slow requests at once: {len(served)} served, {len(busy)} told busy; "
                      f"(outcome, seconds): {outcomes}")
            assert busy and served, outcomes
            assert len(busy) + len(served) == len(jobs), f"only busy or served, nothing else: {outcomes}"
            assert max(busy) < min(10.0, max(served)), "the busy message must come at once, not after a wait"
            sketch = {"background": None, "layers": [], "composite": handle_file(str(path))}
            assert clients[-1].predict(sketch, -1, "mnist", api_name=f"/{SKETCH}")[2]["label"] == "3"
        finally:
            for client in clients:
                client.close()


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, offline_data_dir):
    work = tmp_path_factory.mktemp("load")
    sketches = prepare_sketches(work / "sketches", CLIENTS * REQUESTS)
    with servers(["bare", "app"], work, str(offline_data_dir)) as started:
        yield started, sketches


def _print(phases: dict[str, Phase], capsys, title: str) -> None:
    with capsys.disabled():
        print(f"\n{title}")
        report(phases)


def test_drawings_keep_up_with_bare_gradio(classroom, capsys):
    started, sketches = classroom
    phases: dict[str, Phase] = {}
    for round_number in range(ROUNDS):  # alternating evens out whatever else loads the machine
        for name in ("bare", "app"):
            url, pid = started[name]
            phase = drive(url, pid, name, plans_for(CLIENTS, REQUESTS, seed=round_number * 100), sketches,
                          phase_timeout=300)
            if name in phases:
                phases[name].merge(phase)
            else:
                phases[name] = phase
    _print(phases, capsys, f"{CLIENTS} clients x {REQUESTS} drawings, bare Gradio vs demo.py, {ROUNDS} rounds")
    for phase in phases.values():
        assert not phase.errors, f"{phase.name}: {[r.error for r in phase.errors][:5]}"
        assert phase.stats(SKETCH).answered == ROUNDS * CLIENTS * REQUESTS
    throughput, p95 = throughput_and_p95_ratios(phases)
    assert throughput >= MIN_THROUGHPUT_RATIO, f"demo.py serves {throughput:.2f}x the drawings/s of bare Gradio"
    assert p95 <= MAX_P95_RATIO, f"demo.py's p95 latency is {p95:.2f}x bare Gradio's"


def test_drawings_are_served_while_a_model_trains_and_others_use_the_heavy_tabs(classroom, capsys):
    started, sketches = classroom
    url, pid = started["app"]
    phase = drive(url, pid, "app", plans_for(CLIENTS, REQUESTS, extra_every=5, seed=1000), sketches,
                  training=TRAINING, phase_timeout=300)
    _print({"app": phase}, capsys, f"{CLIENTS} clients x {REQUESTS} drawings + other tabs on demo.py, one training")
    assert not phase.errors, [r.error for r in phase.errors][:5]
    assert phase.stats(SKETCH).answered == CLIENTS * REQUESTS
    assert phase.stats("maximize").answered and phase.stats("feature_maps").answered
    assert phase.trainings[0].status == "done", phase.trainings
    assert phase.stats(SKETCH).max <= MAX_SKETCH_SECONDS_WHILE_TRAINING
