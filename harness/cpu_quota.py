"""A CPU quota for a group of processes (a Linux control group), so that a benchmark can give each replica a core
of its own, scaled down: each replica held to a fraction of a core, as on a machine with a core per replica,
while the simulated clients, the balancer and the database have the rest of this one. Needs root, and the cgroup
file system: v1's ``cpu`` hierarchy (cpu.cfs_quota_us) or v2's (cpu.max).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000  # the scheduler's accounting period: the quota is a share of each 0.1 s


def cpu_hierarchy() -> Path:
    """Where groups with a CPU quota are made: v1's cpu hierarchy, or v2's root with the cpu controller."""
    if (ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return ROOT / "cpu"
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        (ROOT / "cgroup.subtree_control").write_text("+cpu")
        return ROOT
    raise RuntimeError("no cgroup CPU controller to set quotas with (/sys/fs/cgroup/cpu or cgroup v2's cpu)")


@contextlib.contextmanager
def cpu_quota(name: str, pids: Iterable[int], cores: float) -> Iterator[None]:
    """The processes ``pids`` (each with its threads, and the children they start later) held to ``cores`` of
    CPU time together, until the block ends; then back where they were."""
    group = cpu_hierarchy() / f"cnn-demo-{name}"
    group.mkdir()
    try:
        quota = str(round(cores * PERIOD_US))
        if (group / "cpu.max").exists():
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(quota)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                (group / "cgroup.procs").write_text(str(pid))  # one process a write
        yield
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                (group.parent / "cgroup.procs").write_text(pid)
        group.rmdir()
