"""Resident memory of a process (peak resettable between phases of a benchmark) and its children (Linux)."""
from __future__ import annotations

import contextlib
from pathlib import Path


def reset_peak() -> None:
    """Make VmHWM start again from the current resident size (writing 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux, or not permitted: peaks then cover the whole run


def peak_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def current_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_pids(pid: int | str = "self") -> list[int]:
    """The processes that ``pid`` has started and that are still running."""
    return [int(child) for task in Path(f"/proc/{pid}/task").glob("*/children") for child in task.read_text().split()]


def process_tree_mib(pid: int) -> float:
    """Resident memory of the process and of its running children (the app's training worker), recursively."""
    total = current_mib(pid)
    for child in child_pids(pid):
        with contextlib.suppress(OSError):  # it has just ended
            total += process_tree_mib(child)
    return total
