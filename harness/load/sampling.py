"""What the processes use besides time: CPU seconds (this process's, a server's), a server's threads, and its
resident memory sampled all through a phase."""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.memory import process_tree_mib

MEMORY_EVERY = 0.25  # seconds between RSS samples


def own_cpu_seconds() -> float:
    """CPU time of this process so far (all its threads)."""
    usage = os.times()
    return usage.user + usage.system


def process_cpu_seconds(pid: int) -> float:
    """CPU time of the process and of its children that have ended (the app's training worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


@dataclass(frozen=True)
class MemoryFigures:
    """A server's RSS over a phase, with its training worker's (MiB), and its VmHWM at the end."""
    start: float
    peak: float
    end: float
    vm_hwm: float

    def then(self, later: MemoryFigures) -> MemoryFigures:
        """This phase followed by a later one: from this start to the later end, through the higher peak."""
        return MemoryFigures(self.start, max(self.peak, later.peak), later.end, later.vm_hwm)


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

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def figures(self, vm_hwm: float) -> MemoryFigures:
        """The first, highest and last samples."""
        return MemoryFigures(self.samples[0][1], max(mib for _, mib, _ in self.samples), self.samples[-1][1], vm_hwm)

    def at_progress(self, done: int) -> float | None:
        """RSS at the first sample taken once ``done`` sketches had been answered."""
        return next((mib for _, mib, n in self.samples if n >= done), None)

    def checkpoints(self, answered: int, every: int) -> list[tuple[int, float]]:
        """(sketches answered, MiB) after every ``every`` sketches, and at the end if ``answered`` falls between."""
        rss = [(count, self.at_progress(count)) for count in range(every, answered + 1, every)]
        found = [(count, mib) for count, mib in rss if mib is not None]
        return found + [(answered, self.samples[-1][1])] * bool(answered % every)


def process_threads(pid: int) -> int:
    """How many threads the process runs now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0
