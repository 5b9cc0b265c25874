"""A phase's clients, as threads of this process or spread over processes: started at once, released
together once every one is connected, and collected at the end with their records and CPU time."""
from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from typing import Any, Callable

from harness.load.client import ClientOptions, Record, run_client
from harness.load.plans import Call
from harness.load.sampling import own_cpu_seconds


class ClientThreads:
    """Clients as threads of this process; ``release`` runs once all are connected, before they start."""

    def __init__(self, url: str, plans: list[list[Call]], sketch_paths: list[str], options: ClientOptions,
                 release: Callable[[], object] = lambda: None,
                 on_sketch: Callable[[], None] = lambda: None) -> None:
        self._options, self._on_sketch = options, on_sketch
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._answered = 0
        self._connected = threading.Barrier(len(plans) + 1, action=release)  # the clients, and wait_connected
        self._threads = [threading.Thread(target=run_client, name=f"client-{i}", daemon=True,
                                          args=(url, plan, sketch_paths, self._connected, options, self._record,
                                                self._sketch_done))
                         for i, plan in enumerate(plans)]
        for thread in self._threads:
            thread.start()

    def _record(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    def _sketch_done(self) -> None:
        with self._lock:
            self._answered += 1
        self._on_sketch()

    def wait_connected(self) -> None:
        """Return once every client is connected: they all start then."""
        self._connected.wait(timeout=max(1.0, self._options.deadline - time.monotonic()))

    def answered(self) -> int:
        """Sketches answered so far."""
        return self._answered

    def collect(self, join_by: float) -> tuple[list[Record], float]:
        """Every record, once the clients are done (or at ``join_by``), and the CPU time of other
        processes (none: these clients' is this process's)."""
        for thread in self._threads:
            thread.join(timeout=max(1.0, join_by - time.monotonic()))
        with self._lock:
            return list(self._records), 0.0


class ClientProcesses:
    """Clients spread over ``procs`` processes, each running its share as ``ClientThreads``."""

    def __init__(self, url: str, plans: list[list[Call]], sketch_paths: list[str], options: ClientOptions,
                 procs: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._options = options
        self._connected = context.Barrier(procs + 1)  # the processes, and wait_connected
        self._answered = context.Value("i", 0)
        self._results = context.Queue()
        self._processes = [context.Process(target=_client_process, daemon=True,
                                           args=(url, plans[i::procs], sketch_paths, self._connected, options,
                                                 self._results, self._answered))
                           for i in range(procs)]
        for process in self._processes:
            process.start()

    def wait_connected(self) -> None:
        """Return once every client of every process is connected: they all start then."""
        self._connected.wait(timeout=max(1.0, self._options.deadline - time.monotonic()))

    def answered(self) -> int:
        """Sketches answered so far."""
        return self._answered.value

    def collect(self, join_by: float) -> tuple[list[Record], float]:
        """Every process's records and CPU time once it is done (or at ``join_by``); then the processes end."""
        records: list[Record] = []
        cpu = 0.0
        for _ in self._processes:
            try:
                more, seconds = self._results.get(timeout=max(1.0, join_by - time.monotonic()))
            except queue.Empty:
                break
            records += more
            cpu += seconds
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
        return records, cpu


def start_clients(url: str, plans: list[list[Call]], sketch_paths: list[str], options: ClientOptions,
                  procs: int = 1) -> ClientThreads | ClientProcesses:
    """One client per plan, connecting now, as threads of this process or spread over ``procs`` processes."""
    procs = min(procs, len(plans))
    if procs <= 1:
        return ClientThreads(url, plans, sketch_paths, options)
    return ClientProcesses(url, plans, sketch_paths, options, procs)


def _client_process(url: str, plans: list[list[Call]], sketch_paths: list[str], connected: Any,
                    options: ClientOptions, results: Any, answered: Any) -> None:
    """A client process: its share of the clients, as threads, released once every client of every
    process is connected (``connected``); the records and CPU time go back through ``results``."""
    def sketch_done() -> None:
        with answered.get_lock():
            answered.value += 1

    clients = ClientThreads(url, plans, sketch_paths, options, on_sketch=sketch_done,
                            release=lambda: connected.wait(timeout=max(1.0, options.deadline - time.monotonic())))
    clients.wait_connected()
    cpu_at_start = own_cpu_seconds()
    records, _ = clients.collect(options.deadline + options.request_timeout + 30)
    results.put((records, own_cpu_seconds() - cpu_at_start))
