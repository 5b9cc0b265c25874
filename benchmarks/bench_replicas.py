"""Replicas behind the load balancer (issue 24): page loads and class sends per second, with one and with two.

    python -m benchmarks.bench_replicas [--students 100] [--senders 60] [--sends 8] [--rounds 3]
    python -m benchmarks.bench_replicas --replica-cores 0.4      # each replica held to 0.4 of a core (root)

A deployment of one replica and one of two (harness/replicas.py: each a PostgreSQL cluster of its own, HAProxy on
deploy/haproxy.cfg, demo.py replicas sharing the class store and the served models), both running at once and
measured in alternating rounds, so that a shared machine's other work weighs on both alike. Every request goes
through the balancer:
1. page loads: Chromium's first visit, recorded through the balancer, replayed by ``--students`` at once (the
   lecture-hall benchmark's replay, harness/load/page_replay.py; each student keeps the balancer's cookie, as a
   browser does): pages per second;
2. class sends: ``--senders`` students, each held to its replica by the balancer's cookie, each sending
   ``--sends`` drawings one after the other (at most the class's 10 a minute), each as soon as the last is
   acknowledged: sends per second.
Then the ratios of two replicas to one (the issue's target: 1.7x), and the CPU each part spent per request (the
replicas, HAProxy, PostgreSQL, each with its children), from which what one more machine of replicas would add
is estimated. The simulated clients run on the same cores as everything else: their CPU is printed too.

On a machine of two cores, one replica and the clients that load it already fill both, and a second replica has
nothing left to add. ``--replica-cores`` measures what the issue asks about instead, one replica per core, scaled
down: each replica is held to that share of a core (a cgroup CPU quota, harness/cpu_quota.py), one replica or
two, and the clients, HAProxy and PostgreSQL have the rest of the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.bench_page_load import Crowd, crowd_figures, listen_overflows
from harness.browser import chromium
from harness.classroom import KEY, event_index, page_digits, run_event, send_once
from harness.cpu_quota import cpu_quota
from harness.load.page_replay import replay, run
from harness.load.sampling import own_cpu_seconds
from harness.page_recording import Visit, record_visits
from harness.replicas import Deployment, deployment
from ui.web_server import allow_many_connections

TARGET_RATIO = 1.7
WARM_PAGES = 6  # loaded first, so that each replica has made and compressed what it keeps
CORES_PER_MACHINE = 2  # the machine the estimate adds: one like this one


def process_tree(pid: int) -> list[int]:
    """A process and its living descendants (PostgreSQL's backends, the app's long-job workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [pid]
    while pending:
        tree.append(pending.pop())
        pending.extend(children.get(tree[-1], []))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, its children that ended, and its living descendants."""
    total = 0.0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Cpu:
    """CPU seconds of each part of the deployment, and of the simulated clients (this process)."""
    replicas: float
    balancer: float
    database: float
    clients: float

    @classmethod
    def now(cls, deployed: Deployment) -> Cpu:
        return cls(sum(tree_cpu_seconds(r.process.pid) for r in deployed.replicas),
                   tree_cpu_seconds(deployed.balancer.process.pid), tree_cpu_seconds(deployed.cluster.process.pid),
                   own_cpu_seconds())

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.replicas - other.replicas, self.balancer - other.balancer, self.database - other.database,
                   self.clients - other.clients)

    def per(self, count: int) -> str:
        return (f"replicas {1000 * self.replicas / count:.1f}, HAProxy {1000 * self.balancer / count:.2f}, "
                f"PostgreSQL {1000 * self.database / count:.2f}, clients {1000 * self.clients / count:.1f} ms")


@dataclass
class Sends:
    sent: int
    acknowledged: int
    seconds: float
    errors: dict[str, int]
    by_replica: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.acknowledged / self.seconds

    def line(self) -> str:
        errors = f"; errors {self.errors}" if self.errors else ", no error"
        return (f"{self.acknowledged}/{self.sent} acknowledged in {self.seconds:.1f} s ({self.per_second:.1f} sends/s), "
                f"by replica {self.by_replica}{errors}")


@dataclass
class Figures:
    replicas: int
    pages: Crowd
    pages_cpu: Cpu
    sends: Sends
    sends_cpu: Cpu

    @property
    def pages_per_second(self) -> float:
        return self.pages.complete / self.pages.seconds


async def send_drawings(url: str, senders: int, sends: int) -> Sends:
    """``senders`` students of one class, each held to a replica by the balancer's cookie, sending ``sends``
    drawings one after the other."""
    digits = page_digits(senders * sends)
    async with httpx.AsyncClient(timeout=60) as instructor:
        await instructor.get(f"{url}cnn-demo/health")
        output, error = await run_event(instructor, url, event_index(url, "class_open"), uuid.uuid4().hex, [KEY])
        assert output is not None, error
        code, index = output[0]["code"], event_index(url, "class_send")

    errors: dict[str, int] = {}
    by_replica: dict[str, int] = {}

    async def student(number: int) -> int:
        async with httpx.AsyncClient(timeout=60) as page, page.stream("GET", f"{url}cnn-demo/models/events"):
            # The models' news held open as a page holds it; its answer brings the balancer's cookie, which holds
            # the sends to the same replica.
            session, acknowledged = uuid.uuid4().hex, 0
            for image, meant in digits[number * sends:(number + 1) * sends]:
                sent, error = await send_once(page, url, index, session, [code, image, meant])
                if sent is None:
                    errors[error] = errors.get(error, 0) + 1
                else:
                    acknowledged += 1
            replica = page.cookies.get("cnn-demo-replica", "?")
            by_replica[replica] = by_replica.get(replica, 0) + acknowledged
            return acknowledged

    began = time.monotonic()
    acknowledged = sum(await asyncio.gather(*(student(number) for number in range(senders))))
    return Sends(senders * sends, acknowledged, time.monotonic() - began, errors, by_replica)


def page_loads(url: str, visit: Visit, students: int) -> list:
    return run(replay(url, visit, students, 300))


def measure(deployed: Deployment, visit: Visit, args: argparse.Namespace) -> Figures:
    """One round on one deployment: the page loads at once, then the class's sends."""
    replicas, url = len(deployed.replicas), deployed.url
    before, overflows = Cpu.now(deployed), listen_overflows()
    began = time.monotonic()
    pages = page_loads(url, visit, args.students)
    pages_cpu = Cpu.now(deployed) - before
    crowd = crowd_figures(pages, began, pages_cpu.replicas, pages_cpu.clients, listen_overflows() - overflows)
    print(f"  {replicas} replica(s), load average {os.getloadavg()[0]:.1f}: {args.students} page loads at once: "
          f"{crowd.line()}", flush=True)
    print(f"    CPU per page load: {pages_cpu.per(args.students)}", flush=True)
    before = Cpu.now(deployed)
    sends = run(send_drawings(url, args.senders, args.sends))
    sends_cpu = Cpu.now(deployed) - before
    print(f"  {replicas} replica(s): {args.senders} students x {args.sends} sends: {sends.line()}", flush=True)
    print(f"    CPU per send: {sends_cpu.per(max(sends.acknowledged, 1))}", flush=True)
    return Figures(replicas, crowd, pages_cpu, sends, sends_cpu)


def report(rounds: list[tuple[Figures, Figures]], args: argparse.Namespace) -> None:
    def median(values) -> float:
        return statistics.median(values)

    one_pages = median(one.pages_per_second for one, _ in rounds)
    two_pages = median(two.pages_per_second for _, two in rounds)
    one_sends = median(one.sends.per_second for one, _ in rounds)
    two_sends = median(two.sends.per_second for _, two in rounds)
    pages_ratios = [two.pages_per_second / one.pages_per_second for one, two in rounds]
    sends_ratios = [two.sends.per_second / one.sends.per_second for one, two in rounds]
    held = f", each replica held to {args.replica_cores:g} of a core" if args.replica_cores else ""
    print(f"\nthrough the balancer, on {os.cpu_count()} cores{held}, median of {len(rounds)} alternating rounds"
          f"\n                                      one replica   two replicas   ratio (each round's)")
    print(f"page loads per second ({args.students} at once)   {one_pages:8.1f}      {two_pages:8.1f}      "
          f"{two_pages / one_pages:.2f}x ({', '.join(f'{r:.2f}' for r in pages_ratios)})")
    print(f"class sends per second ({args.senders} students) {one_sends:8.1f}      {two_sends:8.1f}      "
          f"{two_sends / one_sends:.2f}x ({', '.join(f'{r:.2f}' for r in sends_ratios)})")
    for label, ratio in (("page loads", two_pages / one_pages), ("class sends", two_sends / one_sends)):
        print(f"  {'PASS' if ratio >= TARGET_RATIO else 'MISS'} {label}: {ratio:.2f}x >= {TARGET_RATIO}x (measured)")
    # A replica is one Python process: the GIL holds it to about one core. With a core of its own for each replica
    # (the clients, the balancer and the database elsewhere), the replicas' CPU per request decides.
    for label, what in (("page loads", lambda f: (f.pages.complete, f.pages_cpu)),
                        ("class sends", lambda f: (f.sends.acknowledged, f.sends_cpu))):
        one_ms = median(1000 * what(one)[1].replicas / what(one)[0] for one, _ in rounds)
        two_ms = median(1000 * what(two)[1].replicas / what(two)[0] for _, two in rounds)
        print(f"  {label}, a core per replica (from the replicas' CPU per request, {one_ms:.1f} and {two_ms:.1f} ms): "
              f"{1000 / one_ms:.0f}/s and {2000 / two_ms:.0f}/s, {2 * one_ms / two_ms:.2f}x (estimated)")
    # One more machine runs replicas only (the balancer and the database stay where they are): its cores at the
    # replicas' CPU per request measured with two replicas; the balancer's and the database's machine must take
    # the requests of all at theirs.
    for label, what in (("page loads", lambda f: (f.pages.complete, f.pages_cpu)),
                        ("class sends", lambda f: (f.sends.acknowledged, f.sends_cpu))):
        replica_ms = median(1000 * what(two)[1].replicas / what(two)[0] for _, two in rounds)
        front_ms = median(1000 * (what(two)[1].balancer + what(two)[1].database) / what(two)[0] for _, two in rounds)
        print(f"one more {CORES_PER_MACHINE}-core machine of replicas: about {1000 * CORES_PER_MACHINE / replica_ms:.0f} "
              f"{label}/s more ({replica_ms:.1f} ms of replica CPU each); HAProxy and PostgreSQL together spend "
              f"{front_ms:.2f} ms each, {1000 * CORES_PER_MACHINE / front_ms:.0f}/s on a machine like this one")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100, help="page loads at once")
    parser.add_argument("--senders", type=int, default=60, help="students sending drawings at once")
    parser.add_argument("--sends", type=int, default=8, help="drawings each (the class takes 10 a minute)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each on one replica then on two")
    parser.add_argument("--replica-cores", type=float, default=None,
                        help="hold each replica to this much CPU (a cgroup quota, root only: 0.4 = 40%% of a core), so "
                             "that replicas are measured as if each had a core of its own and the clients the rest")
    args = parser.parse_args()
    allow_many_connections()
    work = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    try:
        with contextlib.ExitStack() as stack:
            deployed = []
            for count in (1, 2):
                (work / f"replicas-{count}").mkdir()
                deployed.append(stack.enter_context(deployment(work / f"replicas-{count}", replicas=count)))
            if args.replica_cores:
                for count, one in zip((1, 2), deployed):
                    for replica in one.replicas:
                        stack.enter_context(cpu_quota(f"bench-{count}-{replica.name}",
                                                      process_tree(replica.process.pid), args.replica_cores))
            with chromium() as browser:
                visits = [record_visits(browser, one.url)[0] for one in deployed]
            for one, visit in zip(deployed, visits):
                page_loads(one.url, visit, WARM_PAGES)
            rounds = [tuple(measure(one, visit, args) for one, visit in zip(deployed, visits))
                      for _ in range(args.rounds)]
        report(rounds, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
