"""A phase's figures: its requests' records, what the server and the clients used, and each
endpoint's counts and latencies; rounds of the same phase pool into one."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from harness.load.client import Record
from harness.load.instructor import Training
from harness.load.sampling import MemoryFigures


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint's requests in a phase; latencies in seconds, of the answered requests."""
    requests: int  # planned: one never reported (its client died) counts as an error
    answered: int
    errors: int
    busy: int  # refused at once: the queue was full
    p50: float
    p95: float
    max: float
    throughput: float  # answered per second of the phase


@dataclass
class Phase:
    """One phase on one server: every request's record and what was used meanwhile; ``merge`` pools rounds."""
    name: str
    clients: int
    began: float  # time.monotonic() of the start signal (of the first round)
    seconds: float  # from the start signal to the last sketch answered
    records: list[Record]
    expected: Counter[str]  # requests planned, by endpoint
    memory: MemoryFigures
    server_cpu: float  # seconds of CPU the server used during the phase
    client_cpu: float  # seconds of CPU the clients used, once connected
    trainings: list[Training] = field(default_factory=list)  # one a round that trained
    soak_rss: list[tuple[int, float]] = field(default_factory=list)  # (sketches answered, MiB)
    rounds: int = 1

    def of(self, endpoint: str) -> list[Record]:
        return [r for r in self.records if r.endpoint == endpoint]

    def stats(self, endpoint: str) -> EndpointStats:
        records = self.of(endpoint)
        ok = sorted(r.seconds for r in records if r.error is None)
        planned = max(self.expected.get(endpoint, 0), len(records))
        return EndpointStats(
            requests=planned, answered=len(ok), errors=planned - len(ok),
            busy=sum(1 for r in records if r.error and "queue is full" in r.error.lower()),
            p50=percentile(ok, 50), p95=percentile(ok, 95), max=ok[-1] if ok else math.nan,
            throughput=len(ok) / self.seconds if self.seconds else math.nan)

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
        self.expected += other.expected
        self.memory = self.memory.then(other.memory)
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        self.trainings += other.trainings
        self.rounds += 1


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``th percentile (0-100) of the values; NaN for none."""
    return float(np.percentile(sorted_values, q)) if sorted_values else math.nan
