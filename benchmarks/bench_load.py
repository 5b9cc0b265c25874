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

This file starts the servers and runs the phases; the clients, the sampling, the figures and the
report are the modules of ``benchmarks/load/``.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Callable

from harness.app_server import ROOT
from harness.data_folder import write_offline_data_dir
from harness.load.drive import drive
from harness.load.instructor import TRAINING
from harness.load.plans import SOAK_CHECKPOINT, SOAK_EXTRA_EVERY, SOAK_SESSION_EVERY, plans_for, prepare_sketches
from harness.load.report import report, summary_line
from harness.load.servers import servers
from harness.load.statistics import Phase


def default_data_dir() -> str | None:
    for candidate in (os.environ.get("CNN_DEMO_DATA_DIR"), str(ROOT.parent / "shared" / "data")):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return candidate
    return None


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
            data_dir = str(write_offline_data_dir(work / "data"))
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
                           fetch_files=not args.no_downloads, app_script=args.app_script,
                           phase_timeout=args.phase_timeout,
                           request_timeout=args.request_timeout, log_dir=args.log_dir,
                           echo=lambda line: print(line, flush=True))
    verdicts = report(phases)
    return 0 if all(verdict.ok for verdict in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
