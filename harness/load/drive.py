"""One phase from start to end: connect the clients, release them together (and the instructor's
training with them), sample the server meanwhile, and gather everything into a ``Phase``."""
from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter

from harness.load.client import ClientOptions
from harness.load.client_pool import start_clients
from harness.load.instructor import Instructor
from harness.load.plans import SKETCH, Call
from harness.load.sampling import MemorySampler, own_cpu_seconds, process_cpu_seconds
from harness.load.statistics import Phase
from harness.memory import peak_mib


def drive(url: str, pid: int, name: str, plans: list[list[Call]], sketch_paths: list[str], *,
          client_procs: int = 1, phase_timeout: float = 900.0, request_timeout: float = 120.0,
          session_every: int = 0, stock_client: bool = False, fetch_files: bool = True,
          training: dict[str, object] | None = None, soak_checkpoint: int = 0) -> Phase:
    """Connect len(plans) clients, release them together, and collect every request's record."""
    downloads = tempfile.mkdtemp(prefix="bench-load-downloads-")
    options = ClientOptions(time.monotonic() + phase_timeout, request_timeout, downloads if fetch_files else False,
                            session_every, stock_client)
    join_by = options.deadline + request_timeout + 60
    try:
        clients = start_clients(url, plans, sketch_paths, options, client_procs)
        clients.wait_connected()
        with MemorySampler(pid, clients.answered) as memory:
            cpu_before, server_before, began = own_cpu_seconds(), process_cpu_seconds(pid), time.monotonic()
            instructor = Instructor(url, training, options.deadline, began) if training is not None else None
            records, client_cpu = clients.collect(join_by)
            trainings = [instructor.outcome(join_by)] if instructor is not None else []
            server_cpu = process_cpu_seconds(pid) - server_before
            client_cpu += own_cpu_seconds() - cpu_before
            ends = [r.start + r.seconds for r in records if r.endpoint == SKETCH and r.error is None]
            seconds = (max(ends) if ends else time.monotonic()) - began
        phase = Phase(name, len(plans), began, seconds, records, Counter(c.endpoint for plan in plans for c in plan),
                      memory.figures(peak_mib(pid)), server_cpu, client_cpu, trainings)
        if soak_checkpoint:
            phase.soak_rss = memory.checkpoints(phase.stats(SKETCH).answered, soak_checkpoint)
    finally:
        shutil.rmtree(downloads, ignore_errors=True)
    return phase
